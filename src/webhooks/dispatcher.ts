import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { AccountDoc, Models, OutboxEventDoc } from '../store/models.js';
import { notificationAuthorization, webhookAuthorization } from './auth.js';
import type { HttpClient, PostResult } from './http-client.js';
import { eventPayload, type NotificationType } from './payloads.js';
import type { SigningSecrets } from './signing-secrets.js';
import { signatureHeader } from './signing.js';

/**
 * Delivery of outbox events (SPEC §5). Per account and lane (result webhook, notification
 * endpoint) events go out one at a time in creation order: the oldest pending one is the
 * head, and nothing behind it is sent before it is delivered or given up. A delivery is
 * claimed with a lock that simply runs out if the worker dies, so a crash mid-delivery
 * means a retry with the same `webhook-id`, never a lost event. 2xx = delivered; any other
 * answer, a timeout or a connection error = a failed attempt, retried on the schedule (with
 * jitter) for at least 24 hours, then parked as failed and operators are told; 410 Gone
 * stops deliveries to that URL until it changes or an admin resumes them. Every attempt is
 * logged.
 */

export type DispatcherSettings = {
  timeoutMs: number;
  /** Delay before each retry; after the last one fails the event is parked. */
  retryScheduleMs: number[];
  concurrency: number;
  pollMs: number;
};

export type DeliveryTrouble =
  | { kind: 'parked'; event: OutboxEventDoc; accountName: string; reason: string }
  | { kind: 'gone'; event: OutboxEventDoc; accountName: string; url: string };

export type Outcome = 'delivered' | 'retry' | 'failed' | 'gone' | 'waiting';

export type Dispatcher = ReturnType<typeof createDispatcher>;

/** The URL as it may be logged and shown: no query string, no credentials. */
export function safeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export function retryDelay(scheduleMs: number[], failedAttempts: number, random: () => number = Math.random): number | undefined {
  const base = scheduleMs[failedAttempts - 1];
  if (base === undefined) return undefined;
  // ±20 %: receivers that fail together are not hit together again.
  return Math.round(base * (0.8 + 0.4 * random()));
}

