import { BANK_CREDENTIALS_SET, type AccountService } from '../accounts/account-service.js';
import type { Clock } from '../domain/clock.js';
import { ConflictError, UserError } from '../domain/errors.js';
import type { Logger } from '../log.js';
import type { AccountDoc, Models, SessionRunDoc } from '../store/models.js';
import type { LeaseManager } from './lease.js';
import { leaseKey } from './runner.js';

/**
 * What people and the scheduler do to sessions: queue a scrape (on schedule or on demand),
 * restart scraping after a fatal failure, kill and reactivate persistent sessions, list failures.
 */
export type SessionControl = ReturnType<typeof createSessionControl>;

export type FailureView = { runId: string; accountName: string; at: Date; outcome: string; fatal: boolean; stage: string | null; url: string | null; screenshot: string | null; message: string | null };

export function createSessionControl(deps: {
  models: Models;
  accounts: AccountService;
  leases: LeaseManager;
  clock: Clock;
  log: Logger;
  /** Hands a queued scrape to the job queue. */
  enqueue(accountId: string, trigger: 'schedule' | 'manual' | 'retry', ref?: string): Promise<void>;
  staleQueueMs: number;
}) {
  const { Account, SessionRun } = deps.models;

  async function claimQueue(accountId: string, staleBefore: Date): Promise<boolean> {
    const now = deps.clock.now();
    const claimed = await Account.findOneAndUpdate(
      { _id: accountId, $or: [{ 'scrape.queuedAt': null }, { 'scrape.queuedAt': { $lt: staleBefore } }] },
      { $set: { 'scrape.queuedAt': now } },
    ).lean();
    return claimed !== null;
  }

  async function resume(run: SessionRunDoc): Promise<void> {
    const account = await Account.findById(run.accountId).lean<AccountDoc>();
    if (!account || account.status !== 'active' || account.scrapeBlockedAt) return;
    // A stale queue mark from the dead process must not block the restart.
    await Account.updateOne({ _id: account._id }, { $set: { 'scrape.queuedAt': null } });
    if (!(await claimQueue(account._id, new Date(0)))) return;
    await SessionRun.updateOne({ _id: run._id }, { $set: { resumedAt: deps.clock.now() } });
    deps.log.info({ accountId: account._id, runId: run._id }, 'an interrupted session is started again');
    await deps.enqueue(account._id, 'retry', run.ref ?? undefined);
  }

  return {
    /** Scheduler tick: queues every one-shot account whose next run is due. Returns how many. */
    async queueDue(): Promise<number> {
      const now = deps.clock.now();
      const staleBefore = new Date(now.getTime() - deps.staleQueueMs);
      const due = await Account.find(
        {
          status: 'active',
          scrapeBlockedAt: null,
          // Without credentials there is nothing to run (the form may still be open): not due, not a failure.
          ...BANK_CREDENTIALS_SET,
          'settings.session_type': { $ne: 'persistent' },
          $and: [
            { $or: [{ 'scrape.nextRunAt': null }, { 'scrape.nextRunAt': { $lte: now } }, { 'scrape.nextRunAt': { $exists: false } }] },
            { $or: [{ 'scrape.queuedAt': null }, { 'scrape.queuedAt': { $exists: false } }, { 'scrape.queuedAt': { $lt: staleBefore } }] },
          ],
        },
        { _id: 1, 'scrape.failures': 1 },
      ).lean<Pick<AccountDoc, '_id' | 'scrape'>[]>();
      let queued = 0;
      for (const account of due) {
        if (await claimQueue(account._id, staleBefore)) {
          await deps.enqueue(account._id, (account.scrape?.failures ?? 0) > 0 ? 'retry' : 'schedule');
          queued += 1;
        }
      }
      return queued;
    },

    /** "Scrape now". A second request while one is queued says so. */
    async requestScrape(userId: string, ref: string, notifyRef?: string): Promise<{ account: string }> {
      const view = await deps.accounts.show(userId, ref);
      if (view.scrapeBlockedAt) {
        throw new UserError(`Scraping of "${view.name}" is blocked since ${view.scrapeBlockedAt.toISOString()}: ${view.scrapeBlockedReason} Fix the cause, then: /recon account restart "${view.name}"`);
      }
      if (view.status !== 'active') throw new UserError(`"${view.name}" is paused; resume it first: /recon account resume "${view.name}"`);
      if (!view.settings.bank_username || view.settings.bank_password === null) {
        throw new UserError(`"${view.name}" has no bank credentials yet; set them in private: /recon account set "${view.name}" bank_username bank_password`);
      }
      if (view.settings.session_type === 'persistent') {
        throw new UserError(`"${view.name}" has a persistent session, which reads the bank continuously; see /recon account status "${view.name}".`);
      }
      const staleBefore = new Date(deps.clock.now().getTime() - deps.staleQueueMs);
      if (!(await claimQueue(view.id, staleBefore))) throw new ConflictError(`A scrape of "${view.name}" is already queued or running.`);
      await deps.enqueue(view.id, 'manual', notifyRef);
      return { account: view.name };
    },

    /** "Restart scraping": clears skip-on-fatal and the back-off, and for persistent sessions resumes them. */
    async restart(userId: string, ref: string): Promise<{ account: string; wasBlocked: boolean }> {
      const view = await deps.accounts.show(userId, ref);
      await Account.updateOne(
        { _id: view.id },
        {
          $set: {
            scrapeBlockedAt: null,
            scrapeBlockedReason: null,
            'scrape.failures': 0,
            'scrape.nextRunAt': deps.clock.now(),
            'scrape.queuedAt': null,
            'session.state': 'running',
            'session.reason': null,
            'session.since': deps.clock.now(),
          },
        },
      );
      deps.log.info({ accountId: view.id }, 'scraping restarted');
      return { account: view.name, wasBlocked: view.scrapeBlockedAt !== null };
    },

    /** Persistent sessions: stop (the holder closes the browser on its next cycle) or run again. */
    async setSessionState(userId: string, ref: string, state: 'stopped' | 'running', reason: string | null): Promise<{ account: string }> {
      const view = await deps.accounts.show(userId, ref);
      await Account.updateOne({ _id: view.id }, { $set: { 'session.state': state, 'session.reason': reason, 'session.since': deps.clock.now() } });
      return { account: view.name };
    },

    async status(userId: string, ref: string) {
      const { view, doc } = await deps.accounts.showWithDocument(userId, ref);
      // The newest run by the id the account keeps (none: not one read); an account stored by an older version has no such id, and its runs are sorted.
      const newestRun = doc.lastRunId === null ? Promise.resolve(null) : doc.lastRunId ? SessionRun.findById(doc.lastRunId).lean<SessionRunDoc>() : SessionRun.findOne({ accountId: view.id }).sort({ startedAt: -1 }).lean<SessionRunDoc>();
      const [lease, lastRun] = await Promise.all([deps.leases.holderOf(leaseKey(view.id)), newestRun]);
      return { view, scrape: doc.scrape ?? null, session: doc.session ?? null, activeSession: lease?.purpose ?? null, lastRun };
    },

    async failures(userId: string, options: { account?: string; limit: number }): Promise<FailureView[]> {
      const accounts = options.account ? [await deps.accounts.show(userId, options.account)] : await deps.accounts.list(userId);
      const names = new Map(accounts.map((a) => [a.id, a.name]));
      const runs = await SessionRun.find({ accountId: { $in: [...names.keys()] }, status: { $in: ['failed', 'orphaned'] } })
        .sort({ startedAt: -1 })
        .limit(options.limit)
        .lean<SessionRunDoc[]>();
      return runs.map((r) => ({
        runId: r._id,
        accountName: names.get(r.accountId) ?? r.accountId,
        at: r.startedAt,
        outcome: r.outcome ?? r.status,
        fatal: r.fatal ?? false,
        stage: r.stage ?? null,
        url: r.url ?? null,
        screenshot: r.screenshot ?? null,
        message: r.message ?? null,
      }));
    },

    /** After a crash, runs left "running" whose holder no longer holds the account are orphans. */
    /**
     * Runs left `running` by a process that stopped are closed as orphaned, and an interrupted
     * one-shot run is started again (reporting where the first one did): a login that was
     * waiting for a bank code asks again, so the person's answer still lands somewhere.
     */
    async closeOrphanedRuns(): Promise<number> {
      const running = await SessionRun.find({ status: 'running' }).lean<SessionRunDoc[]>();
      let closed = 0;
      for (const run of running) {
        const lease = await deps.leases.holderOf(leaseKey(run.accountId));
        if (lease?.holder === run.holder) continue;
        const result = await SessionRun.updateOne({ _id: run._id, status: 'running' }, { $set: { status: 'orphaned', endedAt: deps.clock.now(), message: 'The service stopped during this session.' } });
        closed += result.modifiedCount;
        if (result.modifiedCount === 1 && run.kind === 'one-shot') await resume(run);
      }
      return closed;
    },
  };
}
