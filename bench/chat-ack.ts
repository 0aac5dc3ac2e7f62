import { benchServices } from './lib/services.js';
import path from 'node:path';
import { pino } from 'pino';
import { createTelegramAdapter } from '../adapters/telegram/telegram-adapter.js';
import { allCommands } from '../commands/index.js';
import { createCommandRouter } from '../src/chat/router.js';
import { cacheDir } from '../src/paths.js';
import { connectDatabase } from '../src/store/database.js';
import { startEmbeddedDatabase } from '../src/store/embedded/index.js';
import { startFakeTelegram } from '../test/helpers/fake-telegram.js';
import { createSlackAdapter } from '../adapters/slack/slack-adapter.js';
import { createDiscordAdapter } from '../adapters/discord/discord-adapter.js';
import { startFakeDiscord } from '../test/helpers/fake-discord.js';
import { signSlack, slashCommand, startFakeSlack } from '../test/helpers/fake-slack.js';
import { Agent, request } from 'node:http';
import { percentile, report } from './lib/report.js';

/**
 * Chat command acknowledgement (SPEC §8: p99 < 200 ms under 50 concurrent commands), per
 * platform, through the real platform library against its fake API. Telegram: a command is
 * acknowledged when the bot confirms its update (the next getUpdates offset passes it); the
 * handling (real router, services and embedded database) goes on concurrently.
 * Slack: a command is acknowledged when Slack's signed request gets its HTTP 200 (sent at the
 * door, before Bolt's middleware). As in the service, inbound ids go to the database ledger. Discord: when the interaction's deferral reaches the REST API.
 */
const CONCURRENCY = 50;
const ROUNDS = 10;
const TOKEN = '1:bench';
const log = pino({ level: 'silent' });

/** The first burst apart (what a service meets once after start), then p50/p99 of the rest against the target. */
function reportAcks(platform: string, acks: number[]): void {
  const first = acks.slice(0, CONCURRENCY).sort((a, b) => a - b);
  const rest = acks.slice(CONCURRENCY).sort((a, b) => a - b);
  report(`${platform}: acknowledgement, first burst after start, max`, first[first.length - 1] ?? 0, 'ms');
  report(`${platform}: acknowledgement p50`, percentile(rest, 50), 'ms');
  report(`${platform}: acknowledgement p99`, percentile(rest, 99), 'ms', { max: 200 });
}

const embedded = await startEmbeddedDatabase({ engine: 'auto', port: 0, memoFile: path.join(cacheDir, 'test-engine.json'), cacheDir, log });
const database = await connectDatabase({ uri: embedded.uri, dbName: `bench_${Date.now()}`, timeoutMs: 10_000, log });
const fake = await startFakeTelegram(TOKEN);
const services = benchServices(database, log);
const router = createCommandRouter({ commands: allCommands(), services, log });
const adapter = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, mode: 'polling', log });
try {
  await adapter.start({ onCommand: (event) => router.handle(event, adapter), firstTime: (key) => services.inbound.firstTime(key) });
  const people = Array.from({ length: CONCURRENCY }, (_, i) => ({ id: 5000 + i, first_name: `P${i}` }));
  for (const person of people) await services.users.createTenant({ platform: 'telegram', teamId: 'telegram', userId: String(person.id), displayName: person.first_name }, `Co ${person.id}`);
  console.log(`engine: ${embedded.engine}; ${CONCURRENCY} people send /recon account list at once, ${ROUNDS} rounds after a first one (new connections, code not yet optimised) reported apart`);
  const acks: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const sent = people.map((person) => ({ at: performance.now(), updateId: fake.type(person, '/recon account list').updateId }));
    for (const { at, updateId } of sent) {
      for (;;) {
        const confirmed = fake.confirmations.find((c) => c.offset > updateId && c.at >= at);
        if (confirmed) {
          acks.push(confirmed.at - at);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    // Let the round's answers go out before the next round.
    while (fake.calls.filter((c) => c.method === 'sendMessage').length < (round + 1) * CONCURRENCY) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  reportAcks('Telegram', acks);

  const slackFake = await startFakeSlack();
  const keepAlive = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const slack = createSlackAdapter({ botToken: 'xoxb-bench', signingSecret: 'bench-secret', apiUrl: slackFake.apiUrl, port: 0, retries: 0, log });
  try {
    await slack.start({ onCommand: (event) => router.handle(event, slack), firstTime: (key) => services.inbound.firstTime(key) });
    for (let i = 0; i < CONCURRENCY; i++) await services.users.createTenant({ platform: 'slack', teamId: 'T1', userId: `U${i}`, displayName: `u${i}` }, `Slack ${i}`);
    const slackAcks: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      // Bodies signed before the clock starts, sent over kept-alive connections: what is timed is
      // the app's answer, not this client's own work on the shared core.
      const requests = Array.from({ length: CONCURRENCY }, (_, i) => {
        const body = slashCommand({ team: 'T1', user: `U${i}`, userName: `u${i}`, channel: `DU${i}`, text: 'account list', responseUrl: slackFake.responseUrl(round * CONCURRENCY + i) });
        return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...signSlack('bench-secret', body) } };
      });
      await Promise.all(
        requests.map(
          ({ body, headers }) =>
            new Promise<void>((resolve, reject) => {
              const started = performance.now();
              const req = request(slack.url()!, { method: 'POST', headers, agent: keepAlive }, (res) => {
                slackAcks.push(performance.now() - started);
                res.resume();
                if (res.statusCode !== 200) reject(new Error(`Slack answered ${res.statusCode}`));
                else res.on('end', resolve);
              });
              req.on('error', reject);
              req.end(body);
            }),
        ),
      );
      while (slackFake.responses.length < (round + 1) * CONCURRENCY) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    reportAcks('Slack', slackAcks);
  } finally {
    await slack.stop();
    await slackFake.close();
  }

  const discordFake = await startFakeDiscord();
  const discord = createDiscordAdapter({ token: 'discord-bench', commands: router.commands, api: discordFake.api, guildId: '500000000000000001', log });
  try {
    await discord.start({ onCommand: (event) => router.handle(event, discord), firstTime: (key) => services.inbound.firstTime(key) });
    const discordAcks: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const sent = Array.from({ length: CONCURRENCY }, (_, i) => {
        const at = performance.now();
        const { id, token } = discordFake.command({ id: String(700000000000000000n + BigInt(i)), username: `d${i}` }, { group: 'account', sub: 'list' }, { guild: '500000000000000001', channel: '500000000000000002' });
        return { at, path: `/interactions/${id}/${token}/callback` };
      });
      for (const { at, path } of sent) {
        for (;;) {
          const call = discordFake.calls.find((c) => c.path === path);
          if (call) {
            discordAcks.push(call.at - at);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      while (discordFake.calls.filter((c) => c.method === 'PATCH').length < (round + 1) * CONCURRENCY) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    reportAcks('Discord', discordAcks);
  } finally {
    await discord.stop();
    await discordFake.close();
  }
} finally {
  await adapter.stop();
  await fake.close();
  await database.connection.dropDatabase();
  await database.close();
  await embedded.stop();
}
