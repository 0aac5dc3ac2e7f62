import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError, UserError } from '../domain/errors.js';
import { eventId } from '../domain/events.js';
import type { Logger } from '../log.js';
import type { Outbox } from '../reconcile/outbox.js';
import type { AccountDoc, DeliveryAttempt, Models, OutboxEventDoc } from '../store/models.js';
import type { LeaseManager } from '../sessions/lease.js';
import type { SecretBox } from '../store/secret-box.js';
import { createDispatcher, safeTarget, type DeliveryTrouble, type Dispatcher } from './dispatcher.js';
import { movementEvent } from '../reconcile/result-events.js';
import { toStored } from '../store/transaction-repository.js';
import type { BankTransactionDoc, ConciliationRequestDoc } from '../store/models.js';
import { webhookAuthorization } from './auth.js';
import { createHttpClient } from './http-client.js';
import { testPayload, webhookWithheld, type NotificationType } from './payloads.js';
import { createSigningSecrets, type SigningSecrets } from './signing-secrets.js';
import type { MetricsPort } from '../metrics/port.js';

/**
 * Webhooks and the notification endpoint, wired: the dispatcher, signing secrets, replay,
 * test deliveries, and the operational events sessions produce (only those an account
 * subscribed to, and only when it has a notification endpoint).
 */

