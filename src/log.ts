import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Field names whose values must never reach a log line, at any of the first three levels of a
 * logged object. Code should not log secrets at all; this is the net under that rule.
 */
export const SECRET_FIELD_NAMES = [
  'password',
  'bank_password',
  'auth_token',
  'webhook_auth_token',
  'notification_auth_token',
  'token',
  'otp',
  'otp_code',
  'otpCode',
  'secret',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'cookie',
  'values',
] as const;

const redactPaths = SECRET_FIELD_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);

export type LogOptions = {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** A file to append to instead of stderr (used when the console chat owns the terminal). */
  file?: string | undefined;
};

export function createLogger(options: LogOptions, destination?: DestinationStream): Logger {
  const base = { level: options.level, redact: { paths: redactPaths, censor: '[redacted]' } };
  if (destination) return pino(base, destination);
  // Synchronous writes: the last lines before an exit are the ones most worth keeping.
  const stream = pino.destination({ dest: options.file ?? 2, sync: true, mkdir: true });
  const isTty = !options.file && process.stderr.isTTY === true;
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && isTty);
  if (usePretty) {
    return pino(base, pretty({ destination: stream, sync: true, colorize: isTty, translateTime: 'SYS:HH:MM:ss' }));
  }
  return pino(base, stream);
}
