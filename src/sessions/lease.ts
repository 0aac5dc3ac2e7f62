import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { isDuplicateKey } from '../store/database.js';
import type { Models } from '../store/models.js';

/**
 * One lease per bank login, in MongoDB, so a scheduled run, a persistent monitor and an OTP
 * wait for the same account never overlap, across processes. A holder that dies stops
 * renewing, and its lease expires.
 */
export type Lease = { readonly key: string; readonly holder: string; renew(): Promise<boolean>; release(): Promise<void> };

export type LeaseManager = ReturnType<typeof createLeaseManager>;

export function createLeaseManager(deps: { models: Models; clock: Clock; holderPrefix?: string }) {
  const { Lease: LeaseModel } = deps.models;
  const processId = `${deps.holderPrefix ?? 'proc'}-${process.pid}-${randomUUID().slice(0, 8)}`;
  /** Leases this manager holds now (key → holder), to give them all back at shutdown. */
  const held = new Map<string, string>();

  async function claim(key: string, holder: string, purpose: string, ttlMs: number): Promise<boolean> {
    const now = deps.clock.now();
    try {
      // Matches a free (expired) lease or our own; otherwise the upsert collides with the holder's document.
      await LeaseModel.findOneAndUpdate(
        { _id: key, $or: [{ expiresAt: { $lt: now } }, { holder }] },
        { $set: { holder, purpose, expiresAt: new Date(now.getTime() + ttlMs) } },
        { upsert: true },
      );
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  return {
    processId,
    async acquire(key: string, purpose: string, ttlMs: number): Promise<Lease | undefined> {
      const holder = `${processId}:${randomUUID().slice(0, 8)}`;
      if (!(await claim(key, holder, purpose, ttlMs))) return undefined;
      held.set(key, holder);
      return {
        key,
        holder,
        renew: () => claim(key, holder, purpose, ttlMs),
        async release() {
          held.delete(key);
          await LeaseModel.deleteOne({ _id: key, holder });
        },
      };
    },
    /**
     * At shutdown, after work was given time to finish: what is still held is given back at
     * once, so the next process resumes it now rather than when the leases run out.
     */
    async releaseAll(): Promise<number> {
      let released = 0;
      for (const [key, holder] of [...held]) {
        held.delete(key);
        released += (await LeaseModel.deleteOne({ _id: key, holder })).deletedCount ?? 0;
      }
      return released;
    },
    async holderOf(key: string): Promise<{ holder: string; purpose: string; expiresAt: Date } | undefined> {
      // By _id alone, the expiry checked here: mongo-java-server serves a filter from an index only when it names exactly the index's fields.
      const doc = await LeaseModel.findById(key).lean();
      return doc && doc.expiresAt.getTime() >= deps.clock.now().getTime() ? { holder: doc.holder, purpose: doc.purpose, expiresAt: doc.expiresAt } : undefined;
    },
  };
}
