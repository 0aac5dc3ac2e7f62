import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { UnavailableError } from '../domain/errors.js';
import { isDuplicateKey } from '../store/database.js';
import type { Models } from '../store/models.js';

/**
 * One reconciliation step at a time per account, across processes: polling, matching,
 * expiry and operator actions all read the account's open requests and unused
 * transactions, then write decisions; two at once could give one transaction to two
 * requests' plans. Inside a process the calls queue; between processes a lease in MongoDB
 * (`reconcile:<account>`) decides, waited for up to `waitMs`.
 *
 * The lease is renewed while the step works (every third of its time to live) and carries a
 * fencing number: each acquisition of the account's lease increments it (the lease document
 * is never deleted, so the number only grows). A step writes it on everything it claims or
 * marks, and makes its writes conditional on it, so a holder whose lease lapsed (a paused or
 * partitioned process) can no longer change what the next holder took over. A step learns
 * that its lease is lost from `check()` (a renewal that failed, or more than the time to live
 * since the last one succeeded) and stops there.
 *
 * A step whose work succeeds ends by writing its fencing number as the lease's `cleanThrough`
 * (in the same update that frees the lease). The next holder, whose number is one more, then
 * knows that nothing before it was left half done (`previousEndedClean`): no crash, no lapse,
 * no step that threw. Any other history (none written yet, a step that failed, handled an
 * error it cannot vouch for (`taint`) or lost its lease, an acquisition that raced) leaves a
 * gap, and the next holder is told to recover.
 */

export class LeaseLostError extends UnavailableError {
  constructor(accountId: string) {
    super(`the reconcile lease of account ${accountId} was lost (another worker took over); the step stops and is done again there`);
    this.name = 'LeaseLostError';
  }
}

export type LockLease = {
  readonly accountId: string;
  /** The fencing number of this acquisition: greater than every earlier holder's. */
  readonly fence: number;
  readonly lost: boolean;
  /** Whether the holder before this one ended its step with nothing left half done (see above). */
  readonly previousEndedClean: boolean;
  /** Throws LeaseLostError once the lease is lost or may have lapsed. */
  check(): void;
  /** This step may leave work half done (an error it handled): it ends without vouching, so the next holder recovers. */
  taint(): void;
  /** Renews now (between chunks of a long step); throws LeaseLostError if it was lost. */
  renew(): Promise<void>;
};

export type AccountLock = <T>(accountId: string, work: (lease: LockLease) => Promise<T>) => Promise<T>;

export function createAccountLock(deps: {
  models: Models;
  clock: Clock;
  ttlMs: number;
  waitMs: number;
  retryMs?: number;
  /** Run first in every locked step (recovery of what an earlier holder left half done). */
  onAcquired?: (lease: LockLease) => Promise<void>;
}): AccountLock {
  const { Lease } = deps.models;
  const tails = new Map<string, Promise<unknown>>();
  const retryMs = deps.retryMs ?? 100;
  const processId = `reconcile-${process.pid}-${randomUUID().slice(0, 8)}`;

  async function acquire(accountId: string): Promise<LockLease | undefined> {
    const key = `reconcile:${accountId}`;
    const holder = `${processId}:${randomUUID().slice(0, 8)}`;
    const now = deps.clock.now();
    let fence: number;
    let previousEndedClean = false;
    try {
      // A free (expired or released) lease, or none yet; a live holder's makes the upsert collide.
      const doc = await Lease.findOneAndUpdate(
        { _id: key, expiresAt: { $lt: now } },
        { $set: { holder, purpose: 'reconcile', expiresAt: new Date(now.getTime() + deps.ttlMs) }, $inc: { fence: 1 } },
        { upsert: true, returnDocument: 'after' },
      ).lean<{ fence?: number; holder?: string; cleanThrough?: number }>();
      // The offline engine's 'after' image can show a concurrent writer's change (seen with $inc):
      // a fence is trusted only from a document that names this holder; otherwise the lease is
      // not ours to use (it lapses unrenewed).
      if (doc?.holder !== holder) return undefined;
      fence = doc.fence ?? 0;
      previousEndedClean = typeof doc.cleanThrough === 'number' && doc.cleanThrough === fence - 1;
    } catch (error) {
      if (isDuplicateKey(error)) return undefined;
      throw error;
    }
    let lost = false;
    let tainted = false;
    let renewedAt = performance.now();
    const renewOnce = async (): Promise<void> => {
      if (lost) return;
      const startedAt = performance.now();
      const now = deps.clock.now();
      const result = await Lease.updateOne({ _id: key, holder, fence }, { $set: { expiresAt: new Date(now.getTime() + deps.ttlMs) } });
      if (result.matchedCount === 1) renewedAt = startedAt;
      else lost = true;
    };
    const timer = setInterval(() => void renewOnce().catch(() => undefined), Math.max(50, Math.floor(deps.ttlMs / 3)));
    timer.unref();
    const lease: LockLease & { end(clean: boolean): Promise<void> } = {
      accountId,
      fence,
      previousEndedClean,
      get lost() {
        return lost || performance.now() - renewedAt >= deps.ttlMs;
      },
      check() {
        if (lease.lost) {
          lost = true;
          throw new LeaseLostError(accountId);
        }
      },
      taint() {
        tainted = true;
      },
      async renew() {
        lease.check();
        await renewOnce();
        lease.check();
      },
      async end(clean: boolean) {
        clearInterval(timer);
        // A holder past its time to live may have been taken over: it cannot vouch for the account.
        const vouch = clean && !tainted && !lease.lost;
        if (lost) return;
        lost = true;
        // Kept (expired) rather than deleted: the fencing number must only grow.
        await Lease.updateOne({ _id: key, holder, fence }, { $set: { expiresAt: new Date(0), ...(vouch ? { cleanThrough: fence } : {}) } });
      },
    };
    return lease;
  }

  async function underLease<T>(accountId: string, work: (lease: LockLease) => Promise<T>): Promise<T> {
    const deadline = Date.now() + deps.waitMs;
    for (;;) {
      const lease = await acquire(accountId);
      if (lease) {
        const ending = lease as LockLease & { end(clean: boolean): Promise<void> };
        let result: T;
        try {
          if (deps.onAcquired) await deps.onAcquired(lease);
          result = await work(lease);
        } catch (error) {
          await ending.end(false).catch(() => undefined);
          throw error;
        }
        await ending.end(true).catch(() => undefined);
        return result;
      }
      if (Date.now() >= deadline) throw new UnavailableError('another worker is reconciling this account; it will be retried shortly');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  return <T>(accountId: string, work: (lease: LockLease) => Promise<T>): Promise<T> => {
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
