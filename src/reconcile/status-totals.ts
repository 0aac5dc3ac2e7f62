import type { Clock } from '../domain/clock.js';
import type { RequestStatus } from '../domain/request-status.js';
import type { Models } from '../store/models.js';

/**
 * How many requests of some accounts have each status: the total of a status-filtered page.
 * Counting is a read of every stored request on mongo-java-server (it serves no filter by a
 * non-unique index): about a second at 100k. So the counts of all statuses are taken in one
 * grouped read and reused: fresh for {@link FRESH_MS}; then, up to {@link STALE_MS}, the
 * kept counts answer at once while one read renews them in the background; older, a page
 * waits for the read. A status-filtered total may thus be some seconds old; the page itself
 * never is (see request-page.ts).
 */

export const FRESH_MS = 30_000;
export const STALE_MS = 120_000;
/** Account sets whose counts are kept at most (the oldest is dropped). */
const KEPT = 1_000;

export type StatusTotals = (accountIds: string[], status: RequestStatus) => Promise<number>;

type Entry = { at: number; counts: Promise<Map<string, number>>; renewing: boolean };

export function createStatusTotals(deps: { models: Models; clock: Clock }): StatusTotals {
  const kept = new Map<string, Entry>();

  async function countAll(accountIds: string[]): Promise<Map<string, number>> {
    const groups = await deps.models.ConciliationRequest.aggregate<{ _id: string; n: number }>([{ $match: { accountId: { $in: accountIds } } }, { $group: { _id: '$status', n: { $sum: 1 } } }]);
    return new Map(groups.map((g) => [g._id, g.n]));
  }

  function read(key: string, accountIds: string[]): Entry {
    const entry: Entry = { at: deps.clock.now().getTime(), counts: countAll(accountIds), renewing: false };
    kept.delete(key);
    kept.set(key, entry);
    if (kept.size > KEPT) kept.delete(kept.keys().next().value as string);
    // A failed read is not kept.
    entry.counts.catch(() => {
      if (kept.get(key) === entry) kept.delete(key);
    });
    return entry;
  }

  return async (accountIds, status) => {
    // Keyed by the accounts themselves: an account belongs to one user, so no user sees another's counts.
    const key = [...accountIds].sort().join(',');
    const now = deps.clock.now().getTime();
    let entry = kept.get(key);
    if (!entry || now - entry.at >= STALE_MS) entry = read(key, accountIds);
    else if (now - entry.at >= FRESH_MS && !entry.renewing) {
      const current = entry;
      current.renewing = true;
      const next = countAll(accountIds);
      next.then(
        (counts) => {
          if (kept.get(key) === current) {
            kept.delete(key);
            kept.set(key, { at: now, counts: Promise.resolve(counts), renewing: false });
          }
        },
        () => {
          current.renewing = false;
        },
      );
    }
    return (await entry.counts).get(status) ?? 0;
  };
}
