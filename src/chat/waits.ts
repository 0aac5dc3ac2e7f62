/**
 * Answers the adapters wait for from a person (a DM reply, a submitted modal), by key, each
 * with a deadline. Waiting again on a key settles the earlier wait with the timeout value, so
 * one person never has two questions open.
 */
export function createWaits<T>() {
  const pending = new Map<string, (value: T) => void>();
  return {
    wait(key: string, timeoutMs: number, onTimeout: T): Promise<T> {
      pending.get(key)?.(onTimeout);
      return new Promise<T>((resolve) => {
        const settle = (value: T) => {
          clearTimeout(timer);
          if (pending.get(key) === settle) pending.delete(key);
          resolve(value);
        };
        const timer = setTimeout(() => settle(onTimeout), timeoutMs);
        pending.set(key, settle);
      });
    },
    /** Settles the wait on `key` with `value`; false when nothing waits there. */
    settle(key: string, value: T): boolean {
      const settle = pending.get(key);
      if (!settle) return false;
      settle(value);
      return true;
    },
    settleAll(value: T): void {
      for (const settle of [...pending.values()]) settle(value);
    },
  };
}
