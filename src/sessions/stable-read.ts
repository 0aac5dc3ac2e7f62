import type { ReadPass, RawTransaction } from '../banks/driver.js';
import { sameMovements } from '../domain/fingerprint.js';
import { SessionFailure } from '../domain/session-outcome.js';

/** Passes over a torn list before the read gives up (transient: it is retried with back-off). */
export const MAX_READ_PASSES = 4;

export type StableRead = { transactions: RawTransaction[]; passes: number };

/**
 * Reads the bank's list until it is a consistent picture, so every movement is seen exactly
 * once (SPEC §3: a read is stable against movements that arrive while it runs).
 *
 * A bank pages its list by position: a movement that arrives between two page requests
 * shifts rows across the boundary, and a row is then read twice (and, identities being
 * hash + occurrence counter, stored twice). Overlap at a boundary cannot be told from two
 * genuinely identical transfers, and few banks page by a stable key, so the read is repeated:
 * - a pass of one response is a snapshot on its own: taken as is (the common case);
 * - otherwise passes are repeated until two in a row give the same movements (as a multiset).
 *   While movements only arrive, a pass returns exactly as many rows as the list holds when
 *   its last page is served, so two equal passes mean the list did not grow from the end of
 *   the first to the end of the second: the second ran on an unchanging list and is exact.
 * - a list still changing after MAX_READ_PASSES is a failed read (`read_unstable`), nothing
 *   stored, retried with back-off: never a read with a row twice.
 */
export async function readUntilStable(readPass: () => Promise<ReadPass>, maxPasses = MAX_READ_PASSES): Promise<StableRead> {
  let previous = await readPass();
  if (previous.pages <= 1) return { transactions: previous.transactions, passes: 1 };
  for (let passes = 2; passes <= maxPasses; passes++) {
    const current = await readPass();
    if (current.pages <= 1 || sameMovements(previous.transactions, current.transactions)) return { transactions: current.transactions, passes };
    previous = current;
  }
  throw new SessionFailure('read_unstable', 'read', `${maxPasses} passes over the list disagreed`);
}
