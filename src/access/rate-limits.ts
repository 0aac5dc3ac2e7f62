import type { Clock } from '../domain/clock.js';
import { isDuplicateKey } from '../store/database.js';
import type { Models, RateLimitDoc } from '../store/models.js';

/**
 * Fixed-window counters in MongoDB, so a limit holds across every process of the service
 * (several API processes behind one address, a restart in between). Each hit is one atomic
 * single-document update; a window that ended is restarted by a conditional update, and the
 * first hit of a key by an insert whose unique id settles a race.
 */

export type RateVerdict = { allowed: boolean; count: number; retryAfterMs: number };
export type RateLimiter = { hit(key: string, limit: number, windowMs: number): Promise<RateVerdict> };

export function createRateLimiter(deps: { models: Models; clock: Clock }): RateLimiter {
  const { RateLimit } = deps.models;
  const verdict = (doc: Pick<RateLimitDoc, 'count' | 'resetAt'>, limit: number, now: Date): RateVerdict => ({
    allowed: doc.count <= limit,
    count: doc.count,
    retryAfterMs: Math.max(1_000, doc.resetAt.getTime() - now.getTime()),
  });
  return {
    async hit(key, limit, windowMs) {
      const now = deps.clock.now();
      for (let tries = 0; ; tries++) {
        const counted = await RateLimit.findOneAndUpdate({ _id: key, resetAt: { $gt: now } }, { $inc: { count: 1 } }, { returnDocument: 'after' }).lean<RateLimitDoc>();
        if (counted) return verdict(counted, limit, now);
        const resetAt = new Date(now.getTime() + windowMs);
        const restarted = await RateLimit.findOneAndUpdate({ _id: key, resetAt: { $lte: now } }, { $set: { count: 1, resetAt } }, { returnDocument: 'after' }).lean<RateLimitDoc>();
        if (restarted) return verdict(restarted, limit, now);
        try {
          await RateLimit.create({ _id: key, count: 1, resetAt });
          return verdict({ count: 1, resetAt }, limit, now);
        } catch (error) {
          if (!isDuplicateKey(error) || tries >= 3) throw error;
        }
      }
    },
  };
}

/** Housekeeping: windows that ended. */
export async function purgeRateLimits(models: Models, now: Date): Promise<number> {
  return (await models.RateLimit.deleteMany({ resetAt: { $lt: now } })).deletedCount;
}
