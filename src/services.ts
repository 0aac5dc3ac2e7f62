import { createAccountService, type AccountService } from './accounts/account-service.js';
import type { BankRegistry } from './banks/registry.js';
import type { Clock } from './domain/clock.js';
import type { Logger } from './log.js';
import { createChatNotifier, type ChatNotifier, type ChatSender } from './notify/chat-notifier.js';
import type { BrowserPool } from './sessions/browser-pool.js';
import { createSessionServices, type ScrapeJobData, type SessionServices, type SessionSettings } from './sessions/index.js';
import type { TransactionsArrived } from './sessions/runner.js';
import type { Models } from './store/models.js';
import type { SecretBox } from './store/secret-box.js';
import { createUserService, type UserService } from './users/user-service.js';

/** The core services commands (and later the HTTP API) call. */
export type Services = {
  users: UserService;
  accounts: AccountService;
  banks: BankRegistry;
  clock: Clock;
  notifier: ChatNotifier;
  sessions: SessionServices;
};

export type ServiceDeps = {
  models: Models;
  secrets: SecretBox;
  banks: BankRegistry;
  clock: Clock;
  log: Logger;
  inviteTtlHours: number;
  pool: BrowserPool;
  /** Sends a chat message to a stored reference (main routes it to the right adapter). */
  send: ChatSender;
  /** Queues a one-shot session (main hands it to the job scheduler, made after the services). */
  enqueue(data: ScrapeJobData): Promise<void>;
  onTransactions: TransactionsArrived;
  sessionSettings: SessionSettings;
  maxConcurrentSessions: number;
};

export function createServices(deps: ServiceDeps): Services {
  const users = createUserService({ models: deps.models, clock: deps.clock, inviteTtlHours: deps.inviteTtlHours });
  const accounts = createAccountService(deps);
  const notifier = createChatNotifier({ users, send: deps.send, log: deps.log });
  const sessions = createSessionServices({
    models: deps.models,
    accounts,
    banks: deps.banks,
    secrets: deps.secrets,
    pool: deps.pool,
    clock: deps.clock,
    log: deps.log,
    notifier,
    onTransactions: deps.onTransactions,
    enqueue: deps.enqueue,
    settings: deps.sessionSettings,
    maxConcurrentSessions: deps.maxConcurrentSessions,
  });
  return { users, accounts, banks: deps.banks, clock: deps.clock, notifier, sessions };
}
