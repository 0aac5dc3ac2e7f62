import { createRequire } from 'node:module';
import { pino, type DestinationStream, type LogFn, type Logger, type LoggerOptions } from 'pino';
import { repeatLimiter } from './log-limit.js';

export type { Logger };

/**
 * Logging with a net under the rule "secrets never reach a log line". Code should not log
 * secrets at all; this catches what slips through, above all library error objects, which
 * carry request payloads (grammY's `payload`), URLs with tokens in their path (Discord's
 * interaction callbacks, Telegram's `/bot<token>/`) and request configs with headers.
 *
 * - Errors, wherever they sit in a logged object, keep only name, message, code, status, a
 *   URL without credentials, query or secret-looking path parts, the stack's frames, and
 *   their cause (the same way).
 * - Fields with a secret-like name, in any spelling (`bankPassword`, `bank_password`,
 *   `x-api-key`) and at any depth, are replaced by "[redacted]".
 * - Text (messages and values) loses URL queries and known token shapes (`whsec_…`, `xoxb-…`,
 *   Telegram bot tokens), and a message's line breaks cannot start a line of their own.
 */

const CENSOR = '[redacted]';

/** Lower-cased names, separators removed, that are secrets themselves. */
const SECRET_NAMES = new Set([
  'password',
  'passwd',
  'secret',
  'token',
  'otp',
  'otpcode',
  'apikey',
  'authorization',
  'cookie',
  'setcookie',
  'values',
  'sealed',
  'sealedcode',
  'privatekey',
  'credentials',
  'invitecode',
  'secretkeys',
  'jwt',
]);
/** …and the endings that make a name one (`webhookAuthToken`, `signingSecret`, `xApiKey`). */
const SECRET_ENDINGS = ['password', 'secret', 'token', 'apikey', 'authorization', 'cookie'];

export function isSecretFieldName(name: string): boolean {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_NAMES.has(key) || SECRET_ENDINGS.some((ending) => key.endsWith(ending));
}

/** Known token shapes, wherever they appear in text. */
const TOKEN_SHAPES = [
  /\bwhsec_[A-Za-z0-9+/=_-]+/g,
  /\bxox[abprs]-[A-Za-z0-9-]+/g,
  /\bxapp-[A-Za-z0-9-]+/g,
  /\brbk_[A-Za-z0-9_]+/g,
  /\b\d{5,15}:[A-Za-z0-9_-]{30,}/g, // a Telegram bot token
  /\b(Bearer|Api-Key|Bot)\s+[A-Za-z0-9._~+/=-]{8,}/g,
];
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
// Every line break a terminal or a log viewer might honour.
const LINE_BREAK = /\r\n|[\n\r\u2028\u2029\u0085]/g;

/** A path part kept as is: a word or a number (ids), short enough not to be a token. */
function plainPathPart(part: string): boolean {
  return part === '' || /^\d{1,20}$/.test(part) || (/^[A-Za-z0-9._-]{1,16}$/.test(part) && !/^bot\d/.test(part));
}

/** A URL fit for a log: no credentials, query or fragment; a path part that may be a secret becomes "…". */
export function safeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '(not a URL)';
  }
  const parts = url.pathname.split('/');
  const kept = parts.map((part) => (plainPathPart(decodeURIComponentSafe(part)) ? part : '…'));
  // Nothing to take away: the URL as written (no "/" added to a bare origin).
  if (!url.username && !url.password && !url.search && !url.hash && !kept.includes('…')) return raw;
  return `${url.protocol}//${url.host}${kept.join('/')}`;
}

