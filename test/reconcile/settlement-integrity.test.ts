import { expect } from 'chai';
import { matchRequests, type MatchDecision } from '../../src/reconcile/matcher.js';
import type { Services } from '../../src/services.js';
import type { ConciliationRequestDoc } from '../../src/store/models.js';
import { useTestDatabase } from '../helpers/database.js';
import { manualClock } from '../helpers/clock.js';
import { startEndpoint } from '../helpers/http-endpoint.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices, reconcilingShop, type SentMessage } from '../helpers/services.js';

/**
 * Money integrity (issue #13 items 2–6), through the real database and a real endpoint: no
 * claim leaks, no settlement from a reference that names nothing, no stale ambiguity, no
 * cancellation from a poll whose items cannot be read (a large evaluation: test/e2e/settlement-lease.test.ts).
 */

const HOUR = 60 * 60_000;

describe('settlement integrity: claims, operator references, stale ambiguity, unreadable polls', function () {
  this.timeout(120_000);
  const test = useTestDatabase('integrity');
  const clock = manualClock(new Date('2026-11-10T12:00:00Z'));
  const capture = capturingLogger();
  const sent: SentMessage[] = [];
  let body = '[]';
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let services: Services;
  let userId = '';
  let fingerprint = 0;
  /** When set, the matcher's decisions pass through it (a fault injected into one evaluation). */
  let tamper: ((decisions: MatchDecision[]) => MatchDecision[]) | undefined;

  before(async () => {
    endpoint = await startEndpoint((_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    services = buildServices(test.db, { clock, log: capture.log, sent, match: (requests, transactions) => (tamper ?? ((d) => d))(matchRequests(requests, transactions)) });
    userId = await reconcilingShop(services);
  });

  after(async () => {
    await endpoint?.close();
  });

  beforeEach(() => {
    sent.length = 0;
    tamper = undefined;
  });

  async function account(name: string): Promise<string> {
    const created = await services.accounts.create(userId, { name, bank: 'sandbox' });
    await services.accounts.configure(userId, created.id, { pending_orders_endpoint: `${endpoint.url}/orders/${name}` });
    return created.id;
  }

  async function arrive(accountId: string, movements: { amount: number; sender: string; at?: Date }[]) {
    const inserted = await services.sessions.transactions.ingest(
      accountId,
      'run',
      movements.map((m) => ({ amountMinor: m.amount, currency: 'UYU', senderName: m.sender, receivedAt: m.at ?? clock.now(), description: 'Transferencia', bankReference: `ref-${++fingerprint}` })),
      true,
    );
    await services.reconcile.transactionsArrived(accountId, inserted);
    return inserted;
  }

  async function poll(accountId: string, orders: unknown, ref?: string) {
    body = typeof orders === 'string' ? orders : JSON.stringify(orders);
    return services.reconcile.poller.pollAccount(accountId, ref);
  }

  async function request(accountId: string, externalId: string): Promise<ConciliationRequestDoc> {
    const doc = await test.db.models.ConciliationRequest.findOne({ accountId, externalId }).lean<ConciliationRequestDoc>();
    if (!doc) throw new Error(`no request ${externalId}`);
    return doc;
  }

  const usedBy = async (transactionId: string) => (await test.db.models.BankTransaction.findById(transactionId).lean())?.usedBy ?? null;
  const matchedEvents = async (accountId: string) => (await services.reconcile.outbox.list(accountId)).filter((e) => e.type === 'conciliation.matched');

  describe('claims never leak (item 2)', () => {
    it('an evaluation that fails after claiming gives the transaction back', async () => {
      const id = await account('Leak');
      const [payment] = await arrive(id, [{ amount: 12_300, sender: 'Irene Paz', at: new Date(clock.now().getTime() - HOUR) }]);
      // The outcome write fails after the claim (a value the database refuses to store).
      tamper = (decisions) => decisions.map((d) => (d.result === 'matched' ? { ...d, reason: { not: 'a sentence' } as unknown as string } : d));
      await poll(id, [{ external_id: 'L-1', amount: 123, currency: 'UYU', name: 'Irene Paz' }]);
      const failed = await request(id, 'L-1');
      expect(failed).to.deep.include({ status: 'pending', errorCount: 1 });
      expect(await usedBy(payment!.id), 'the claim made before the error is released').to.equal(null);
      const lease = await test.db.models.Lease.findById(`reconcile:${id}`).lean<{ fence?: number; cleanThrough?: number }>();
      expect(lease?.cleanThrough, 'a step that handled an evaluation error does not vouch for the account').to.not.equal(lease?.fence);
      tamper = undefined;
      clock.advance(2 * 60_000);
      await services.reconcile.sweep();
      expect(await request(id, 'L-1')).to.deep.include({ status: 'matched' });
      expect(await usedBy(payment!.id)).to.equal(failed._id);
    });

    it('a request left processing by a crash is recovered before the next poll cancels it: its transaction is free again', async () => {
      const id = await account('Crashed');
      const [payment] = await arrive(id, [{ amount: 4_400, sender: 'Olga Rey' }]);
      await poll(id, [{ external_id: 'P-1', amount: 44, currency: 'UYU', name: 'Someone Else' }]);
      const stuck = await request(id, 'P-1');
      expect(stuck.status).to.equal('not_found');
      // The process died after claiming the payment for P-1, before writing P-1's outcome.
      await test.db.models.ConciliationRequest.updateOne({ _id: stuck._id }, { $set: { status: 'processing', processingFrom: 'not_found', processingSince: clock.now() } });
      await test.db.models.BankTransaction.updateOne({ _id: payment!.id }, { $set: { usedBy: stuck._id, usedAt: clock.now(), claimKey: `r:${stuck._id}` } });
      // The next poll no longer lists P-1 (cancelled) and lists Olga's own order.
      const outcome = await poll(id, [{ external_id: 'P-2', amount: 44, currency: 'UYU', name: 'Olga Rey' }]);
      expect(outcome).to.deep.include({ ok: true, cancelled: 1 });
      expect((await request(id, 'P-1')).status).to.equal('cancelled');
      expect(await request(id, 'P-2'), 'the payment was free for its own order').to.deep.include({ status: 'matched' });
      expect(await usedBy(payment!.id)).to.equal((await request(id, 'P-2'))._id);
    });

    it('a mark a lapsed holder wrote after a clean step began is restored by the sweeper (a step the lease vouches for does not look)', async () => {
      const id = await account('Late');
      await poll(id, [{ external_id: 'M-1', amount: 77, currency: 'UYU', name: 'Someone Else' }]);
      const late = await request(id, 'M-1');
      expect(late.status).to.equal('not_found');
      // A holder whose lease lapsed wrote its mark late, after the poll's clean step had begun (then stopped).
      await test.db.models.ConciliationRequest.updateOne({ _id: late._id }, { $set: { status: 'processing', processingFrom: 'not_found', processingSince: clock.now(), processingFence: 0 } });
      await arrive(id, [{ amount: 1_100, sender: 'Otro Pago' }]);
      expect((await request(id, 'M-1')).status, 'the step after a clean one spared recovery its look').to.equal('processing');
      clock.advance(2 * 60_000);
      await services.reconcile.sweep();
      expect((await request(id, 'M-1')).status).to.equal('not_found');
    });

    it('a poll restores a request a lapsed holder left processing before planning, and frees what it held', async () => {
      const id = await account('LatePoll');
      const [payment] = await arrive(id, [{ amount: 8_800, sender: 'Pia Lund' }]);
      const listed = [{ external_id: 'N-1', amount: 88, currency: 'UYU', name: 'Someone Else' }];
      await poll(id, listed);
      const late = await request(id, 'N-1');
      expect(late.status).to.equal('not_found');
      await test.db.models.ConciliationRequest.updateOne({ _id: late._id }, { $set: { status: 'processing', processingFrom: 'not_found', processingSince: clock.now(), processingFence: 0 } });
      await test.db.models.BankTransaction.updateOne({ _id: payment!.id }, { $set: { usedBy: late._id, usedAt: clock.now(), claimKey: `r:${late._id}` } });
      // The same order, unchanged: nothing in the plan touches it, yet it is not left processing.
      await poll(id, listed);
      expect((await request(id, 'N-1')).status).to.equal('not_found');
      expect(await usedBy(payment!.id), 'what it held is free again').to.equal(null);
    });

    it('a poll that finds a request a newer holder is evaluating stops before planning: nothing of it is cancelled', async () => {
      const id = await account('Newer');
      await poll(id, [{ external_id: 'W-1', amount: 99, currency: 'UYU', name: 'Someone Else' }]);
      const busy = await request(id, 'W-1');
      await test.db.models.ConciliationRequest.updateOne({ _id: busy._id }, { $set: { status: 'processing', processingFrom: 'not_found', processingSince: clock.now(), processingFence: 1_000_000 } });
      // The endpoint no longer lists W-1: a plan would cancel it.
      const stopped = await poll(id, [{ external_id: 'W-2', amount: 98, currency: 'UYU', name: 'Another One' }]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(String(stopped)).to.include('lease');
      expect(await request(id, 'W-1')).to.deep.include({ status: 'processing', processingFence: 1_000_000 });
    });

    it('the sweeper frees a transaction held by a request that is not matched with it', async () => {
      const id = await account('Orphan');
      const [payment] = await arrive(id, [{ amount: 5_500, sender: 'Tomás Vidal' }]);
      await poll(id, [{ external_id: 'O-1', amount: 55, currency: 'UYU', name: 'Nobody Alike' }]);
      const holder = await request(id, 'O-1');
      // A claim whose outcome was never written (left by an earlier version or a lost step).
      await test.db.models.BankTransaction.updateOne({ _id: payment!.id }, { $set: { usedBy: holder._id, usedAt: clock.now(), claimKey: `r:${holder._id}` } });
      clock.advance(2 * 60_000);
      const swept = await services.reconcile.sweep();
      expect(await usedBy(payment!.id)).to.equal(null);
      expect(swept.freed).to.be.at.least(1);
      expect((await request(id, 'O-1')).status).to.equal('not_found');
    });

    it('the database refuses a second transaction for a request (unique claim key)', async () => {
      const id = await account('Unique');
      const [a, b] = await arrive(id, [
        { amount: 6_600, sender: 'Uno Dos' },
        { amount: 6_600, sender: 'Tres Cuatro' },
      ]);
      await test.db.models.BankTransaction.updateOne({ _id: a!.id }, { $set: { usedBy: 'request-x', claimKey: 'r:request-x' } });
      let refused: unknown;
      try {
        await test.db.models.BankTransaction.updateOne({ _id: b!.id, usedBy: null }, { $set: { usedBy: 'request-x', claimKey: 'r:request-x' } });
      } catch (error) {
        refused = error;
      }
      expect((refused as { code?: number } | undefined)?.code).to.equal(11000);
      expect(await usedBy(b!.id)).to.equal(null);
    });
  });

  describe('pending resolve names exactly one transaction (item 3)', () => {
    it('a reference that names nothing is refused in one sentence and settles nothing', async () => {
      const id = await account('Refs');
      const [other] = await arrive(id, [{ amount: 7_700, sender: 'Another Payer', at: new Date(clock.now().getTime() - HOUR) }]);
      await poll(id, [{ external_id: 'Z-1', amount: 77, currency: 'UYU', name: 'Zoe Lima' }]);
      expect((await request(id, 'Z-1')).status).to.equal('not_found');
      for (const reference of ['zzzzzz', '------', 'zz-zz-zz', other!.id.slice(0, 8).replace(/./, 'z')]) {
        let error: Error | undefined;
        try {
          await services.reconcile.requests.resolve(userId, 'Refs', 'Z-1', reference, 'Operator');
        } catch (e) {
          error = e as Error;
        }
        expect(error?.message, reference).to.equal(`No transaction "${reference}" among the candidates of "Z-1" or this account's transactions of 77.00 UYU; see pending show.`);
      }
      expect((await request(id, 'Z-1')).status).to.equal('not_found');
      expect(await usedBy(other!.id)).to.equal(null);
      expect(await matchedEvents(id)).to.deep.equal([]);
      // Named exactly, a transaction of the request's amount and currency can be chosen.
      const resolved = await services.reconcile.requests.resolve(userId, 'Refs', 'Z-1', other!.id.slice(0, 8).toUpperCase(), 'Operator');
      expect(resolved.status).to.equal('matched');
      expect(resolved.match?.transactionId).to.equal(other!.id);
    });

    it('a transaction of another amount is not found for the request, though it is the account’s', async () => {
      const id = await account('Amounts');
      const [wrong] = await arrive(id, [{ amount: 9_900, sender: 'Pia Soto' }]);
      await poll(id, [{ external_id: 'W-1', amount: 10, currency: 'UYU', name: 'Pia Soto' }]);
      let error: Error | undefined;
      try {
        await services.reconcile.requests.resolve(userId, 'Amounts', 'W-1', wrong!.id, 'Operator');
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/^No transaction ".*" among the candidates of "W-1" or this account's transactions of 10\.00 UYU; see pending show\.$/);
      expect(await usedBy(wrong!.id)).to.equal(null);
    });
  });

  describe('stale ambiguity (item 4)', () => {
    it('after one of two ambiguous requests is resolved with their shared transaction, the other is evaluated again at once', async () => {
      const id = await account('Shared');
      const [shared] = await arrive(id, [{ amount: 8_800, sender: 'Carlos Ruiz', at: new Date(clock.now().getTime() - HOUR) }]);
      await poll(id, [
        { external_id: 'S-1', amount: 88, currency: 'UYU', name: 'Carlos Ruiz' },
        { external_id: 'S-2', amount: 88, currency: 'UYU', name: 'Carlos Ruiz' },
      ]);
      expect((await request(id, 'S-1')).status).to.equal('ambiguous');
      expect((await request(id, 'S-2')).candidates).to.deep.equal([shared!.id]);
      await services.reconcile.requests.resolve(userId, 'Shared', 'S-1', shared!.id.slice(0, 8), 'Operator');
      const other = await request(id, 'S-2');
      expect(other.status, 'no longer ambiguous on a used candidate').to.equal('not_found');
      expect(other.candidates).to.deep.equal([]);
    });

    it('a request left ambiguous on a transaction the same step used is evaluated again beside all its rivals', async () => {
      const id = await account('Rivals');
      const orders = ['R-1', 'R-2', 'R-3'].map((external_id) => ({ external_id, amount: 77, currency: 'UYU', name: 'Carlos Ruiz' }));
      await poll(id, orders);
      const byExternal = new Map<string, string>();
      for (const external of ['R-1', 'R-2', 'R-3']) byExternal.set(external, (await request(id, external))._id);
      const inserted = await services.sessions.transactions.ingest(
        id,
        'run',
        [1, 2].map(() => ({ amountMinor: 7_700, currency: 'UYU', senderName: 'Carlos Ruiz', receivedAt: clock.now(), description: 'Transferencia', bankReference: `ref-${++fingerprint}` })),
        true,
      );
      const calls: string[][] = [];
      const first: [string, string] = [inserted[0]!.id, inserted[1]!.id];
      // The step's first round decides as given: R-1 takes the first transaction, R-2 is ambiguous
      // on both, R-3 is not found. The next round is the real matcher's.
      tamper = (decisions) => {
        calls.push(decisions.map((d) => d.requestId).sort());
        if (calls.length > 1) return decisions;
        const [t1, t2] = first;
        return decisions.map((d): MatchDecision => {
          if (d.requestId === byExternal.get('R-1')) return { requestId: d.requestId, result: 'matched', transactionId: t1, score: 1, reason: 'given' };
          if (d.requestId === byExternal.get('R-2')) return { requestId: d.requestId, result: 'ambiguous', candidates: [t1, t2], reason: '2 candidates' };
          return { requestId: d.requestId, result: 'not_found', reason: 'given' };
        });
      };
      await services.reconcile.transactionsArrived(id, inserted);
      expect(calls, 'a second round, with R-2 and its open rival R-3 (R-1 is matched)').to.deep.equal([[...byExternal.values()].sort(), [byExternal.get('R-2'), byExternal.get('R-3')].sort()]);
      expect((await request(id, 'R-1')).status).to.equal('matched');
      const again = await request(id, 'R-2');
      expect(again.status, 'two requests for one transaction: ambiguous, not a pick').to.equal('ambiguous');
      expect(again.candidates).to.deep.equal([first[1]]);
      expect(await usedBy(first[1])).to.equal(null);
    });
  });

  describe('unreadable polls (item 6)', () => {
    it('an answer whose items are all unreadable is a failed poll: told once with the reasons, nothing cancelled, told again after 1 h and on recovery', async () => {
      const id = await account('Renamed');
      const orders = [
        { external_id: 'O-1', amount: '611.00', currency: 'UYU', name: 'Ana Sol' },
        { external_id: 'O-2', amount: '12.00', currency: 'UYU', name: 'Luz Mar' },
      ];
      expect(await poll(id, orders)).to.deep.include({ ok: true, created: 2 });
      const renamed = [{ id: 'O-1', total: '611.00' }, { id: 'O-2', total: '12.00' }];
      const first = await poll(id, renamed, 'console:here');
      expect(first).to.deep.include({ ok: false });
      expect(first.ok === false && first.error).to.equal(
        'none of the 2 item(s) listed can be read (item #1: external_id is missing; amount is missing; currency is missing; name is missing; item #2: external_id is missing; amount is missing; currency is missing; name is missing)',
      );
      clock.advance(10 * 60_000);
      expect(await poll(id, renamed)).to.deep.include({ ok: false });
      clock.advance(10 * 60_000);
      expect(await poll(id, renamed)).to.deep.include({ ok: false });
      expect((await request(id, 'O-1')).status, 'nothing cancelled').to.equal('not_found');
      expect((await request(id, 'O-2')).status).to.equal('not_found');
      const toOperators = () => sent.filter((s) => s.ref === 'console:local' && /Renamed/.test(s.message.text)).map((s) => s.message.text);
      expect(toOperators()).to.have.length(1);
      expect(toOperators()[0]).to.match(/^Polling the pending orders of "Renamed" failed: none of the 2 item\(s\) listed can be read \(item #1: external_id is missing/);
      expect(sent.filter((s) => s.ref === 'console:here')).to.have.length(1);
      // Still failing an hour on: operators hear it once more, then not until 6 h.
      clock.advance(45 * 60_000);
      await poll(id, renamed);
      expect(toOperators()).to.have.length(2);
      expect(toOperators()[1]).to.match(/^Polling the pending orders of "Renamed" still fails after 1 h \(4 polls in a row\): none of the 2 item/);
      clock.advance(60 * 60_000);
      await poll(id, renamed);
      expect(toOperators()).to.have.length(2);
      // The endpoint is fixed: one notice, and the orders are as they were.
      expect(await poll(id, orders)).to.deep.include({ ok: true, cancelled: 0, created: 0 });
      expect(toOperators().at(-1)).to.equal('Polling the pending orders of "Renamed" works again.');
      expect(toOperators()).to.have.length(3);
    });

    it('an order whose item cannot be read is not cancelled while the others are processed', async () => {
      const id = await account('Partly');
      await poll(id, [
        { external_id: 'Q-1', amount: 1, currency: 'UYU', name: 'Uno' },
        { external_id: 'Q-2', amount: 2, currency: 'UYU', name: 'Dos' },
        { external_id: 'Q-3', amount: 3, currency: 'UYU', name: 'Tres' },
      ]);
      const outcome = await poll(id, [
        { external_id: 'Q-1', amount: 1, currency: 'UYU', name: 'Uno' },
        { external_id: 'Q-2', amount: 'two', currency: 'UYU', name: 'Dos' },
        { external_id: 'Q-3', amount: 3, currency: 'UYU', name: 'Tres' },
      ]);
      expect(outcome).to.deep.include({ ok: true, cancelled: 0 });
      expect((await request(id, 'Q-2')).status).to.equal('not_found');
    });
  });

  it('many results at once (a large poll) are told in one chat message, not one each', async () => {
    const id = await account('Bulk');
    const payers = Array.from({ length: 12 }, (_, i) => `Payer${String.fromCharCode(65 + i)} Surname${String.fromCharCode(65 + i)}`);
    await arrive(id, payers.map((sender, i) => ({ amount: 100 + i, sender })));
    await poll(id, payers.map((name, i) => ({ external_id: `M-${i}`, amount: (100 + i) / 100, currency: 'UYU', name })));
    expect(await matchedEvents(id)).to.have.length(12);
    const told = sent.filter((s) => s.ref === 'console:local' && /"Bulk"/.test(s.message.text)).map((s) => s.message.text);
    expect(told).to.have.length(1);
    expect(told[0]).to.match(/^12 payments matched on "Bulk" at once: (M-\d+, ){4}M-\d+ and 7 more\. List them: \/recon pending Bulk status=matched$/);
  });

  it('a poll larger than one chunk of settlement is told in one message per kind of result, not one per chunk', async () => {
    const id = await account('Chunks');
    const n = 2_500;
    await arrive(id, Array.from({ length: n }, (_, i) => ({ amount: 1_000 + i, sender: `Payer${i} Surname${i}` })));
    await poll(id, Array.from({ length: n }, (_, i) => ({ external_id: `C-${i}`, amount: (1_000 + i) / 100, currency: 'UYU', name: `Payer${i} Surname${i}` })));
    expect(await test.db.models.ConciliationRequest.countDocuments({ accountId: id, status: 'matched' })).to.equal(n);
    const told = sent.filter((s) => s.ref === 'console:local' && /"Chunks"/.test(s.message.text)).map((s) => s.message.text);
    expect(told).to.have.length(1);
    expect(told[0]).to.match(/^2500 payments matched on "Chunks" at once: /);
    expect(await test.db.models.OutboxEvent.countDocuments({ accountId: id, 'chat.state': 'sent' })).to.equal(n);
  });
});
