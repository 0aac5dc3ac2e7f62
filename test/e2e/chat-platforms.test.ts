import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { discordDriver, slackDriver, telegramDriver, type ChatDriver, type Who } from '../helpers/chat-drivers.js';
import { dumpDatabase, freshDatabaseUri } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

/**
 * The whole product through each chat platform: the real service process with one platform
 * (its real library against the platform's fake API), the sandbox bank in real Chromium, a
 * real pending-orders endpoint. The same scenario on Telegram (long polling, and webhook with
 * its secret token), Slack (HTTP, and Socket Mode) and Discord: an
 * unlinked person refused; an account added through the private form; a password typed in a
 * channel refused; an assisted login answered by DM (a wrong code first); a match and an
 * ambiguity notified in a bound channel (the first post answered 429) and the ambiguity
 * resolved with a button; a restart while a code is awaited; forged requests refused where the
 * platform calls us (Slack's signature, Telegram's webhook secret); no secret anywhere.
 */
const platforms: [string, () => Promise<ChatDriver>][] = [
  ['Telegram', () => telegramDriver('polling')],
  ['Telegram by webhook', () => telegramDriver('webhook')],
  ['Slack', () => slackDriver('http')],
  ['Slack in Socket Mode', () => slackDriver('socket')],
  ['Discord', discordDriver],
];

