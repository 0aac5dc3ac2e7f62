import { createServer } from 'node:net';
import { expect } from 'chai';
import { systemClock } from '../../src/domain/clock.js';
import { expiredEvent, failedEvent, movementEvent } from '../../src/reconcile/result-events.js';
import type { Services } from '../../src/services.js';
import type { OutboxEventDoc } from '../../src/store/models.js';
import type { StoredTransaction } from '../../src/store/transaction-repository.js';
import { useTestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { buildServices, type SentMessage } from '../helpers/services.js';
import { startReceiver, type Received } from '../helpers/webhook-receiver.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('webhook delivery (real database, real receivers on 127.0.0.1)', function () {
  this.timeout(60_000);
  const test = useTestDatabase('webhooks');
  const capture = capturingLogger();
  const sent: SentMessage[] = [];
  let services: Services;
  let userId = '';
  let counter = 0;

  before(async () => {
    services = buildServices(test.db, { clock: systemClock, log: capture.log, sent, webhookSettings: { timeoutMs: 500, retryScheduleMs: [50, 100, 150] } });
    const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Hooks');
    await services.users.rememberDm(owner.id, 'console:local');
    userId = owner.userId;
    await services.users.setOperationMode(userId, 'passthrough');
    services.webhooks.start();
  });

  after(async () => {
    await services?.webhooks.stop(5_000);
  });

  async function account(name: string, url: string, settings: Record<string, unknown> = {}) {
    const created = await services.accounts.create(userId, { name, bank: 'sandbox' });
    await services.accounts.configure(userId, created.id, { webhook_url: url, auth_token: 'polling-token-Z9', ...settings });
    return created;
  }

  function movement(accountId: string, amountMinor = 1234): StoredTransaction {
    counter += 1;
    return { id: `tx-${counter}-${Date.now()}`, accountId, amountMinor, currency: 'UYU', senderName: `Payer ${counter}`, receivedAt: new Date('2026-11-20T10:00:00Z'), description: '', bankReference: null, firstSeenAt: new Date(), usedBy: null };
  }

  async function emit(accountId: string, count = 1): Promise<OutboxEventDoc[]> {
    const stored: OutboxEventDoc[] = [];
    for (let i = 0; i < count; i++) stored.push(...(await services.reconcile.outbox.record([movementEvent(movement(accountId), userId, new Date())])));
    return stored;
  }

  async function state(id: string): Promise<OutboxEventDoc> {
    return (await test.db.models.OutboxEvent.findById(id).lean<OutboxEventDoc>()) as OutboxEventDoc;
  }

  it('delivers signed events: the standardwebhooks package verifies them with the account secret and refuses another', async () => {
    const receiver = await startReceiver();
    try {
      const created = await account('Signed', `${receiver.url}/hook`, { webhook_extra_fields: { tenant: 'acme' } });
      const [event] = await emit(created.id);
      const delivery = await eventually(() => receiver.received[0], 10_000, 'a delivery');
      expect(delivery.id).to.equal(event!._id);
      expect(receiver.verify(delivery, created.signingSecret)).to.deep.include({ id: event!.data.id, amount: 12.34, currency: 'UYU', tenant: 'acme' });
      const { signingSecret: other } = await services.accounts.create(userId, { name: 'Other', bank: 'sandbox' });
      expect(() => receiver.verify(delivery, other)).to.throw(/signature/i);
      expect(delivery.authorization, 'falls back to the polling token').to.equal('Bearer polling-token-Z9');
      await eventually(async () => (await state(event!._id)).webhook.state === 'delivered', 5_000, 'delivered state');
      const attempts = await services.webhooks.attempts(event!._id);
      expect(attempts.map((a) => [a.attempt, a.status, a.outcome])).to.deep.equal([[1, 200, 'delivered']]);
      expect(attempts[0]!.latencyMs).to.be.a('number');
    } finally {
      await receiver.close();
    }
  });

  it('500 then 200 → delivered on the second attempt with the same webhook-id; every attempt logged', async () => {
    const receiver = await startReceiver((_d, i) => (i === 0 ? 500 : 200));
    try {
      const created = await account('Retry', `${receiver.url}/hook`);
      const [event] = await emit(created.id);
      await eventually(async () => (await state(event!._id)).webhook.state === 'delivered', 10_000, 'delivered after a retry');
      expect(receiver.received.map((r) => r.id)).to.deep.equal([event!._id, event!._id]);
      const attempts = await services.webhooks.attempts(event!._id);
      expect(attempts.map((a) => [a.status, a.outcome])).to.deep.equal([
        [500, 'retry'],
        [200, 'delivered'],
      ]);
      expect(attempts[0]!.error).to.equal('the receiver answered 500');
    } finally {
      await receiver.close();
    }
  });

  it('no answer in time is a failed attempt, retried', async () => {
    const receiver = await startReceiver((_d, i) => (i === 0 ? 'hang' : 200));
    try {
      const created = await account('Slow', `${receiver.url}/hook`);
      const [event] = await emit(created.id);
      await eventually(async () => (await state(event!._id)).webhook.state === 'delivered', 10_000, 'delivered after a timeout');
      const attempts = await services.webhooks.attempts(event!._id);
      expect(attempts[0]).to.deep.include({ status: null, outcome: 'retry', error: 'no answer within 500 ms' });
      expect(receiver.received.map((r) => r.id)).to.deep.equal([event!._id, event!._id]);
    } finally {
      await receiver.close();
    }
  });

  it('connection refused for a while, then the receiver is up → delivered', async () => {
    const port = await freePort();
    const slowServices = buildServices(test.db, { clock: systemClock, log: capture.log, sent, webhookSettings: { timeoutMs: 500, retryScheduleMs: [100, 200, 400, 800, 1600] } });
    slowServices.webhooks.start();
    try {
      const created = await account('Down', `http://127.0.0.1:${port}/hook`);
      const [event] = await slowServices.reconcile.outbox.record([movementEvent(movement(created.id), userId, new Date())]);
      await eventually(async () => (await state(event!._id)).webhook.attempts >= 2, 10_000, 'two refused attempts');
      expect((await state(event!._id)).webhook.lastError).to.equal('could not connect (connection refused)');
      const receiver = await startReceiver(() => 200, port);
      try {
        await eventually(async () => (await state(event!._id)).webhook.state === 'delivered', 10_000, 'delivered once up');
        expect(receiver.received.map((r) => r.id)).to.deep.equal([event!._id]);
      } finally {
        await receiver.close();
      }
    } finally {
      await slowServices.webhooks.stop(5_000);
    }
  });

  it('keeps each account in order: nothing behind a failing event goes first', async () => {
    let failures = 2;
    const receiver = await startReceiver(() => (failures-- > 0 ? 503 : 200));
    try {
      const created = await account('Ordered', `${receiver.url}/hook`);
      const events = await emit(created.id, 5);
      await eventually(async () => (await state(events[4]!._id)).webhook.state === 'delivered', 10_000, 'all delivered');
      const firstDelivered = receiver.received.map((r) => r.id).filter((id, i, all) => all.indexOf(id) === i);
      expect(firstDelivered).to.deep.equal(events.map((e) => e._id));
      expect(receiver.received.slice(0, 3).map((r) => r.id)).to.deep.equal([events[0]!._id, events[0]!._id, events[0]!._id]);
    } finally {
      await receiver.close();
    }
  });

  it('after the last retry the event is parked and operators are told; replay sends it again with the same id', async () => {
    let up = false;
    const receiver = await startReceiver(() => (up ? 200 : 500));
    try {
      const created = await account('Parked', `${receiver.url}/hook`);
      const [event] = await emit(created.id);
      await eventually(async () => (await state(event!._id)).webhook.state === 'failed', 10_000, 'parked');
      expect(receiver.received).to.have.length(4); // the first attempt and 3 retries
      await eventually(() => sent.find((s) => s.message.text.includes(`Delivery of webhook ${event!._id}`)), 5_000, 'operators told');
      up = true;
      const replayed = await services.webhooks.replay(userId, event!._id.slice(0, 12));
      expect(replayed.state).to.equal('pending');
      await eventually(async () => (await state(event!._id)).webhook.state === 'delivered', 10_000, 'delivered after replay');
      expect(receiver.received.at(-1)!.id).to.equal(event!._id);
      expect((await state(event!._id)).webhook.replays).to.equal(1);
      // A delivered event can be replayed too (a receiver that lost it).
      await services.webhooks.replay(userId, event!._id);
      await eventually(() => receiver.received.length === 6, 10_000, 'second replay delivered');
    } finally {
      await receiver.close();
    }
  });

  it('a not_sent event is replayed only as the docs define it: never a failed status, never an expired that notify_on_expired withholds', async () => {
    const receiver = await startReceiver();
    try {
      const created = await account('Withheld', `${receiver.url}/hook`);
      const facts = { _id: `req-${created.id}`, accountId: created.id, userId, externalId: 'W-1', amountMinor: 5000, currency: 'UYU', name: 'Ana', registeredAt: new Date() };
      const [failed] = await services.reconcile.outbox.record([failedEvent(facts, 3, 'the matcher failed', new Date())]);
      const [expired] = await services.reconcile.outbox.record([expiredEvent(facts, false, new Date())]);
      expect([failed!.webhook.state, expired!.webhook.state]).to.deep.equal(['not_sent', 'not_sent']);
      for (const [event, message] of [
        [failed!, /conciliation\.failed is reported in chat only; result webhooks carry matched, ambiguous and expired/],
        [expired!, /not sent because notify_on_expired is off for "Withheld"/],
      ] as const) {
        try {
          await services.webhooks.replay(userId, event._id);
          expect.fail(`replayed ${event.type}`);
        } catch (error) {
          expect((error as Error).message).to.match(message);
        }
        expect((await state(event._id)).webhook.state).to.equal('not_sent');
      }
      // Even made pending behind the replay's back (an older version's replay did that), the dispatcher does not send them.
      await test.db.models.OutboxEvent.updateMany({ _id: { $in: [failed!._id, expired!._id] } }, { $set: { 'webhook.state': 'pending', 'webhook.nextAttemptAt': new Date() } });
      services.webhooks.dispatcher.nudge();
      await eventually(async () => (await state(failed!._id)).webhook.state === 'not_sent' && (await state(expired!._id)).webhook.state === 'not_sent', 10_000, 'withheld again');
      // With notify_on_expired on, the expired result can be sent: status "expired", the documented shape.
      await services.accounts.configure(userId, created.id, { notify_on_expired: true });
      await services.webhooks.replay(userId, expired!._id);
      const delivery = await eventually(() => receiver.received[0], 10_000, 'the expired result');
      expect(delivery.id).to.equal(expired!._id);
      expect(delivery.json).to.deep.equal({ external_id: 'W-1', status: 'expired', amount: 50, currency: 'UYU', name: 'Ana' });
      expect(receiver.received.map((r) => (r.json as { status?: string }).status)).to.not.include('failed');
    } finally {
      await receiver.close();
    }
  });

  it('410 Gone stops deliveries to that URL and tells operators; resume sends them again', async () => {
    let gone = true;
    const receiver = await startReceiver(() => (gone ? 410 : 200));
    try {
      const created = await account('Gone', `${receiver.url}/hook`);
      const [first] = await emit(created.id);
      await eventually(async () => (await state(first!._id)).webhook.state === 'failed', 10_000, 'first parked by 410');
      const [second] = await emit(created.id);
      await eventually(async () => (await state(second!._id)).webhook.lastError?.includes('410 Gone') === true, 10_000, 'second waits');
      expect(receiver.received.map((r) => r.id)).to.deep.equal([first!._id]);
      await eventually(() => sent.find((s) => s.message.text.includes('answered 410 Gone')), 5_000, 'operators told');
      try {
        await services.webhooks.replay(userId, first!._id);
        expect.fail('replay while stopped');
      } catch (error) {
        expect((error as Error).message).to.match(/are stopped \(410 Gone\)/);
      }
      gone = false;
      await services.accounts.configure(userId, created.id, { webhook_auth_token: 'hook-token' });
      expect((await services.webhooks.resume(userId, 'Gone')).wasStopped).to.equal(true);
      await eventually(async () => (await state(second!._id)).webhook.state === 'delivered', 10_000, 'second delivered after resume');
      expect((await state(first!._id)).webhook.state).to.equal('delivered');
      expect(receiver.received.at(-1)!.authorization).to.equal('Bearer hook-token');
    } finally {
      await receiver.close();
    }
  });

  it('webhook test sends a signed test event and reports the answer; rotation signs with both secrets for the grace period', async () => {
    const receiver = await startReceiver(() => 202);
    try {
      const created = await account('Tested', `${receiver.url}/hook?token=in-query`);
      const result = await services.webhooks.test(userId, 'Tested');
      expect(result).to.deep.include({ status: 202, url: `${receiver.url}/hook`, error: null });
      expect(Object.keys(result).sort(), "status and latency only, never the receiver's body").to.deep.equal(['account', 'error', 'latencyMs', 'status', 'url']);
      const delivery = receiver.received[0] as Received;
      expect(receiver.verify(delivery, created.signingSecret)).to.deep.include({ type: 'webhook.test', account_id: created.id });
      const rotated = await services.webhooks.rotateSecret(userId, 'Tested');
      expect(rotated.previousRetireAt).to.be.instanceOf(Date);
      await services.webhooks.test(userId, 'Tested');
      const after = receiver.received[1] as Received;
      expect(after.signature.split(' ')).to.have.length(2);
      expect(receiver.verify(after, rotated.secret)).to.deep.include({ type: 'webhook.test' });
      expect(receiver.verify(after, created.signingSecret)).to.deep.include({ type: 'webhook.test' });
    } finally {
      await receiver.close();
    }
  });

  it('notification endpoint: only subscribed events, with its own token, as {account_id, type, status, error?, occurred_at}', async () => {
    const receiver = await startReceiver();
    try {
      const created = await account('Notified', 'https://hooks.example.com/none', {
        notification_endpoint_url: `${receiver.url}/ops`,
        notification_auth_type: 'api_key',
        notification_auth_token: 'ops-token',
        notification_events: ['login_failed'],
      });
      await services.webhooks.notify(created.id, 'scrape_failed', 'run:1', 'The bank did not answer.');
      await services.webhooks.notify(created.id, 'login_failed', 'run:2', 'The bank rejected the username or password.');
      await services.webhooks.notify(created.id, 'login_failed', 'run:2', 'The bank rejected the username or password.');
      const delivery = await eventually(() => receiver.received[0], 10_000, 'a notification');
      expect(delivery.json).to.deep.include({ account_id: created.id, type: 'login_failed', status: 'login.failed', error: 'The bank rejected the username or password.' });
      expect(delivery.authorization).to.equal('Api-Key ops-token');
      expect(receiver.verify(delivery, created.signingSecret)).to.be.an('object');
      const stored = await test.db.models.OutboxEvent.find({ accountId: created.id }).lean<OutboxEventDoc[]>();
      expect(stored.map((e) => e.type), 'one event per cause, unsubscribed types never recorded').to.deep.equal(['notification.login_failed']);
    } finally {
      await receiver.close();
    }
  });

  it('refuses private-address URLs with a clear message unless ALLOW_PRIVATE_URLS', async () => {
    const strict = buildServices(test.db, { clock: systemClock, log: capture.log, webhookSettings: { allowPrivateUrls: false } });
    const created = await strict.accounts.create(userId, { name: 'Strict', bank: 'sandbox' });
    for (const url of ['http://127.0.0.1:8080/hook', 'http://169.254.169.254/latest', 'http://localhost/x', 'http://[::1]/x', 'http://10.0.0.5/x']) {
      try {
        await strict.accounts.configure(userId, created.id, { webhook_url: url });
        expect.fail(`accepted ${url}`);
      } catch (error) {
        expect((error as Error).message).to.match(/^Invalid setting: webhook_url points to a private or local address/);
      }
    }
    await strict.accounts.configure(userId, created.id, { webhook_url: 'https://hooks.example.com/in' });
  });

  it('never logged a token or a signing secret', () => {
    const text = capture.text();
    for (const secret of ['polling-token-Z9', 'hook-token', 'ops-token', 'whsec_']) expect(text, secret).not.to.include(secret);
  });
});
