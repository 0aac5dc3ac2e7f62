import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BankDriver } from '../../src/banks/driver.js';
import { createBankRegistry } from '../../src/banks/registry.js';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { createBrowserPool, type BrowserPool } from '../../src/sessions/browser-pool.js';
import { SCRAPE_JOB, type SessionSettings } from '../../src/sessions/index.js';
import { messageRef } from '../../src/chat/port.js';
import type { Member } from '../../src/users/user-service.js';
import { createScheduler, type Scheduler } from '../../src/jobs/scheduler.js';
import { capturingLogger } from './log-capture.js';
import { buildServices, CHROMIUM_PATH, type SentMessage } from './services.js';
import type { useTestDatabase } from './database.js';

/**
 * A real sandbox bank, a real Chromium pool and the real services on a test database, for
 * one describe block. Everything logged and every chat message sent is kept for assertions.
 * With `scheduler`, the session jobs run on a real Agenda (scrape tick, queued scrapes) on
 * the same database, as in the service.
 */
export function useSandboxSessions(test: ReturnType<typeof useTestDatabase>, settings: Partial<SessionSettings> = {}, options: { scheduler?: { processEveryMs: number }; driver?: BankDriver } = {}) {
  const capture = capturingLogger();
  const fixture = {
    bank: undefined as unknown as SandboxBank,
    pool: undefined as unknown as BrowserPool,
    services: undefined as unknown as Services,
    /** Only with the `scheduler` option. */
    scheduler: undefined as Scheduler | undefined,
    userId: '',
    sent: [] as SentMessage[],
    /** Edits of sent messages (each sent message's reference is its place + `#` + its number). */
    edited: [] as { ref: string; text: string }[],
    /** The owner's member record (to invite others). */
    owner: undefined as unknown as Member,
    capture,
    artifactsDir: mkdtempSync(path.join(tmpdir(), 'rb-artifacts-')),
    /** Adds a sandbox user and an account with its credentials (unless `withoutCredentials`: the form was not filled yet); returns the account id. */
    async account(name: string, options: { username?: string; password?: string; otp?: { length: number; type: 'numeric' | 'alphanumeric' } | null; settings?: Record<string, unknown>; withoutCredentials?: boolean } = {}) {
      const username = options.username ?? `u-${name}`;
      const password = options.password ?? `pw-${name}-Ñ1`;
      fixture.bank.addUser({ username, password, otp: options.otp ?? null });
      const account = await fixture.services.accounts.create(fixture.userId, { name, bank: 'sandbox' });
      const credentials = options.withoutCredentials ? {} : { bank_username: username, bank_password: password };
      const settings = { ...credentials, ...options.settings };
      if (Object.keys(settings).length > 0) await fixture.services.accounts.configure(fixture.userId, account.id, settings);
      return { id: account.id, username, password };
    },
    texts(): string {
      return fixture.sent.map((s) => s.message.text).join('\n');
    },
  };

  before(async () => {
    fixture.bank = createSandboxBank();
    await fixture.bank.start();
    fixture.pool = createBrowserPool({ executablePath: CHROMIUM_PATH, maxContexts: 4, log: capture.log });
    fixture.services = buildServices(test.db, {
      clock: systemClock,
      log: capture.log,
      banks: createBankRegistry([{ driver: options.driver ?? sandboxDriver, loginUrl: fixture.bank.url }]),
      pool: fixture.pool,
      sent: fixture.sent,
      send: async (ref) => messageRef(ref, String(fixture.sent.length)),
      edit: async (ref, message) => void fixture.edited.push({ ref, text: message.text }),
      sessionSettings: { artifactsDir: fixture.artifactsDir, ...settings },
      ...(options.scheduler
        ? {
            enqueue: async (data) => {
              if (!fixture.scheduler) throw new Error('the scheduler is not running');
              await fixture.scheduler.now(SCRAPE_JOB, data);
            },
          }
        : {}),
    });
    if (options.scheduler) {
      fixture.scheduler = createScheduler({ db: test.db.connection.db!, log: capture.log, processEvery: options.scheduler.processEveryMs, jobs: fixture.services.sessions.jobs() });
      await fixture.scheduler.start();
    }
    const owner = await fixture.services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Sessions');
    await fixture.services.users.rememberDm(owner.id, 'console:local');
    fixture.userId = owner.userId;
    fixture.owner = owner;
  });

  after(async () => {
    await fixture.scheduler?.stop(10_000);
    await fixture.services?.sessions.monitors.stop();
    await fixture.pool?.close();
    await fixture.bank?.stop();
  });

  return fixture;
}
