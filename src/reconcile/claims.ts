import type { AnyBulkWriteOperation } from 'mongoose';
import type { Clock } from '../domain/clock.js';
import { freeClaimKey, usedClaimKey } from '../store/claim-keys.js';
import { isDuplicateKey } from '../store/database.js';
import type { BankTransactionDoc, ConciliationRequestDoc, Models } from '../store/models.js';
import type { LockLease } from './account-lock.js';

/**
 * Claiming and freeing bank transactions for requests (SPEC §4), fenced by the reconcile
 * lease (account-lock.ts). Each write is a single-document update; many go in one bulk write.
 *
 * - A claim takes an unused transaction that no newer lease holder has touched
 *   (`claimFence` ≤ ours) and sets `usedBy`, `claimKey` and `claimFence` together; the unique
 *   `claimKey` refuses a second transaction for a request that already holds one.
 * - Freeing first fences the requests concerned (a request marked by an older holder is taken
 *   over: its status restored and `processingFence` raised to ours, so that holder's
 *   conditional writes fail from then on), then frees only what is not settled: a
 *   transaction is kept when its request is `matched` with it, or is being evaluated by a
 *   newer holder. Each free is conditional on the claim as it was read.
 */

export type Holding = Pick<BankTransactionDoc, '_id' | 'usedBy' | 'claimFence'>;
export type ClaimPair = { requestId: string; transactionId: string };

type RequestState = Pick<ConciliationRequestDoc, '_id' | 'status' | 'processingFrom' | 'processingFence' | 'match'>;

const fenceOf = (value: number | null | undefined): number => value ?? 0;
const older = (fence: number) => ({ $or: [{ processingFence: null }, { processingFence: { $lt: fence } }] });

/** A bulk write whose only failures are duplicate keys (the claim key: that request holds a transaction already). */
function onlyDuplicates(error: unknown): boolean {
  if (isDuplicateKey(error)) return true;
  const writeErrors = (error as { writeErrors?: { code?: number }[] } | null)?.writeErrors;
  return Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000);
}

export type Claims = ReturnType<typeof createClaims>;

