import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createBankRegistry, type BankRegistry } from '../../src/banks/registry.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import type { ChatMessage } from '../../src/chat/port.js';
import type { Clock } from '../../src/domain/clock.js';
import type { Logger } from '../../src/log.js';
import { createServices, type Services } from '../../src/services.js';
import { createBrowserPool, type BrowserPool } from '../../src/sessions/browser-pool.js';
import type { ScrapeJobData, SessionSettings } from '../../src/sessions/index.js';
import type { PollJobData, ReconcileSettings } from '../../src/reconcile/index.js';
import type { MatchFn } from '../../src/reconcile/settlement.js';
import type { WebhookSettings } from '../../src/webhooks/index.js';
import type { StatementSettings } from '../../src/statements/index.js';
import { STATEMENT_BANK } from '../../src/statements/statement-bank.js';
import type { Database } from '../../src/store/database.js';
import { createSecretBox, type SecretBox } from '../../src/store/secret-box.js';
import type { SetupPolicy } from '../../src/users/setup-policy.js';
import { manualClock } from './clock.js';
import type { MetricsPort } from '../../src/metrics/port.js';

export const TEST_KEY = { id: 'test', key: Buffer.alloc(32, 42) };
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export type SentMessage = { ref: string; message: ChatMessage };

export const testSessionSettings: SessionSettings = {
  otpTimeoutMs: 20_000,
  otpMaxRejected: 3,
  persistentPollMs: 300,
  monitorTickMs: 200,
  scrapeTickSeconds: 15,
  retryBaseMs: 60_000,
  retryMaxMs: 3_600_000,
  artifactsDir: '/tmp/reconbanker-test-artifacts',
  artifactsKept: 20,
  leaseTtlMs: 60_000,
};

/** Tests talk to receivers on 127.0.0.1, so private addresses are allowed; retries are quick. */
export const testWebhookSettings: WebhookSettings = {
  timeoutMs: 2_000,
  retryScheduleMs: [50, 100, 200],
  concurrency: 8,
  pollMs: 100,
  allowPrivateUrls: true,
  secretGraceMs: 24 * 3_600_000,
  maxResponseBytes: 64 * 1024,
};

export const testReconcileSettings: ReconcileSettings = {
  pollIntervalMs: 10 * 60_000,
  pollTickSeconds: 30,
  timeoutMs: 5_000,
  maxBytes: 1024 * 1024,
  sweepSeconds: 60,
  expirySeconds: 60,
  lockWaitMs: 10_000,
  lockTtlMs: 60_000,
  sweepGraceMs: 0,
  allowPrivate: true,
};

/**
 * The real services on a test database, with a controllable clock. Chat messages the core
 * sends are recorded in `sent` (when given); queued scrapes go to `enqueue` (when given).
 */
export function buildServices(
  db: Database,
  options: {
    clock?: Clock;
    log?: Logger;
    secrets?: SecretBox;
    banks?: BankRegistry;
    pool?: BrowserPool;
    sent?: SentMessage[];
    /** Where chat messages go instead (a real adapter); `sent` still records them. */
    send?: (ref: string, message: ChatMessage) => Promise<string | undefined | void>;
    /** Where edits of sent messages go (a real adapter's edit). */
    edit?: (ref: string, message: ChatMessage) => Promise<void>;
    enqueue?: (data: ScrapeJobData) => Promise<void>;
    enqueuePoll?: (data: PollJobData) => Promise<void>;
    sessionSettings?: Partial<SessionSettings>;
    reconcileSettings?: Partial<ReconcileSettings>;
    webhookSettings?: Partial<WebhookSettings>;
    statementSettings?: Partial<StatementSettings>;
    match?: MatchFn;
    /** SETUP_ALLOWED (anyone when absent). */
    setup?: SetupPolicy;
    /** The metrics port (a recorder); none when absent. */
    metrics?: MetricsPort;
  } = {},
): Services {
  const log = options.log ?? pino({ level: 'silent' });
  return createServices({
    models: db.models,
    secrets: options.secrets ?? createSecretBox([TEST_KEY]),
    banks: options.banks ?? createBankRegistry([{ driver: sandboxDriver, loginUrl: 'http://127.0.0.1:4010/' }], [STATEMENT_BANK]),
    clock: options.clock ?? manualClock(),
    log,
    inviteTtlHours: 72,
    ...(options.setup ? { setup: options.setup } : {}),
    // A pool launches Chromium only when a session first needs it.
    pool: options.pool ?? createBrowserPool({ executablePath: CHROMIUM_PATH, maxContexts: 2, log }),
    send: async (ref, message) => {
      options.sent?.push({ ref, message });
      return options.send?.(ref, message);
    },
    ...(options.edit ? { edit: options.edit } : {}),
    enqueue: options.enqueue ?? (async () => undefined),
    enqueuePoll: options.enqueuePoll ?? (async () => undefined),
    sessionSettings: { ...testSessionSettings, ...options.sessionSettings },
    reconcileSettings: { ...testReconcileSettings, ...options.reconcileSettings },
    webhookSettings: { ...testWebhookSettings, ...options.webhookSettings },
    statementSettings: { dir: path.join(tmpdir(), `rb-statements-${process.pid}`), scanSeconds: 30, maxBytes: 50 * 1024 * 1024, ...options.statementSettings },
    ...(options.match ? { match: options.match } : {}),
    maxConcurrentSessions: 2,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}

/** A company "Shop" whose console owner (op) is reachable by DM at console:local, in reconcile mode; its user id. */
export async function reconcilingShop(services: Services): Promise<string> {
  const owner = await services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Shop');
  await services.users.rememberDm(owner.id, 'console:local');
  await services.users.setOperationMode(owner.userId, 'reconcile');
  return owner.userId;
}
