import type { BrowserContext, Page } from 'playwright-core';
import { SESSION_FAILURES, SessionFailure } from '../domain/session-outcome.js';
import { accountView, BANK_CREDENTIALS_SET, hasBankCredentials } from '../accounts/account-service.js';
import type { AccountDoc } from '../store/models.js';
import { logIn } from './bank-login.js';
import { readRange } from './day-range.js';
import { readUntilStable } from './stable-read.js';
import type { Lease } from './lease.js';
import { leaseKey, sessionAccount, startRun, type SessionRunner } from './runner.js';

/**
 * Persistent sessions (SPEC §2): one login, then the page is re-read every `pollMs`; a
 * bank-side logout leads to a new login (in assisted mode, a new code). An assisted session
 * that cannot log in again is parked in `needs_attention` until an operator reactivates it.
 * Which monitors run is decided from the database on every tick, so kill/reactivate from any
 * process reach the one holding the session, and sessions resume after a restart.
 */
export type MonitorManager = {
  start(): void;
  stop(): Promise<void>;
  /** Runs one reconciliation of wanted vs running monitors now (tests, and after commands). */
  tick(): Promise<void>;
  readonly running: string[];
};

type Monitor = { accountId: string; abort: AbortController; done: Promise<void> };

/** A counting semaphore: at most `size` holders at once, the rest wait in order. */
function semaphore(size: number) {
  let free = size;
  const queue: (() => void)[] = [];
  return {
    async take(): Promise<() => void> {
      if (free > 0) free -= 1;
      else await new Promise<void>((resolve) => queue.push(resolve));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = queue.shift();
        if (next) next();
        else free += 1;
      };
    },
  };
}

