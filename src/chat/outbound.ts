import type { Logger } from '../log.js';

/**
 * How long one outbound chat message may keep trying: a few attempts within a total time,
 * each attempt itself bounded. A rate limit's wait (429 retry_after) is honoured while it fits
 * in what is left of the budget; past the budget the message is given up, and the give-up is
 * logged. A message never holds its chat, a command answer or a bank session for longer.
 */
export type RetryPolicy = {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Time from the first attempt after which no new attempt starts. */
  totalMs: number;
  /** The first back-off after a passing failure (doubles each time). */
  baseDelayMs: number;
  /** One attempt's own limit (a connection that hangs). */
  attemptTimeoutMs: number;
};

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, totalMs: 30_000, baseDelayMs: 1_000, attemptTimeoutMs: 15_000 };

/** What a failed attempt means: try again (after the platform's wait, when it named one), or stop. */
export type Verdict = { retry: false } | { retry: true; afterMs?: number; reason: string };

/**
 * Runs `attempt` until it succeeds, `judge` says stop, or the policy is spent. On a give-up
 * the last failure is rethrown (the caller keeps its typed errors) after one log line that
 * names the call, the attempts and the time taken, never the message.
 */
export async function withBoundedRetries<T>(
  options: { what: string; policy: RetryPolicy; log: Logger; judge(error: unknown): Verdict; context?: Record<string, unknown>; signal?: { readonly aborted: boolean } },
  attempt: () => Promise<T>,
): Promise<T> {
  const { policy, log, what } = options;
  const started = Date.now();
  let delay = policy.baseDelayMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const verdict = options.judge(error);
      if (!verdict.retry) throw error;
      const wait = verdict.afterMs ?? delay;
      const elapsed = Date.now() - started;
      if (n >= policy.attempts || elapsed + wait > policy.totalMs || options.signal?.aborted) {
        log.warn({ ...options.context, call: what, attempts: n, elapsedMs: elapsed, reason: verdict.reason }, 'gave up sending a chat message');
        throw error;
      }
      delay = Math.min(delay * 2, policy.totalMs);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
