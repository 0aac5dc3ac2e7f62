import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/paths.js';
import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { registerOperations } from '../../src/http/operations.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMetricsRecorder } from '../../src/metrics/recorder.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Database } from '../../src/store/database.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { buildServices } from '../helpers/services.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const log = pino({ level: 'silent' });
const run = promisify(execFile);

/** The container health check as a process: `healthcheck <url>`. */
async function healthcheckProcess(url: string): Promise<{ code: number; stdout: string }> {
  return run(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'healthcheck.ts'), url], { cwd: projectRoot, env: { PATH: process.env.PATH ?? '' } }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
}

/** A Fastify app with the operations plugin only, as the API server registers it. */
async function operationsApp(db: Database, checks: Record<string, () => Promise<void>>): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  await registerOperations(app, { checks, metrics: createMetrics({ models: db.models, db: db.connection.db!, clock: systemClock, cacheMs: 0 }), log, timeoutMs: 1_500 });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

/** A port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `name{labels} value` lines of a Prometheus text, as a map (labels as printed). */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('operations endpoints: health, readiness, metrics', function () {
  this.timeout(60_000);
  const test = useTestDatabase('operations');
  const apps: FastifyInstance[] = [];
  const clients: MongoClient[] = [];

  after(async () => {
    for (const app of apps) await app.close();
    for (const client of clients) await client.close().catch(() => undefined);
  });

  it('GET /health answers {"ok": true}; GET /ready checks the database and the job queue', async () => {
    const db = test.db.connection.db!;
    const scheduler = createScheduler({ db, log, jobs: [] });
    const { app, url } = await operationsApp(test.db, { database: async () => void (await db.admin().ping()), scheduler: () => scheduler.check() });
    apps.push(app);
    const health = await fetch(`${url}/health`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ ok: true });
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).to.equal(200);
    expect(await ready.json()).to.deep.equal({ ok: true, checks: { database: 'ok', scheduler: 'ok' } });
  });

  it('GET /ready is 503 naming the check that fails while /health stays 200', async () => {
    // A database that is not there: a real client to a closed port.
    const client = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}/x`, { serverSelectionTimeoutMS: 300 });
    clients.push(client);
    const missing = client.db();
    const scheduler = createScheduler({ db: missing, log, jobs: [] });
    const healthy = test.db.connection.db!;
    const { app, url } = await operationsApp(test.db, { database: async () => void (await healthy.admin().ping()), scheduler: () => scheduler.check(1_000) });
    apps.push(app);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).to.equal(503);
    const body = (await ready.json()) as { ok: boolean; checks: Record<string, string> };
    expect(body.ok).to.equal(false);
    expect(body.checks.database).to.equal('ok');
    expect(body.checks.scheduler).to.not.equal('ok');
    expect(body.checks.scheduler).to.not.match(/mongodb:\/\/127/);
    expect((await fetch(`${url}/health`)).status).to.equal(200);
    // The health check of an API process (docker-compose) asks this endpoint.
    const probe = await healthcheckProcess(`${url}/ready`);
    expect(probe.code).to.equal(1);
    expect(probe.stdout).to.match(/^unhealthy: http:\/\/127\.0\.0\.1:\d+\/ready answered 503 /);
  });

  it('the health check with a URL is healthy on a 200 from /ready, unhealthy when nothing answers', async () => {
    const { app, url } = await operationsApp(test.db, { database: async () => void (await test.db.connection.db!.admin().ping()) });
    apps.push(app);
    const healthy = await healthcheckProcess(`${url}/ready`);
    expect(healthy, healthy.stdout).to.deep.include({ code: 0 });
    expect(healthy.stdout).to.match(/^healthy: .* answered 200 \{"ok":true,"checks":\{"database":"ok"\}\}/);
    const nobody = await healthcheckProcess(`http://127.0.0.1:${await closedPort()}/ready`);
    expect(nobody.code).to.equal(1);
    expect(nobody.stdout).to.match(/^unhealthy: .* did not answer/);
  });

  it('GET /metrics: values from the database, deliveries and polls counted by another service instance', async () => {
    const recorder = createMetricsRecorder({ models: test.db.models, log });
    const receiver = await startReceiver((_delivery, index) => (index === 0 ? 200 : 500));
    const worker = buildServices(test.db, { clock: systemClock, metrics: recorder, webhookSettings: { retryScheduleMs: [60_000, 60_000, 60_000, 60_000, 60_000] } });
    try {
      const owner = await worker.users.createTenant({ platform: 'console', teamId: 'local', userId: 'm', displayName: 'M' }, 'Metrics');
      const account = await worker.accounts.create(owner.userId, { name: 'metered', bank: 'sandbox' });
      await worker.accounts.configure(owner.userId, account.id, { notification_endpoint_url: `${receiver.url}/ops`, notification_events: ['login_failed', 'scrape_failed'] });
      worker.webhooks.start();
      await worker.webhooks.notify(account.id, 'login_failed', 'metrics:1', 'The bank rejected the username or password.');
      await eventually(() => receiver.received.length >= 1, 15_000, 'the first delivery');
      await worker.webhooks.notify(account.id, 'scrape_failed', 'metrics:2', 'The bank did not answer.');
      await eventually(() => receiver.received.length >= 2, 15_000, 'the second delivery (answered 500)');
      await eventually(async () => (await test.db.models.OutboxEvent.countDocuments({ 'webhook.attempts': { $gte: 1 } })) === 2, 15_000, 'both attempts settled');
      recorder.poll('failed');
      recorder.poll('ok');
      recorder.poll('ok');
      await recorder.flush();

      const now = new Date();
      const base = { accountId: account.id, userId: owner.userId, amountMinor: 150000, currency: 'UYU', name: 'Juan', registeredAt: now, statusChangedAt: now };
      await test.db.models.ConciliationRequest.create([
        { ...base, externalId: 'A', status: 'matched' },
        { ...base, externalId: 'B', status: 'matched' },
        { ...base, externalId: 'C', status: 'ambiguous' },
        { ...base, externalId: 'D', status: 'pending' },
        { ...base, externalId: 'E', status: 'expired' },
      ]);
      await test.db.models.SessionRun.create([
        { accountId: account.id, kind: 'one-shot', trigger: 'schedule', status: 'ok', outcome: 'ok', holder: 'h', startedAt: now },
        { accountId: account.id, kind: 'one-shot', trigger: 'schedule', status: 'failed', outcome: 'invalid_credentials', holder: 'h', startedAt: now },
        { accountId: account.id, kind: 'persistent', trigger: 'monitor', status: 'running', holder: 'h', startedAt: now },
      ]);
      await test.db.models.AssistanceRequest.create({ accountId: account.id, descriptor: { length: 6, type: 'numeric' }, status: 'pending', pendingFor: account.id, expiresAt: new Date(Date.now() + 60_000) });
      await test.db.models.Account.updateOne({ _id: account.id }, { $set: { 'polling.failures': 2, scrapeBlockedAt: now } });
      await createScheduler({ db: test.db.connection.db!, log, jobs: [] }).now('scrape-account', { accountId: account.id, trigger: 'manual' });

      // Read by another process: a separate metrics instance on the same database.
      const { app, url } = await operationsApp(test.db, {});
      apps.push(app);
      const response = await fetch(`${url}/metrics`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      const m = samples(text);
      const expected: Record<string, number> = {
        'reconbanker_conciliation_requests{status="matched"}': 2,
        'reconbanker_conciliation_requests{status="ambiguous"}': 1,
        'reconbanker_conciliation_requests{status="not_found"}': 0,
        'reconbanker_open_requests': 2,
        'reconbanker_session_runs{kind="one-shot",outcome="ok"}': 1,
        'reconbanker_session_runs{kind="one-shot",outcome="invalid_credentials"}': 1,
        'reconbanker_session_runs{kind="persistent",outcome="running"}': 1,
        'reconbanker_outbox_events{lane="notification",state="delivered"}': 1,
        'reconbanker_outbox_events{lane="notification",state="pending"}': 1,
        'reconbanker_outbox_undelivered{lane="notification"}': 1,
        'reconbanker_outbox_undelivered{lane="webhook"}': 0,
        'reconbanker_delivery_attempts_total{lane="notification",outcome="delivered"}': 1,
        'reconbanker_delivery_attempts_total{lane="notification",outcome="retry"}': 1,
        'reconbanker_delivery_latency_seconds_bucket{lane="notification",le="+Inf"}': 1,
        'reconbanker_delivery_latency_seconds_count{lane="notification"}': 1,
        'reconbanker_delivery_attempt_seconds_count{lane="notification"}': 2,
        'reconbanker_delivery_attempt_seconds_bucket{lane="notification",le="10"}': 2,
        'reconbanker_polls_total{result="failed"}': 1,
        'reconbanker_polls_total{result="ok"}': 2,
        'reconbanker_accounts_poll_failing': 1,
        'reconbanker_poll_consecutive_failures': 2,
        'reconbanker_accounts_scrape_blocked': 1,
        'reconbanker_assistance_pending': 1,
        'reconbanker_jobs{state="due"}': 1,
      };
      for (const [series, value] of Object.entries(expected)) expect(m.get(series), series).to.equal(value);
      // Buckets are cumulative and end at the count.
      const buckets = [...m.entries()].filter(([k]) => k.startsWith('reconbanker_delivery_attempt_seconds_bucket{lane="notification"')).map(([, v]) => v);
      expect(buckets).to.deep.equal([...buckets].sort((a, b) => a - b));
      expect(text).to.match(/# TYPE reconbanker_delivery_latency_seconds histogram/);
      expect(text).to.match(/# TYPE reconbanker_delivery_attempts_total counter/);
      expect(text).to.match(/^reconbanker_process_resident_memory_bytes \d+/m);
      expect(text).not.to.include(receiver.url);
    } finally {
      await worker.webhooks.stop(5_000);
      await receiver.close();
    }
  });
});