for (const [name, makeDriver] of platforms) {
  describe(`the service on ${name} (process, fake ${name} API, sandbox bank)`, function () {
    this.timeout(300_000);
    const password = `Bank-Pw-${name.replace(/\W/g, '')}-7781`;
    // With spaces: no word of it may come back either.
    const typedInChannel = `Pw4chan-${name.replace(/\W/g, '')} horse9staple battery7correct`;
    let bank: SandboxBank;
    let driver: ChatDriver;
    let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
    let service: ServiceProcess | undefined;
    const logs: string[] = [];

    before(async () => {
      bank = createSandboxBank();
      await bank.start();
      bank.addUser({ username: 'ana', password, otp: { length: 6, type: 'numeric' } });
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      bank.addMovements('ana', [
        { at: hourAgo, amount: '1500.00', sender: 'José Pérez', reference: 'T1' },
        { at: hourAgo, amount: '800.00', sender: 'Maria Lopez', reference: 'T2' },
        { at: hourAgo, amount: '800.00', sender: 'MARIA LOPEZ', reference: 'T3' },
      ]);
      const orders = [
        { external_id: 'A-1', amount: '1500.00', currency: 'UYU', name: 'José Pérez' },
        { external_id: 'B-1', amount: '800', currency: 'UYU', name: 'María López' },
      ];
      endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(orders)));
      driver = await makeDriver();
    });

    after(async () => {
      if (service?.child.exitCode === null) service.child.kill('SIGKILL');
      await driver?.close();
      await endpoint?.close();
      await bank?.stop();
    });

    const shown = (who: Who) => [...driver.seen(who), ...driver.channel()];
    const said = (who: Who, pattern: RegExp, what: string, from = 0) =>
      eventually(() => driver.seen(who).slice(from).find((text) => pattern.test(text)), 60_000, `${what} (${name})`);

    it('sets up an account in private, logs in with codes by DM, notifies and resolves in a channel, survives a restart mid-prompt', async () => {
      const databaseUri = freshDatabaseUri(`chat${name.replace(/\W/g, '')}`);
      const env = {
        MONGODB_URI: databaseUri,
        SECRET_KEYS: `ci:${Buffer.alloc(32, 7).toString('base64')}`,
        SANDBOX_BANK_URL: bank.url,
        CHAT_CONSOLE: 'off',
        ALLOW_PRIVATE_URLS: 'true',
        JOB_POLL_MS: '200',
        SCRAPE_TICK_SECONDS: '3600',
        POLL_INTERVAL_MINUTES: '600',
        LOG_LEVEL: 'debug',
        SHUTDOWN_TIMEOUT_MS: '2000',
        ...driver.env(),
      };
      const start = async (label: string) => {
        service = startServiceProcess({ ...env, DATA_DIR: mkdtempSync(path.join(tmpdir(), `rb-${label.replace(/\W/g, '')}-`)) });
        await service.waitForLog(/"msg":"Reconbanker is ready"/, 60_000);
        await driver.connected(service);
      };
      const stop = async () => {
        service!.child.kill('SIGTERM');
        expect((await service!.exited).code, 'a clean shutdown').to.equal(0);
        logs.push(service!.stdout(), service!.stderr());
      };
      await start(`${name}-1`);

      await driver.command('bruno', 'account list', 'channel');
      await eventually(() => shown('bruno').find((t) => /not linked to a Reconbanker user/.test(t)), 30_000, 'the unlinked person refused');

      await driver.command('ana', 'setup ACME', 'dm');
      await said('ana', /Created "ACME" with you as owner/, 'setup');
      await driver.command('ana', 'mode reconcile', 'dm');
      await said('ana', /reconcile/, 'the mode');

      // Credentials through the platform's private form.
      await driver.command('ana', 'account add Bank sandbox', 'dm');
      await driver.fillForm('ana', { bank_username: 'ana', bank_password: password });
      await said('ana', /Credentials saved \(encrypted\)/, 'credentials saved');

      // A password typed in a channel: refused, nothing stored.
      await driver.command('ana', `account set Bank bank_password=${typedInChannel}`, 'channel');
      await eventually(() => shown('ana').find((t) => /bank_password is a secret and is never taken in a channel; nothing was saved/.test(t)), 30_000, 'the refusal');

      await driver.command('ana', `account set Bank login_mode=assisted pending_orders_endpoint=${endpoint.url}/pending`, 'dm');
      await said('ana', /Updated "Bank": (login_mode, pending_orders_endpoint|pending_orders_endpoint, login_mode)/, 'settings');
      await driver.command('ana', 'notify here', 'channel');
      await eventually(() => shown('ana').find((t) => /Results and alerts will be posted here too/.test(t)), 30_000, 'the channel bound');

      // Assisted login: the prompt by DM, a wrong code, then the right one.
      let mark = driver.seen('ana').length;
      await driver.command('ana', 'account scrape Bank', 'dm');
      await said('ana', /Bank code needed for account "Bank" \(sandbox\): a 6-character numeric/, 'the code prompt by DM', mark);
      await driver.command('ana', 'otp Bank 000000', 'dm');
      await said('ana', /The bank rejected the code for "Bank"/, 'the wrong code rejected', mark);
      const code = await eventually(() => bank.currentOtp('ana') ?? undefined, 10_000, 'the new code');
      await driver.command('ana', `otp Bank ${code}`, 'dm');
      await said('ana', /The bank accepted the code for "Bank"/, 'accepted', mark);
      await said('ana', /Bank: read 3 movement\(s\), 3 new\./, 'the session result', mark);
      // Each prompt is edited once its round is over: the rejected one, then the answered one.
      const platformWord = driver.platform;
      await eventually(() => driver.edits('ana').find((t) => /^Bank code for account "Bank": the code sent \(given on \w+\) was rejected/.test(t)), 30_000, 'the first prompt closed');
      await eventually(() => driver.edits('ana').find((t) => t === `Bank code for account "Bank": answered (given on ${platformWord}) and accepted by the bank. Nothing more to do.`), 30_000, 'the second prompt closed');

      // Results in the bound channel; the first post is answered 429 and waits its turn.
      const posted = driver.channelPostTimes().length;
      driver.rateLimitNextChannelPost(1);
      await driver.command('ana', 'account poll Bank', 'dm');
      await eventually(() => driver.channel().find((t) => /Payment matched on "Bank": A-1/.test(t)), 60_000, 'the match in the channel');
      await eventually(() => driver.channel().find((t) => /B-1 .* is ambiguous/.test(t)), 60_000, 'the ambiguity in the channel');
      const [refused, delivered] = driver.channelPostTimes().slice(posted);
      expect(delivered! - refused!, 'retry_after honoured').to.be.at.least(900);

      await driver.pressFirstChoice('ana');
      await eventually(() => shown('ana').find((t) => /^Resolved: B-1 is matched with transaction/.test(t)), 30_000, 'resolved by the button');

      // A restart while a code is awaited: the session starts again, asks again, takes the code.
      mark = driver.seen('ana').length;
      await driver.command('ana', 'account scrape Bank', 'dm');
      await said('ana', /Bank code needed for account "Bank"/, 'a second prompt', mark);
      await stop();
      mark = driver.seen('ana').length;
      await start(`${name}-2`);
      await said('ana', /Bank code needed for account "Bank"/, 'the prompt of the resumed session', mark);
      // The prompt the stopped process had sent is closed by the new one.
      await eventually(() => driver.edits('ana').find((t) => /^Bank code for account "Bank": the login waiting for it was interrupted/.test(t)), 30_000, 'the interrupted prompt closed');
      const resumed = await eventually(() => bank.currentOtp('ana') ?? undefined, 10_000, 'the code of the resumed login');
      await driver.answerCode('ana', 'Bank', resumed);
      await said('ana', /The bank accepted the code for "Bank"/, 'accepted after the restart', mark);
      await said('ana', /Bank: read 3 movement\(s\), 0 new\./, 'the resumed session result', mark);

      const forged = await driver.rejectsForgedRequests();
      expect(forged.every((status) => status === 401), `forged requests: ${forged.join(', ')}`).to.equal(true);
      await stop();

      // The platform receives its own token on every call; nowhere else may it appear.
      const stored = [logs.join('\n'), await dumpDatabase(databaseUri)].join('\n');
      const everywhere = `${stored}\n${driver.records()}`;
      const tokens = Object.values(driver.env()).filter((value) => /token|secret/i.test(value));
      for (const [secret, where] of [...[password, typedInChannel, ...typedInChannel.split(' '), code, resumed].map((s) => [s, everywhere] as const), ...tokens.map((t) => [t, stored] as const)]) {
        const at = where.indexOf(secret);
        expect(at, `a secret (${secret.slice(0, 4)}…) leaked: ${where.slice(Math.max(0, at - 200), at)}`).to.equal(-1);
      }
    });
  });
}

