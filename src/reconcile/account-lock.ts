import { UnavailableError } from '../domain/errors.js';
import type { LeaseManager } from '../sessions/lease.js';

/**
 * One reconciliation step at a time per account, across processes: polling, matching,
 * expiry and operator actions all read the account's open requests and unused
 * transactions, then write decisions; two at once could give one transaction to two
 * requests' plans. Inside a process the calls queue; between processes a lease in MongoDB
 * decides, waited for up to `waitMs` (then the caller gives up and the sweeper retries).
 */
export type AccountLock = <T>(accountId: string, work: () => Promise<T>) => Promise<T>;

export function createAccountLock(deps: { leases: LeaseManager; ttlMs: number; waitMs: number; retryMs?: number }): AccountLock {
  const tails = new Map<string, Promise<unknown>>();
  const retryMs = deps.retryMs ?? 100;

  async function underLease<T>(accountId: string, work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + deps.waitMs;
    for (;;) {
      const lease = await deps.leases.acquire(`reconcile:${accountId}`, 'reconcile', deps.ttlMs);
      if (lease) {
        try {
          return await work();
        } finally {
          await lease.release().catch(() => undefined);
        }
      }
      if (Date.now() >= deadline) throw new UnavailableError('another worker is reconciling this account; it will be retried shortly');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  return <T>(accountId: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(accountId) ?? Promise.resolve();
    const run = previous.then(
      () => underLease(accountId, work),
      () => underLease(accountId, work),
    );
    const tail = run.catch(() => undefined);
    tails.set(accountId, tail);
    void tail.then(() => {
      if (tails.get(accountId) === tail) tails.delete(accountId);
    });
    return run;
  };
}
