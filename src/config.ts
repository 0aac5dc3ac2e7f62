import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import type { ReconcileSettings } from './reconcile/index.js';
import type { WebhookSettings } from './webhooks/index.js';
import type { SetupPolicy } from './users/setup-policy.js';
import { parseProcessRoles, type ProcessRoles } from './process-roles.js';
import { DEFAULT_JAVA_HEAP_MB } from './store/embedded/java-server.js';

/**
 * The only reader of the process environment. Everything else receives a typed Config.
 */

const booleanFromEnv = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'expected true or false',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** Seconds as a person reads them: "2 h", "1 min 40 s". */
function duration(seconds: number): string {
  const parts: [number, string][] = [
    [Math.floor(seconds / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'min'],
    [Math.round((seconds % 60) * 1000) / 1000, 's'],
  ];
  return parts.filter(([n]) => n > 0).map(([n, unit]) => `${n} ${unit}`).join(' ') || '0 s';
}

const positiveInt = (fallback: number) =>
  z.coerce.number({ error: 'expected a whole number' }).int('expected a whole number').positive('expected a number above 0').default(fallback);

const nonNegativeInt = (fallback: number) =>
  z.coerce.number({ error: 'expected a whole number' }).int('expected a whole number').min(0, 'expected 0 or more').default(fallback);

/** `kid:base64key` pairs, comma separated; the first one encrypts, all of them decrypt. */
const secretKeysFromEnv = z
  .string()
  .trim()
  .transform((raw, ctx) => {
    const keys: { id: string; key: Buffer }[] = [];
    for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const id = separator > 0 ? entry.slice(0, separator) : '';
      const key = Buffer.from(separator > 0 ? entry.slice(separator + 1) : '', 'base64');
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
        ctx.addIssue({ code: 'custom', message: 'each entry must look like <key-id>:<base64 key>, key id made of letters, digits, - or _' });
        return z.NEVER;
      }
      if (key.length !== 32) {
        ctx.addIssue({ code: 'custom', message: `key "${id}" must be 32 bytes of base64 (openssl rand -base64 32)` });
        return z.NEVER;
      }
      if (keys.some((k) => k.id === id)) {
        ctx.addIssue({ code: 'custom', message: `key id "${id}" appears twice` });
        return z.NEVER;
      }
      keys.push({ id, key });
    }
    return keys.length > 0 ? keys : undefined;
  })
  .optional();

/**
 * Who may run `setup`: `anyone`, `first-owner` (the first person, while no company exists),
 * `none`, and/or platform user ids (`telegram:12345`, `slack:T0123:U0456`, `discord:1234`).
 */
