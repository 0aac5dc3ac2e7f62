import type { AccountService } from '../accounts/account-service.js';
import { plainSettings } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import { UserError } from '../domain/errors.js';
import { OPEN_STATUSES } from '../domain/request-status.js';
import type { Logger } from '../log.js';
import { isDuplicateKey } from '../store/database.js';
import { insertNewRequests } from '../store/new-requests.js';
import type { AccountDoc, ConciliationRequestDoc, Models, PollingState } from '../store/models.js';
import { LeaseLostError, type AccountLock, type LockLease } from './account-lock.js';
import { pollPendingOrders, type PendingOrder, type PollResult, type PollSettings, type SkippedOrder } from './pending-orders.js';
import { failureNotice } from './poll-failures.js';
import { planPoll } from './poll-plan.js';
import type { EvaluationSummary, Settlement } from './settlement.js';

/**
 * Pending-orders polling (SPEC §4 "Polling", "Cancellation"): a tick queues every reconcile-mode
 * account whose poll is due; each queued poll calls the customer's endpoint outside the lock,
 * then, under the account's lock, applies the plan (new, changed, cancelled, reopened) and
 * evaluates what it touched. A failed poll changes nothing but the account's polling state.
 */

export type PollLimits = { timeoutMs: number; maxBytes: number; allowPrivate: boolean };
export type PollOutcome =
  | { ok: false; account: string; error: string }
  | { ok: true; account: string; orders: number; created: number; updated: number; cancelled: number; reopened: number; heldEmpty: boolean; skipped: SkippedOrder[]; evaluation: EvaluationSummary }
  | { ok: 'skipped'; account: string; reason: string };

export type PollReport = {
  accountId: string;
  userId: string;
  accountName: string;
  outcome: PollOutcome;
  ref: string | undefined;
  /** The first failure of a streak: operators are told. */
  firstFailure: boolean;
  /** The streak has reached its next milestone (poll-failures.ts): operators are told it goes on. */
  stillFailing?: { forMs: number; failures: number };
  recovered: boolean;
  newSkips: boolean;
};

export type Poller = ReturnType<typeof createPoller>;