export const DELIVERY_STATES = ['pending', 'delivered', 'failed', 'not_sent'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export type WebhookSettings = {
  timeoutMs: number;
  retryScheduleMs: number[];
  concurrency: number;
  pollMs: number;
  allowPrivateUrls: boolean;
  secretGraceMs: number;
  maxResponseBytes: number;
};

export type EventView = { id: string; type: string; lane: string; state: string; attempts: number; lastStatus: number | null; lastError: string | null; occurredAt: Date; subject: string };

export type WebhookServices = {
  dispatcher: Dispatcher;
  signing: SigningSecrets;
  start(): void;
  stop(timeoutMs: number): Promise<void>;
  notify(accountId: string, type: NotificationType, cause: string, error?: string): Promise<void>;
  events(userId: string, accountRef: string, filter: { state?: DeliveryState; limit: number }): Promise<{ account: string; items: EventView[] }>;
  attempts(eventId: string): Promise<DeliveryAttempt[]>;
  replay(userId: string, eventRef: string): Promise<EventView>;
  test(userId: string, accountRef: string): Promise<{ account: string; url: string; status: number | null; latencyMs: number; error: string | null }>;
  rotateSecret(userId: string, accountRef: string): Promise<{ account: string; secret: string; previousRetireAt: Date | null }>;
  resume(userId: string, accountRef: string): Promise<{ account: string; wasStopped: boolean }>;
  /**
   * "Resend webhook" of a conciliation request (its latest result event) or of a bank movement
   * (passthrough; recorded now if it never was, as when it was read under silent_ingestion),
   * with the same event id. `alreadyQueued`: it was waiting for delivery anyway.
   */
  resend(userId: string, subject: { requestId: string } | { accountId: string; transactionId: string }): Promise<{ event: EventView; alreadyQueued: boolean }>;
};

function view(doc: OutboxEventDoc): EventView {
  const d = doc.data;
  return {
    id: doc._id,
    type: doc.type,
    lane: doc.lane ?? 'webhook',
    state: doc.webhook.state,
    attempts: doc.webhook.attempts,
    lastStatus: doc.webhook.lastStatus ?? null,
    lastError: doc.webhook.lastError ?? null,
    occurredAt: doc.occurredAt,
    subject: String(d.external_id ?? d.id ?? doc.subjectId),
  };
}

export function createWebhookServices(deps: {
  models: Models;
  accounts: AccountService;
  secrets: SecretBox;
  outbox: Outbox;
  leases: LeaseManager;
  clock: Clock;
  log: Logger;
  settings: WebhookSettings;
  trouble(report: DeliveryTrouble): Promise<void>;
  metrics?: MetricsPort;
}): WebhookServices {
  const { models, settings } = deps;
  const { OutboxEvent, Account } = models;
  const signing = createSigningSecrets({ models, secrets: deps.secrets, clock: deps.clock, graceMs: settings.secretGraceMs });
  const http = createHttpClient({ timeoutMs: settings.timeoutMs, maxResponseBytes: settings.maxResponseBytes, allowPrivate: settings.allowPrivateUrls });
  const dispatcher = createDispatcher({
    models,
    accounts: deps.accounts,
    signing,
    http,
    leases: deps.leases,
    clock: deps.clock,
    log: deps.log,
    settings: { timeoutMs: settings.timeoutMs, retryScheduleMs: settings.retryScheduleMs, concurrency: settings.concurrency, pollMs: settings.pollMs },
    trouble: deps.trouble,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  // A new event wakes the dispatcher at once (the write-to-receipt latency target).
  deps.outbox.subscribe((events) => {
    if (events.some((e) => e.webhook.state === 'pending')) dispatcher.nudge();
  });

  async function findEvent(userId: string, ref: string): Promise<OutboxEventDoc> {
    const trimmed = ref.trim();
    if (!/^evt_[A-Za-z0-9_-]{4,}$/.test(trimmed)) throw new UserError('Name the event by its id (evt_…, at least its first 8 characters), as webhook events lists it.');
    const accounts = await deps.accounts.list(userId);
    const matches = await OutboxEvent.find({ accountId: { $in: accounts.map((a) => a.id) }, _id: { $regex: `^${trimmed.replace(/[^A-Za-z0-9_-]/g, '')}` } })
      .limit(2)
      .lean<OutboxEventDoc[]>();
    if (matches.length === 0) throw new NotFoundError(`No event "${trimmed}" on your accounts.`);
    if (matches.length > 1) throw new UserError(`"${trimmed}" names more than one event; give more of its id.`);
    return matches[0] as OutboxEventDoc;
  }

  /** Sends an event again with the same id (the checks every replay makes first). */
  async function replayEvent(event: OutboxEventDoc): Promise<EventView> {
    const account = await Account.findById(event.accountId).lean<AccountDoc>();
    // Only what the docs define is sent again: never a `failed` status, never an `expired` that notify_on_expired withholds.
    const withheld = account ? webhookWithheld(event, plainSettings(account)) : undefined;
    if (withheld && account) {
      throw new UserError(
        event.type === 'conciliation.expired'
          ? `${event._id} was not sent because notify_on_expired is off for "${account.name}". To send expired results: account set "${account.name}" notify_on_expired=true, then replay it.`
          : `${event._id} is not sent: ${withheld}.`,
      );
    }
    const url = account ? plainSettings(account).webhook_url : null;
    if (event.lane === 'webhook' && account?.webhookGone?.url && account.webhookGone.url === url) {
      throw new UserError(`Deliveries to ${safeTarget(url ?? '')} are stopped (410 Gone). Fix the receiver, then: webhook resume "${account.name}"`);
    }
    const updated = await OutboxEvent.findOneAndUpdate(
      { _id: event._id, 'webhook.state': { $ne: 'pending' } },
      { $set: { 'webhook.state': 'pending', 'webhook.nextAttemptAt': deps.clock.now(), 'webhook.lastError': null }, $inc: { 'webhook.replays': 1 } },
      { returnDocument: 'after' },
    ).lean<OutboxEventDoc>();
    if (!updated) throw new UserError(`${event._id} changed meanwhile; try again.`);
    deps.log.info({ eventId: event._id, accountId: event.accountId }, 'webhook replay requested');
    dispatcher.nudge(event.accountId);
    return view(updated);
  }

  return {
    dispatcher,
    signing,
    start: () => dispatcher.start(),
    async stop(timeoutMs) {
      await dispatcher.stop(timeoutMs);
      await http.close();
    },

    async notify(accountId, type, cause, error) {
      const account = await Account.findById(accountId).lean<AccountDoc>();
      if (!account) return;
      const s = plainSettings(account);
      if (!s.notification_endpoint_url || !s.notification_events.includes(type)) return;
      const now = deps.clock.now();
      await deps.outbox.record([
        {
          _id: eventId(`notification:${type}:${cause}`),
          accountId,
          userId: account.userId,
          type: `notification.${type}`,
          lane: 'notification',
          subjectId: cause,
          occurredAt: now,
          data: error ? { error } : {},
          webhook: true,
          chat: false,
        },
      ]);
    },

    async events(userId, accountRef, filter) {
      const account = await deps.accounts.show(userId, accountRef);
      const docs = await OutboxEvent.find({ accountId: account.id, ...(filter.state ? { 'webhook.state': filter.state } : {}) })
        .sort({ seq: -1 })
        .limit(filter.limit)
        .lean<OutboxEventDoc[]>();
      return { account: account.name, items: docs.map(view) };
    },

    async attempts(id) {
      const event = await OutboxEvent.findById(id, { 'webhook.log': 1 }).lean<OutboxEventDoc>();
      return event?.webhook.log ?? [];
    },

    async replay(userId, eventRef) {
      const event = await findEvent(userId, eventRef);
      if (event.webhook.state === 'pending') throw new UserError(`${event._id} is already waiting to be delivered (attempt ${event.webhook.attempts + 1} next).`);
      return replayEvent(event);
    },

    async resend(userId, subject) {
      const accounts = await deps.accounts.list(userId);
      const owned = new Set(accounts.map((a) => a.id));
      let event: OutboxEventDoc | null;
      if ('requestId' in subject) {
        const request = await models.ConciliationRequest.findById(subject.requestId, { accountId: 1, status: 1 }).lean<Pick<ConciliationRequestDoc, '_id' | 'accountId' | 'status'>>();
        if (!request || !owned.has(request.accountId)) throw new NotFoundError('Not found');
        event = await OutboxEvent.findOne({ subjectId: request._id, lane: 'webhook', type: { $in: ['conciliation.matched', 'conciliation.ambiguous', 'conciliation.expired'] } })
          .sort({ seq: -1 })
          .lean<OutboxEventDoc>();
        if (!event) throw new UserError(`This request has no result webhook to send (it is ${request.status}; webhooks go out when a request is matched, ambiguous or expired).`);
      } else {
        if (!owned.has(subject.accountId)) throw new NotFoundError('Account not found');
        const doc = await models.BankTransaction.findOne({ _id: subject.transactionId, accountId: subject.accountId }).lean<BankTransactionDoc>();
        if (!doc) throw new NotFoundError('Movement not found');
        event = await OutboxEvent.findOne({ subjectId: doc._id, type: 'bank.movement' }).lean<OutboxEventDoc>();
        if (!event) {
          const account = await Account.findById(doc.accountId).lean<AccountDoc>();
          const user = account ? await models.User.findById(account.userId, { operation_mode: 1 }).lean<{ operation_mode: string | null }>() : null;
          if (user?.operation_mode !== 'passthrough') throw new UserError('Bank movement webhooks are sent in passthrough mode only (see PUT /me/operation-mode).');
          if (!doc.senderName) throw new UserError('This movement has no sender name: passthrough sends none for it.');
          await deps.outbox.record([movementEvent(toStored(doc), account?.userId ?? userId, deps.clock.now())]);
          const recorded = await OutboxEvent.findOne({ subjectId: doc._id, type: 'bank.movement' }).lean<OutboxEventDoc>();
          if (!recorded) throw new UserError('The movement webhook could not be recorded; try again.');
          dispatcher.nudge(doc.accountId);
          return { event: view(recorded), alreadyQueued: false };
        }
      }
      if (event.webhook.state === 'pending') return { event: view(event), alreadyQueued: true };
      return { event: await replayEvent(event), alreadyQueued: false };
    },

    async test(userId, accountRef) {
      const account = await deps.accounts.show(userId, accountRef);
      const doc = await Account.findById(account.id).lean<AccountDoc>();
      const s = doc ? plainSettings(doc) : undefined;
      if (!s?.webhook_url) throw new UserError(`"${account.name}" has no webhook_url; set it first: account set "${account.name}" webhook_url=https://…`);
      const [webhookToken, pollingToken] = await Promise.all([deps.accounts.revealSecret(account.id, 'webhook_auth_token'), deps.accounts.revealSecret(account.id, 'auth_token')]);
      const now = deps.clock.now();
      const id = eventId(`test:${account.id}:${now.toISOString()}:${Math.random()}`);
      const result = await dispatcher.sendNow(account.id, id, s.webhook_url, webhookAuthorization(s, { webhook: webhookToken, polling: pollingToken }), JSON.stringify(testPayload(account.id, now)));
      deps.log.info({ accountId: account.id, status: result.status, latencyMs: result.latencyMs, error: result.error }, 'webhook test sent');
      return { account: account.name, url: safeTarget(s.webhook_url), status: result.status, latencyMs: result.latencyMs, error: result.error };
    },

    async rotateSecret(userId, accountRef) {
      const account = await deps.accounts.show(userId, accountRef);
      const rotated = await signing.rotate(account.id);
      deps.log.info({ accountId: account.id, previousRetireAt: rotated.previousRetireAt }, 'webhook signing secret rotated');
      return { account: account.name, ...rotated };
    },

    async resume(userId, accountRef) {
      const account = await deps.accounts.show(userId, accountRef);
      const result = await Account.updateOne({ _id: account.id, 'webhookGone.url': { $ne: null } }, { $set: { webhookGone: { url: null, at: null } } });
      // Events parked by the 410 itself go again, and the ones waiting behind them go now.
      if (result.modifiedCount === 1) {
        const now = deps.clock.now();
        await OutboxEvent.updateMany(
          { accountId: account.id, lane: 'webhook', 'webhook.state': 'failed', 'webhook.lastStatus': 410 },
          { $set: { 'webhook.state': 'pending', 'webhook.nextAttemptAt': now } },
        );
        await OutboxEvent.updateMany({ accountId: account.id, lane: 'webhook', 'webhook.state': 'pending' }, { $set: { 'webhook.nextAttemptAt': now } });
      }
      dispatcher.nudge(account.id);
      return { account: account.name, wasStopped: result.modifiedCount === 1 };
    },
  };
}
