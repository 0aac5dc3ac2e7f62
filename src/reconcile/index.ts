import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import { EXPIRY_MS, WAITING_STATUSES } from '../domain/request-status.js';
import type { JobSpec } from '../jobs/scheduler.js';
import type { Logger } from '../log.js';
import type { AccountDoc, ConciliationRequestDoc, Models, OutboxEventDoc } from '../store/models.js';
import type { StoredTransaction, TransactionRepository } from '../store/transaction-repository.js';
import { createAccountLock } from './account-lock.js';
import { createOutbox, type Outbox } from './outbox.js';
import { createPoller, type PollLimits, type Poller, type PollReport } from './poller.js';
import { createRequestService, type RequestService } from './requests.js';
import { expiredEvent, movementEvent } from './result-events.js';
import { createSettlement, type EvaluationSummary, type EvaluationTarget, type MatchFn, type Settlement } from './settlement.js';
import { appendTo } from '../domain/collections.js';

/**
 * Reconciliation and passthrough, wired: polling, settlement, expiry, the outbox, operator
 * actions, the transactions-arrived hook and the sweeper that finishes interrupted steps.
 */

export const POLL_JOB = 'poll-account';
/** How often the sweeper looks for claims held by requests not matched with them (it reads every claim of the account). */
export const ORPHAN_CHECK_MS = 60 * 60_000;
/** Results of one type on one account stored at once that are told one by one in chat; more are told in one message. */
export const CHAT_ONE_BY_ONE = 10;
export type PollJobData = { accountId: string; ref?: string };

export type ReconcileSettings = PollLimits & {
  pollIntervalMs: number;
  /** Time to live of an account's reconcile lease; renewed every third of it while a step works. */
  lockTtlMs: number;
  pollTickSeconds: number;
  sweepSeconds: number;
  expirySeconds: number;
  lockWaitMs: number;
  /** The sweeper leaves younger work alone: it is probably still in the hands of the step that made it. */
  sweepGraceMs: number;
};

export type ReconcileServices = {
  outbox: Outbox;
  settlement: Settlement;
  poller: Poller;
  requests: RequestService;
  /** Evaluates an account's open requests now, under its reconcile lease (reconcile mode only). */
  evaluate(accountId: string, target: EvaluationTarget): Promise<EvaluationSummary | undefined>;
  /** The sessions' hook: new transactions → passthrough events or matching. */
  transactionsArrived(accountId: string, transactions: StoredTransaction[]): Promise<void>;
  expireDue(): Promise<number>;
  sweep(): Promise<{ events: number; transactions: number; evaluated: number; freed: number; notified: number }>;
  jobs(): JobSpec[];
};