function decodeURIComponentSafe(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Text fit for a log: URLs made safe, known token shapes redacted. */
export function safeText(text: string): string {
  let out = text.replace(URL_IN_TEXT, (url) => safeUrl(url));
  for (const shape of TOKEN_SHAPES) out = out.replace(shape, CENSOR);
  return out;
}

type SafeError = { name: string; message: string; code?: string | number; status?: number; url?: string; stack?: string; cause?: SafeError };

function statusOf(error: Record<string, unknown>): number | undefined {
  for (const key of ['status', 'statusCode', 'error_code']) {
    const value = error[key];
    if (typeof value === 'number' && Number.isInteger(value)) return value;
  }
  const response = error.response as Record<string, unknown> | undefined;
  return typeof response?.status === 'number' ? response.status : undefined;
}

/**
 * An error as it may be logged. Everything else a library hangs on its errors (payloads,
 * request bodies, headers, configs) is dropped. The stack keeps its frames only: they name
 * code, never data, while its first line repeats the message.
 */
export function serializeError(error: unknown, depth = 0): SafeError | unknown {
  if (!(error instanceof Error)) {
    // Already serialized (pino calls its `err` serializer after our hook), or a thrown non-error.
    if (error && typeof error === 'object') return error;
    return { name: 'NonError', message: safeText(String(error)) };
  }
  const fields = error as unknown as Record<string, unknown>;
  const safe: SafeError = { name: typeof error.name === 'string' ? error.name : 'Error', message: safeText(String(error.message ?? '')) };
  if (typeof fields.code === 'string' || typeof fields.code === 'number') safe.code = fields.code;
  const status = statusOf(fields);
  if (status !== undefined) safe.status = status;
  if (typeof fields.url === 'string') safe.url = safeUrl(fields.url);
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).slice(0, 12);
  if (frames.length > 0) safe.stack = frames.join('\n');
  // grammY's HttpError keeps what went wrong underneath in `error`, most others in `cause`.
  const cause = error.cause ?? fields.error;
  if (cause instanceof Error && depth < 3) safe.cause = serializeError(cause, depth + 1) as SafeError;
  return safe;
}

const MAX_DEPTH = 8;
const MAX_ITEMS = 100;

/** A logged value with errors serialized, secret-named fields redacted and text made safe. */
function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return safeText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value);
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => scrub(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isSecretFieldName(key)) out[key] = CENSOR;
    else if (/url$/i.test(key) && typeof item === 'string') out[key] = safeUrl(item);
    else out[key] = scrub(item, depth + 1, seen);
  }
  return out;
}

/** A log message: safe text on one line (a forged "\n[12:00] INFO …" stays inside its line). */
function safeMessage(text: string): string {
  return safeText(text).replace(LINE_BREAK, ' ⏎ ');
}

export const logSafety: Pick<LoggerOptions, 'hooks' | 'serializers'> = {
  serializers: { err: (error: unknown) => serializeError(error) },
  hooks: {
    logMethod(args, method) {
      const [first, ...rest] = args as unknown[];
      let parts: unknown[];
      if (first instanceof Error) parts = [{ err: first }, ...(rest.length > 0 ? rest : [first.message])];
      else parts = [first, ...rest];
      const safe = parts.map((part, i) => (typeof part === 'string' ? (i === 0 || (i === 1 && typeof parts[0] === 'object') ? safeMessage(part) : safeText(part)) : scrub(part, 0, new WeakSet())));
      return (method as (...a: unknown[]) => void).apply(this, safe);
    },
  },
};

export type LogOptions = {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** A file to append to instead of stderr (used when the console chat owns the terminal). */
  file?: string | undefined;
};

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/** pino-pretty is a development package: absent from a production install, logs stay JSON. */
function prettyStream(destination: DestinationStream | NodeJS.WritableStream, colorize: boolean): DestinationStream | undefined {
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
    return pretty({ destination, sync: true, colorize, translateTime: 'SYS:HH:MM:ss' });
  } catch {
    return undefined;
  }
}

export function createLogger(options: LogOptions, destination?: DestinationStream): Logger {
  // A warning repeated by a failing loop is let through ten times a minute, then counted; what
  // is let through is made safe as every line is.
  const limiter = repeatLimiter({ perWindow: 10, windowMs: 60_000 });
  const safe = logSafety.hooks?.logMethod;
  const base: LoggerOptions = {
    level: options.level,
    ...logSafety,
    hooks: {
      logMethod(args, method, level) {
        const emit = safe
          ? (function (this: Logger, ...passed: Parameters<LogFn>) {
              safe.call(this, passed, method, level);
            } as LogFn)
          : method;
        limiter.call(this, args, emit, level);
      },
    },
  };
  if (destination) {
    const pretty = options.format === 'pretty' ? prettyStream(destination, false) : undefined;
    return pino(base, pretty ?? destination);
  }
  // Synchronous writes: the last lines before an exit are the ones most worth keeping.
  const stream = pino.destination({ dest: options.file ?? 2, sync: true, mkdir: true });
  const isTty = !options.file && process.stderr.isTTY === true;
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && isTty);
  const pretty = usePretty ? prettyStream(stream, isTty) : undefined;
  const log = pino(base, pretty ?? stream);
  if (usePretty && !pretty && options.format === 'pretty') log.warn('LOG_FORMAT=pretty needs the pino-pretty package (a development dependency); logging JSON');
  return log;
}
