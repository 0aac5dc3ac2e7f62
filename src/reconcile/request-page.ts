import type { RequestStatus } from '../domain/request-status.js';
import { listKeyOf, SEQUENCES, type RequestSequenceDoc } from '../store/request-keys.js';
import type { ConciliationRequestDoc, Models } from '../store/models.js';
import type { StatusTotals } from './status-totals.js';

/**
 * One page of a user's conciliation requests, newest first, read by exact keys (see
 * src/store/request-keys.ts): the newest request of an account is `<accountId>:<last>` of its
 * sequence, so a page is a lookup of a few `listKey`s and the total is the sum of the
 * accounts' sequences, without reading, counting or sorting every stored request (which
 * mongo-java-server does for any sort and for any filter but a unique index's exact fields).
 *
 * Order: newest first by the time a request's number was handed out (`listedAt`), then
 * account id, then the account's sequence, newest first; an account's requests in the order
 * they were stored. One account: the page is the window `last - offset - limit + 1 … last - offset`.
 * Several: the accounts' newest ones are merged, `offset + limit` of each at most. With a
 * status filter, the newest are read in chunks and filtered, up to {@link STATUS_SCAN} of them;
 * past that (a rare status deep in the list) the page is the plain sorted query. The total,
 * for a status, is counted (one read of the collection on mongo-java-server), or taken from
 * `statusTotals` when given (counts reused for seconds: status-totals.ts).
 *
 * A number handed out for an insert that then failed (a duplicate order registered by another
 * worker at the same moment) is a hole: pages read past holes and stay full, but the offset
 * and the total count it as a request.
 */

/** Requests looked at for a status-filtered page before the plain sorted query takes over. */
export const STATUS_SCAN = 5_000;
const CHUNK = 500;

type Head = Pick<ConciliationRequestDoc, '_id' | 'accountId' | 'status' | 'listSeq' | 'listedAt'>;
const HEAD = { _id: 1, accountId: 1, status: 1, listSeq: 1, listedAt: 1 } as const;
/** What a page shows of a request (not its attempts, events, match or candidates, which can be long). */
export type PageDoc = Pick<ConciliationRequestDoc, '_id' | 'accountId' | 'externalId' | 'status' | 'amountMinor' | 'currency' | 'name' | 'registeredAt' | 'statusChangedAt' | 'listSeq'>;
const PAGE = { _id: 1, accountId: 1, externalId: 1, status: 1, amountMinor: 1, currency: 1, name: 1, registeredAt: 1, statusChangedAt: 1, listSeq: 1 } as const;

/** Newest-first order across accounts (see above). */
function newerFirst(a: Head, b: Head): number {
  return (b.listedAt?.getTime() ?? 0) - (a.listedAt?.getTime() ?? 0) || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0) || (b.listSeq ?? 0) - (a.listSeq ?? 0);
}