export function createDispatcher(deps: {
  models: Models;
  accounts: AccountService;
  signing: SigningSecrets;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  settings: DispatcherSettings;
  trouble(report: DeliveryTrouble): Promise<void>;
}) {
  const { OutboxEvent, WebhookAttempt, Account } = deps.models;
  const log = deps.log.child({ component: 'webhooks' });
  const { settings } = deps;
  const lockMs = settings.timeoutMs + 30_000;
  const lanes = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopping = true; // until start(): a nudge before then (tests, tools) does nothing
  let scanning: Promise<void> | undefined;
  let rescan = false;

  async function target(event: OutboxEventDoc, account: AccountDoc): Promise<{ url: string; authorization: string | undefined; extras: Record<string, unknown> | null } | { wait: string } | { skip: string }> {
    const s = plainSettings(account);
    if (event.lane === 'notification') {
      const type = event.type.slice('notification.'.length) as NotificationType;
      if (!s.notification_endpoint_url) return { skip: 'no notification endpoint is set' };
      if (!s.notification_events.includes(type)) return { skip: `${type} is not among notification_events` };
      return { url: s.notification_endpoint_url, authorization: notificationAuthorization(s, await deps.accounts.revealSecret(account._id, 'notification_auth_token')), extras: null };
    }
    if (!s.webhook_url) return { wait: 'no webhook_url is set; events wait until one is' };
    if (account.webhookGone?.url && account.webhookGone.url === s.webhook_url) return { wait: 'the receiver answered 410 Gone; deliveries wait until the URL changes or an admin resumes them' };
    const [webhookToken, pollingToken] = await Promise.all([deps.accounts.revealSecret(account._id, 'webhook_auth_token'), deps.accounts.revealSecret(account._id, 'auth_token')]);
    return { url: s.webhook_url, authorization: webhookAuthorization(s, { webhook: webhookToken, polling: pollingToken }), extras: s.webhook_extra_fields };
  }

  /** Signs and sends one event's body (also used by `webhook test`, with a body of its own). */
  async function send(accountId: string, id: string, url: string, authorization: string | undefined, body: string): Promise<PostResult> {
    const secrets = await deps.signing.active(accountId);
    // Receivers compare the timestamp with their own clock: it is the wall clock, always.
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'Reconbanker-Webhooks/1',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, id, timestamp, body),
    };
    if (authorization) headers.authorization = authorization;
    return deps.http.post(url, headers, body);
  }

  async function settle(event: OutboxEventDoc, set: Record<string, unknown>): Promise<void> {
    await OutboxEvent.updateOne({ _id: event._id, 'webhook.state': 'pending' }, { $set: { 'webhook.lockedUntil': null, ...set } });
  }

  async function deliver(event: OutboxEventDoc): Promise<Outcome> {
    const account = await Account.findById(event.accountId).lean<AccountDoc>();
    if (!account) {
      await settle(event, { 'webhook.state': 'failed', 'webhook.lastError': 'the account was deleted' });
      return 'failed';
    }
    const where = await target(event, account);
    const now = deps.clock.now();
    if ('skip' in where) {
      await settle(event, { 'webhook.state': 'not_sent', 'webhook.lastError': where.skip });
      return 'failed';
    }
    if ('wait' in where) {
      await settle(event, { 'webhook.nextAttemptAt': new Date(now.getTime() + 60_000), 'webhook.lastError': where.wait });
      return 'waiting';
    }
    const body = JSON.stringify(eventPayload(event, where.extras));
    const result = await send(account._id, event._id, where.url, where.authorization, body);
    const attempt = event.webhook.attempts + 1;
    const after = deps.clock.now();
    const delivered = result.status !== null && result.status >= 200 && result.status < 300;
    const delay = delivered || result.status === 410 ? undefined : retryDelay(settings.retryScheduleMs, attempt);
    const outcome: Outcome = delivered ? 'delivered' : result.status === 410 ? 'gone' : delay === undefined ? 'failed' : 'retry';
    // The attempt is logged before the event's state moves on: a crash in between means one
    // more delivery with the same id, never a state without its attempt.
    await WebhookAttempt.create({ eventId: event._id, accountId: account._id, attempt, at: after, url: safeTarget(where.url), status: result.status, latencyMs: result.latencyMs, error: result.error, outcome });
    const common = { 'webhook.attempts': attempt, 'webhook.lastStatus': result.status, 'webhook.lastError': result.error };
    if (outcome === 'delivered') await settle(event, { ...common, 'webhook.state': 'delivered', 'webhook.deliveredAt': after });
    else if (outcome === 'gone') {
      await settle(event, { ...common, 'webhook.state': 'failed', 'webhook.lastError': 'the receiver answered 410 Gone' });
      if (event.lane === 'webhook') await Account.updateOne({ _id: account._id }, { $set: { webhookGone: { url: where.url, at: after } } });
    } else if (outcome === 'failed') await settle(event, { ...common, 'webhook.state': 'failed' });
    else await settle(event, { ...common, 'webhook.nextAttemptAt': new Date(after.getTime() + (delay as number)) });
    (outcome === 'delivered' ? log.debug.bind(log) : log.warn.bind(log))(
      { eventId: event._id, accountId: account._id, attempt, status: result.status, latencyMs: result.latencyMs, error: result.error, outcome, url: safeTarget(where.url) },
      'webhook attempt',
    );
    if (outcome === 'gone') await deps.trouble({ kind: 'gone', event, accountName: account.name, url: safeTarget(where.url) }).catch(() => undefined);
    if (outcome === 'failed') await deps.trouble({ kind: 'parked', event, accountName: account.name, reason: result.error ?? 'failed' }).catch(() => undefined);
    return outcome;
  }

  /** Delivers one account lane's due events, oldest first, until one has to wait. */
  async function runLane(accountId: string, lane: 'webhook' | 'notification'): Promise<void> {
    while (!stopping) {
      const head = await OutboxEvent.findOne({ accountId, lane, 'webhook.state': 'pending' }).sort({ seq: 1, _id: 1 }).lean<OutboxEventDoc>();
      if (!head) return;
      const now = deps.clock.now();
      if ((head.webhook.nextAttemptAt && head.webhook.nextAttemptAt > now) || (head.webhook.lockedUntil && head.webhook.lockedUntil > now)) return;
      const claimed = await OutboxEvent.findOneAndUpdate(
        { _id: head._id, 'webhook.state': 'pending', $or: [{ 'webhook.lockedUntil': null }, { 'webhook.lockedUntil': { $lte: now } }] },
        { $set: { 'webhook.lockedUntil': new Date(now.getTime() + lockMs) } },
        { returnDocument: 'after' },
      ).lean<OutboxEventDoc>();
      if (!claimed) return;
      const outcome = await deliver(claimed);
      if (outcome !== 'delivered' && outcome !== 'failed') return;
    }
  }

  async function scan(): Promise<void> {
    if (stopping) return;
    const now = deps.clock.now();
    const due = await OutboxEvent.find(
      {
        'webhook.state': 'pending',
        'webhook.nextAttemptAt': { $lte: now },
        $or: [{ 'webhook.lockedUntil': null }, { 'webhook.lockedUntil': { $lte: now } }],
      },
      { accountId: 1, lane: 1 },
    )
      .sort({ seq: 1 })
      .limit(5000)
      .lean<Pick<OutboxEventDoc, '_id' | 'accountId' | 'lane'>[]>();
    for (const event of due) {
      const key = `${event.accountId}|${event.lane ?? 'webhook'}`;
      if (lanes.has(key) || lanes.size >= settings.concurrency) continue;
      const running = runLane(event.accountId, event.lane ?? 'webhook')
        .catch((error: unknown) => log.error({ err: error, accountId: event.accountId }, 'webhook lane failed; retried on the next scan'))
        .finally(() => {
          lanes.delete(key);
          // A lane that ended frees a slot, and may have more due work behind it.
          nudge();
        });
      lanes.set(key, running);
    }
  }

  function nudge(): void {
    if (stopping) return;
    if (scanning) {
      rescan = true;
      return;
    }
    scanning = (async () => {
      do {
        rescan = false;
        await scan().catch((error: unknown) => log.warn({ err: error }, 'webhook scan failed'));
      } while (rescan && !stopping);
    })().finally(() => (scanning = undefined));
  }

  return {
    nudge,
    deliver,
    send,
    start(): void {
      stopping = false;
      const tick = () => {
        nudge();
        timer = setTimeout(tick, settings.pollMs);
        timer.unref();
      };
      tick();
    },
    /** Stops taking work and waits (up to `timeoutMs`) for deliveries in flight; unfinished ones are retried by whoever runs next. */
    async stop(timeoutMs: number): Promise<void> {
      stopping = true;
      if (timer) clearTimeout(timer);
      const all = Promise.all([...lanes.values(), scanning]);
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
    /** For tests and benches: resolves when nothing is being delivered or scanned right now. */
    async idle(): Promise<void> {
      while (lanes.size > 0 || scanning) await Promise.all([...lanes.values(), scanning]);
    },
  };
}