export function createMonitorManager(runner: SessionRunner, options: { pollMs: number; tickMs: number; concurrentReads?: number }): MonitorManager {
  const { deps } = runner;
  const { Account, SessionRun } = deps.models;
  const log = deps.log.child({ component: 'monitor' });
  const monitors = new Map<string, Monitor>();
  // Tabs (and so renderer processes) are open only while a session reads; bounding the reads
  // at once bounds the memory, however many persistent sessions there are.
  const reads = semaphore(options.concurrentReads ?? 4);
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = false;

  const wanted = (doc: AccountDoc | null) =>
    doc !== null &&
    doc.status === 'active' &&
    !doc.scrapeBlockedAt &&
    hasBankCredentials(doc) &&
    doc.settings?.session_type === 'persistent' &&
    (doc.session?.state ?? 'running') === 'running';

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async function monitor(accountId: string, lease: Lease, signal: AbortSignal): Promise<void> {
    let context: { context: BrowserContext; release(): Promise<void> } | undefined;
    let page: Page | undefined;
    let runId: string | undefined;
    let loggedIn = false;
    let consecutiveFailures = 0;
    const renewal = setInterval(() => {
      void lease.renew().then((held) => {
        if (!held) {
          log.warn({ accountId }, 'lost the lease of a persistent session; stopping it');
          abortLocal();
        }
      }, () => undefined);
    }, Math.max(1_000, deps.leaseTtlMs / 3));
    const localAbort = new AbortController();
    const abortLocal = () => localAbort.abort();
    signal.addEventListener('abort', abortLocal, { once: true });
    const aborted = () => localAbort.signal.aborted;

    try {
      // Spread the sessions over the poll interval: many monitors started together would
      // otherwise all read (and hold a renderer) at the same moment, every cycle.
      await sleep(Math.floor(Math.random() * options.pollMs), localAbort.signal);
      while (!aborted()) {
        const doc = await Account.findById(accountId).lean<AccountDoc>();
        if (!wanted(doc) || !doc) break;
        const account = sessionAccount(doc);
        const bank = deps.banks.driverFor(doc.bank);
        if (!bank) break;
        const settings = accountView(doc).settings;
        const releaseRead = await reads.take();
        try {
          if (!context) context = await deps.pool.acquire();
          if (!page || page.isClosed()) page = await context.context.newPage();
          if (!loggedIn) {
            const run = await startRun(deps.models, { accountId, kind: 'persistent', trigger: 'monitor', holder: lease.holder, startedAt: deps.clock.now() });
            runId = run._id;
            await deps.events({ type: 'started', runId: run._id, kind: 'persistent', trigger: 'monitor', account });
            const progress = (text: string) => void deps.events({ type: 'progress', account, text });
            await logIn({ page, bank, account, settings, accounts: deps.accounts, assistance: deps.assistance, signal: localAbort.signal, progress });
            loggedIn = true;
            log.info({ accountId, runId }, 'persistent session logged in');
          }
          // Today and the previous bank day: late-evening credits are not missed.
          const range = readRange(deps.clock.now(), bank.driver.info.timeZone, null, 1);
          const opened = page;
          const read = (await readUntilStable(() => bank.driver.readTransactions(opened, range, { baseUrl: bank.baseUrl }))).transactions;
          const inserted = await deps.transactions.ingest(accountId, runId ?? 'monitor', read, bank.driver.info);
          await SessionRun.updateOne({ _id: runId }, { $set: { found: read.length }, $inc: { inserted: inserted.length } });
          if (consecutiveFailures > 0) await deps.events({ type: 'recovered', account });
          consecutiveFailures = 0;
          if (inserted.length > 0) {
            await deps.events({ type: 'finished', account, found: read.length, inserted: inserted.length });
            await deps.onTransactions(account, inserted).catch((error: unknown) => log.error({ err: error, accountId }, 'transactions-arrived hook failed'));
          }
          if (bank.driver.info.sessionSurvivesPageClose) {
            // The login lives in the context's cookies: an idle tab would only hold a renderer's memory.
            await page.close().catch(() => undefined);
            page = undefined;
          }
          releaseRead();
          await sleep(options.pollMs, localAbort.signal);
        } catch (error) {
          if (aborted()) break;
          if (error instanceof SessionFailure && error.kind === 'session_expired') {
            // The bank logged us out: log in again (a new code in assisted mode).
            log.info({ accountId }, 'the bank ended the persistent session; logging in again');
            await SessionRun.updateOne({ _id: runId }, { $set: { status: 'ok', endedAt: deps.clock.now(), outcome: 'session_expired', stage: 'navigate' } });
            loggedIn = false;
            continue;
          }
          const failure = error instanceof SessionFailure ? error : new SessionFailure('unknown', 'read', error instanceof Error ? error.message.split('\n')[0] : String(error));
          const runToRecord = runId ?? (await startRun(deps.models, { accountId, kind: 'persistent', trigger: 'monitor', holder: lease.holder, startedAt: deps.clock.now() }))._id;
          if (failure.fatal && settings.login_mode === 'assisted' && failure.kind !== 'invalid_credentials' && failure.kind !== 'account_blocked') {
            // Park rather than block: a person can complete the login later.
            await runner.recordFailure({ doc, runId: runToRecord, error: failure, page, schedule: false, parkInstead: true });
            const reason = SESSION_FAILURES[failure.kind].sentence;
            await Account.updateOne({ _id: accountId }, { $set: { 'session.state': 'needs_attention', 'session.reason': reason, 'session.since': deps.clock.now() } });
            await deps.events({ type: 'needs_attention', account, reason });
            break;
          }
          await runner.recordFailure({ doc, runId: runToRecord, error: failure, page, schedule: false });
          if (failure.fatal) break; // recordFailure blocked the account
          consecutiveFailures += 1;
          loggedIn = false;
          runId = undefined;
          await page?.close().catch(() => undefined);
          page = undefined;
          releaseRead();
          await sleep(Math.min(deps.backoff.maxMs, deps.backoff.baseMs * 2 ** (consecutiveFailures - 1)), localAbort.signal);
        } finally {
          releaseRead(); // idempotent: every path out of an iteration frees its read slot
        }
      }
    } finally {
      clearInterval(renewal);
      if (context && loggedIn && (!page || page.isClosed())) page = await context.context.newPage().catch(() => undefined);
      if (page && loggedIn) {
        const doc = await Account.findById(accountId).lean<AccountDoc>().catch(() => null);
        const bank = doc ? deps.banks.driverFor(doc.bank) : undefined;
        if (bank) await bank.driver.logout(page, { baseUrl: bank.baseUrl }).catch(() => undefined);
      }
      if (runId) await SessionRun.updateOne({ _id: runId, status: 'running' }, { $set: { status: 'ok', endedAt: deps.clock.now(), outcome: 'stopped' } }).catch(() => undefined);
      await context?.release();
      await lease.release().catch(() => undefined);
      log.info({ accountId }, 'persistent session closed');
    }
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    const candidates = await Account.find({ status: 'active', scrapeBlockedAt: null, ...BANK_CREDENTIALS_SET, 'settings.session_type': 'persistent' }).lean<AccountDoc[]>();
    const want = new Set(candidates.filter(wanted).map((a) => a._id));
    for (const [accountId, m] of monitors) if (!want.has(accountId)) m.abort.abort();
    for (const accountId of want) {
      if (monitors.has(accountId) || stopped) continue;
      const lease = await deps.leases.acquire(leaseKey(accountId), 'persistent', deps.leaseTtlMs);
      if (!lease) continue; // another process (or a one-shot run) has it
      const abort = new AbortController();
      const entry: Monitor = { accountId, abort, done: Promise.resolve() };
      entry.done = monitor(accountId, lease, abort.signal)
        .catch((error: unknown) => log.error({ err: error, accountId }, 'persistent session crashed'))
        .finally(() => monitors.delete(accountId));
      monitors.set(accountId, entry);
    }
  }

  const manager: MonitorManager = {
    get running() {
      return [...monitors.keys()];
    },
    start() {
      const loop = () => {
        ticking = tick()
          .catch((error: unknown) => log.error({ err: error }, 'monitor tick failed'))
          .finally(() => {
            if (!stopped) timer = setTimeout(loop, options.tickMs);
          });
      };
      loop();
    },
    async tick() {
      await ticking;
      ticking = tick();
      await ticking;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking?.catch(() => undefined);
      for (const m of monitors.values()) m.abort.abort();
      await Promise.all([...monitors.values()].map((m) => m.done));
    },
  };
  return manager;
}
