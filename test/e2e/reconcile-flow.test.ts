import { expect } from 'chai';
import { createBankRegistry } from '../../src/banks/registry.js';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { createScheduler, type Scheduler } from '../../src/jobs/scheduler.js';
import { POLL_JOB } from '../../src/reconcile/index.js';
import type { Services } from '../../src/services.js';
import { createBrowserPool, type BrowserPool } from '../../src/sessions/browser-pool.js';
import { SCRAPE_JOB } from '../../src/sessions/index.js';
import type { ConciliationRequestDoc } from '../../src/store/models.js';
import { offsetClock } from '../helpers/clock.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices, CHROMIUM_PATH, type SentMessage } from '../helpers/services.js';

/**
 * The whole reconcile flow with nothing called by hand: the job scheduler runs the bank
 * session on its schedule (real Chromium on the sandbox bank), polls a real local
 * pending-orders endpoint, matches, cancels and, after a jump of the clock, expires.
 */
describe('reconcile end to end: scheduled session + polled endpoint → matched, ambiguous, cancelled, expired', function () {
  this.timeout(120_000);
  const test = useTestDatabase('e2erecon');
  const capture = capturingLogger();
  const clock = offsetClock();
  const sent: SentMessage[] = [];
  let bank: SandboxBank;
  let pool: BrowserPool;
  let services: Services;
  let scheduler: Scheduler;
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let orders: { external_id: string; amount: string; currency: string; name: string }[] = [];

  before(async () => {
    bank = createSandboxBank();
    await bank.start();
    pool = createBrowserPool({ executablePath: CHROMIUM_PATH, maxContexts: 2, log: capture.log });
    endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(orders)));
    const late: { scheduler?: Scheduler } = {};
    services = buildServices(test.db, {
      clock,
      log: capture.log,
      sent,
      pool,
      banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: bank.url }]),
      enqueue: async (data) => late.scheduler?.now(SCRAPE_JOB, data),
      enqueuePoll: async (data) => late.scheduler?.now(POLL_JOB, data),
      sessionSettings: { scrapeTickSeconds: 1 },
      reconcileSettings: { pollIntervalMs: 1_000, pollTickSeconds: 1, expirySeconds: 1 },
    });
    scheduler = createScheduler({ db: test.db.connection.db!, log: capture.log, processEvery: 200, jobs: [...services.sessions.jobs(), ...services.reconcile.jobs()] });
    late.scheduler = scheduler;
  });

  after(async () => {
    await scheduler?.stop(10_000);
    await pool?.close();
    await bank?.stop();
    await endpoint?.close();
  });

  async function requestStatus(accountId: string, externalId: string): Promise<string | undefined> {
    const doc = await test.db.models.ConciliationRequest.findOne({ accountId, externalId }).lean<ConciliationRequestDoc>();
    return doc?.status;
  }

  it('settles every kind of request and records one outbox event per result', async () => {
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Shop');
    await services.users.rememberDm(owner.id, 'console:local');
    await services.users.setOperationMode(owner.userId, 'reconcile');
    bank.addUser({ username: 'shop', password: 'shop-pass-Ñ', otp: null });
    const hourAgo = new Date(Date.now() - 60 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    bank.addMovements('shop', [
      { at: hourAgo, amount: '1500.00', sender: 'JUAN PEREZ', reference: 'M1' },
      { at: hourAgo, amount: '800.00', sender: 'Maria Lopez', reference: 'M2' },
      { at: hourAgo, amount: '800.00', sender: 'MARIA LOPEZ', reference: 'M3' },
    ]);
    orders = [
      { external_id: 'A-1', amount: '1500.00', currency: 'UYU', name: 'Juan Pérez' },
      { external_id: 'B-1', amount: '800', currency: 'UYU', name: 'María López' },
      { external_id: 'C-1', amount: '12.34', currency: 'UYU', name: 'Cancel Me' },
      { external_id: 'D-1', amount: '99.99', currency: 'UYU', name: 'Never Pays' },
    ];
    const account = await services.accounts.create(owner.userId, { name: 'Main', bank: 'sandbox' });
    await services.accounts.configure(owner.userId, account.id, {
      bank_username: 'shop',
      bank_password: 'shop-pass-Ñ',
      pending_orders_endpoint: `${endpoint.url}/pending`,
      notify_on_expired: true,
    });
    await scheduler.start();

    await eventually(async () => (await requestStatus(account.id, 'A-1')) === 'matched', 60_000, 'A-1 matched by the scheduled session and poll');
    await eventually(async () => (await requestStatus(account.id, 'B-1')) === 'ambiguous', 30_000, 'B-1 ambiguous');
    expect(await requestStatus(account.id, 'D-1')).to.equal('not_found');

    orders = orders.filter((o) => o.external_id !== 'C-1');
    await eventually(async () => (await requestStatus(account.id, 'C-1')) === 'cancelled', 30_000, 'C-1 cancelled after it left the list');

    // Nothing more to read or poll; five days pass.
    await services.accounts.setStatus(owner.userId, account.id, 'inactive');
    clock.jump(5 * 24 * 60 * 60_000 + 60_000);
    await eventually(async () => (await requestStatus(account.id, 'D-1')) === 'expired', 90_000, 'D-1 expired by the expiry job');

    // The status is written first, its event and the chat notice right after: wait for those.
    const events = await eventually(async () => {
      const listed = await services.reconcile.outbox.list(account.id);
      return listed.length === 4 ? listed : undefined;
    }, 30_000, 'four outbox events');
    const byOrder = events.map((e) => `${e.type}:${String(e.data.external_id)}`).sort();
    // Nobody chose for B-1 within 5 days either: unmatched, so it expires too.
    expect(await requestStatus(account.id, 'B-1')).to.equal('expired');
    expect(await requestStatus(account.id, 'C-1'), 'cancelled is final').to.equal('cancelled');
    expect(byOrder).to.deep.equal(['conciliation.ambiguous:B-1', 'conciliation.expired:B-1', 'conciliation.expired:D-1', 'conciliation.matched:A-1']);
    expect(events.every((e) => e.webhook.state === 'pending')).to.equal(true);
    expect(new Set(events.map((e) => e._id)).size).to.equal(4);
    const texts = await eventually(() => {
      const all = sent.map((s) => s.message.text).join('\n');
      return /Payment D-1 .* expired/.test(all) && /Payment B-1 .* expired/.test(all) ? all : undefined;
    }, 30_000, 'the expiry notices');
    expect(texts).to.include('Payment matched on "Main": A-1').and.include('is ambiguous');
    expect(capture.text()).not.to.include('shop-pass-Ñ');
  });
});
