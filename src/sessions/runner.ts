import type { Page } from 'playwright-core';
import type { AccountService } from '../accounts/account-service.js';
import type { BankRegistry } from '../banks/registry.js';
import type { Clock } from '../domain/clock.js';
import { SESSION_FAILURES, SessionFailure } from '../domain/session-outcome.js';
import type { Logger } from '../log.js';
import { accountView, hasBankCredentials } from '../accounts/account-service.js';
import type { AccountDoc, Models } from '../store/models.js';
import type { StoredTransaction, TransactionRepository } from '../store/transaction-repository.js';
import { saveFailureScreenshot, safeUrl } from './artifacts.js';
import type { AssistanceService } from './assistance.js';
import { logIn } from './bank-login.js';
import type { BrowserPool } from './browser-pool.js';
import { readRange } from './day-range.js';
import { readUntilStable } from './stable-read.js';
import type { SessionAccount, SessionEventSink } from './events.js';
import type { LeaseManager } from './lease.js';

/** The single hook through which new transactions leave the session layer (reconciliation uses it). */
export type TransactionsArrived = (account: SessionAccount, transactions: StoredTransaction[]) => Promise<void>;

export type RunnerDeps = {
  models: Models;
  accounts: AccountService;
  banks: BankRegistry;
  transactions: TransactionRepository;
  assistance: AssistanceService;
  leases: LeaseManager;
  pool: BrowserPool;
  clock: Clock;
  log: Logger;
  events: SessionEventSink;
  onTransactions: TransactionsArrived;
  artifactsDir: string;
  artifactsKept: number;
  leaseTtlMs: number;
  /** Transient failures wait base × 2^(n−1), with ±20 % jitter, capped. */
  backoff: { baseMs: number; maxMs: number };
};

export type RunResult =
  | { status: 'ok'; runId: string; found: number; inserted: number; /** Passes over the bank's list until it was stable. */ passes: number }
  | { status: 'failed'; runId: string; kind: string; fatal: boolean }
  | { status: 'skipped'; reason: 'busy' | 'inactive' | 'blocked' | 'gone' | 'persistent' | 'no_credentials' };

export function leaseKey(accountId: string): string {
  return `account:${accountId}`;
}

/** A session run starts: stored, and named the account's newest (what its status reads, by id). */
export async function startRun(models: Pick<Models, 'Account' | 'SessionRun'>, run: { accountId: string; kind: 'one-shot' | 'persistent'; trigger: 'schedule' | 'manual' | 'retry' | 'monitor'; holder: string; startedAt: Date; ref?: string | null }): Promise<{ _id: string }> {
  const doc = await models.SessionRun.create({ ...run, status: 'running' });
  await models.Account.updateOne({ _id: run.accountId }, { $set: { lastRunId: doc._id } });
  return { _id: doc._id };
}

export function sessionAccount(doc: AccountDoc): SessionAccount {
  return { id: doc._id, name: doc.name, bank: doc.bank, userId: doc.userId };
}

