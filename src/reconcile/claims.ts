import type { AnyBulkWriteOperation } from 'mongodb';
import type { Clock } from '../domain/clock.js';
import { freeClaimKey, usedClaimKey } from '../store/claim-keys.js';
import { isDuplicateKey } from '../store/database.js';
import { driverCollection, type BankTransactionDoc, type ConciliationRequestDoc, type DriverDocument, type Models } from '../store/models.js';
import type { LockLease } from './account-lock.js';

/**
 * Claiming and freeing bank transactions for requests (SPEC §4), fenced by the reconcile
 * lease (account-lock.ts). Each write is a single-document update; many go in one bulk write.
 *
 * - A claim takes a transaction that is unused and unchanged since the step read it
 *   (`{_id, usedBy: null, claimFence: as read}`), never one a newer lease holder touched
 *   (`claimFence` above ours), and sets `usedBy`, `claimKey` and `claimFence` together; the
 *   unique `claimKey` refuses a second transaction for a request that already holds one.
 * - Freeing first fences the requests concerned (a request marked by an older holder is taken
 *   over: its status restored and `processingFence` raised to ours, so that holder's
 *   conditional writes fail from then on), then frees only what is not settled: a
 *   transaction is kept when its request is `matched` with it, or is being evaluated by this
 *   or a newer holder. Each free is conditional on the claim as it was read.
 *
 * Every filter names `_id`: the embedded engine's launcher reads such a query through the _id
 * index (mongo-java-server alone used an index only for a query on exactly its fields).
 */

export type Holding = Pick<BankTransactionDoc, '_id' | 'usedBy' | 'claimFence'>;
export type ClaimPair = { requestId: string; transaction: BankTransactionDoc };

type RequestState = Pick<ConciliationRequestDoc, '_id' | 'status' | 'processingFrom' | 'processingFence' | 'match'>;

const fenceOf = (value: number | null | undefined): number => value ?? 0;

/** Indexes (in the bulk) of the writes that failed on a duplicate key; other failures are thrown. */
function duplicateFailures(error: unknown): Set<number> {
  const writeErrors = (error as { writeErrors?: { code?: number; index?: number }[] } | null)?.writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000)) return new Set(writeErrors.map((w) => w.index ?? -1));
  if (isDuplicateKey(error)) return new Set([(error as { index?: number }).index ?? 0]);
  throw error;
}

export type Claims = ReturnType<typeof createClaims>;