const setupAllowedFromEnv = z
  .string()
  .trim()
  .transform((raw, ctx) => {
    if (raw === '') return undefined;
    const policy: SetupPolicy = { anyone: false, firstOwner: false, identities: [] };
    for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
      if (entry === 'anyone') policy.anyone = true;
      else if (entry === 'first-owner') policy.firstOwner = true;
      else if (entry === 'none') continue;
      else if (/^(telegram|slack|discord|console|api):[^:\s]+(:[^:\s]+)?$/.test(entry)) policy.identities.push(entry);
      else {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is neither anyone, first-owner, none nor a platform user id like telegram:12345 or slack:T0123:U0456` });
        return z.NEVER;
      }
    }
    return policy;
  })
  .optional();

const rolesFromEnv = z
  .string()
  .default('all')
  .transform((raw, ctx) => {
    const parsed = parseProcessRoles(raw);
    if ('problem' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return parsed.roles;
  });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  LOG_FILE: optionalText,
  DATA_DIR: z.string().trim().min(1).default('./data'),
  MONGODB_URI: optionalText.refine((v) => v === undefined || /^mongodb(\+srv)?:\/\//.test(v), {
    message: 'must start with mongodb:// or mongodb+srv://',
  }),
  EMBEDDED_DB_ENGINE: z.enum(['auto', 'memory-server', 'java']).default('auto'),
  EMBEDDED_DB_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(0),
  EMBEDDED_DB_HEAP_MB: z.coerce.number({ error: 'expected a number of megabytes' }).int().min(64).max(65_536).default(DEFAULT_JAVA_HEAP_MB),
  DB_TIMEOUT_MS: positiveInt(10_000),
  SECRET_KEYS: secretKeysFromEnv,
  CHAT_CONSOLE: z.enum(['auto', 'on', 'off']).default('auto'),
  CHAT_RETRY_SECONDS: positiveInt(5),
  TELEGRAM_BOT_TOKEN: optionalText,
  TELEGRAM_API_ROOT: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an http(s) URL' }),
  TELEGRAM_MODE: z.enum(['polling', 'webhook']).default('polling'),
  TELEGRAM_WEBHOOK_SECRET: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9_-]{1,256}$/.test(v), { message: 'letters, digits, _ and - only (Telegram secret_token rules)' }),
  TELEGRAM_WEBHOOK_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(8443),
  TELEGRAM_WEBHOOK_HOST: z.string().trim().default('0.0.0.0'),
  TELEGRAM_WEBHOOK_PATH: z.string().trim().startsWith('/', 'must start with /').default('/telegram'),
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_MODE: z.enum(['http', 'socket']).default('http'),
  SLACK_APP_TOKEN: optionalText.refine((v) => v === undefined || v.startsWith('xapp-'), { message: 'an app-level token starts with xapp- (Basic Information → App-Level Tokens, scope connections:write)' }),
  SLACK_API_URL: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an http(s) URL' }),
  SLACK_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(3000),
  SLACK_HOST: z.string().trim().default('0.0.0.0'),
  SLACK_PATH: z.string().trim().startsWith('/', 'must start with /').default('/slack/events'),
  DISCORD_BOT_TOKEN: optionalText,
  DISCORD_GUILD_ID: optionalText.refine((v) => v === undefined || /^\d{5,25}$/.test(v), { message: 'a Discord server id (digits)' }),
  DISCORD_API: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an http(s) URL' }),
  SHOW_SANDBOX_BANK: booleanFromEnv.default(true),
  SANDBOX_BANK: z.enum(['auto', 'on', 'off']).default('auto'),
  SANDBOX_BANK_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(4010),
  SANDBOX_BANK_URL: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an http(s) URL' }),
  CHROMIUM_PATH: z.string().trim().min(1).default('/usr/bin/chromium'),
  CHROMIUM_SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  BROWSER_MAX_CONTEXTS: positiveInt(4),
  OTP_TIMEOUT_SECONDS: positiveInt(300),
  OTP_MAX_REJECTED: positiveInt(3),
  FIRST_SESSION_DELAY_SECONDS: nonNegativeInt(60),
  PERSISTENT_POLL_SECONDS: positiveInt(3),
  SCRAPE_TICK_SECONDS: positiveInt(15),
  RETRY_BASE_SECONDS: positiveInt(60),
  RETRY_MAX_SECONDS: positiveInt(3600),
  ARTIFACTS_KEEP: positiveInt(20),
  STATEMENTS_DIR: optionalText,
  STATEMENT_SCAN_SECONDS: positiveInt(30),
  STATEMENT_MAX_MB: positiveInt(50),
  POLL_INTERVAL_MINUTES: positiveInt(10),
  POLL_TICK_SECONDS: positiveInt(30),
  POLL_TIMEOUT_SECONDS: positiveInt(15),
  POLL_MAX_KB: positiveInt(5120),
  RECONCILE_SWEEP_SECONDS: positiveInt(60),
  ALLOW_PRIVATE_URLS: booleanFromEnv.default(false),
  WEBHOOK_TIMEOUT_SECONDS: positiveInt(10),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .trim()
    .default('10,30,60,300,900,1800,3600,7200,14400,28800,43200')
    .transform((raw, ctx) => {
      const delays = raw.split(',').map((part) => Number(part.trim()));
      if (delays.length === 0 || delays.some((d) => !Number.isFinite(d) || d <= 0)) {
        ctx.addIssue({ code: 'custom', message: 'expected seconds before each retry, comma separated (e.g. 10,30,60)' });
        return z.NEVER;
      }
      // SPEC §5: retries go on for at least 24 hours. The dispatcher's jitter only lengthens a delay, so the sum is the shortest span.
      const total = delays.reduce((sum, d) => sum + d, 0);
      if (total < 86_400) {
        ctx.addIssue({ code: 'custom', message: `retries must go on for at least 24 hours (these delays add up to ${duration(total)}); add delays or make them longer` });
        return z.NEVER;
      }
      return delays.map((d) => d * 1000);
    }),
  WEBHOOK_CONCURRENCY: positiveInt(16),
  WEBHOOK_SECRET_GRACE_HOURS: positiveInt(24),
  JOB_POLL_MS: positiveInt(2000),
  INVITE_TTL_HOURS: positiveInt(72),
  SETUP_ALLOWED: setupAllowedFromEnv,
  SHUTDOWN_TIMEOUT_MS: positiveInt(15_000),
  API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  API_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(3000),
  API_JWT_SECRET: optionalText.refine((v) => v === undefined || v.length >= 32, { message: 'at least 32 characters (openssl rand -base64 32)' }),
  API_CORS_ORIGINS: z
    .string()
    .trim()
    .default('')
    .transform((raw, ctx) => {
      const origins = raw.split(',').map((o) => o.trim()).filter(Boolean);
      const bad = origins.filter((o) => !/^https?:\/\/[^/\s]+$/.test(o));
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `each origin is scheme://host[:port] with nothing after it (got ${bad.join(', ')})` });
        return z.NEVER;
      }
      return origins;
    }),
  API_TRUST_PROXY: booleanFromEnv.default(false),
  API_BODY_LIMIT_KB: positiveInt(64),
  API_REQUEST_TIMEOUT_SECONDS: positiveInt(60),
  API_MUTATIONS_PER_MINUTE: positiveInt(120),
  API_LOGIN_ATTEMPTS_PER_ADDRESS: positiveInt(20),
  API_LOGIN_ATTEMPTS_PER_EMAIL: positiveInt(10),
  ROLES: rolesFromEnv,
});