/**
 * The reported crash: on Discord a private form of more than 5 fields (`account set` naming six
 * settings) ended the process. It is asked in parts now; and a promise rejected with no
 * handler (planted here through a preloaded module, on SIGUSR2) is logged while the service
 * goes on answering.
 */
describe('the service on Discord survives a form of more than 5 fields and a stray rejection (process, fake Discord API)', function () {
  this.timeout(180_000);
  let driver: ChatDriver;
  let service: ServiceProcess | undefined;

  before(async () => {
    driver = await discordDriver();
  });

  after(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
    await driver?.close();
  });

  it('asks six settings in two modals, logs the planted rejection, answers the next command, stops cleanly', async () => {
    const planted = `process.on('SIGUSR2',()=>{Promise.reject(new Error('planted rejection'))})`;
    service = startServiceProcess({
      MONGODB_URI: freshDatabaseUri('chatdiscordsurvives'),
      SECRET_KEYS: `ci:${Buffer.alloc(32, 9).toString('base64')}`,
      SANDBOX_BANK_URL: 'http://127.0.0.1:9',
      CHAT_CONSOLE: 'off',
      ALLOW_PRIVATE_URLS: 'true',
      SCRAPE_TICK_SECONDS: '3600',
      POLL_INTERVAL_MINUTES: '600',
      SHUTDOWN_TIMEOUT_MS: '2000',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'rb-discord-survives-')),
      NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(planted)}`,
      ...driver.env(),
    });
    await service.waitForLog(/"msg":"Reconbanker is ready"/, 60_000);
    await driver.connected(service);
    const alive = () => {
      if (service!.child.exitCode !== null) throw new Error(`the service process ended (exit code ${service!.child.exitCode}): ${service!.stderr().split('\n').filter(Boolean).at(-1)?.slice(0, 300)}`);
    };
    const said = (pattern: RegExp, what: string) =>
      eventually(() => {
        alive();
        return driver.seen('ana').find((text) => pattern.test(text));
      }, 30_000, what);

    await driver.command('ana', 'setup ACME', 'dm');
    await said(/Created "ACME" with you as owner/, 'setup');
    await driver.command('ana', 'account add Bank sandbox', 'dm');
    await driver.fillForm('ana', { bank_username: 'ana', bank_password: 'Six-Fields-Pw-1' });
    await said(/Credentials saved \(encrypted\)/, 'credentials saved');

    await driver.command('ana', 'account set Bank bank_username retry_limit lookback_days polling_method notify_on_expired scrape_interval_minutes', 'dm');
    await driver.fillForm('ana', { bank_username: 'ana2', retry_limit: '4', lookback_days: '5', polling_method: 'POST', notify_on_expired: 'true', scrape_interval_minutes: '20' });
    const updated = await said(/^Updated "Bank": /, 'six settings updated');
    for (const name of ['bank_username', 'retry_limit', 'lookback_days', 'polling_method', 'notify_on_expired', 'scrape_interval_minutes']) expect(updated).to.include(name);

    service.child.kill('SIGUSR2');
    await service.waitForLog(/unhandled promise rejection \(a bug\): logged, the service goes on/, 30_000);
    await driver.command('ana', 'whoami', 'dm');
    await said(/^You are discord user ana .*owner of "ACME"/, 'answered after the rejection');

    service.child.kill('SIGTERM');
    expect((await service.exited).code, 'a clean shutdown').to.equal(0);
    expect(service.stdout() + service.stderr()).not.to.include('Six-Fields-Pw-1');
  });
});