export function createClaims(deps: { models: Models; clock: Clock }) {
  const { BankTransaction, ConciliationRequest } = deps.models;
  // Bulk writes through the driver (models.ts driverCollection): built here from what the step read.
  const transactions = driverCollection(BankTransaction as never);
  const requests = driverCollection(ConciliationRequest as never);
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
    const writes: AnyBulkWriteOperation<DriverDocument>[] = [];
    for (const r of before) {
      if (fenceOf(r.processingFence) >= lease.fence) continue;
      const filter = r.status === 'processing' ? { _id: r._id, status: 'processing' as const, ...(r.processingFence === undefined ? {} : { processingFence: r.processingFence }) } : { _id: r._id, status: r.status };
      const restore = r.status === 'processing' ? { status: r.processingFrom ?? 'pending', processingFrom: null, processingSince: null } : {};
      writes.push({ updateOne: { filter, update: { $set: { ...restore, processingFence: lease.fence, updatedAt: deps.clock.now() } } } });
    }
    if (writes.length === 0) return new Map(before.map((r) => [r._id, r]));
    await requests.bulkWrite(writes, { ordered: false });
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
    await transactions.bulkWrite(
      free.map((h) => ({
        updateOne: {
          filter: { _id: h._id, usedBy: h.usedBy, claimFence: fenceOf(h.claimFence) },
          update: { $set: { usedBy: null, usedAt: null, claimKey: freeClaimKey(h._id), claimFence: lease.fence } },
        },
      })),
      { ordered: false },
    );
    return free.map((h) => h._id);
  }

  /** What these requests hold now (one read of the account's claims, for rare paths: sorted out here, no long $in list). */
  async function heldBy(accountId: string, requestIds: string[]): Promise<Holding[]> {
    if (requestIds.length === 0) return [];
    const wanted = new Set(requestIds);
    const held = await BankTransaction.find({ accountId, usedBy: { $ne: null } }, { usedBy: 1, claimFence: 1 }).lean<Holding[]>();
    return held.filter((h) => wanted.has(h.usedBy as string));
  }

  async function claimOnce(pairs: ClaimPair[], lease: LockLease): Promise<{ claimed: Map<string, BankTransactionDoc>; duplicates: ClaimPair[] }> {
    const now = deps.clock.now();
    const eligible = pairs.filter((p) => p.transaction.usedBy == null && fenceOf(p.transaction.claimFence) <= lease.fence);
    if (eligible.length === 0) return { claimed: new Map(), duplicates: [] };
    let failed = new Set<number>();
    let matched = -1;
    try {
      const result = await transactions.bulkWrite(
        eligible.map((p) => ({
          updateOne: {
            filter: { _id: p.transaction._id, usedBy: null, claimFence: fenceOf(p.transaction.claimFence) },
            update: { $set: { usedBy: p.requestId, usedAt: now, claimKey: usedClaimKey(p.requestId), claimFence: lease.fence } },
          },
        })),
        { ordered: false },
      );
      matched = result.matchedCount;
    } catch (error) {
      failed = duplicateFailures(error);
    }
    const duplicates = eligible.filter((_, i) => failed.has(i));
    const claimed = new Map<string, BankTransactionDoc>();
    if (matched === eligible.length) {
      // Every conditional update applied: each pair's transaction is its request's now.
      for (const p of eligible) claimed.set(p.requestId, { ...p.transaction, usedBy: p.requestId, usedAt: now, claimFence: lease.fence } as BankTransactionDoc);
      return { claimed, duplicates };
    }
    const wanted = new Map(eligible.map((p) => [p.transaction._id, p.requestId]));
    const docs = await BankTransaction.find({ _id: { $in: [...wanted.keys()] } }).lean<BankTransactionDoc[]>();
    for (const d of docs) if (d.usedBy && d.usedBy === wanted.get(d._id) && d.claimFence === lease.fence) claimed.set(d.usedBy, d);
    return { claimed, duplicates };
  }

  return {
    takeOver,
    releaseUnsettled,
    heldBy,

    /**
     * Claims each pair's transaction (as the step read it) for its request, fenced (see
     * above). A request that still holds a transaction an interrupted step left (the unique
     * claim key refuses the claim) has it freed, and the claim is tried once more. Returns the
     * transactions claimed, by request id; a pair missing from it was not claimed.
     */
    async claim(accountId: string, pairs: ClaimPair[], lease: LockLease): Promise<Map<string, BankTransactionDoc>> {
      if (pairs.length === 0) return new Map();
      lease.check();
      const first = await claimOnce(pairs, lease);
      if (first.duplicates.length === 0) return first.claimed;
      await releaseUnsettled(await heldBy(accountId, first.duplicates.map((p) => p.requestId)), lease);
      const again = await claimOnce(first.duplicates, lease);
      for (const [requestId, t] of again.claimed) first.claimed.set(requestId, t);
      return first.claimed;
    },

    /**
     * The sweeper: transactions of the account held by a request that is not `matched` with
     * them (a claim whose outcome was never written, a request cancelled while it held one)
     * are freed.
     */
    async releaseOrphans(accountId: string, lease: LockLease): Promise<string[]> {
      const held = await BankTransaction.find({ accountId, usedBy: { $ne: null } }, { usedBy: 1, claimFence: 1 }).lean<Holding[]>();
      if (held.length === 0) return [];
      const settled = new Map(
        (await ConciliationRequest.find({ accountId, status: 'matched' }, { match: 1 }).lean<Pick<ConciliationRequestDoc, '_id' | 'match'>[]>()).map((r) => [r._id, r.match?.transactionId]),
      );
      const suspicious = held.filter((h) => settled.get(h.usedBy as string) !== h._id);
      const freed: string[] = [];
      for (let i = 0; i < suspicious.length; i += 1_000) freed.push(...(await releaseUnsettled(suspicious.slice(i, i + 1_000), lease)));
      return freed;
    },
  };
}
