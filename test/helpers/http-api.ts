import type { AddressInfo } from 'node:net';
import { createHttpApi, type HttpPlugin, type HttpSettings, type ZodApp } from '../../src/http/server.js';
import { createTokenSigner, tokenKeys } from '../../src/http/tokens.js';
import type { Services } from '../../src/services.js';
import type { Database } from '../../src/store/database.js';
import type { Logger } from '../../src/log.js';
import { pino } from 'pino';
import { TEST_KEY } from './services.js';

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