export function backoffDelay(failures: number, backoff: { baseMs: number; maxMs: number }, random = Math.random): number {
  const raw = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export type SessionRunner = ReturnType<typeof createSessionRunner>;

export function createSessionRunner(deps: RunnerDeps) {
  const { Account, SessionRun } = deps.models;
  const log = deps.log.child({ component: 'sessions' });

  /** Records a failure: run, screenshot, and either skip-on-fatal or a back-off. */
  async function recordFailure(options: { doc: AccountDoc; runId: string; error: unknown; page: Page | undefined; ref?: string | undefined; schedule: boolean; parkInstead?: boolean }) {
    const failure = options.error instanceof SessionFailure ? options.error : new SessionFailure('unknown', 'read', options.error instanceof Error ? options.error.message.split('\n')[0] : String(options.error));
    const account = sessionAccount(options.doc);
    const screenshot = options.page ? await saveFailureScreenshot(options.page, { dir: deps.artifactsDir, accountId: account.id, runId: options.runId, stage: failure.stage, keep: deps.artifactsKept }) : null;
    const url = options.page ? safeUrl(options.page.url()) : null;
    const now = deps.clock.now();
    await SessionRun.updateOne(
      { _id: options.runId },
      { $set: { status: 'failed', endedAt: now, outcome: failure.kind, fatal: failure.fatal, stage: failure.stage, url, screenshot, message: failure.message } },
    );
    log.warn({ accountId: account.id, runId: options.runId, outcome: failure.kind, stage: failure.stage, detail: failure.detail, url }, 'bank session failed');
    let nextAttemptAt: Date | null = null;
    if (failure.fatal && options.parkInstead) {
      await deps.events({ type: 'failed', runId: options.runId, account, kind: failure.kind, fatal: true, stage: failure.stage, sentence: failure.message, screenshot, nextAttemptAt: null, ref: options.ref });
    } else if (failure.fatal) {
      const reason = SESSION_FAILURES[failure.kind].sentence;
      await Account.updateOne({ _id: account.id }, { $set: { scrapeBlockedAt: now, scrapeBlockedReason: reason, 'scrape.queuedAt': null } });
      await deps.events({ type: 'failed', runId: options.runId, account, kind: failure.kind, fatal: true, stage: failure.stage, sentence: failure.message, screenshot, nextAttemptAt: null, ref: options.ref });
      await deps.events({ type: 'blocked', account, reason });
    } else if (options.schedule) {
      const failures = (options.doc.scrape?.failures ?? 0) + 1;
      nextAttemptAt = new Date(now.getTime() + backoffDelay(failures, deps.backoff));
      await Account.updateOne({ _id: account.id }, { $set: { 'scrape.failures': failures, 'scrape.nextRunAt': nextAttemptAt, 'scrape.queuedAt': null } });
      // The first failure of a streak is told; the rest are in `failures` and the log.
      if (failures === 1 || options.ref) {
        await deps.events({ type: 'failed', runId: options.runId, account, kind: failure.kind, fatal: false, stage: failure.stage, sentence: failure.message, screenshot, nextAttemptAt, ref: options.ref });
      }
    }
    return failure;
  }

  return {
    deps,
    recordFailure,

    /** One complete one-shot session: log in, read, store, log out (SPEC §2). */
    async runOneShot(accountId: string, trigger: 'schedule' | 'manual' | 'retry', ref?: string): Promise<RunResult> {
      const doc = await Account.findById(accountId).lean<AccountDoc>();
      if (!doc) return { status: 'skipped', reason: 'gone' };
      const clearQueue = () => Account.updateOne({ _id: accountId }, { $set: { 'scrape.queuedAt': null } });
      if (doc.status !== 'active') return clearQueue().then(() => ({ status: 'skipped', reason: 'inactive' }));
      if (doc.scrapeBlockedAt) return clearQueue().then(() => ({ status: 'skipped', reason: 'blocked' }));
      // Queued before the credentials were removed: nothing to run, and nothing to block.
      if (!hasBankCredentials(doc)) return clearQueue().then(() => ({ status: 'skipped', reason: 'no_credentials' }));
      const lease = await deps.leases.acquire(leaseKey(accountId), 'one-shot', deps.leaseTtlMs);
      if (!lease) {
        log.info({ accountId }, 'session skipped: another session holds the account');
        if (ref) await deps.events({ type: 'progress', account: sessionAccount(doc), text: 'another session of this account is running; this request was skipped', ref });
        return clearQueue().then(() => ({ status: 'skipped', reason: 'busy' }));
      }
      const renewal = setInterval(() => void lease.renew().catch(() => undefined), Math.max(1_000, deps.leaseTtlMs / 3));
      const account = sessionAccount(doc);
      const settings = accountView(doc).settings;
      const run = await startRun(deps.models, { accountId, kind: 'one-shot', trigger, holder: lease.holder, startedAt: deps.clock.now(), ref: ref ?? null });
      await deps.events({ type: 'started', runId: run._id, kind: 'one-shot', trigger, account });
      const progress = (text: string) => void deps.events({ type: 'progress', account, text, ref });
      let page: Page | undefined;
      try {
        const bank = deps.banks.driverFor(doc.bank);
        if (!bank) throw new SessionFailure('unknown', 'launch', `no driver for bank ${doc.bank}`);
        const result = await deps.pool.withContext(async (context) => {
          page = await context.newPage();
          try {
            await logIn({ page, bank, account, settings, accounts: deps.accounts, assistance: deps.assistance, progress });
            const range = readRange(deps.clock.now(), bank.driver.info.timeZone, doc.scrape?.lastReadDay ?? null, Number(settings.lookback_days) || 1);
            progress(`reading movements from ${range.from} to ${range.to}`);
            const opened = page;
            const read = await readUntilStable(() => bank.driver.readTransactions(opened, range, { baseUrl: bank.baseUrl }));
            const inserted = await deps.transactions.ingest(accountId, run._id, read.transactions, bank.driver.info);
            await bank.driver.logout(page, { baseUrl: bank.baseUrl }).catch(() => undefined);
            return { found: read.transactions.length, passes: read.passes, inserted, lastReadDay: range.to };
          } catch (error) {
            await recordFailure({ doc, runId: run._id, error, page, ref, schedule: true });
            throw error;
          }
        });
        const now = deps.clock.now();
        const interval = Number(settings.scrape_interval_minutes) || 10;
        await SessionRun.updateOne({ _id: run._id }, { $set: { status: 'ok', endedAt: now, outcome: 'ok', found: result.found, inserted: result.inserted.length } });
        await Account.updateOne(
          { _id: accountId },
          { $set: { 'scrape.failures': 0, 'scrape.lastOkAt': now, 'scrape.lastReadDay': result.lastReadDay, 'scrape.nextRunAt': new Date(now.getTime() + interval * 60_000), 'scrape.queuedAt': null } },
        );
        log.info({ accountId, runId: run._id, found: result.found, inserted: result.inserted.length, passes: result.passes }, 'bank session finished');
        if ((doc.scrape?.failures ?? 0) > 0) await deps.events({ type: 'recovered', account });
        await deps.events({ type: 'finished', account, found: result.found, inserted: result.inserted.length, ref });
        if (result.inserted.length > 0) {
          // Stored already; the hook's own failures are its to retry, not a failed session.
          await deps.onTransactions(account, result.inserted).catch((error: unknown) => log.error({ err: error, accountId }, 'transactions-arrived hook failed'));
        }
        return { status: 'ok', runId: run._id, found: result.found, inserted: result.inserted.length, passes: result.passes };
      } catch (error) {
        if (!page) await recordFailure({ doc, runId: run._id, error, page: undefined, ref, schedule: true });
        const failure = error instanceof SessionFailure ? error : undefined;
        return { status: 'failed', runId: run._id, kind: failure?.kind ?? 'unknown', fatal: failure?.fatal ?? false };
      } finally {
        clearInterval(renewal);
        await lease.release().catch(() => undefined);
      }
    },
  };
}
