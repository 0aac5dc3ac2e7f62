import { expect } from 'chai';
import { systemClock } from '../../src/domain/clock.js';
import { movementEvent } from '../../src/reconcile/result-events.js';
import type { Services } from '../../src/services.js';
import { createLeaseManager } from '../../src/sessions/lease.js';
import type { OutboxEventDoc } from '../../src/store/models.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { unusedPort } from '../helpers/ports.js';
import { buildServices } from '../helpers/services.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

/**
 * The dispatcher schedules lanes (an account's queue, by its head), not events: an event
 * queued behind a head that waits must neither restart its lane over and over nor hide other
 * accounts' events. Real database, real receivers on 127.0.0.1; "another process" is a second
 * lease manager on the same database, as a second service process would be.
 *
 * Lane starts are counted where they cannot be missed: every start claims the lane's lease in
 * the database, so the test counts those claims on the real model.
 */
describe('webhook scheduling: lanes by their heads (real database, real receivers)', function () {
  this.timeout(120_000);
  const test = useTestDatabase('whsched');
  const capture = capturingLogger();
  const POLL_MS = 250;
  let services: Services;
  let userId = '';
  let counter = 0;
  const claims: { key: string; at: number }[] = [];
  let restore: (() => void) | undefined;

  before(async () => {
    const Lease = test.db.models.Lease;
    const original = Lease.findOneAndUpdate.bind(Lease);
    // A spy on the real model (the call goes through unchanged): which lane leases were claimed, when.
    (Lease as unknown as { findOneAndUpdate: (...args: unknown[]) => unknown }).findOneAndUpdate = (...args: unknown[]) => {
      const key = String((args[0] as { _id?: unknown } | undefined)?._id ?? '');
      if (key.startsWith('webhooks:')) claims.push({ key, at: Date.now() });
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    restore = () => {
      (Lease as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = original;
    };
    services = buildServices(test.db, { clock: systemClock, log: capture.log, webhookSettings: { timeoutMs: 500, retryScheduleMs: [60_000, 60_000], pollMs: POLL_MS, concurrency: 4 } });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Lanes');
    userId = owner.userId;
    await services.users.setOperationMode(userId, 'passthrough');
    services.webhooks.start();
  });

  after(async () => {
    await services?.webhooks.stop(5_000);
    restore?.();
  });

  async function account(name: string, url: string | null) {
    const created = await services.accounts.create(userId, { name, bank: 'sandbox' });
    if (url) await services.accounts.configure(userId, created.id, { webhook_url: url });
    return created;
  }

  function events(accountId: string, count: number) {
    return Array.from({ length: count }, () => {
      counter += 1;
      return movementEvent(
        { id: `tx-${counter}`, accountId, amountMinor: 1000 + counter, currency: 'UYU', senderName: `Payer ${counter}`, receivedAt: new Date('2026-11-20T10:00:00Z'), description: '', bankReference: null, firstSeenAt: new Date(), usedBy: null },
        userId,
        new Date(),
      );
    });
  }

  async function emit(accountId: string, count: number): Promise<OutboxEventDoc[]> {
    const all = events(accountId, count);
    const stored: OutboxEventDoc[] = [];
    for (let i = 0; i < all.length; i += 500) stored.push(...(await services.reconcile.outbox.record(all.slice(i, i + 500))));
    // In delivery order (the outbox answers a batch in another order).
    return stored.sort((a, b) => a.seq - b.seq);
  }

  async function state(id: string): Promise<OutboxEventDoc> {
    return (await test.db.models.OutboxEvent.findById(id).lean<OutboxEventDoc>()) as OutboxEventDoc;
  }

  const claimsOf = (accountId: string, since: number) => claims.filter((c) => c.key === `webhooks:${accountId}:webhook` && c.at >= since).length;

  /** A measurement window (not a synchronisation): how often something happens while nothing should. */
  const window = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('one event behind a waiting head: the lane is not restarted until the head is due, and scans stay at the tick rate', async () => {
    const receiver = await startReceiver(() => 503);
    try {
      const created = await account('Waiting', `${receiver.url}/hook`);
      const [head] = await emit(created.id, 2);
      await eventually(async () => (await state(head!._id)).webhook.attempts === 1, 10_000, 'the head failed once and waits a minute');
      const since = Date.now();
      const scansBefore = services.webhooks.dispatcher.stats?.().scans;
      await window(3_000);
      const seconds = (Date.now() - since) / 1000;
      expect(claimsOf(created.id, since), `lane starts in ${seconds.toFixed(1)} s`).to.be.at.most(1);
      const scans = services.webhooks.dispatcher.stats().scans - (scansBefore ?? 0);
      expect(scans / seconds, `scans per second (tick every ${POLL_MS} ms)`).to.be.at.most(1000 / POLL_MS + 2);
      expect(receiver.received, 'the waiting head was not sent again, and nothing overtook it').to.have.length(1);
    } finally {
      await receiver.close();
    }
  });

  it('a lane held by another process is tried again with back-off, and delivered once it is free', async () => {
    const receiver = await startReceiver();
    const other = createLeaseManager({ models: test.db.models, clock: systemClock, holderPrefix: 'other-process' });
    try {
      const created = await account('Held', `${receiver.url}/hook`);
      const lease = await other.acquire(`webhooks:${created.id}:webhook`, 'webhooks', 120_000);
      expect(lease, 'the other process holds the lane').to.not.equal(undefined);
      const since = Date.now();
      const [event] = await emit(created.id, 1);
      await window(3_000);
      expect(claimsOf(created.id, since), 'lease claims while another process holds the lane').to.be.at.most(4);
      expect(receiver.received).to.have.length(0);
      await lease!.release();
      await eventually(async () => (await state(event!._id)).webhook.state === 'delivered', 20_000, 'delivered once the lane is free');
      expect(receiver.received.map((r) => r.id)).to.deep.equal([event!._id]);
    } finally {
      await receiver.close();
    }
  });

  it('1,000 events behind a receiver that is down (and lanes waiting for a URL, after a 410, held elsewhere) do not hold up another account', async () => {
    const downPort = await unusedPort();
    const gone = await startReceiver(() => 410);
    const healthy = await startReceiver();
    const heldReceiver = await startReceiver();
    const other = createLeaseManager({ models: test.db.models, clock: systemClock, holderPrefix: 'other-process' });
    try {
      const down = await account('Down', `http://127.0.0.1:${downPort}/hook`);
      const noUrl = await account('No URL', null);
      const goneAccount = await account('Gone', `${gone.url}/hook`);
      const held = await account('Held elsewhere', `${heldReceiver.url}/held`);
      const lease = await other.acquire(`webhooks:${held.id}:webhook`, 'webhooks', 120_000);
      const [downHead] = await emit(down.id, 1_000);
      await emit(noUrl.id, 300);
      await emit(goneAccount.id, 300);
      await emit(held.id, 300);
      await eventually(async () => (await state(downHead!._id)).webhook.attempts >= 1, 20_000, 'the first attempt to the down receiver');
      await eventually(() => gone.received.length >= 1, 20_000, 'the 410');

      const fine = await account('Fine', `${healthy.url}/fine`);
      const since = Date.now();
      const sent = await emit(fine.id, 20);
      await eventually(() => healthy.received.length >= 20, 10_000, "the healthy account's 20 events");
      const arrivedIn = Date.now() - since;
      expect(healthy.received.map((r) => r.id), 'in creation order').to.deep.equal(sent.map((e) => e._id));
      expect(arrivedIn, 'all 20 arrived within seconds').to.be.below(10_000);
      // Meanwhile the blocked lanes were not spun: at most a few starts each.
      for (const blocked of [down, noUrl, goneAccount, held]) expect(claimsOf(blocked.id, since), blocked.name).to.be.at.most(4);
      expect(gone.received, 'after the 410 nothing more went to that URL').to.have.length(1);
      expect(heldReceiver.received, 'the lane another process holds is left to it').to.have.length(0);
      await lease?.release();
    } finally {
      await gone.close();
      await healthy.close();
      await heldReceiver.close();
    }
  });
});
