import type { AnyBulkWriteOperation } from 'mongoose';
import type { BankTransactionDoc, Models } from './models.js';
import { appendTo } from '../domain/collections.js';

/**
 * A bank transaction's claim key (SPEC §4: a transaction settles at most one request, and a
 * request is settled by one transaction). `usedBy`, one field, keeps a transaction to one
 * request; `claimKey`, under a unique index, keeps a request to one transaction: it is
 * `t:<transaction id>` while the transaction is unused and `r:<request id>` once a request
 * holds it, written in the same single-document update as `usedBy`.
 */
export const freeClaimKey = (transactionId: string): string => `t:${transactionId}`;
export const usedClaimKey = (requestId: string): string => `r:${requestId}`;

const CHUNK = 1_000;

/**
 * Gives every stored transaction its claim key before the unique index is built (documents
 * stored before it existed). Should a request hold two transactions (what the index now
 * prevents), it keeps the one its match names and the others are freed. Filters name `_id`
 * alone (mongo-java-server reads the whole collection for any other filter); it runs at start-up.
 */
export async function backfillClaimKeys(models: Models): Promise<number> {
  const { BankTransaction, ConciliationRequest } = models;
  const unfenced = await BankTransaction.find({ claimKey: { $exists: true }, claimFence: { $exists: false } }, { _id: 1 }).lean<{ _id: string }[]>();
  for (let i = 0; i < unfenced.length; i += CHUNK) {
    await BankTransaction.bulkWrite(unfenced.slice(i, i + CHUNK).map((t) => ({ updateOne: { filter: { _id: t._id }, update: { $set: { claimFence: 0 } } } })), { ordered: false });
  }
  const missing = await BankTransaction.find({ claimKey: { $exists: false } }, { usedBy: 1 }).lean<Pick<BankTransactionDoc, '_id' | 'usedBy'>[]>();
  if (missing.length === 0) return unfenced.length;
  const byRequest = new Map<string, string[]>();
  const writes: AnyBulkWriteOperation<BankTransactionDoc>[] = [];
  const free = (id: string): AnyBulkWriteOperation<BankTransactionDoc> => ({
    updateOne: { filter: { _id: id }, update: { $set: { claimKey: freeClaimKey(id), claimFence: 0, usedBy: null, usedAt: null } } },
  });
  for (const t of missing) {
    if (!t.usedBy) writes.push(free(t._id));
    else appendTo(byRequest, t.usedBy, t._id);
  }
  const shared = [...byRequest].filter(([, ids]) => ids.length > 1).map(([requestId]) => requestId);
  const matchOf = new Map<string, string>();
  for (let i = 0; i < shared.length; i += CHUNK) {
    const docs = await ConciliationRequest.find({ _id: { $in: shared.slice(i, i + CHUNK) }, status: 'matched' }, { match: 1 }).lean<{ _id: string; match: { transactionId: string } | null }[]>();
    for (const d of docs) if (d.match) matchOf.set(d._id, d.match.transactionId);
  }
  const taken = new Set((await BankTransaction.find({ claimKey: { $exists: true } }, { claimKey: 1 }).lean<{ claimKey: string }[]>()).map((d) => d.claimKey));
  for (const [requestId, ids] of byRequest) {
    const keeper = ids.includes(matchOf.get(requestId) ?? '') ? (matchOf.get(requestId) as string) : (ids[0] as string);
    for (const id of ids) {
      if (id === keeper && !taken.has(usedClaimKey(requestId))) writes.push({ updateOne: { filter: { _id: id }, update: { $set: { claimKey: usedClaimKey(requestId), claimFence: 0 } } } });
      else writes.push(free(id));
    }
  }
  for (let i = 0; i < writes.length; i += CHUNK) await BankTransaction.bulkWrite(writes.slice(i, i + CHUNK), { ordered: false });
  return unfenced.length + missing.length;
}