export function createPoller(deps: {
  models: Models;
  accounts: AccountService;
  clock: Clock;
  log: Logger;
  lock: AccountLock;
  settlement: Settlement;
  limits: PollLimits;
  intervalMs: number;
  /** Queued polls become jobs; a stale queue mark (a lost job) is reclaimed after this long. */
  staleQueueMs: number;
  enqueue(accountId: string, ref?: string): Promise<void>;
  report(report: PollReport): Promise<void>;
  poll?: (settings: PollSettings, limits: PollLimits) => Promise<PollResult>;
}) {
  const { Account, User, ConciliationRequest } = deps.models;
  const poll = deps.poll ?? pollPendingOrders;
  const log = deps.log.child({ component: 'polling' });

  async function claimQueue(accountId: string): Promise<boolean> {
    const now = deps.clock.now();
    const staleBefore = new Date(now.getTime() - deps.staleQueueMs);
    const claimed = await Account.findOneAndUpdate(
      { _id: accountId, $or: [{ 'polling.queuedAt': null }, { 'polling.queuedAt': { $exists: false } }, { 'polling.queuedAt': { $lt: staleBefore } }] },
      { $set: { 'polling.queuedAt': now } },
    ).lean();
    return claimed !== null;
  }

  async function reconcileUserIds(): Promise<string[]> {
    const users = await User.find({ operation_mode: 'reconcile' }, { _id: 1 }).lean<{ _id: string }[]>();
    return users.map((u) => u._id);
  }

  async function finish(accountId: string, set: Record<string, unknown>, inc?: Record<string, number>): Promise<void> {
    await Account.updateOne({ _id: accountId }, { $set: { 'polling.queuedAt': null, ...set }, ...(inc ? { $inc: inc } : {}) });
  }

  async function applyOrders(doc: AccountDoc, orders: PendingOrder[], unreadable: string[], retryLimit: number, lease: LockLease): Promise<Omit<Extract<PollOutcome, { ok: true }>, 'ok' | 'account' | 'skipped'> & { memory: { lastCount: number | null; emptyHeld: boolean } }> {
    const now = deps.clock.now();
    // One read of the account's requests, sorted out here: on mongo-java-server a query with a
    // long $in list compares every document with the whole list. Writes go in bulk, each
    // conditional on the status read ({_id, status}: indexed there).
    const listed = new Set([...orders.map((o) => o.externalId), ...unreadable]);
    const readAll = () =>
      ConciliationRequest.find({ accountId: doc._id }, { externalId: 1, externalIdType: 1, status: 1, amountMinor: 1, currency: 1, name: 1, listedLastPoll: 1, processingFence: 1 }).lean<ConciliationRequestDoc[]>();
    let all = await readAll();
    // Requests still `processing` here were marked by a holder whose lease lapsed (a clean step's
    // lease spares recovery its look): restored before the plan, which would cancel or reset them.
    // One marked under this fence or a newer one means a newer holder is at work: this step stops.
    const leftProcessing = all.filter((k) => k.status === 'processing');
    if (leftProcessing.length > 0) {
      if (leftProcessing.some((k) => (k.processingFence ?? 0) >= lease.fence)) throw new LeaseLostError(doc._id);
      await deps.settlement.recover(lease, { ids: leftProcessing.map((k) => k._id) });
      all = await readAll();
      if (all.some((k) => k.status === 'processing')) throw new LeaseLostError(doc._id);
    }
    const known = all.filter((k) => OPEN_STATUSES.includes(k.status) || listed.has(k.externalId));
    const statusOf = new Map(all.map((k) => [k._id, k.status]));
    const memory = { lastCount: doc.polling?.lastCount ?? null, emptyHeld: doc.polling?.emptyHeld ?? false };
    const plan = planPoll(
      known.map((k) => ({ id: k._id, externalId: k.externalId, externalIdType: k.externalIdType ?? 'string', status: k.status, amountMinor: k.amountMinor, currency: k.currency, name: k.name, listedLastPoll: k.listedLastPoll !== false })),
      orders,
      memory,
      unreadable,
    );
    const touched: string[] = [];
    if (plan.create.length > 0) {
      try {
        const created = await insertNewRequests(
          ConciliationRequest,
          plan.create.map((o) => ({ accountId: doc._id, userId: doc.userId, externalId: o.externalId, externalIdType: o.externalIdType, amountMinor: o.amountMinor, currency: o.currency, name: o.name, registeredAt: now, status: 'pending', statusChangedAt: now, listedLastPoll: true })),
        );
        touched.push(...created);
      } catch (error) {
        // Another worker registered some of them first: the unique index keeps one each.
        if (!isDuplicateKey(error)) throw error;
        const wanted = new Set(plan.create.map((o) => o.externalId));
        const mine = await ConciliationRequest.find({ accountId: doc._id, status: 'pending' }, { externalId: 1 }).lean<{ _id: string; externalId: string }[]>();
        touched.push(...mine.filter((m) => wanted.has(m.externalId)).map((m) => m._id));
      }
    }
    const conditional = async (items: { id: string; set: Record<string, unknown> }[]): Promise<string[]> => {
      const applied: string[] = [];
      for (let i = 0; i < items.length; i += 1_000) {
        lease.check();
        const chunk = items.slice(i, i + 1_000);
        await ConciliationRequest.bulkWrite(chunk.map((c) => ({ updateOne: { filter: { _id: c.id, status: statusOf.get(c.id) }, update: { $set: c.set } } })), { ordered: false });
        applied.push(...chunk.map((c) => c.id));
      }
      return applied;
    };
    const orderSet = (order: PendingOrder) => ({ externalIdType: order.externalIdType, amountMinor: order.amountMinor, currency: order.currency, name: order.name, status: 'pending', statusChangedAt: now, candidates: [], errorCount: 0, retryAt: null });
    touched.push(...(await conditional(plan.update.map(({ id, order }) => ({ id, set: orderSet(order) })))));
    // Rare (an endpoint that changed how it writes ids): nothing else about the order changes.
    await conditional(plan.retype.map(({ id, externalIdType }) => ({ id, set: { externalIdType } })));
    await conditional(plan.cancel.map((id) => ({ id, set: { status: 'cancelled', statusChangedAt: now, candidates: [], processingFrom: null, processingSince: null, listedLastPoll: false } })));
    if (plan.cancel.length > 0) {
      // A cancelled request settles nothing: whatever it held goes back.
      const claims = deps.settlement.claims;
      await claims.releaseUnsettled(await claims.heldBy(doc._id, plan.cancel), lease);
    }
    touched.push(...(await conditional(plan.reopen.map(({ id, order }) => ({ id, set: { ...orderSet(order), registeredAt: now, match: null } })))));
    if (!plan.heldEmpty) {
      const cancelled = new Set(plan.cancel);
      const flips = all.filter((k) => !cancelled.has(k._id) && (k.listedLastPoll !== false) !== listed.has(k.externalId));
      for (let i = 0; i < flips.length; i += 1_000) {
        await ConciliationRequest.bulkWrite(flips.slice(i, i + 1_000).map((k) => ({ updateOne: { filter: { _id: k._id }, update: { $set: { listedLastPoll: listed.has(k.externalId) } } } })), { ordered: false });
      }
    }
    const evaluation = await deps.settlement.evaluate({ id: doc._id, userId: doc.userId, retryLimit }, { requestIds: touched, due: true }, lease);
    return { orders: orders.length, created: plan.create.length, updated: plan.update.length, cancelled: plan.cancel.length, reopened: plan.reopen.length, heldEmpty: plan.heldEmpty, evaluation, memory: plan.memory };
  }

  async function pollAccount(accountId: string, ref?: string): Promise<PollOutcome> {
    const doc = await Account.findById(accountId).lean<AccountDoc>();
    if (!doc) return { ok: 'skipped', account: accountId, reason: 'the account no longer exists' };
    const settings = plainSettings(doc);
    const user = await User.findById(doc.userId, { operation_mode: 1 }).lean<{ operation_mode: string | null }>();
    const now = deps.clock.now();
    const next = { 'polling.nextPollAt': new Date(now.getTime() + deps.intervalMs) };
    const base = { accountId, userId: doc.userId, accountName: doc.name, ref, firstFailure: false, recovered: false, newSkips: false };
    const skip = async (reason: string): Promise<PollOutcome> => {
      await finish(accountId, next);
      const outcome: PollOutcome = { ok: 'skipped', account: doc.name, reason };
      if (ref) await deps.report({ ...base, outcome });
      return outcome;
    };
    if (user?.operation_mode !== 'reconcile') return skip(`the operation mode is ${user?.operation_mode ?? 'not chosen'}, not reconcile; nothing is polled`);
    if (doc.status !== 'active') return skip('the account is paused');
    if (!settings.pending_orders_endpoint) return skip('pending_orders_endpoint is not set');

    const token = await deps.accounts.revealSecret(accountId, 'auth_token');
    const result = await poll(
      { url: settings.pending_orders_endpoint, method: settings.polling_method, body: settings.polling_body, authType: settings.auth_type, authToken: token },
      deps.limits,
    );
    const previous: Partial<PollingState> = doc.polling ?? {};
    if (!result.ok) {
      log.warn({ accountId, error: result.error }, 'pending-orders poll failed');
      const failures = previous.failures ?? 0;
      const told = failureNotice({ failures, failingSince: previous.failingSince ?? null, notices: previous.failureNotices ?? 0 }, now);
      await finish(
        accountId,
        { ...next, 'polling.lastPollAt': now, 'polling.lastError': result.error, 'polling.failingSince': told.failingSince, 'polling.failureNotices': told.notices },
        { 'polling.failures': 1 },
      );
      const outcome: PollOutcome = { ok: false, account: doc.name, error: result.error };
      await deps.report({
        ...base,
        outcome,
        firstFailure: told.notice?.kind === 'first',
        ...(told.notice?.kind === 'still' ? { stillFailing: { forMs: told.notice.forMs, failures: failures + 1 } } : {}),
      });
      return outcome;
    }
    for (const skipped of result.skipped) log.warn({ accountId, index: skipped.index, externalId: skipped.externalId, reason: skipped.reason }, 'pending order skipped');
    const unreadable = [...new Set(result.skipped.flatMap((s) => (s.externalId ? [s.externalId] : [])))];
    const applied = await deps.lock(accountId, (lease) => applyOrders(doc, result.orders, unreadable, settings.retry_limit, lease));
    const skippedKey = result.skipped.length > 0 ? JSON.stringify(result.skipped.map((s) => [s.externalId ?? s.index, s.reason])) : null;
    await finish(accountId, {
      ...next,
      'polling.lastPollAt': now,
      'polling.lastOkAt': now,
      'polling.lastError': null,
      'polling.failures': 0,
      'polling.failingSince': null,
      'polling.failureNotices': 0,
      'polling.lastCount': applied.memory.lastCount,
      'polling.emptyHeld': applied.memory.emptyHeld,
      'polling.skippedKey': skippedKey,
    });
    const { memory: _memory, ...counts } = applied;
    const outcome: PollOutcome = { ok: true, account: doc.name, skipped: result.skipped, ...counts };
    log.info({ accountId, orders: counts.orders, created: counts.created, updated: counts.updated, cancelled: counts.cancelled, reopened: counts.reopened, heldEmpty: counts.heldEmpty, skipped: result.skipped.length, ...counts.evaluation }, 'pending orders polled');
    await deps.report({ ...base, outcome, recovered: (previous.failures ?? 0) > 0, newSkips: skippedKey !== null && skippedKey !== (previous.skippedKey ?? null) });
    return outcome;
  }

  return {
    pollAccount,

    /** Tick: queues every reconcile-mode account whose poll is due. Returns how many. */
    async queueDue(): Promise<number> {
      const now = deps.clock.now();
      const staleBefore = new Date(now.getTime() - deps.staleQueueMs);
      const due = await Account.find(
        {
          userId: { $in: await reconcileUserIds() },
          status: 'active',
          'settings.pending_orders_endpoint': { $type: 'string' },
          $and: [
            { $or: [{ 'polling.nextPollAt': null }, { 'polling.nextPollAt': { $exists: false } }, { 'polling.nextPollAt': { $lte: now } }] },
            { $or: [{ 'polling.queuedAt': null }, { 'polling.queuedAt': { $exists: false } }, { 'polling.queuedAt': { $lt: staleBefore } }] },
          ],
        },
        { _id: 1 },
      ).lean<{ _id: string }[]>();
      let queued = 0;
      for (const account of due) {
        if (await claimQueue(account._id)) {
          await deps.enqueue(account._id);
          queued += 1;
        }
      }
      return queued;
    },

    /** "Poll now" from chat (or the API): the result is reported to `ref`. */
    async requestPoll(userId: string, accountRef: string, ref?: string): Promise<{ account: string }> {
      const view = await deps.accounts.show(userId, accountRef);
      const user = await User.findById(userId, { operation_mode: 1 }).lean<{ operation_mode: string | null }>();
      if (user?.operation_mode !== 'reconcile') throw new UserError(`Polling happens in reconcile mode only; the mode is ${user?.operation_mode ?? 'not chosen yet'} (see: mode).`);
      if (!view.settings.pending_orders_endpoint) throw new UserError(`Set the endpoint first: account set "${view.name}" pending_orders_endpoint=<url>`);
      if (view.status !== 'active') throw new UserError(`"${view.name}" is paused; resume it first: account resume "${view.name}"`);
      if (!(await claimQueue(view.id))) throw new UserError(`A poll of "${view.name}" is already queued or running.`);
      await deps.enqueue(view.id, ref);
      return { account: view.name };
    },
  };
}
