import { createAccessServices, type AccessServices } from './access/index.js';
import { createAccountService, type AccountService } from './accounts/account-service.js';
import { createChatActions, type ChatActions } from './chat/actions.js';
import { createInboundLedger, type InboundLedger } from './chat/inbound.js';
import type { BankRegistry } from './banks/registry.js';
import type { Clock } from './domain/clock.js';
import type { Logger } from './log.js';
import { createChatNotifier, type ChatEditor, type ChatNotifier, type ChatSender } from './notify/chat-notifier.js';
import type { BrowserPool } from './sessions/browser-pool.js';
import { createSessionServices, type ScrapeJobData, type SessionServices, type SessionSettings } from './sessions/index.js';
import { createReconcileServices, type PollJobData, type ReconcileServices, type ReconcileSettings } from './reconcile/index.js';
import type { MatchFn } from './reconcile/settlement.js';
import { createLeaseManager } from './sessions/lease.js';
import { createWebhookServices, type WebhookServices, type WebhookSettings } from './webhooks/index.js';
import type { Models } from './store/models.js';
import type { SecretBox } from './store/secret-box.js';
import { createStatementServices, type StatementServices, type StatementSettings } from './statements/index.js';
import { createUserService, type UserService } from './users/user-service.js';
import { fromAssistanceEvent, fromSessionEvent, type RealtimeEventInput } from './realtime/events.js';
import { createRealtimeFeed, type RealtimeFeed } from './realtime/feed.js';
import { createRealtimeTickets, type RealtimeTickets } from './realtime/tickets.js';
import type { MetricsPort } from './metrics/port.js';
import type { SetupPolicy } from './users/setup-policy.js';

/** The core services commands (and later the HTTP API) call. */
export type Services = {
  users: UserService;
  accounts: AccountService;
  banks: BankRegistry;
  clock: Clock;
  notifier: ChatNotifier;
  sessions: SessionServices;
  reconcile: ReconcileServices;
  webhooks: WebhookServices;
  statements: StatementServices;
  actions: ChatActions;
  inbound: InboundLedger;
  /** HTTP API logins, External API keys and the limits shared by every process. */
  access: AccessServices;
  /** The realtime stream (recorded here, tailed by API processes) and its socket tickets. */
  realtime: { feed: RealtimeFeed; tickets: RealtimeTickets };
};

export type ServiceDeps = {
  models: Models;
  secrets: SecretBox;
  banks: BankRegistry;
  clock: Clock;
  log: Logger;
  inviteTtlHours: number;
  /** Who may create a company with `setup` (SETUP_ALLOWED); anyone when absent. */
  setup?: SetupPolicy;
  pool: BrowserPool;
  /** Sends a chat message to a stored reference (main routes it to the right adapter). */
  send: ChatSender;
  /** Edits a message sent before (OTP prompts answered elsewhere); absent where nothing can be edited. */
  edit?: ChatEditor;
  /** Queues a one-shot session (main hands it to the job scheduler, made after the services). */
  enqueue(data: ScrapeJobData): Promise<void>;
  /** Queues a pending-orders poll (main hands it to the job scheduler). */
  enqueuePoll(data: PollJobData): Promise<void>;
  sessionSettings: SessionSettings;
  reconcileSettings: ReconcileSettings;
  webhookSettings: WebhookSettings;
  statementSettings: StatementSettings;
  /** Tests replace the matcher to exercise failures; the product always uses the real one. */
  match?: MatchFn;
  maxConcurrentSessions: number;
  /** Counts for /metrics that only the process doing the work can see (delivery latency, polls). */
  metrics?: MetricsPort;
};