export function createClaims(deps: { models: Models; clock: Clock }) {
  const { BankTransaction, ConciliationRequest } = deps.models;
  const states = (ids: string[]) =>
    ConciliationRequest.find({ _id: { $in: ids } }, { status: 1, processingFrom: 1, processingFence: 1, match: 1 }).lean<RequestState[]>();

  /**
   * Takes these requests over for the lease: one marked `processing` by an older holder gets
   * its previous status back, and every one's `processingFence` becomes at least ours.
   * Returns the requests' states afterwards.
   */
  async function takeOver(requestIds: string[], lease: LockLease): Promise<Map<string, RequestState>> {
    if (requestIds.length === 0) return new Map();
    const before = await states(requestIds);
    const writes: AnyBulkWriteOperation<ConciliationRequestDoc>[] = [];
    const bump: string[] = [];
    for (const r of before) {
      if (fenceOf(r.processingFence) >= lease.fence) continue;
      if (r.status === 'processing') {
        writes.push({
          updateOne: {
            filter: { _id: r._id, status: 'processing', processingFence: r.processingFence ?? null },
            update: { $set: { status: r.processingFrom ?? 'pending', processingFrom: null, processingSince: null, processingFence: lease.fence } },
          },
        });
      } else {
        bump.push(r._id);
      }
    }
    if (bump.length > 0) writes.push({ updateMany: { filter: { _id: { $in: bump }, ...older(lease.fence) }, update: { $set: { processingFence: lease.fence } } } });
    if (writes.length === 0) return new Map(before.map((r) => [r._id, r]));
    await ConciliationRequest.bulkWrite(writes, { ordered: false });
    return new Map((await states(requestIds)).map((r) => [r._id, r]));
  }

  /** Frees holdings that nothing settled (see above); `alsoTakeOver`: requests to take over even if they hold nothing. Returns the ids freed. */
  async function releaseUnsettled(holdings: Holding[], lease: LockLease, alsoTakeOver: string[] = []): Promise<string[]> {
    const mine = holdings.filter((h) => h.usedBy && fenceOf(h.claimFence) <= lease.fence);
    const requestIds = [...new Set([...mine.map((h) => h.usedBy as string), ...alsoTakeOver])];
    if (requestIds.length === 0) return [];
    const after = await takeOver(requestIds, lease);
    const free = mine.filter((h) => {
      const request = after.get(h.usedBy as string);
      if (!request) return true;
      if (request.status === 'matched' && request.match?.transactionId === h._id) return false;
      // Being evaluated by a newer holder (or by this step): theirs to settle or give back.
      return !(request.status === 'processing' && fenceOf(request.processingFence) >= lease.fence);
    });
    if (free.length === 0) return [];
    await BankTransaction.bulkWrite(
      free.map((h) => ({
        updateOne: {
          filter: { _id: h._id, usedBy: h.usedBy, claimFence: h.claimFence ?? null },
          update: { $set: { usedBy: null, usedAt: null, claimKey: freeClaimKey(h._id), claimFence: lease.fence } },
        },
      })),
      { ordered: false },
    );
    return free.map((h) => h._id);
  }

  return {
    takeOver,
    releaseUnsettled,

    /**
     * Claims each pair's transaction for its request (fenced, see above). Returns the
     * transactions this call claimed, by request id; a pair missing from it was not claimed.
     */
    async claim(accountId: string, pairs: ClaimPair[], lease: LockLease): Promise<Map<string, BankTransactionDoc>> {
      if (pairs.length === 0) return new Map();
      lease.check();
      const now = deps.clock.now();
      try {
        await BankTransaction.bulkWrite(
          pairs.map((p) => ({
            updateOne: {
              filter: { _id: p.transactionId, accountId, usedBy: null, $or: [{ claimFence: null }, { claimFence: { $lte: lease.fence } }] },
              update: { $set: { usedBy: p.requestId, usedAt: now, claimKey: usedClaimKey(p.requestId), claimFence: lease.fence } },
            },
          })),
          { ordered: false },
        );
      } catch (error) {
        if (!onlyDuplicates(error)) throw error;
      }
      const wanted = new Map(pairs.map((p) => [p.transactionId, p.requestId]));
      const docs = await BankTransaction.find({ _id: { $in: [...wanted.keys()] } }).lean<BankTransactionDoc[]>();
      const claimed = new Map<string, BankTransactionDoc>();
      for (const d of docs) if (d.usedBy && d.usedBy === wanted.get(d._id) && d.claimFence === lease.fence) claimed.set(d.usedBy, d);
      return claimed;
    },

    /** What these requests hold now (whatever it is: a request being evaluated should hold nothing). */
    async heldBy(accountId: string, requestIds: string[]): Promise<Holding[]> {
      if (requestIds.length === 0) return [];
      return BankTransaction.find({ accountId, usedBy: { $in: requestIds } }, { usedBy: 1, claimFence: 1 }).lean<Holding[]>();
    },

    /**
     * The sweeper: transactions of the account held by a request that is not `matched` with
     * them (a claim whose outcome was never written, a request cancelled while it held one)
     * are freed. `usedSince` limits the scan to claims made since then (null: all).
     */
    async releaseOrphans(accountId: string, lease: LockLease, usedSince: Date | null): Promise<string[]> {
      const held = await BankTransaction.find({ accountId, usedBy: { $ne: null }, ...(usedSince ? { usedAt: { $gte: usedSince } } : {}) }, { usedBy: 1, claimFence: 1 }).lean<Holding[]>();
      if (held.length === 0) return [];
      const freed: string[] = [];
      for (let i = 0; i < held.length; i += 1_000) {
        const chunk = held.slice(i, i + 1_000);
        const settled = new Map(
          (await ConciliationRequest.find({ _id: { $in: chunk.map((h) => h.usedBy as string) }, status: 'matched' }, { match: 1 }).lean<Pick<ConciliationRequestDoc, '_id' | 'match'>[]>()).map((r) => [r._id, r.match?.transactionId]),
        );
        const suspicious = chunk.filter((h) => settled.get(h.usedBy as string) !== h._id);
        freed.push(...(await releaseUnsettled(suspicious, lease)));
      }
      return freed;
    },
  };
}
