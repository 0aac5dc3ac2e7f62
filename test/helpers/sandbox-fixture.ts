import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBankRegistry } from '../../src/banks/registry.js';
import { createSandboxBank, type SandboxBank } from '../../src/banks/sandbox/bank-server.js';
import { sandboxDriver } from '../../src/banks/sandbox/driver.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Services } from '../../src/services.js';
import { createBrowserPool, type BrowserPool } from '../../src/sessions/browser-pool.js';
import type { SessionSettings } from '../../src/sessions/index.js';
import { messageRef } from '../../src/chat/port.js';
import type { Member } from '../../src/users/user-service.js';
import { capturingLogger } from './log-capture.js';
import { buildServices, CHROMIUM_PATH, type SentMessage } from './services.js';
import type { useTestDatabase } from './database.js';

/**
 * A real sandbox bank, a real Chromium pool and the real services on a test database, for
 * one describe block. Everything logged and every chat message sent is kept for assertions.
 */
export function useSandboxSessions(test: ReturnType<typeof useTestDatabase>, settings: Partial<SessionSettings> = {}) {
  const capture = capturingLogger();
  const fixture = {
    bank: undefined as unknown as SandboxBank,
    pool: undefined as unknown as BrowserPool,
    services: undefined as unknown as Services,
    userId: '',
    sent: [] as SentMessage[],
    /** Edits of sent messages (each sent message's reference is its place + `#` + its number). */
    edited: [] as { ref: string; text: string }[],
    /** The owner's member record (to invite others). */
    owner: undefined as unknown as Member,
    capture,
    artifactsDir: mkdtempSync(path.join(tmpdir(), 'rb-artifacts-')),
    /** Adds a sandbox user and an account with its credentials; returns the account id. */
    async account(name: string, options: { username?: string; password?: string; otp?: { length: number; type: 'numeric' | 'alphanumeric' } | null; settings?: Record<string, unknown> } = {}) {
      const username = options.username ?? `u-${name}`;
      const password = options.password ?? `pw-${name}-Ñ1`;
      fixture.bank.addUser({ username, password, otp: options.otp ?? null });
      const account = await fixture.services.accounts.create(fixture.userId, { name, bank: 'sandbox' });
      await fixture.services.accounts.configure(fixture.userId, account.id, { bank_username: username, bank_password: password, ...options.settings });
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
      banks: createBankRegistry([{ driver: sandboxDriver, loginUrl: fixture.bank.url }]),
      pool: fixture.pool,
      sent: fixture.sent,
      send: async (ref) => messageRef(ref, String(fixture.sent.length)),
      edit: async (ref, message) => void fixture.edited.push({ ref, text: message.text }),
      sessionSettings: { artifactsDir: fixture.artifactsDir, ...settings },
    });
    const owner = await fixture.services.users.createTenant({ platform: 'console', teamId: 'local', userId: 'op', displayName: 'Operator' }, 'Sessions');
    await fixture.services.users.rememberDm(owner.id, 'console:local');
    fixture.userId = owner.userId;
    fixture.owner = owner;
  });

  after(async () => {
    await fixture.services?.sessions.monitors.stop();
    await fixture.pool?.close();
    await fixture.bank?.stop();
  });

  return fixture;
}