export function createServices(deps: ServiceDeps): Services {
  const users = createUserService({ models: deps.models, clock: deps.clock, inviteTtlHours: deps.inviteTtlHours, log: deps.log, ...(deps.setup ? { setup: deps.setup } : {}) });
  const accounts = createAccountService({ ...deps, allowPrivateUrls: deps.webhookSettings.allowPrivateUrls, firstSessionDelayMs: deps.sessionSettings.firstSessionDelayMs ?? 0 });
  // Buttons in notifications stay usable for a week.
  const actions = createChatActions({ models: deps.models, clock: deps.clock, ttlMs: 7 * 24 * 3_600_000 });
  const notifier = createChatNotifier({ users, actions, send: deps.send, ...(deps.edit ? { edit: deps.edit } : {}), log: deps.log });
  // Bound below: sessions hand new transactions to reconciliation, which reads them through
  // the sessions' repository; session alerts also become notification-endpoint events. The
  // event is recorded first: chat sends may take their bounded retries (up to half a minute
  // per person), which must neither delay the endpoint's event nor risk it in a crash.
  const late: { reconcile?: ReconcileServices; webhooks?: WebhookServices } = {};
  // The realtime stream gets what chat is told, as data, recorded before chat is tried too.
  const feed = createRealtimeFeed({ models: deps.models, clock: deps.clock, log: deps.log });
  const live = async (event: RealtimeEventInput | undefined) => {
    if (event) await feed.record(event).catch((error: unknown) => deps.log.error({ err: error, type: event.type }, 'could not record a realtime event'));
  };
  const alerting: ChatNotifier = {
    ...notifier,
    async session(event) {
      await live(fromSessionEvent(event, deps.clock.now()));
      if (event.type === 'failed') {
        const type = event.stage === 'login' || event.stage === 'otp' ? 'login_failed' : 'scrape_failed';
        await late.webhooks?.notify(event.account.id, type, `run:${event.runId}`, event.sentence).catch((error: unknown) => deps.log.error({ err: error }, 'could not record a notification event'));
      }
      await notifier.session(event);
    },
    async assistance(event) {
      await live(fromAssistanceEvent(event, deps.clock.now()));
      if (event.type === 'requested') {
        await late.webhooks?.notify(event.account.id, 'assistance_required', `assistance:${event.request.id}`).catch((error: unknown) => deps.log.error({ err: error }, 'could not record a notification event'));
      }
      return notifier.assistance(event);
    },
  };
  const sessions = createSessionServices({
    models: deps.models,
    accounts,
    banks: deps.banks,
    secrets: deps.secrets,
    pool: deps.pool,
    clock: deps.clock,
    log: deps.log,
    notifier: alerting,
    onTransactions: async (account, transactions) => late.reconcile?.transactionsArrived(account.id, transactions),
    enqueue: deps.enqueue,
    settings: deps.sessionSettings,
    maxConcurrentSessions: deps.maxConcurrentSessions,
  });
  const reconcile = createReconcileServices({
    models: deps.models,
    accounts,
    transactions: sessions.transactions,
    clock: deps.clock,
    log: deps.log,
    settings: deps.reconcileSettings,
    enqueuePoll: deps.enqueuePoll,
    announce: async (event) => {
      const account = await deps.models.Account.findById(event.accountId, { name: 1 }).lean<{ name: string }>();
      await notifier.result(event, account?.name ?? event.accountId);
    },
    announceMany: async (events) => {
      const first = events[0];
      if (!first) return;
      const account = await deps.models.Account.findById(first.accountId, { name: 1 }).lean<{ name: string }>();
      await notifier.results(events, account?.name ?? first.accountId);
    },
    reportPoll: (report) => {
      if (report.outcome.ok !== 'skipped') deps.metrics?.poll(report.outcome.ok ? 'ok' : 'failed');
      return notifier.poll(report);
    },
    ...(deps.match ? { match: deps.match } : {}),
  });
  late.reconcile = reconcile;
  const webhooks = createWebhookServices({
    models: deps.models,
    accounts,
    secrets: deps.secrets,
    outbox: reconcile.outbox,
    leases: createLeaseManager({ models: deps.models, clock: deps.clock, holderPrefix: 'webhooks' }),
    clock: deps.clock,
    log: deps.log,
    settings: deps.webhookSettings,
    trouble: (report) => notifier.delivery(report),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  late.webhooks = webhooks;
  const statements = createStatementServices({
    models: deps.models,
    accounts,
    transactions: sessions.transactions,
    onTransactions: (accountId, transactions) => reconcile.transactionsArrived(accountId, transactions),
    notifier,
    clock: deps.clock,
    log: deps.log,
    settings: deps.statementSettings,
  });
  const inbound = createInboundLedger({ models: deps.models, clock: deps.clock, log: deps.log });
  const access = createAccessServices({ models: deps.models, users, clock: deps.clock, log: deps.log });
  const realtime = { feed, tickets: createRealtimeTickets({ models: deps.models, clock: deps.clock }) };
  return { users, accounts, banks: deps.banks, clock: deps.clock, notifier, sessions, reconcile, webhooks, statements, actions, inbound, access, realtime };
}