export async function readRequestPage(
  models: Models,
  accountIds: string[],
  filter: { status?: RequestStatus; limit: number; offset: number },
  statusTotals?: StatusTotals,
): Promise<{ total: number; docs: PageDoc[] }> {
  const { ConciliationRequest } = models;
  // The driver's collection, not the model: a page is read often, and mongoose's query building and casting cost more than the read of 50 small documents.
  const requests = ConciliationRequest.db.collection<ConciliationRequestDoc>(ConciliationRequest.collection.collectionName);
  if (accountIds.length === 0 || filter.limit <= 0) return { total: 0, docs: [] };
  const sequences = await ConciliationRequest.db
    .collection<RequestSequenceDoc>(SEQUENCES)
    .find({ _id: { $in: accountIds } })
    .toArray();
  const lastOf = new Map(sequences.map((s) => [s._id, s.last]));

  /** The account's requests numbered `from … to` (inclusive), newest first; holes left out. */
  async function numbered<T>(accountId: string, from: number, to: number, projection: Record<string, 1>): Promise<(T & { listSeq: number })[]> {
    const keys: string[] = [];
    for (let seq = to; seq >= Math.max(1, from); seq--) keys.push(listKeyOf(accountId, seq));
    if (keys.length === 0) return [];
    const docs = (await requests.find({ listKey: { $in: keys } }, { projection }).toArray()) as unknown as (T & { listSeq: number })[];
    return docs.sort((a, b) => b.listSeq - a.listSeq);
  }

  if (!filter.status && accountIds.length === 1) {
    const accountId = accountIds[0] as string;
    const last = lastOf.get(accountId) ?? 0;
    const docs: PageDoc[] = [];
    // Past holes, the next numbers down fill the page.
    for (let top = last - filter.offset; docs.length < filter.limit && top >= 1; ) {
      const want = filter.limit - docs.length;
      docs.push(...(await numbered<PageDoc>(accountId, top - want + 1, top, PAGE)));
      top -= want;
    }
    return { total: last, docs };
  }

  const [total, heads] = await Promise.all([
    filter.status
      ? statusTotals
        ? statusTotals(accountIds, filter.status)
        : ConciliationRequest.countDocuments({ accountId: { $in: accountIds }, status: filter.status })
      : Promise.resolve(accountIds.reduce((n, id) => n + (lastOf.get(id) ?? 0), 0)),
    mergedHeads(),
  ]);
  let docs: PageDoc[];
  if (heads === null) {
    docs = await ConciliationRequest.find({ accountId: { $in: accountIds }, status: filter.status }, PAGE)
      .sort({ listedAt: -1, accountId: 1, listSeq: -1 })
      .skip(filter.offset)
      .limit(filter.limit)
      .lean<PageDoc[]>();
  } else {
    const full = heads.length > 0 ? ((await requests.find({ _id: { $in: heads.map((h) => h._id) } }, { projection: PAGE }).toArray()) as unknown as PageDoc[]) : [];
    const byId = new Map(full.map((d) => [d._id, d]));
    // A request whose status changed since its head was read is shown as it is now.
    docs = heads.map((h) => byId.get(h._id)).filter((d): d is PageDoc => d !== undefined);
  }
  return { total, docs };

  /** The page's heads, merged newest first across the accounts; null when a status filter looked at STATUS_SCAN without filling the page. */
  async function mergedHeads(): Promise<Head[] | null> {
    // With a status, an account's first read is twice the page (a common status fills it), each next one twice the last, up to CHUNK.
    const statusFirst = Math.min(CHUNK, 2 * (filter.offset + filter.limit));
    const streams = accountIds.map((accountId) => ({ accountId, next: lastOf.get(accountId) ?? 0, buffer: [] as Head[], size: statusFirst }));
    const first = Math.min(filter.offset + filter.limit, CHUNK);
    let seen = 0;
    let skipped = 0;
    const page: Head[] = [];
    for (;;) {
      for (const stream of streams) {
        while (stream.buffer.length === 0 && stream.next >= 1) {
          const size = filter.status ? stream.size : seen === 0 ? first : CHUNK;
          stream.size = Math.min(CHUNK, stream.size * 2);
          const from = stream.next - size + 1;
          stream.buffer = await numbered<Head>(stream.accountId, from, stream.next, HEAD);
          stream.next = from - 1;
        }
      }
      let best: (typeof streams)[number] | undefined;
      for (const stream of streams) {
        const head = stream.buffer[0];
        if (head && (!best || newerFirst(head, best.buffer[0] as Head) < 0)) best = stream;
      }
      if (!best) return page;
      const head = best.buffer.shift() as Head;
      seen += 1;
      if (!filter.status || head.status === filter.status) {
        if (skipped < filter.offset) skipped += 1;
        else page.push(head);
        if (page.length >= filter.limit) return page;
      }
      if (filter.status && seen >= STATUS_SCAN) return null;
    }
  }
}
