/**
 * At most `limit` tasks starting at a time, the rest queued in order. Adapters hand command
 * handling to one of these after acknowledging: under a burst, the process keeps time to
 * acknowledge new requests inside the platform's deadline. A slot is held until the task ends
 * or `holdMs` passes, whichever is first, so a command waiting for a person (a private form,
 * minutes) never holds back everyone else's.
 */
export function createLimit(limit: number, holdMs: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      active -= 1;
      waiting.shift()?.();
    };
    const timer = setTimeout(release, holdMs);
    timer.unref();
    try {
      return await task();
    } finally {
      clearTimeout(timer);
      release();
    }
  };
}

/** How many commands an adapter starts handling at once after acknowledging them, and for how long one holds its turn. */
export const HANDLING_CONCURRENCY = 2;
export const HANDLING_HOLD_MS = 250;
