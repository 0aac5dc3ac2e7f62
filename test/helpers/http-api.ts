import type { AddressInfo } from 'node:net';
import { createHttpApi, type HttpPlugin, type HttpSettings, type ZodApp } from '../../src/http/server.js';
import { createTokenSigner, tokenKeys } from '../../src/http/tokens.js';
import type { Services } from '../../src/services.js';
import type { Database } from '../../src/store/database.js';
import type { Logger } from '../../src/log.js';
import { pino } from 'pino';
import { buildServices, TEST_KEY } from './services.js';
import { useTestDatabase } from './database.js';
import { systemClock } from '../../src/domain/clock.js';
import type { ScrapeJobData } from '../../src/sessions/index.js';
import type { PollJobData } from '../../src/reconcile/index.js';

export const testHttpSettings: HttpSettings = {
  bodyLimitBytes: 64 * 1024,
  requestTimeoutMs: 30_000,
  corsOrigins: [],
  trustProxy: false,
  mutationsPerMinute: 10_000,
  loginAttemptsPerAddress: 10_000,
  loginAttemptsPerEmail: 10_000,
  statementMaxBytes: 1024 * 1024,
};

export type RunningApi = { app: ZodApp; url: string; close(): Promise<void> };

/** The real HTTP API on 127.0.0.1 (a free port), over the given services. */
export async function startTestApi(db: Database, services: Services, options: { settings?: Partial<HttpSettings>; log?: Logger; plugins?: HttpPlugin[] } = {}): Promise<RunningApi> {
  const app = createHttpApi({
    services,
    models: db.models,
    log: options.log ?? pino({ level: 'silent' }),
    tokens: createTokenSigner(tokenKeys({ encryptionKeys: [TEST_KEY.key] })),
    settings: { ...testHttpSettings, ...options.settings },
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export type Answer = { status: number; body: unknown; headers: Headers; text: string };

/** A small JSON client over fetch (undici): what an integration would send. */
export function client(base: string) {
  async function call(method: string, path: string, options: { token?: string; apiKey?: string; keyHeader?: 'authorization' | 'x-api-key'; body?: unknown; raw?: BodyInit; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.apiKey) {
      if (options.keyHeader === 'authorization') headers.authorization = `Api-Key ${options.apiKey}`;
      else headers['x-api-key'] = options.apiKey;
    }
    let body: BodyInit | undefined = options.raw;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed, headers: response.headers, text };
  }
  return {
    call,
    get: (path: string, options?: Parameters<typeof call>[2]) => call('GET', path, options),
    post: (path: string, options?: Parameters<typeof call>[2]) => call('POST', path, options),
    put: (path: string, options?: Parameters<typeof call>[2]) => call('PUT', path, options),
    delete: (path: string, options?: Parameters<typeof call>[2]) => call('DELETE', path, options),
  };
}

export type Person = { email: string; password: string; token: string; userId: string };

/**
 * For one describe block: a test database, the real services (queued scrapes and polls are
 * recorded, not run), the real HTTP API on a free port, and two companies registered through
 * it (`a` and `b`), each logged in.
 */
export function useApiFixture(label: string, options: { settings?: Partial<HttpSettings>; services?: Parameters<typeof buildServices>[1] } = {}) {
  const test = useTestDatabase(label);
  const f = {
    test,
    services: undefined as unknown as Services,
    api: undefined as unknown as RunningApi,
    c: undefined as unknown as ReturnType<typeof client>,
    enqueued: [] as ScrapeJobData[],
    polls: [] as PollJobData[],
    a: undefined as unknown as Person,
    b: undefined as unknown as Person,
    /** Registers and logs in a new company owner. */
    async person(email: string): Promise<Person> {
      const password = `pw-${email}-long`;
      const registered = await f.c.post('/auth/register', { body: { email, password, name: email.split('@')[0] } });
      if (registered.status !== 201) throw new Error(`register ${email}: ${registered.status} ${registered.text}`);
      const login = await f.c.post('/auth/login', { body: { email, password } });
      const body = login.body as { token: string; user: { id: string } };
      return { email, password, token: body.token, userId: body.user.id };
    },
  };
  before(async () => {
    f.services = buildServices(test.db, {
      clock: systemClock,
      enqueue: async (data) => void f.enqueued.push(data),
      enqueuePoll: async (data) => void f.polls.push(data),
      ...options.services,
    });
    f.api = await startTestApi(test.db, f.services, options.settings ? { settings: options.settings } : {});
    f.c = client(f.api.url);
    f.a = await f.person(`a-${label}@example.com`);
    f.b = await f.person(`b-${label}@example.com`);
  });
  after(async () => {
    await f.api?.close();
  });
  return f;
}
