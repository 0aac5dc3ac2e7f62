import type { Logger } from '../../src/log.js';
import { createBankRegistry } from '../../src/banks/registry.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { createServices, type ServiceDeps, type Services } from '../../src/services.js';
import { createBrowserPool } from '../../src/sessions/browser-pool.js';
import type { SessionSettings } from '../../src/sessions/index.js';
import type { Database } from '../../src/store/database.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { STATEMENT_BANK } from '../../src/statements/statement-bank.js';

/** The real services for a bench, with the product's default settings; a bench overrides what it measures. */
export function benchServices(
  database: Database,
  log: Logger,
  overrides: Partial<Omit<ServiceDeps, 'sessionSettings'>> & { sessionSettings?: Partial<SessionSettings>; sandboxUrl?: string } = {},
): Services {
  const config = loadConfig({});
  const { sessionSettings, sandboxUrl, ...rest } = overrides;
  return createServices({
    models: database.models,
    secrets: createSecretBox([{ id: 'bench', key: Buffer.alloc(32, 1) }]),
    banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: sandboxUrl ?? 'http://127.0.0.1:4010/' }], [STATEMENT_BANK]),
    clock: systemClock,
    log,
    inviteTtlHours: 72,
    pool: createBrowserPool({ executablePath: config.browser.chromiumPath, maxContexts: 1, log }),
    send: async () => undefined,
    enqueue: async () => undefined,
    enqueuePoll: async () => undefined,
    reconcileSettings: config.reconcile,
    webhookSettings: config.webhooks,
    statementSettings: config.statements,
    sessionSettings: { otpTimeoutMs: 300_000, otpMaxRejected: 3, persistentPollMs: 3_000, monitorTickMs: 2_000, scrapeTickSeconds: 15, retryBaseMs: 60_000, retryMaxMs: 3_600_000, artifactsDir: '/tmp/rb-bench-artifacts', artifactsKept: 5, leaseTtlMs: 60_000, ...sessionSettings },
    maxConcurrentSessions: 1,
    ...rest,
  });
}
