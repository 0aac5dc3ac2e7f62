import type { AccountService } from '../accounts/account-service.js';
import type { BankRegistry } from '../banks/registry.js';
import type { Clock } from '../domain/clock.js';
import type { JobSpec } from '../jobs/scheduler.js';
import type { Logger } from '../log.js';
import type { ChatNotifier } from '../notify/chat-notifier.js';
import type { Models } from '../store/models.js';
import type { SecretBox } from '../store/secret-box.js';
import { createTransactionRepository, type TransactionRepository } from '../store/transaction-repository.js';
import { createAssistanceService, type AssistanceService } from './assistance.js';
import type { BrowserPool } from './browser-pool.js';
import { createSessionControl, type SessionControl } from './control.js';
import { createLeaseManager } from './lease.js';
import { createMonitorManager, type MonitorManager } from './monitor.js';
import { createSessionRunner, type SessionRunner, type TransactionsArrived } from './runner.js';

export type SessionSettings = {
  otpTimeoutMs: number;
  otpMaxRejected: number;
  persistentPollMs: number;
  monitorTickMs: number;
  scrapeTickSeconds: number;
  retryBaseMs: number;
  retryMaxMs: number;
  artifactsDir: string;
  artifactsKept: number;
  leaseTtlMs: number;
  /**
   * How long after its credentials are saved an account's first session starts: time to finish
   * setting it up (login mode, endpoints) before a login runs. "Scrape now" does not wait.
   */
  firstSessionDelayMs?: number;
};

export type SessionServices = {
  transactions: TransactionRepository;
  assistance: AssistanceService;
  runner: SessionRunner;
  control: SessionControl;
  monitors: MonitorManager;
  jobs(): JobSpec[];
  /** Shutdown: gives back the bank-login leases still held (sessions cut short resume in the next process). */
  releaseLeases(): Promise<number>;
};

export const SCRAPE_JOB = 'scrape-account';
export type ScrapeJobData = { accountId: string; trigger: 'schedule' | 'manual' | 'retry'; ref?: string };

export function createSessionServices(deps: {
  models: Models;
  accounts: AccountService;
  banks: BankRegistry;
  secrets: SecretBox;
  pool: BrowserPool;
  clock: Clock;
  log: Logger;
  notifier: ChatNotifier;
  onTransactions: TransactionsArrived;
  enqueue(data: ScrapeJobData): Promise<void>;
  settings: SessionSettings;
  maxConcurrentSessions: number;
}): SessionServices {
  const { settings } = deps;
  const leases = createLeaseManager({ models: deps.models, clock: deps.clock });
  const transactions = createTransactionRepository({ models: deps.models });
  const assistance = createAssistanceService({
    models: deps.models,
    secrets: deps.secrets,
    clock: deps.clock,
    log: deps.log,
    announce: (event) => deps.notifier.assistance(event),
    timeoutMs: settings.otpTimeoutMs,
    maxRejectedCodes: settings.otpMaxRejected,
  });
  const runner = createSessionRunner({
    models: deps.models,
    accounts: deps.accounts,
    banks: deps.banks,
    transactions,
    assistance,
    leases,
    pool: deps.pool,
    clock: deps.clock,
    log: deps.log,
    events: (event) => deps.notifier.session(event),
    onTransactions: deps.onTransactions,
    artifactsDir: settings.artifactsDir,
    artifactsKept: settings.artifactsKept,
    leaseTtlMs: settings.leaseTtlMs,
    backoff: { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs },
  });
  const control = createSessionControl({
    models: deps.models,
    accounts: deps.accounts,
    leases,
    clock: deps.clock,
    log: deps.log,
    enqueue: (accountId, trigger, ref) => deps.enqueue({ accountId, trigger, ...(ref ? { ref } : {}) }),
    // A queued scrape waits at most for an OTP (3 × timeout) plus reading; older means lost.
    staleQueueMs: Math.max(30 * 60_000, settings.otpTimeoutMs * (settings.otpMaxRejected + 1)),
  });
  const monitors = createMonitorManager(runner, { pollMs: settings.persistentPollMs, tickMs: settings.monitorTickMs });
  return {
    transactions,
    assistance,
    runner,
    control,
    monitors,
    releaseLeases: () => leases.releaseAll(),
    jobs: () => [
      { name: 'scrape-tick', every: `${settings.scrapeTickSeconds} seconds`, run: async () => void (await control.queueDue()) },
      {
        name: SCRAPE_JOB,
        concurrency: deps.maxConcurrentSessions,
        lockLifetimeMs: Math.max(30 * 60_000, settings.otpTimeoutMs * (settings.otpMaxRejected + 2)),
        run: async (data) => {
          const job = data as ScrapeJobData;
          await runner.runOneShot(job.accountId, job.trigger, job.ref);
        },
      },
      { name: 'sessions-sweep', every: '1 minute', run: async () => void (await control.closeOrphanedRuns()) },
    ],
  };
}