export type SecretKey = { id: string; key: Buffer };

export type Config = {
  env: 'development' | 'production' | 'test';
  log: { level: string; format: 'auto' | 'json' | 'pretty'; file: string | undefined };
  dataDir: string;
  database: {
    uri: string | undefined;
    embeddedEngine: 'auto' | 'memory-server' | 'java';
    embeddedPort: number;
    /** The Java heap of mongo-java-server (the java engine only). */
    embeddedHeapMb: number;
    timeoutMs: number;
  };
  secretKeys: SecretKey[] | undefined;
  chat: {
    console: 'auto' | 'on' | 'off';
    /** First wait before a platform that could not start is tried again (doubling, at most 5 minutes). */
    retryMs: number;
    platformsConfigured: ('telegram' | 'slack' | 'discord')[];
    telegram:
      | { token: string; apiRoot: string | undefined; mode: 'polling' | 'webhook'; webhook: { secretToken: string; port: number; host: string; path: string } | undefined }
      | undefined;
    slack:
      | ({ botToken: string; apiUrl: string | undefined } & (
          | { mode: 'http'; signingSecret: string; port: number; host: string; path: string }
          | { mode: 'socket'; appToken: string }
        ))
      | undefined;
    discord: { token: string; guildId: string | undefined; api: string | undefined } | undefined;
  };
  banks: { showSandbox: boolean };
  sandbox: { mode: 'auto' | 'on' | 'off'; port: number; url: string | undefined };
  /** `sandbox`: auto keeps Chromium's sandbox where the host allows it, on requires it, off never uses it. */
  browser: { chromiumPath: string; maxContexts: number; sandbox: 'auto' | 'on' | 'off' };
  sessions: {
    otpTimeoutMs: number;
    otpMaxRejected: number;
    firstSessionDelayMs: number;
    persistentPollMs: number;
    scrapeTickSeconds: number;
    retryBaseMs: number;
    retryMaxMs: number;
    artifactsKept: number;
  };
  statements: { dir: string; scanSeconds: number; maxBytes: number };
  reconcile: ReconcileSettings;
  webhooks: WebhookSettings;
  jobPollMs: number;
  inviteTtlHours: number;
  /** Who may create a company with `setup` (default: anyone in development, the first owner only in production). */
  setup: SetupPolicy;
  shutdownTimeoutMs: number;
  api: {
    host: string;
    port: number;
    /** Signs the API's tokens; absent: derived from the encryption keys (SECRET_KEYS or the local key file). */
    jwtSecret: string | undefined;
    /** Empty: CORS is off (no Access-Control-* header is ever sent). */
    corsOrigins: string[];
    trustProxy: boolean;
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    mutationsPerMinute: number;
    /** Per 15 minutes. */
    loginAttemptsPerAddress: number;
    loginAttemptsPerEmail: number;
  };
  /** What this process runs (ROLES): chat gateways, workers, the HTTP API. */
  roles: ProcessRoles;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Environment of the process merged over a `.env` file in `cwd` (real variables win). */
export function readEnvironment(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  const fromFile = existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  return { ...fromFile, ...env };
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const apiPortSet = (env.API_PORT ?? '').trim() !== '';
  const parsed = envSchema.superRefine((e, ctx) => {
    if (e.SLACK_BOT_TOKEN && e.SLACK_MODE === 'http' && !e.SLACK_SIGNING_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['SLACK_SIGNING_SECRET'], message: 'required with SLACK_BOT_TOKEN in HTTP mode (Basic Information → Signing Secret): every request from Slack is verified with it' });
    }
    if (e.SLACK_BOT_TOKEN && e.SLACK_MODE === 'socket' && !e.SLACK_APP_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['SLACK_APP_TOKEN'], message: 'required when SLACK_MODE=socket (Basic Information → App-Level Tokens, scope connections:write)' });
    }
    // Only a port set on purpose clashes: left unset, the API moves aside (below).
    if (apiPortSet && e.SLACK_BOT_TOKEN && e.SLACK_MODE === 'http' && e.SLACK_PORT !== 0 && e.SLACK_PORT === e.API_PORT) {
      ctx.addIssue({ code: 'custom', path: ['API_PORT'], message: `the HTTP API and Slack's events (SLACK_PORT) cannot share port ${e.API_PORT}; set one of them to another port` });
    }
    if (e.TELEGRAM_BOT_TOKEN && e.TELEGRAM_MODE === 'webhook' && !e.TELEGRAM_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['TELEGRAM_WEBHOOK_SECRET'], message: 'required when TELEGRAM_MODE=webhook (Telegram sends it back on every update)' });
    }
  }).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
  }
  const e = parsed.data;
  const platformsConfigured = (
    [
      ['telegram', e.TELEGRAM_BOT_TOKEN],
      ['slack', e.SLACK_BOT_TOKEN],
      ['discord', e.DISCORD_BOT_TOKEN],
    ] as const
  )
    .filter(([, token]) => token !== undefined)
    .map(([platform]) => platform);
  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT, file: e.LOG_FILE },
    dataDir: path.resolve(e.DATA_DIR),
    database: {
      uri: e.MONGODB_URI,
      embeddedEngine: e.EMBEDDED_DB_ENGINE,
      embeddedPort: e.EMBEDDED_DB_PORT,
      embeddedHeapMb: e.EMBEDDED_DB_HEAP_MB,
      timeoutMs: e.DB_TIMEOUT_MS,
    },
    secretKeys: e.SECRET_KEYS,
    chat: {
      console: e.CHAT_CONSOLE,
      retryMs: e.CHAT_RETRY_SECONDS * 1000,
      platformsConfigured,
      telegram: e.TELEGRAM_BOT_TOKEN
        ? {
            token: e.TELEGRAM_BOT_TOKEN,
            apiRoot: e.TELEGRAM_API_ROOT,
            mode: e.TELEGRAM_MODE,
            webhook: e.TELEGRAM_WEBHOOK_SECRET ? { secretToken: e.TELEGRAM_WEBHOOK_SECRET, port: e.TELEGRAM_WEBHOOK_PORT, host: e.TELEGRAM_WEBHOOK_HOST, path: e.TELEGRAM_WEBHOOK_PATH } : undefined,
          }
        : undefined,
      slack: !e.SLACK_BOT_TOKEN
        ? undefined
        : e.SLACK_MODE === 'socket'
          ? { botToken: e.SLACK_BOT_TOKEN, apiUrl: e.SLACK_API_URL, mode: 'socket', appToken: e.SLACK_APP_TOKEN as string }
          : { botToken: e.SLACK_BOT_TOKEN, apiUrl: e.SLACK_API_URL, mode: 'http', signingSecret: e.SLACK_SIGNING_SECRET as string, port: e.SLACK_PORT, host: e.SLACK_HOST, path: e.SLACK_PATH },
      discord: e.DISCORD_BOT_TOKEN ? { token: e.DISCORD_BOT_TOKEN, guildId: e.DISCORD_GUILD_ID, api: e.DISCORD_API } : undefined,
    },
    banks: { showSandbox: e.SHOW_SANDBOX_BANK },
    sandbox: { mode: e.SANDBOX_BANK, port: e.SANDBOX_BANK_PORT, url: e.SANDBOX_BANK_URL },
    browser: { chromiumPath: e.CHROMIUM_PATH, maxContexts: e.BROWSER_MAX_CONTEXTS, sandbox: e.CHROMIUM_SANDBOX },
    sessions: {
      otpTimeoutMs: e.OTP_TIMEOUT_SECONDS * 1000,
      otpMaxRejected: e.OTP_MAX_REJECTED,
      firstSessionDelayMs: e.FIRST_SESSION_DELAY_SECONDS * 1000,
      persistentPollMs: e.PERSISTENT_POLL_SECONDS * 1000,
      scrapeTickSeconds: e.SCRAPE_TICK_SECONDS,
      retryBaseMs: e.RETRY_BASE_SECONDS * 1000,
      retryMaxMs: e.RETRY_MAX_SECONDS * 1000,
      artifactsKept: e.ARTIFACTS_KEEP,
    },
    statements: {
      dir: path.resolve(e.STATEMENTS_DIR ?? path.join(e.DATA_DIR, 'statements')),
      scanSeconds: e.STATEMENT_SCAN_SECONDS,
      maxBytes: e.STATEMENT_MAX_MB * 1024 * 1024,
    },
    reconcile: {
      pollIntervalMs: e.POLL_INTERVAL_MINUTES * 60_000,
      pollTickSeconds: e.POLL_TICK_SECONDS,
      timeoutMs: e.POLL_TIMEOUT_SECONDS * 1000,
      maxBytes: e.POLL_MAX_KB * 1024,
      sweepSeconds: e.RECONCILE_SWEEP_SECONDS,
      expirySeconds: 60,
      lockWaitMs: 30_000,
      lockTtlMs: 60_000,
      sweepGraceMs: 60_000,
      allowPrivate: e.ALLOW_PRIVATE_URLS,
    },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_SECONDS * 1000,
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
      concurrency: e.WEBHOOK_CONCURRENCY,
      pollMs: 1000,
      allowPrivateUrls: e.ALLOW_PRIVATE_URLS,
      secretGraceMs: e.WEBHOOK_SECRET_GRACE_HOURS * 3_600_000,
      maxResponseBytes: 64 * 1024,
    },
    jobPollMs: e.JOB_POLL_MS,
    inviteTtlHours: e.INVITE_TTL_HOURS,
    setup: e.SETUP_ALLOWED ?? (e.NODE_ENV === 'production' ? { anyone: false, firstOwner: true, identities: [] } : { anyone: true, firstOwner: false, identities: [] }),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    api: {
      host: e.API_HOST,
      // Slack's HTTP mode has listened on 3000 since before the API: an unset API_PORT takes 3001 then.
      port: !apiPortSet && e.SLACK_BOT_TOKEN && e.SLACK_MODE === 'http' && e.SLACK_PORT === e.API_PORT ? e.API_PORT + 1 : e.API_PORT,
      jwtSecret: e.API_JWT_SECRET,
      corsOrigins: e.API_CORS_ORIGINS,
      trustProxy: e.API_TRUST_PROXY,
      bodyLimitBytes: e.API_BODY_LIMIT_KB * 1024,
      requestTimeoutMs: e.API_REQUEST_TIMEOUT_SECONDS * 1000,
      mutationsPerMinute: e.API_MUTATIONS_PER_MINUTE,
      loginAttemptsPerAddress: e.API_LOGIN_ATTEMPTS_PER_ADDRESS,
      loginAttemptsPerEmail: e.API_LOGIN_ATTEMPTS_PER_EMAIL,
    },
    roles: e.ROLES,
  };
}
