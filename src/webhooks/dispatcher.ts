import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { LeaseManager } from '../sessions/lease.js';
import type { AccountDoc, DeliveryAttempt, Models, OutboxEventDoc } from '../store/models.js';
import { notificationAuthorization, webhookAuthorization } from './auth.js';
import type { HttpClient, PostResult } from './http-client.js';
import { eventPayload, webhookWithheld } from './payloads.js';
import type { SigningSecrets } from './signing-secrets.js';
import { signatureHeader } from './signing.js';
import type { MetricsPort } from '../metrics/port.js';

/**
 * Delivery of outbox events (SPEC §5). Per account and lane (result webhook, notification
 * endpoint) events go out one at a time in creation order: the oldest pending one is the
 * head, and nothing behind it is sent before it is delivered or given up. The dispatcher
 * schedules lanes by their heads, never single events: a lane starts only when its head is
 * due, so events queued behind a head that waits (a receiver that is down, a 410, no
 * webhook_url yet) neither restart their lane nor crowd other accounts out of a scan. A
 * delivery is sent by the one worker holding its lane's lease, which simply runs out if the
 * worker dies, so a crash mid-delivery means a retry with the same `webhook-id`, never a lost
 * event; a lane whose lease another worker holds is left alone for a while (doubling pauses).
 * 2xx = delivered; any other answer, a timeout or a connection error = a failed attempt,
 * retried on the schedule (jitter only ever lengthens a delay, so retries last at least as
 * long as the schedule adds up to: ≥ 24 h, config.ts checks it), then parked as failed and
 * operators are told; 410 Gone stops deliveries to that URL until it changes or an admin
 * resumes them. Every attempt is logged.
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

type Lane = 'webhook' | 'notification';

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
  // Up to +20 %, never less: receivers that fail together are not hit together again, and the
  // retries never end sooner than the schedule adds up to (SPEC §5: at least 24 hours).
  return Math.round(base * (1 + 0.2 * random()));
}

export function createDispatcher(deps: {
  models: Models;
  accounts: AccountService;
  signing: SigningSecrets;
  http: HttpClient;
  leases: LeaseManager;
  clock: Clock;
  log: Logger;
  settings: DispatcherSettings;
  trouble(report: DeliveryTrouble): Promise<void>;
  /** Delivery outcomes and latency for /metrics (src/metrics). */
  metrics?: MetricsPort;
}) {
  const { OutboxEvent, Account } = deps.models;
  const log = deps.log.child({ component: 'webhooks' });
  const { settings } = deps;
  // Long enough for one delivery (the HTTP timeout) and its writes; a dead worker's lease runs out soon after.
  const lockMs = settings.timeoutMs * 2 + 5_000;
  const lanes = new Map<string, Promise<unknown>>();
  /**
   * Lanes not to start again before `until` (wall clock): one whose head waits (until the head
   * is due, but at most RECHECK_MS: another process may have changed it meanwhile, e.g. a
   * replay), one held by another worker or whose run failed (doubling pauses).
   */
  const notBefore = new Map<string, { misses: number; until: number }>();
  const BACKOFF_MIN_MS = 1_000;
  const RECHECK_MS = 30_000;
  /** For tests and benches: how often the dispatcher scanned, started lanes, and found one held elsewhere. */
  const stats = { scans: 0, laneRuns: 0, leaseMisses: 0 };
  let timer: NodeJS.Timeout | undefined;
  let stopping = true; // until start(): a nudge before then (tests, tools) does nothing
  let scanning: Promise<void> | undefined;
  let rescan = false;

  /** What deliveries of one account need, read once per lane run (refreshed every few seconds, so setting changes apply soon). */
  type Target = ReturnType<typeof target>;
  type AccountContext = { account: AccountDoc; secrets: string[]; loadedAt: number; targets: Map<string, Target> };
  const CONTEXT_TTL_MS = 5_000;
  const LANE_BATCH = 100;
  const SETTLE_BATCH = 25;

  async function loadContext(accountId: string): Promise<AccountContext | undefined> {
    const account = await Account.findById(accountId).lean<AccountDoc>();
    if (!account) return undefined;
    const secrets = deps.signing.fromDoc(account);
    return { account, secrets: secrets.length > 0 ? secrets : await deps.signing.active(accountId), loadedAt: Date.now(), targets: new Map() };
  }

  function target(event: OutboxEventDoc, account: AccountDoc): { url: string; authorization: string | undefined; extras: Record<string, unknown> | null } | { wait: string } | { skip: string } {
    const s = plainSettings(account);
    const withheld = webhookWithheld(event, s);
    if (withheld) return { skip: withheld };
    if (event.lane === 'notification') {
      return { url: s.notification_endpoint_url as string, authorization: notificationAuthorization(s, deps.accounts.revealFrom(account, 'notification_auth_token')), extras: null };
    }
    if (!s.webhook_url) return { wait: 'no webhook_url is set; events wait until one is' };
    if (account.webhookGone?.url && account.webhookGone.url === s.webhook_url) return { wait: 'the receiver answered 410 Gone; deliveries wait until the URL changes or an admin resumes them' };
    const tokens = { webhook: deps.accounts.revealFrom(account, 'webhook_auth_token'), polling: deps.accounts.revealFrom(account, 'auth_token') };
    return { url: s.webhook_url, authorization: webhookAuthorization(s, tokens), extras: s.webhook_extra_fields };
  }

  /** Signs and sends one body (events, and `webhook test` with a body of its own). */
  async function send(secrets: string[], id: string, url: string, authorization: string | undefined, body: string): Promise<PostResult> {
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

  /** The event's new state and, when there was one, the attempt: one single-document write (the driver's own, on the hot path). */
  async function settle(event: OutboxEventDoc, set: Record<string, unknown>, attempt?: DeliveryAttempt): Promise<void> {
    await OutboxEvent.collection.updateOne(
      { _id: event._id as never, 'webhook.state': 'pending' },
      { $set: set, ...(attempt ? { $push: { 'webhook.log': { $each: [attempt], $slice: -50 } } } : {}) } as never,
    );
  }

  type Settlement = { event: OutboxEventDoc; set: Record<string, unknown>; attempt: DeliveryAttempt };

  /** Writes several deliveries' outcomes in one round trip. */
  async function settleAll(settlements: Settlement[]): Promise<void> {
    if (settlements.length === 0) return;
    await OutboxEvent.collection.bulkWrite(
      settlements.map(({ event, set, attempt }) => ({
        updateOne: { filter: { _id: event._id as never, 'webhook.state': 'pending' }, update: { $set: set, $push: { 'webhook.log': { $each: [attempt], $slice: -50 } } } as never },
      })),
      { ordered: false },
    );
  }

  /**
   * One attempt. A success may be recorded later by the caller, with others in one write
   * (`later`): a crash before that write only means those events are sent again, same ids.
   */
  async function deliver(event: OutboxEventDoc, context: AccountContext | undefined, later?: Settlement[]): Promise<{ outcome: Outcome; next?: Date }> {
    if (!context) {
      await settle(event, { 'webhook.state': 'failed', 'webhook.lastError': 'the account was deleted' });
      return { outcome: 'failed' };
    }
    const { account } = context;
    // Settings and tokens are read once per context, not per delivery (decrypting is not free).
    // Whether an event is withheld depends on its type; where it goes, on its lane.
    const key = event.type;
    let where = context.targets.get(key);
    if (!where) context.targets.set(key, (where = target(event, account)));
    const now = deps.clock.now();
    if ('skip' in where) {
      await settle(event, { 'webhook.state': 'not_sent', 'webhook.lastError': where.skip });
      return { outcome: 'failed' };
    }
    if ('wait' in where) {
      const next = new Date(now.getTime() + 60_000);
      await settle(event, { 'webhook.nextAttemptAt': next, 'webhook.lastError': where.wait });
      return { outcome: 'waiting', next };
    }
    const body = JSON.stringify(eventPayload(event, where.extras));
    const result = await send(context.secrets, event._id, where.url, where.authorization, body);
    const attempt = event.webhook.attempts + 1;
    const after = deps.clock.now();
    const delivered = result.status !== null && result.status >= 200 && result.status < 300;
    const delay = delivered || result.status === 410 ? undefined : retryDelay(settings.retryScheduleMs, attempt);
    const outcome: Outcome = delivered ? 'delivered' : result.status === 410 ? 'gone' : delay === undefined ? 'failed' : 'retry';
    const recordedAt = (event.createdAt ?? event.occurredAt).getTime();
    deps.metrics?.delivery({ lane: event.lane ?? 'webhook', outcome, attemptMs: result.latencyMs, sinceRecordedMs: outcome === 'delivered' ? after.getTime() - recordedAt : null });
    const entry: DeliveryAttempt = { attempt, at: after, url: safeTarget(where.url), status: result.status, latencyMs: result.latencyMs, error: result.error, outcome };
    const common = { 'webhook.attempts': attempt, 'webhook.lastStatus': result.status, 'webhook.lastError': result.error };
    if (outcome === 'delivered') {
      const set = { ...common, 'webhook.state': 'delivered', 'webhook.deliveredAt': after };
      if (later) later.push({ event, set, attempt: entry });
      else await settle(event, set, entry);
    }
    else if (outcome === 'gone') {
      await settle(event, { ...common, 'webhook.state': 'failed', 'webhook.lastError': 'the receiver answered 410 Gone' }, entry);
      if (event.lane === 'webhook') await Account.updateOne({ _id: account._id }, { $set: { webhookGone: { url: where.url, at: after } } });
    } else if (outcome === 'failed') await settle(event, { ...common, 'webhook.state': 'failed' }, entry);
    const next = outcome === 'retry' ? new Date(after.getTime() + (delay as number)) : undefined;
    if (next) await settle(event, { ...common, 'webhook.nextAttemptAt': next }, entry);
    (outcome === 'delivered' ? log.debug.bind(log) : log.warn.bind(log))(
      { eventId: event._id, accountId: account._id, attempt, status: result.status, latencyMs: result.latencyMs, error: result.error, outcome, url: safeTarget(where.url) },
      'webhook attempt',
    );
    if (outcome === 'gone') await deps.trouble({ kind: 'gone', event, accountName: account.name, url: safeTarget(where.url) }).catch(() => undefined);
    if (outcome === 'failed') await deps.trouble({ kind: 'parked', event, accountName: account.name, reason: result.error ?? 'failed' }).catch(() => undefined);
    return next ? { outcome, next } : { outcome };
  }

  /** How a lane run ended: its queue is empty or may go on (idle), its head waits until a time, or another worker holds it. */
  type LaneEnd = { ended: 'idle' } | { ended: 'waits'; until: Date } | { ended: 'busy' };
  const IDLE: LaneEnd = { ended: 'idle' };

  /**
   * Delivers one account lane's due events, oldest first, until one has to wait. The lane is
   * held by a lease (one worker per lane across processes, renewed while it works; a dead
   * worker's lease runs out, and the event it was sending is sent again with the same id).
   * The queue is read in batches: one query per batch, one write per delivery.
   */
  async function runLane(accountId: string, lane: Lane): Promise<LaneEnd> {
    stats.laneRuns += 1;
    const lease = await deps.leases.acquire(`webhooks:${accountId}:${lane}`, 'webhooks', lockMs);
    if (!lease) {
      stats.leaseMisses += 1;
      return { ended: 'busy' };
    }
    let renewed = Date.now();
    let context: AccountContext | undefined;
    const delivered: Settlement[] = [];
    const flush = async () => {
      await settleAll(delivered.splice(0));
    };
    try {
      while (!stopping) {
        const batch = await OutboxEvent.find({ accountId, lane, 'webhook.state': 'pending' }).sort({ seq: 1, _id: 1 }).limit(LANE_BATCH).lean<OutboxEventDoc[]>();
        if (batch.length === 0) return IDLE;
        for (const event of batch) {
          if (stopping) return IDLE;
          // The head waits (a retry, a 410, no URL yet): so does everything behind it.
          if (event.webhook.nextAttemptAt && event.webhook.nextAttemptAt > deps.clock.now()) return { ended: 'waits', until: event.webhook.nextAttemptAt };
          if (Date.now() - renewed > lockMs / 3) {
            // Lost to another worker (we were too slow to renew): it has the lane now.
            if (!(await lease.renew())) return { ended: 'busy' };
            renewed = Date.now();
          }
          if (!context || Date.now() - context.loadedAt > CONTEXT_TTL_MS) context = await loadContext(accountId);
          const { outcome, next } = await deliver(event, context, delivered);
          if (delivered.length >= SETTLE_BATCH) await flush();
          if (next) return { ended: 'waits', until: next };
          if (outcome !== 'delivered' && outcome !== 'failed') return IDLE;
        }
        // The next batch query must not see these as pending.
        await flush();
      }
      return IDLE;
    } finally {
      await flush().catch((error: unknown) => log.warn({ err: error, accountId }, 'could not record deliveries; they will be sent again (same ids)'));
      await lease.release().catch(() => undefined);
    }
  }

  type LaneKey = { accountId: string; lane: Lane };
  const keyOf = (head: LaneKey) => `${head.accountId}|${head.lane}`;

  /**
   * The lanes holding due events, one row per lane (not per event), longest-due first. A lane
   * whose head waits has its followers here too (they are due by their own time): the first
   * run finds the head waiting and the lane is then left alone (`notBefore`) until the head is
   * due, so a thousand events behind a waiting head cost one row, never a restart per scan,
   * and never hide another account's lane.
   */
  async function dueLanes(): Promise<LaneKey[]> {
    const rows = await OutboxEvent.aggregate<{ _id: { accountId: string; lane: Lane }; since: Date }>([
      { $match: { 'webhook.state': 'pending', 'webhook.nextAttemptAt': { $lte: deps.clock.now() } } },
      { $group: { _id: { accountId: '$accountId', lane: { $ifNull: ['$lane', 'webhook'] } }, since: { $min: '$webhook.nextAttemptAt' } } },
    ]);
    return rows.sort((a, b) => a.since.getTime() - b.since.getTime()).map((row) => ({ accountId: row._id.accountId, lane: row._id.lane }));
  }

  /** Starts due lanes up to the concurrency; skips lanes running here or left alone for now. */
  async function scan(): Promise<void> {
    if (stopping) return;
    stats.scans += 1;
    for (const head of await dueLanes()) {
      if (lanes.size >= settings.concurrency) break;
      const key = keyOf(head);
      if (lanes.has(key) || (notBefore.get(key)?.until ?? 0) > Date.now()) continue;
      const running = runLane(head.accountId, head.lane)
        .then((end) => remember(key, end))
        .catch((error: unknown) => {
          remember(key, { ended: 'busy' });
          log.error({ err: error, accountId: head.accountId }, 'webhook lane failed; tried again after a pause');
        })
        .finally(() => {
          lanes.delete(key);
          // A slot is free: another lane may be due. (This one, if its head waits, is left alone.)
          nudge();
        });
      lanes.set(key, running);
    }
  }

  function remember(key: string, end: LaneEnd): void {
    if (end.ended === 'idle') notBefore.delete(key);
    else if (end.ended === 'waits') {
      const wait = Math.max(0, end.until.getTime() - deps.clock.now().getTime());
      notBefore.set(key, { misses: 0, until: Date.now() + Math.min(wait, RECHECK_MS) });
    } else {
      // Held by another worker (or the run failed): doubling pauses, up to half a lease.
      const misses = (notBefore.get(key)?.misses ?? 0) + 1;
      notBefore.set(key, { misses, until: Date.now() + Math.min(BACKOFF_MIN_MS * 2 ** (misses - 1), Math.max(BACKOFF_MIN_MS, lockMs / 2)) });
    }
  }

  /** Scans soon. With an account: its lanes are looked at again at once (a replay, a resume changed them). */
  function nudge(accountId?: string): void {
    if (accountId) for (const lane of ['webhook', 'notification'] as const) notBefore.delete(keyOf({ accountId, lane }));
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
    send,
    /** Signs and sends a body for an account now, outside the outbox (`webhook test`). */
    async sendNow(accountId: string, id: string, url: string, authorization: string | undefined, body: string): Promise<PostResult> {
      return send(await deps.signing.active(accountId), id, url, authorization, body);
    },
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
    stats: () => ({ ...stats }),
    /** For tests and benches: resolves when nothing is being delivered or scanned right now. */
    async idle(): Promise<void> {
      while (lanes.size > 0 || scanning) await Promise.all([...lanes.values(), scanning]);
    },
  };
}
