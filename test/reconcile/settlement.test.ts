import { expect } from 'chai';
import type { MatchDecision } from '../../src/reconcile/matcher.js';
import { matchRequests } from '../../src/reconcile/matcher.js';
import type { Services } from '../../src/services.js';
import type { ConciliationRequestDoc, OutboxEventDoc } from '../../src/store/models.js';
import { allCommands } from '../../commands/index.js';
import { createCommandRouter } from '../../src/chat/router.js';
import { commandIn, scriptedForms } from '../helpers/chat.js';
import { useTestDatabase } from '../helpers/database.js';
import { manualClock } from '../helpers/clock.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices, reconcilingShop, type SentMessage } from '../helpers/services.js';

type Order = { external_id: string | number; amount: number | string; currency: string; name: string };

const DAY = 24 * 60 * 60_000;

describe('reconciliation: polling, settlement, expiry, outbox (real database and endpoint)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('settle');
  const clock = manualClock(new Date('2026-11-10T12:00:00Z'));
  const capture = capturingLogger();
  const sent: SentMessage[] = [];
  let orders: Order[] = [];
  let answer: { status: number; body: string } | undefined;
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let services: Services;
  let userId = '';
  let failMatching = 0;
  let fingerprint = 0;

  before(async () => {
    endpoint = await startEndpoint((_request, res) => {
      const reply = answer ?? { status: 200, body: JSON.stringify({ data: orders }) };
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
    });
    services = buildServices(test.db, {
      clock,
      log: capture.log,
      sent,
      match: (requests, transactions): MatchDecision[] => {
        if (failMatching > 0) {
          failMatching -= 1;
          throw new Error('matcher exploded on purpose');
        }
        return matchRequests(requests, transactions);
      },
    });
    userId = await reconcilingShop(services);
  });

  after(async () => {
    await endpoint?.close();
  });

  beforeEach(() => {
    orders = [];
    answer = undefined;
    sent.length = 0;
  });

  async function account(name: string, settings: Record<string, unknown> = {}): Promise<string> {
    const created = await services.accounts.create(userId, { name, bank: 'sandbox' });
    await services.accounts.configure(userId, created.id, { pending_orders_endpoint: `${endpoint.url}/orders/${name}`, auth_token: 'poll-token-secret', ...settings });
    return created.id;
  }

  /** What a bank session does with what it read: store once, then hand the new ones over. */
  async function arrive(accountId: string, movements: { amount: number; sender: string | null; at: Date; currency?: string }[]) {
    const inserted = await services.sessions.transactions.ingest(
      accountId,
      'run',
      movements.map((m) => ({ amountMinor: m.amount, currency: m.currency ?? 'UYU', senderName: m.sender, receivedAt: m.at, description: 'Transferencia', bankReference: `ref-${++fingerprint}` })),
      true,
    );
    await services.reconcile.transactionsArrived(accountId, inserted);
    return inserted;
  }

  async function request(accountId: string, externalId: string): Promise<ConciliationRequestDoc> {
    const doc = await test.db.models.ConciliationRequest.findOne({ accountId, externalId }).lean<ConciliationRequestDoc>();
    if (!doc) throw new Error(`no request ${externalId}`);
    return doc;
  }

  async function events(accountId: string): Promise<OutboxEventDoc[]> {
    return services.reconcile.outbox.list(accountId);
  }

  it('a payment that arrived before its order matches on the first poll; the event is in the outbox and operators are told', async () => {
    const id = await account('Before');
    const [tx] = await arrive(id, [{ amount: 150000, sender: 'JOSE PEREZ', at: new Date(clock.now().getTime() - 2 * DAY) }]);
    orders = [{ external_id: 'A-1', amount: '1500.00', currency: 'uyu', name: 'José Pérez' }];
    const outcome = await services.reconcile.poller.pollAccount(id, 'console:here');
    expect(outcome).to.deep.include({ ok: true, created: 1, cancelled: 0 });
    const doc = await request(id, 'A-1');
    expect(doc).to.deep.include({ status: 'matched', attemptCount: 1, amountMinor: 150000, currency: 'UYU' });
    expect(doc.match?.transactionId).to.equal(tx!.id);
    expect(doc.attempts[0]).to.deep.include({ number: 1, result: 'matched' });
    expect(doc.pendingEvents).to.deep.equal([]);
    const stored = await test.db.models.BankTransaction.findById(tx!.id).lean();
    expect(stored?.usedBy).to.equal(doc._id);
    const recorded = await events(id);
    expect(recorded).to.have.length(1);
    expect(recorded[0]).to.deep.include({ type: 'conciliation.matched', subjectId: doc._id });
    expect(recorded[0]!.data).to.deep.include({ external_id: 'A-1', status: 'matched', amount_minor: 150000, currency: 'UYU', name: 'José Pérez' });
    expect(recorded[0]!.webhook.state).to.equal('pending');
    expect(recorded[0]!.chat.state).to.equal('sent');
    expect(sent.some((s) => s.ref === 'console:local' && /Payment matched on "Before": A-1 \(1,?500\.00 UYU/.test(s.message.text))).to.equal(true);
    expect(sent.find((s) => s.ref === 'console:here')?.message.text).to.match(/Polled "Before": 1 order\(s\) listed, 1 new.*1 matched/);
    expect(endpoint.requests.at(-1)?.headers.authorization).to.equal('Bearer poll-token-secret');
  });

  it('an order waiting as not_found matches when its transfer arrives; unrelated arrivals add no attempt', async () => {
    const id = await account('After');
    orders = [{ external_id: 7, amount: 250, currency: 'UYU', name: 'Ana Gómez' }];
    await services.reconcile.poller.pollAccount(id);
    expect(await request(id, '7')).to.deep.include({ status: 'not_found', attemptCount: 1 });
    clock.advance(60_000);
    await arrive(id, [{ amount: 99900, sender: 'Ana Gomez', at: clock.now() }]);
    expect((await request(id, '7')).attemptCount, 'a different amount cannot change the outcome').to.equal(1);
    await arrive(id, [{ amount: 25000, sender: 'GOMEZ ANA', at: clock.now() }]);
    const doc = await request(id, '7');
    expect(doc).to.deep.include({ status: 'matched', attemptCount: 2 });
    expect((await events(id)).map((e) => e.type)).to.deep.equal(['conciliation.matched']);
  });

  it('two equally plausible transfers → ambiguous with both candidates, told once; an operator resolves it', async () => {
    const id = await account('Twins');
    const [first, second] = await arrive(id, [
      { amount: 50000, sender: 'Carlos Ruiz', at: new Date(clock.now().getTime() - DAY) },
      { amount: 50000, sender: 'CARLOS RUIZ', at: new Date(clock.now().getTime() - DAY / 2) },
    ]);
    orders = [{ external_id: 'T-1', amount: 500, currency: 'UYU', name: 'Carlos Ruiz' }];
    await services.reconcile.poller.pollAccount(id);
    const doc = await request(id, 'T-1');
    expect(doc.status).to.equal('ambiguous');
    expect([...doc.candidates].sort()).to.deep.equal([first!.id, second!.id].sort());
    // Another arrival with the same amount but another payer: evaluated again, same candidates, no second event.
    await arrive(id, [{ amount: 50000, sender: 'Otro Pagador', at: clock.now() }]);
    expect((await request(id, 'T-1')).attemptCount).to.equal(2);
    expect((await events(id)).map((e) => e.type)).to.deep.equal(['conciliation.ambiguous']);
    const told = sent.find((s) => /is ambiguous/.test(s.message.text));
    expect(told?.message.text).to.include(first!.id.slice(0, 8)).and.include(second!.id.slice(0, 8)).and.include('pending resolve');

    const resolved = await services.reconcile.requests.resolve(userId, 'Twins', 'T-1', second!.id.slice(0, 8), 'Operator');
    expect(resolved.status).to.equal('matched');
    expect(resolved.match).to.deep.include({ transactionId: second!.id, by: 'operator' });
    expect((await test.db.models.BankTransaction.findById(first!.id).lean())?.usedBy).to.equal(null);
    const types = (await events(id)).map((e) => e.type);
    expect(types).to.deep.equal(['conciliation.ambiguous', 'conciliation.matched']);
  });

  it('a transaction settles one request only: resolving another request with it is refused', async () => {
    const id = await account('OneUse');
    const [tx] = await arrive(id, [{ amount: 7000, sender: 'Laura Díaz', at: clock.now() }]);
    orders = [
      { external_id: 'U-1', amount: 70, currency: 'UYU', name: 'Laura Diaz' },
      { external_id: 'U-2', amount: 70, currency: 'UYU', name: 'Somebody Else' },
    ];
    await services.reconcile.poller.pollAccount(id);
    expect((await request(id, 'U-1')).status).to.equal('matched');
    expect((await request(id, 'U-2')).status).to.equal('not_found');
    try {
      await services.reconcile.requests.resolve(userId, 'OneUse', 'U-2', tx!.id, 'Operator');
      expect.fail('resolve with a used transaction');
    } catch (error) {
      expect((error as Error).message).to.equal('That transaction already settled another request.');
    }
    expect((await request(id, 'U-2')).status).to.equal('not_found');
  });

  it('cancels orders that vanish; an empty list after orders is held once; a reappearing order reopens', async () => {
    const id = await account('Cancel');
    orders = [
      { external_id: 'C-1', amount: 10, currency: 'UYU', name: 'Uno' },
      { external_id: 'C-2', amount: 20, currency: 'UYU', name: 'Dos' },
    ];
    await services.reconcile.poller.pollAccount(id);
    orders = [{ external_id: 'C-2', amount: 20, currency: 'UYU', name: 'Dos' }];
    expect(await services.reconcile.poller.pollAccount(id)).to.deep.include({ cancelled: 1 });
    expect((await request(id, 'C-1')).status).to.equal('cancelled');
    orders = [];
    expect(await services.reconcile.poller.pollAccount(id)).to.deep.include({ heldEmpty: true, cancelled: 0 });
    expect((await request(id, 'C-2')).status).to.equal('not_found');
    expect(await services.reconcile.poller.pollAccount(id)).to.deep.include({ heldEmpty: false, cancelled: 1 });
    expect((await request(id, 'C-2')).status).to.equal('cancelled');
    orders = [{ external_id: 'C-1', amount: 10, currency: 'UYU', name: 'Uno' }];
    expect(await services.reconcile.poller.pollAccount(id)).to.deep.include({ reopened: 1 });
    expect((await request(id, 'C-1')).status).to.equal('not_found');
  });

  it('a changed amount updates the open request and evaluates it again', async () => {
    const id = await account('Changed');
    await arrive(id, [{ amount: 123456, sender: 'Pedro Gil', at: clock.now() }]);
    orders = [{ external_id: 'X', amount: 1000, currency: 'UYU', name: 'Pedro Gil' }];
    await services.reconcile.poller.pollAccount(id);
    expect((await request(id, 'X')).status).to.equal('not_found');
    orders = [{ external_id: 'X', amount: '1234.56', currency: 'UYU', name: 'Pedro Gil' }];
    expect(await services.reconcile.poller.pollAccount(id)).to.deep.include({ updated: 1 });
    expect(await request(id, 'X')).to.deep.include({ status: 'matched', amountMinor: 123456 });
  });

  it('a failed poll changes nothing and is reported; skipped items are reported once', async () => {
    const id = await account('Flaky');
    orders = [{ external_id: 'F-1', amount: 10, currency: 'UYU', name: 'Uno' }];
    await services.reconcile.poller.pollAccount(id);
    answer = { status: 503, body: '{}' };
    const failed = await services.reconcile.poller.pollAccount(id, 'console:here');
    expect(failed).to.deep.equal({ ok: false, account: 'Flaky', error: 'the endpoint answered 503 Service Unavailable' });
    expect((await request(id, 'F-1')).status, 'a failed poll cancels nothing').to.equal('not_found');
    expect(sent.filter((s) => /Polling the pending orders of "Flaky" failed: the endpoint answered 503/.test(s.message.text)).map((s) => s.ref).sort()).to.deep.equal(['console:here', 'console:local']);
    answer = undefined;
    sent.length = 0;
    orders = [{ external_id: 'F-1', amount: 10, currency: 'UYU', name: 'Uno' }, { external_id: 'F-2', amount: 'ten', currency: 'UYU', name: 'Dos' }];
    await services.reconcile.poller.pollAccount(id);
    await services.reconcile.poller.pollAccount(id);
    const skipNotices = sent.filter((s) => s.ref === 'console:local' && /cannot be read/.test(s.message.text));
    expect(skipNotices, 'the same skipped item is reported once').to.have.length(1);
    expect(skipNotices[0]!.message.text).to.include('F-2');
    expect(sent.some((s) => /works again/.test(s.message.text))).to.equal(true);
    expect(capture.text()).to.include('pending order skipped');
  });

  it('expires after 5 days (webhook only with notify_on_expired); re-registering matches a transfer that came late', async () => {
    const quiet = await account('ExpireQuiet');
    const loud = await account('ExpireLoud', { notify_on_expired: true });
    orders = [{ external_id: 'E-1', amount: 42, currency: 'UYU', name: 'Late Payer' }];
    await services.reconcile.poller.pollAccount(quiet);
    await services.reconcile.poller.pollAccount(loud);
    clock.advance(5 * DAY - 60_000);
    await services.reconcile.expireDue();
    expect((await request(quiet, 'E-1')).status, 'not yet: a minute under 5 days').to.equal('not_found');
    clock.advance(2 * 60_000);
    expect(await services.reconcile.expireDue()).to.be.at.least(2);
    expect((await request(quiet, 'E-1')).status).to.equal('expired');
    expect((await request(loud, 'E-1')).status).to.equal('expired');
    const [quietEvent] = await events(quiet);
    const [loudEvent] = await events(loud);
    expect(quietEvent).to.deep.include({ type: 'conciliation.expired' });
    expect(quietEvent!.webhook.state).to.equal('not_sent');
    expect(loudEvent!.webhook.state).to.equal('pending');
    expect(sent.filter((s) => /E-1 .* expired/.test(s.message.text))).to.have.length(2);

    // The transfer arrives late; the order is still listed, so it stays expired until registered again.
    await arrive(quiet, [{ amount: 4200, sender: 'Late Payer', at: clock.now() }]);
    expect((await request(quiet, 'E-1')).status).to.equal('expired');
    orders = [];
    await services.reconcile.poller.pollAccount(quiet);
    await services.reconcile.poller.pollAccount(quiet);
    orders = [{ external_id: 'E-1', amount: 42, currency: 'UYU', name: 'Late Payer' }];
    expect(await services.reconcile.poller.pollAccount(quiet)).to.deep.include({ reopened: 1 });
    expect((await request(quiet, 'E-1')).status).to.equal('matched');
    expect((await events(quiet)).map((e) => e.type)).to.deep.equal(['conciliation.expired', 'conciliation.matched']);
  });

  it('rematch of an expired request registers it again and can match', async () => {
    const id = await account('Rematch');
    orders = [{ external_id: 'R-1', amount: 5, currency: 'UYU', name: 'Mario Sosa' }];
    await services.reconcile.poller.pollAccount(id);
    clock.advance(5 * DAY + 60_000);
    await services.reconcile.expireDue();
    await arrive(id, [{ amount: 500, sender: 'M. Sosa', at: clock.now() }]);
    const result = await services.reconcile.requests.rematch(userId, 'Rematch', 'R-1');
    expect(result.reregistered).to.equal(true);
    expect(result.request.status).to.equal('matched');
  });

  it('an evaluation that errors is retried up to retry_limit, then the request is failed and operators are told', async () => {
    const id = await account('Errors', { retry_limit: 1 });
    failMatching = 2;
    orders = [{ external_id: 'ERR', amount: 1, currency: 'UYU', name: 'Err Payer' }];
    await services.reconcile.poller.pollAccount(id);
    let doc = await request(id, 'ERR');
    expect(doc).to.deep.include({ status: 'pending', errorCount: 1 });
    expect(doc.attempts.at(-1)).to.deep.include({ result: 'error', reason: 'the evaluation failed: matcher exploded on purpose' });
    expect(doc.retryAt?.getTime()).to.be.greaterThan(clock.now().getTime());
    clock.advance(2 * 60_000);
    await services.reconcile.sweep();
    doc = await request(id, 'ERR');
    expect(doc).to.deep.include({ status: 'failed', errorCount: 2 });
    expect((await events(id)).map((e) => [e.type, e.webhook.state])).to.deep.equal([['conciliation.failed', 'not_sent']]);
    expect(sent.some((s) => /Matching of ERR .* is marked failed/.test(s.message.text))).to.equal(true);
  });

  it('after a crash: a request left processing with a claimed transaction is restored and settled; stranded events reach the outbox once', async () => {
    const id = await account('Crash');
    orders = [{ external_id: 'K-1', amount: 3, currency: 'UYU', name: 'Kim Lee' }];
    await services.reconcile.poller.pollAccount(id);
    const [tx] = await services.sessions.transactions.ingest(id, 'run', [{ amountMinor: 300, currency: 'UYU', senderName: 'Kim Lee', receivedAt: clock.now(), description: '', bankReference: 'crash-1' }], true);
    // The process died after claiming the transaction, before writing the request's outcome,
    // and before handling the new transaction.
    const doc = await request(id, 'K-1');
    await test.db.models.ConciliationRequest.updateOne({ _id: doc._id }, { $set: { status: 'processing', processingFrom: 'not_found', processingSince: clock.now() } });
    await test.db.models.BankTransaction.updateOne({ _id: tx!.id }, { $set: { usedBy: doc._id } });
    clock.advance(3 * 60_000);
    const swept = await services.reconcile.sweep();
    expect(swept.transactions).to.equal(1);
    expect(await request(id, 'K-1')).to.deep.include({ status: 'matched' });
    expect((await test.db.models.BankTransaction.findById(tx!.id).lean())?.handled).to.equal(true);

    // Another crash: the status was written with its event, the copy to the outbox was not.
    const stranded = { ...(await events(id))[0]! } as unknown as Record<string, unknown>;
    await test.db.models.OutboxEvent.deleteOne({ _id: stranded._id as string });
    const { webhook: _w, chat: _c, createdAt: _t, ...rest } = stranded;
    await test.db.models.ConciliationRequest.updateOne({ _id: doc._id }, { $push: { pendingEvents: { ...rest, webhook: true, chat: false } } });
    await services.reconcile.outbox.flushPending();
    await services.reconcile.outbox.flushPending();
    const after = await events(id);
    expect(after.map((e) => e._id)).to.deep.equal([stranded._id]);
    expect((await request(id, 'K-1')).pendingEvents).to.deep.equal([]);
  });

  it('passthrough: one bank movement event per new transaction with a sender; none without one, none under silent_ingestion', async () => {
    const pass = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'pt', displayName: 'PT' }, 'Pass');
    await services.users.setOperationMode(pass.userId, 'passthrough');
    const loud = (await services.accounts.create(pass.userId, { name: 'Loud', bank: 'sandbox' })).id;
    const silent = (await services.accounts.create(pass.userId, { name: 'Silent', bank: 'sandbox' })).id;
    await services.accounts.configure(pass.userId, silent, { silent_ingestion: true });
    const txs = await arrive(loud, [
      { amount: 100, sender: 'Someone', at: clock.now() },
      { amount: 200, sender: null, at: clock.now() },
    ]);
    await arrive(loud, [{ amount: 100, sender: 'Someone', at: clock.now() }]);
    await arrive(silent, [{ amount: 300, sender: 'Quiet', at: clock.now() }]);
    const loudEvents = await events(loud);
    expect(loudEvents.map((e) => e.type)).to.deep.equal(['bank.movement', 'bank.movement']);
    expect(loudEvents[0]!.data).to.deep.include({ id: txs[0]!.id, amount_minor: 100, currency: 'UYU', name: 'Someone' });
    expect(loudEvents[0]!.chat.state).to.equal('none');
    expect(await events(silent)).to.deep.equal([]);
    expect(await test.db.models.ConciliationRequest.countDocuments({ accountId: { $in: [loud, silent] } })).to.equal(0);
    expect(await test.db.models.BankTransaction.countDocuments({ accountId: { $in: [loud, silent] }, handled: false })).to.equal(0);
    // Re-handling the same transactions (a sweeper after a crash) records nothing new.
    await services.reconcile.transactionsArrived(loud, txs);
    expect(await events(loud)).to.have.length(2);
  });

  it('the chat commands list, show, resolve and poll; a viewer cannot resolve', async () => {
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    const owner = { platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' };
    const run = async (text: string, who = owner) => {
      const reply = await router.handle(commandIn('dm', who, text), scriptedForms());
      return reply.text + (reply.fields ?? []).map((f) => `\n${f.label}: ${f.value}`).join('');
    };
    const id = await account('Chat');
    const [a, b] = await arrive(id, [
      { amount: 8800, sender: 'Rosa Mia', at: clock.now() },
      { amount: 8800, sender: 'ROSA MIA', at: clock.now() },
    ]);
    orders = [{ external_id: 'CH-1', amount: 88, currency: 'UYU', name: 'Rosa Mía' }];
    const queued: string[] = [];
    const viaJob = buildServices(test.db, { clock, log: capture.log, sent, enqueuePoll: async (data) => void queued.push(data.accountId) });
    const pollRouter = createCommandRouter({ commands: allCommands(), services: viaJob, log: capture.log });
    const pollReply = await pollRouter.handle(commandIn('dm', owner, 'account poll Chat'), scriptedForms());
    expect(pollReply.text).to.equal('Polling the pending orders of "Chat"; the result will follow here.');
    expect(queued).to.deep.equal([id]);
    expect((await pollRouter.handle(commandIn('dm', owner, 'account poll Chat'), scriptedForms())).text).to.equal('A poll of "Chat" is already queued or running.');
    await viaJob.reconcile.poller.pollAccount(id, 'console:here');

    expect(await run('pending Chat')).to.match(/Requests on "Chat" 1–1 of 1:\n• CH-1 — ambiguous — 88\.00 UYU — Rosa Mía — Chat/);
    expect(await run('pending status=matched')).to.not.include('CH-1');
    expect(await run('pending status=bogus')).to.match(/status must be one of/);
    const shown = await run('pending show Chat CH-1');
    expect(shown).to.include(a!.id.slice(0, 8)).and.include(b!.id.slice(0, 8)).and.match(/#1 .* ambiguous: 2 transactions are equally plausible/);
    expect(await run('pending show Chat NOPE')).to.equal('No request "NOPE" on "Chat". List them with: pending "Chat"');

    const viewerInvite = await run('invite viewer');
    const code = /RB-[A-Z2-9]{4}-[A-Z2-9]{4}/.exec(viewerInvite)?.[0];
    const viewer = { platform: 'console', teamId: 'local', userId: 'viewer', displayName: 'Viewer' };
    await run(`link ${code}`, viewer);
    expect(await run(`pending resolve Chat CH-1 ${a!.id.slice(0, 8)}`, viewer)).to.match(/operator/i);
    expect(await run(`pending resolve Chat CH-1 ${a!.id.slice(0, 8)}`)).to.match(/^Resolved: CH-1 is matched with transaction/);
    expect(await run('pending rematch Chat CH-1')).to.equal('"CH-1" is already matched.');
  });

  it('shows the evidence of a decision (#16 item 5): a reference match in pending show, the chat notice and the attempt log, never in the webhook', async () => {
    const router = createCommandRouter({ commands: allCommands(), services, log: capture.log });
    const owner = { platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' };
    const run = async (text: string) => {
      const reply = await router.handle(commandIn('dm', owner, text), scriptedForms());
      return reply.text + (reply.fields ?? []).map((f) => `\n${f.label}: ${f.value}`).join('');
    };
    const id = await account('Evidence');
    // A parent pays for a student: another name, the order's id in the remittance text.
    const [byReference] = await services.sessions.transactions.ingest(id, 'run', [{ amountMinor: 42000, currency: 'UYU', senderName: 'Marta Gómez', receivedAt: clock.now(), description: 'Cuota O-1042 marzo', bankReference: 'ev-1' }], true);
    const [byName] = await services.sessions.transactions.ingest(id, 'run', [{ amountMinor: 13000, currency: 'UYU', senderName: 'LUIS SUAREZ', receivedAt: clock.now(), description: 'Transferencia', bankReference: 'ev-2' }], true);
    orders = [
      { external_id: 'O-1042', amount: '420.00', currency: 'UYU', name: 'Lucía Fernández' },
      { external_id: 'O-7', amount: '130.00', currency: 'UYU', name: 'Luis Suárez' },
    ];
    await services.reconcile.poller.pollAccount(id, 'console:here');
    const referenced = await request(id, 'O-1042');
    expect(referenced.match?.transactionId).to.equal(byReference!.id);
    expect(referenced.attempts.at(-1)?.reason).to.match(/^reference O-1042 in the transaction's reference text/);
    const named = await request(id, 'O-7');
    expect(named.match?.transactionId).to.equal(byName!.id);
    expect(named.attempts.at(-1)?.reason).to.match(/^name score 1\.00/);

    expect(await run('pending show Evidence O-1042')).to.match(/\nEvidence: reference O-1042 in the transaction's reference text/);
    expect(await run('pending show Evidence O-7')).to.match(/\nEvidence: name score 1\.00/);
    const notices = sent.map((m) => m.message.text).filter((t) => t.startsWith('Payment matched on "Evidence"'));
    expect(notices.find((t) => t.includes('O-1042'))).to.match(/\(reference O-1042 in the transaction's reference text/);
    expect(notices.find((t) => t.includes('O-7'))).to.match(/\(name score 1\.00\)/);
    const recorded = (await events(id)).filter((e) => e.type === 'conciliation.matched');
    expect(recorded.map((e) => e.evidence)).to.have.length(2).and.satisfy((all: unknown[]) => all.every((e) => typeof e === 'string'));
    for (const e of recorded) expect(JSON.stringify(e.data)).to.not.match(/evidence|reference text|name score/);
  });

  it('never logged the polling token', () => {
    expect(capture.text()).not.to.include('poll-token-secret');
    expect(JSON.stringify(sent)).not.to.include('poll-token-secret');
  });
});