export function createReconcileServices(deps: {
  models: Models;
  accounts: AccountService;
  transactions: TransactionRepository;
  clock: Clock;
  log: Logger;
  settings: ReconcileSettings;
  enqueuePoll(data: PollJobData): Promise<void>;
  /** Chat notifications of results (the webhooks issue adds delivery). */
  announce(event: OutboxEventDoc): Promise<void>;
  /** Many results of one type on one account at once, in one chat message. */
  announceMany?(events: OutboxEventDoc[]): Promise<void>;
  reportPoll(report: PollReport): Promise<void>;
  match?: MatchFn;
}): ReconcileServices {
  const { models, clock, settings } = deps;
  const { Account, User, ConciliationRequest, BankTransaction } = models;
  const log = deps.log.child({ component: 'reconcile' });

  /**
   * Chat notices of newly stored events: one message each, except that more than
   * CHAT_ONE_BY_ONE of one type on one account at once (a large poll) are told in one message.
   */
  async function announce(events: OutboxEventDoc[]): Promise<void> {
    const groups = new Map<string, OutboxEventDoc[]>();
    for (const event of events) {
      if (event.chat.state !== 'pending') continue;
      const key = `${event.accountId}|${event.type}`;
      appendTo(groups, key, event);
    }
    const sent: string[] = [];
    try {
      for (const group of groups.values()) {
        if (group.length > CHAT_ONE_BY_ONE && deps.announceMany) {
          await deps.announceMany(group);
          sent.push(...group.map((e) => e._id));
          continue;
        }
        for (const event of group) {
          await deps.announce(event);
          sent.push(event._id);
        }
      }
    } finally {
      await outbox.markChatSent(sent);
    }
  }
  const outbox = createOutbox({ models, clock, log, onStored: announce });
  const settlement = createSettlement({ models, clock, log, outbox, ...(deps.match ? { match: deps.match } : {}) });
  // Every locked step first recovers what an earlier holder left half done (a crash, a lapsed lease).
  const lock = createAccountLock({ models, clock, ttlMs: settings.lockTtlMs, waitMs: settings.lockWaitMs, onAcquired: async (lease) => void (await settlement.recover(lease)) });
  /** Per account: when this process last looked for claims held by requests not matched with them. */
  const orphansCheckedAt = new Map<string, Date>();
  const poller = createPoller({
    models,
    accounts: deps.accounts,
    clock,
    log,
    lock,
    settlement,
    limits: { timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, allowPrivate: settings.allowPrivate },
    intervalMs: settings.pollIntervalMs,
    staleQueueMs: Math.max(10 * 60_000, settings.timeoutMs * 4),
    enqueue: (accountId, ref) => deps.enqueuePoll({ accountId, ...(ref ? { ref } : {}) }),
    report: deps.reportPoll,
  });
  const requests = createRequestService({ models, accounts: deps.accounts, clock, lock, settlement, outbox });

  async function accountContext(accountId: string): Promise<{ doc: AccountDoc; mode: string | null } | undefined> {
    const doc = await Account.findById(accountId).lean<AccountDoc>();
    if (!doc) return undefined;
    const user = await User.findById(doc.userId, { operation_mode: 1 }).lean<{ operation_mode: string | null }>();
    return { doc, mode: user?.operation_mode ?? null };
  }

  async function transactionsArrived(accountId: string, transactions: StoredTransaction[]): Promise<void> {
    if (transactions.length === 0) return;
    const context = await accountContext(accountId);
    if (context) {
      const settingsOf = plainSettings(context.doc);
      if (context.mode === 'passthrough' && !settingsOf.silent_ingestion) {
        // Transfers without a sender name carry nothing to confirm a payer: not forwarded (SPEC §5).
        const now = clock.now();
        await outbox.record(transactions.filter((t) => t.senderName).map((t) => movementEvent(t, context.doc.userId, now)));
      } else if (context.mode === 'reconcile') {
        await lock(accountId, (lease) =>
          settlement.evaluate(
            { id: accountId, userId: context.doc.userId, retryLimit: settingsOf.retry_limit },
            { amounts: transactions.map((t) => ({ amountMinor: t.amountMinor, currency: t.currency })), due: true },
            lease,
          ),
        );
      }
    }
    await deps.transactions.markHandled(transactions.map((t) => t.id));
  }

  async function evaluate(accountId: string, target: EvaluationTarget): Promise<EvaluationSummary | undefined> {
    const context = await accountContext(accountId);
    if (!context || context.mode !== 'reconcile') return undefined;
    const retryLimit = plainSettings(context.doc).retry_limit;
    return lock(accountId, (lease) => settlement.evaluate({ id: accountId, userId: context.doc.userId, retryLimit }, target, lease));
  }

  async function expireDue(): Promise<number> {
    const cutoff = new Date(clock.now().getTime() - EXPIRY_MS);
    const due = await ConciliationRequest.find({ status: { $in: WAITING_STATUSES }, registeredAt: { $lt: cutoff } }, { accountId: 1 }).lean<{ accountId: string }[]>();
    let expired = 0;
    for (const accountId of new Set(due.map((d) => d.accountId))) {
      const account = await Account.findById(accountId).lean<AccountDoc>();
      if (!account) continue;
      const notify = plainSettings(account).notify_on_expired;
      expired += await lock(accountId, async (lease) => {
        let count = 0;
        const requestsDue = await ConciliationRequest.find({ accountId, status: { $in: WAITING_STATUSES }, registeredAt: { $lt: cutoff } }).lean<ConciliationRequestDoc[]>();
        for (const request of requestsDue) {
          lease.check();
          const now = clock.now();
          const event = expiredEvent(request, notify, now);
          const updated = await ConciliationRequest.findOneAndUpdate(
            { _id: request._id, status: request.status, registeredAt: request.registeredAt },
            { $set: { status: 'expired', statusChangedAt: now, candidates: [], retryAt: null }, $push: { pendingEvents: event } },
          ).lean();
          if (updated) {
            count += 1;
            await outbox.flushRequest(request._id, [event]);
          }
        }
        return count;
      });
    }
    if (expired > 0) log.info({ expired }, 'requests expired');
    return expired;
  }

  async function sweep() {
    const now = clock.now();
    const events = await outbox.flushPending();
    // Transactions whose arrival step was interrupted (a crash, a lock wait that gave up).
    // firstSeenAt is stamped by the database layer with the wall clock, not the injected one.
    const stale = await deps.transactions.unhandled(new Date(Date.now() - settings.sweepGraceMs), 1000);
    const byAccount = new Map<string, StoredTransaction[]>();
    for (const t of stale) appendTo(byAccount, t.accountId, t);
    for (const [accountId, list] of byAccount) await transactionsArrived(accountId, list).catch((error: unknown) => log.warn({ err: error, accountId }, 'could not finish new transactions; retrying next sweep'));
    // Requests due for a retry, never evaluated, or left processing (a crash, a lapsed lease:
    // a live step keeps its lease, so taking the lock means nobody is evaluating them), and
    // accounts with claims made since the last look (a claim whose outcome was never written).
    const waiting = await ConciliationRequest.find(
      {
        $or: [
          { status: 'pending', retryAt: { $lte: now } },
          { status: 'pending', retryAt: null, statusChangedAt: { $lt: new Date(now.getTime() - settings.sweepGraceMs) } },
          { status: 'processing', processingSince: { $lt: new Date(now.getTime() - settings.sweepGraceMs) } },
        ],
      },
      { accountId: 1, status: 1 },
    ).lean<{ accountId: string; status: string }[]>();
    // Their marks may postdate the clean end the lease vouches for (a lapsed holder's late write): looked for in any case.
    const leftProcessing = new Set(waiting.filter((w) => w.status === 'processing').map((w) => w.accountId));
    // Claims held by requests not matched with them are looked for on each account's first
    // sweep in this process (older leaks included), then every ORPHAN_CHECK_MS.
    // Grouped, not `distinct`: the embedded engine answers a distinct by reading every matching
    // document into one list (every transaction ever matched), an aggregation as it goes.
    const holding = await BankTransaction.aggregate<{ _id: string }>([{ $match: { usedBy: { $ne: null } } }, { $group: { _id: '$accountId' } }]);
    const dueForCheck = holding.map((row) => String(row._id)).filter((id) => (orphansCheckedAt.get(id)?.getTime() ?? -Infinity) <= now.getTime() - ORPHAN_CHECK_MS);
    let evaluated = 0;
    let freed = 0;
    for (const accountId of new Set([...waiting.map((w) => w.accountId), ...dueForCheck])) {
      const context = await accountContext(accountId);
      if (!context || context.mode !== 'reconcile') continue;
      const retryLimit = plainSettings(context.doc).retry_limit;
      const check = dueForCheck.includes(accountId);
      const summary = await lock(accountId, async (lease) => {
        if (leftProcessing.has(accountId)) await settlement.recover(lease, { always: true });
        if (check) {
          const released = await settlement.releaseOrphans(lease);
          orphansCheckedAt.set(accountId, now);
          freed += released.length;
          if (released.length > 0) log.warn({ accountId, transactions: released.length }, 'transactions held by requests not matched with them were freed');
        }
        return settlement.evaluate({ id: accountId, userId: context.doc.userId, retryLimit }, { due: true }, lease);
      }).catch((error: unknown) => {
        log.warn({ err: error, accountId }, 'could not evaluate waiting requests; retrying next sweep');
        return undefined;
      });
      evaluated += summary?.evaluated ?? 0;
    }
    const backlog = await outbox.chatBacklog(new Date(now.getTime() - settings.sweepGraceMs));
    await announce(backlog);
    return { events, transactions: stale.length, evaluated, freed, notified: backlog.length };
  }

  return {
    outbox,
    settlement,
    poller,
    requests,
    evaluate,
    transactionsArrived,
    expireDue,
    sweep,
    jobs: () => [
      { name: 'poll-tick', every: `${settings.pollTickSeconds} seconds`, run: async () => void (await poller.queueDue()) },
      {
        name: POLL_JOB,
        concurrency: 4,
        lockLifetimeMs: Math.max(5 * 60_000, settings.timeoutMs * 4),
        run: async (data) => {
          const job = data as PollJobData;
          try {
            await poller.pollAccount(job.accountId, job.ref);
          } catch (error) {
            // The queue mark must not outlive the job, or the account would wait for the stale timeout.
            await Account.updateOne({ _id: job.accountId }, { $set: { 'polling.queuedAt': null } }).catch(() => undefined);
            throw error;
          }
        },
      },
      { name: 'requests-expiry', every: `${settings.expirySeconds} seconds`, run: async () => void (await expireDue()) },
      { name: 'reconcile-sweep', every: `${settings.sweepSeconds} seconds`, run: async () => void (await sweep()) },
    ],
  };
}
