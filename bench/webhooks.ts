import { benchServices } from './lib/services.js';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { cacheDir } from '../src/paths.js';
import { movementEvent } from '../src/reconcile/result-events.js';
import { connectDatabase } from '../src/store/database.js';
import { startEmbeddedDatabase } from '../src/store/embedded/index.js';
import { unusedPort } from '../test/helpers/ports.js';
import { startReceiver } from '../test/helpers/webhook-receiver.js';
import { percentile, report } from './lib/report.js';

/**
 * Webhook delivery (SPEC §8): deliveries per second from one process to a loopback receiver
 * (in this process too, so it shares the pinned core, as does the embedded database), and the
 * latency from the outbox write to the receiver's receipt, also with one account's receiver
 * down and 1,000 events queued behind it. Every delivery is signed, logged and its state
 * written, as in production.
 */
const ACCOUNTS = 10;
const THROUGHPUT_EVENTS = 3_000;
const LATENCY_EVENTS = 300;
const BLOCKED_EVENTS = 1_000;
const log = pino({ level: 'silent' });

const embedded = await startEmbeddedDatabase({ engine: 'auto', port: 0, memoFile: path.join(cacheDir, 'test-engine.json'), cacheDir, log });
const database = await connectDatabase({ uri: embedded.uri, dbName: `bench_${Date.now()}`, timeoutMs: 10_000, log });
const receiver = await startReceiver();
const config = loadConfig({});
const services = benchServices(database, log, { webhookSettings: { ...config.webhooks, allowPrivateUrls: true } });
try {
  const owner = await services.users.createTenant({ platform: 'bench', teamId: 'T', userId: 'U', displayName: 'bench' }, 'Bench');
  const accounts: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const account = await services.accounts.create(owner.userId, { name: `hooks-${i}`, bank: 'sandbox' });
    await services.accounts.configure(owner.userId, account.id, { webhook_url: `${receiver.url}/hook`, webhook_auth_token: 'bench-token' });
    accounts.push(account.id);
  }
  let n = 0;
  const event = (accountId: string) => {
    n += 1;
    return movementEvent({ id: `tx-${n}`, accountId, amountMinor: 1000 + n, currency: 'UYU', senderName: `Payer ${n}`, receivedAt: new Date(), description: '', bankReference: null, firstSeenAt: new Date(), usedBy: null }, owner.userId, new Date());
  };
  console.log(`engine: ${embedded.engine}; ${ACCOUNTS} accounts; receiver on loopback in the same process`);

  // Throughput: the events are in the outbox first, then the dispatcher starts.
  const batch = Array.from({ length: THROUGHPUT_EVENTS }, (_, i) => event(accounts[i % ACCOUNTS] as string));
  for (let i = 0; i < batch.length; i += 500) await services.reconcile.outbox.record(batch.slice(i, i + 500));
  const started = performance.now();
  services.webhooks.start();
  while (receiver.received.length < THROUGHPUT_EVENTS) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - started) / 1000;
  report(`deliveries per second (${THROUGHPUT_EVENTS} events, ${ACCOUNTS} accounts)`, THROUGHPUT_EVENTS / seconds, '/s', { min: 500 });

  // Latency: one event at a time, from the outbox write to its receipt.
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_EVENTS; i++) {
    const before = receiver.received.length;
    const written = performance.now();
    await services.reconcile.outbox.record([event(accounts[i % ACCOUNTS] as string)]);
    while (receiver.received.length === before) await new Promise((resolve) => setImmediate(resolve));
    latencies.push((receiver.received[before]?.receivedAt ?? performance.now()) - written);
  }
  latencies.sort((a, b) => a - b);
  report('outbox write → receipt, p50', percentile(latencies, 50), 'ms');
  report('outbox write → receipt, p99', percentile(latencies, 99), 'ms', { max: 1000 });

  // The same, with 1,000 events queued behind an account whose receiver is down (connection
  // refused, retried on the default schedule): the other accounts must not notice it.
  const down = await services.accounts.create(owner.userId, { name: 'hooks-down', bank: 'sandbox' });
  await services.accounts.configure(owner.userId, down.id, { webhook_url: `http://127.0.0.1:${await unusedPort()}/hook` });
  const stuck = Array.from({ length: BLOCKED_EVENTS }, () => event(down.id));
  for (let i = 0; i < stuck.length; i += 500) await services.reconcile.outbox.record(stuck.slice(i, i + 500));
  const statsBefore = services.webhooks.dispatcher.stats();
  const blockedStarted = performance.now();
  const blocked: number[] = [];
  for (let i = 0; i < LATENCY_EVENTS; i++) {
    const before = receiver.received.length;
    const written = performance.now();
    await services.reconcile.outbox.record([event(accounts[i % ACCOUNTS] as string)]);
    // A deadline, so a starved account reports a miss instead of hanging the bench.
    while (receiver.received.length === before && performance.now() - written < 10_000) await new Promise((resolve) => setImmediate(resolve));
    blocked.push((receiver.received[before]?.receivedAt ?? performance.now()) - written);
  }
  const blockedSeconds = (performance.now() - blockedStarted) / 1000;
  const statsAfter = services.webhooks.dispatcher.stats();
  blocked.sort((a, b) => a - b);
  report(`… with ${BLOCKED_EVENTS} events behind a down receiver, p99`, percentile(blocked, 99), 'ms', { max: 1000 });
  console.log(
    `     (meanwhile ${((statsAfter.scans - statsBefore.scans) / blockedSeconds).toFixed(1)} scans/s, ${((statsAfter.laneRuns - statsBefore.laneRuns) / blockedSeconds).toFixed(1)} lane starts/s for ${LATENCY_EVENTS} events in ${blockedSeconds.toFixed(1)} s)`,
  );
} finally {
  await services.webhooks.stop(5_000);
  await receiver.close();
  await database.connection.dropDatabase();
  await database.close();
  await embedded.stop();
}
