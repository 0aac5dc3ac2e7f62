import type { LogFn, Logger } from 'pino';

export type RepeatLimit = {
  perWindow: number;
  windowMs: number;
  /** Lines below this level (pino's numbers: 40 = warn) are ordinary activity and never held back. */
  minLevel?: number;
  now?: () => number;
};

type Window = { startedAt: number; count: number; heldBack: number };

/** What makes two log calls "the same line": level, component, message and the error's message, if any. */
function keyOf(args: unknown[], level: number): string {
  const [first, second] = args;
  if (typeof first === 'string') return `${level}||${first}`;
  const fields = first && typeof first === 'object' ? (first as { err?: unknown; component?: unknown }) : {};
  const message = typeof second === 'string' ? second : '';
  const err = fields.err ?? (first instanceof Error ? first : undefined);
  const errMessage = err && typeof err === 'object' && 'message' in err ? String((err as { message: unknown }).message).slice(0, 200) : '';
  return `${level}|${typeof fields.component === 'string' ? fields.component : ''}|${message}|${errMessage}`;
}

/**
 * A pino `logMethod` hook that lets through at most `perWindow` warnings or errors of one kind per window
 * (a loop that fails every tick while the database is away wrote 770 lines a minute). The
 * last line let through says that more are held back; the first line of the next window says
 * how many were.
 */
export function repeatLimiter(limit: RepeatLimit) {
  const now = limit.now ?? Date.now;
  const minLevel = limit.minLevel ?? 40;
  const windows = new Map<string, Window>();

  return function logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number): void {
    if (level < minLevel) {
      method.apply(this, args);
      return;
    }
    const key = keyOf(args, level);
    const at = now();
    let window = windows.get(key);
    if (window && at - window.startedAt >= limit.windowMs) {
      const heldBack = window.heldBack;
      windows.delete(key);
      window = undefined;
      if (heldBack > 0) {
        windows.set(key, { startedAt: at, count: 1, heldBack: 0 });
        method.apply(this, withFields(args, { repeatsHeldBack: heldBack }));
        return;
      }
    }
    if (!window) {
      if (windows.size > 1_000) for (const [k, w] of windows) if (at - w.startedAt >= limit.windowMs) windows.delete(k);
      window = { startedAt: at, count: 0, heldBack: 0 };
      windows.set(key, window);
    }
    window.count += 1;
    if (window.count < limit.perWindow) method.apply(this, args);
    else if (window.count === limit.perWindow) method.apply(this, withFields(args, { repeating: `more lines like this in the next ${Math.round(limit.windowMs / 1000)} s are held back and counted` }));
    else window.heldBack += 1;
  };
}

function withFields(args: Parameters<LogFn>, fields: Record<string, unknown>): Parameters<LogFn> {
  const [first, ...rest] = args as unknown[];
  if (typeof first === 'string') return [fields, first, ...rest] as unknown as Parameters<LogFn>;
  if (first instanceof Error) return [{ err: first, ...fields }, ...rest] as unknown as Parameters<LogFn>;
  return [{ ...(first as object), ...fields }, ...rest] as unknown as Parameters<LogFn>;
}
