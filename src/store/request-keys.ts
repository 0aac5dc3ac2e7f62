import type { Connection, Model } from 'mongoose';
import { appendTo } from '../domain/collections.js';

/**
 * Conciliation requests' list keys: what lets `GET /conciliation` read a page by exact keys
 * instead of sorting every stored request (mongo-java-server has no index-backed sort and uses
 * no index but a unique one whose fields a filter names exactly).
 *
 * Every request gets, when it is inserted, the next number of its account's sequence
 * (`listSeq`, 1, 2, 3, … in the order requests were stored), `listKey` =
 * `<accountId>:<listSeq>` under a unique index, and `listedAt`, the time its number was
 * handed out (never earlier than the account's previous one). The sequence lives in
 * `request_sequences` (`{_id: accountId, last, at}`), advanced by one atomic
 * findOneAndUpdate ($inc, $max) per insert batch: no multi-document transaction. The newest
 * request of an account is `<accountId>:<last>`, the one before `<last - 1>`, and so on, so a
 * page is a `{listKey: {$in: [a few keys]}}` lookup, cheap on both engines.
 *
 * Requests stored without keys (before keys existed, or by a raw insert) get theirs from
 * {@link backfillRequestKeys} at start-up, oldest first, after whatever the account already had.
 */

export const SEQUENCES = 'request_sequences';
export type RequestSequenceDoc = { _id: string; last: number; at: Date };
export const listKeyOf = (accountId: string, seq: number): string => `${accountId}:${seq}`;

type Keyed = { accountId?: unknown; listSeq?: unknown; listKey?: unknown; listedAt?: unknown };

/**
 * Hands out `count` numbers of the account's sequence: the last one, the time they were handed
 * out (`now`, or the account's previous time if that is later) and that previous time.
 */
export async function allocateListSeqs(connection: Connection, accountId: string, count: number, now: Date): Promise<{ last: number; at: Date; previousAt: Date | null }> {
  const before = await connection
    .collection<RequestSequenceDoc>(SEQUENCES)
    .findOneAndUpdate({ _id: accountId }, { $inc: { last: count }, $max: { at: now } }, { upsert: true, returnDocument: 'before' });
  const previousAt = before?.at ?? null;
  return { last: (before?.last ?? 0) + count, at: previousAt && previousAt > now ? previousAt : now, previousAt };
}

/** Gives keys to the documents (in this order) that have none; shared by the insert hooks. */
export async function keyDocuments(connection: Connection, docs: Keyed[]): Promise<void> {
  const byAccount = new Map<string, Keyed[]>();
  for (const doc of docs) {
    if (doc.listKey != null || typeof doc.accountId !== 'string') continue;
    appendTo(byAccount, doc.accountId, doc);
  }
  for (const [accountId, group] of byAccount) {
    const { last, at } = await allocateListSeqs(connection, accountId, group.length, new Date());
    group.forEach((doc, i) => {
      const seq = last - group.length + 1 + i;
      doc.listSeq = seq;
      doc.listKey = listKeyOf(accountId, seq);
      doc.listedAt = at;
    });
  }
}

/** Installs the insert hooks on the conciliation request schema (insertMany and save of a new document). */
export function keyRequestsOnInsert(schema: {
  pre(method: 'insertMany', fn: (this: Model<unknown>, docs: unknown) => Promise<void>): unknown;
  pre(method: 'save', fn: (this: Keyed & { isNew: boolean; db: Connection }) => Promise<void>): unknown;
}): void {
  schema.pre('insertMany', async function (docs) {
    await keyDocuments(this.db, (Array.isArray(docs) ? docs : [docs]) as Keyed[]);
  });
  schema.pre('save', async function () {
    if (this.isNew) await keyDocuments(this.db, [this]);
  });
}

const CHUNK = 1_000;

/**
 * Keys for the requests stored without them, oldest first per account (as the list used to
 * order them: createdAt, then `_id` descending, so that newest-first matches the former
 * createdAt-descending, `_id`-ascending order), numbered after the account's sequence.
 * Idempotent: a second run finds nothing to do. One read of the collection and one write per
 * request without keys, by `_id` alone (start-up only; about 1–2 ms a request on
 * mongo-java-server, where any other filter reads the whole collection). Two processes starting
 * on the same unkeyed data at once both number it: the later numbers win and the earlier
 * ones are holes (see request-page.ts).
 */
export async function backfillRequestKeys(connection: Connection, requests: Model<never>): Promise<number> {
  const missing = await requests
    .find({ listKey: null }, { _id: 1, accountId: 1, createdAt: 1 })
    .lean<{ _id: string; accountId: string; createdAt?: Date }[]>();
  if (missing.length === 0) return 0;
  const byAccount = new Map<string, typeof missing>();
  for (const doc of missing) appendTo(byAccount, doc.accountId, doc);
  for (const [accountId, group] of byAccount) {
    group.sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0) || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0));
    const newest = group[group.length - 1]?.createdAt ?? new Date(0);
    const { last, previousAt } = await allocateListSeqs(connection, accountId, group.length, newest);
    // listedAt never goes back within the account: after the account's previous time, if any.
    let floor = previousAt?.getTime() ?? 0;
    const writes = group.map((doc, i) => {
      const seq = last - group.length + 1 + i;
      floor = Math.max(floor, doc.createdAt?.getTime() ?? 0);
      return { updateOne: { filter: { _id: doc._id }, update: { $set: { listSeq: seq, listKey: listKeyOf(accountId, seq), listedAt: new Date(floor) } } } };
    });
    for (let i = 0; i < writes.length; i += CHUNK) await requests.bulkWrite(writes.slice(i, i + CHUNK) as never, { ordered: false });
  }
  return missing.length;
}
