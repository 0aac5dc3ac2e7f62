import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { pino } from 'pino';
import type { RequestStatus } from '../../src/domain/request-status.js';
import { readRequestPage, STATUS_SCAN } from '../../src/reconcile/request-page.js';
import { connectDatabase } from '../../src/store/database.js';
import type { ConciliationRequestDoc } from '../../src/store/models.js';
import { allocateListSeqs, backfillRequestKeys } from '../../src/store/request-keys.js';
import { testServerUri, useTestDatabase } from '../helpers/database.js';

type Stored = Pick<ConciliationRequestDoc, '_id' | 'accountId' | 'externalId' | 'status' | 'listSeq' | 'listKey' | 'listedAt' | 'createdAt'>;

/**
 * The conciliation list's pages by exact keys (src/reconcile/request-page.ts) on the real
 * database, against a plain reading of every stored request sorted in the test; and the
 * start-up backfill of requests stored without keys.
 */
describe('conciliation request pages by list keys', function () {
  this.timeout(120_000);
  const test = useTestDatabase('reqpage');
  const statuses: RequestStatus[] = ['pending', 'matched', 'not_found', 'ambiguous', 'expired'];
  const A = randomUUID();
  const B = randomUUID();
  const gone = randomUUID();
  const inserted: string[] = [];

  const request = (accountId: string, n: number, status: RequestStatus = statuses[n % statuses.length] as RequestStatus) => ({
    accountId,
    userId: 'u1',
    externalId: `${accountId.slice(0, 4)}-${n}`,
    amountMinor: 100 + n,
    currency: 'UYU',
    name: `Payer ${n}`,
    registeredAt: new Date(),
    status,
    statusChangedAt: new Date(),
  });

  async function all(): Promise<Stored[]> {
    return test.db.models.ConciliationRequest.find({}, { externalId: 1, accountId: 1, status: 1, listSeq: 1, listKey: 1, listedAt: 1, createdAt: 1 }).lean<Stored[]>();
  }

  /** The documented order, computed here from every stored request: newest handed-out time first, then account, then the account's number, newest first. */
  async function reference(accountIds: string[], filter: { status?: RequestStatus; limit: number; offset: number }): Promise<{ total: number; ids: string[] }> {
    const mine = (await all()).filter((d) => accountIds.includes(d.accountId) && (!filter.status || d.status === filter.status));
    mine.sort((a, b) => {
      if (a.listedAt!.getTime() !== b.listedAt!.getTime()) return b.listedAt!.getTime() - a.listedAt!.getTime();
      if (a.accountId !== b.accountId) return a.accountId < b.accountId ? -1 : 1;
      return b.listSeq! - a.listSeq!;
    });
    return { total: mine.length, ids: mine.slice(filter.offset, filter.offset + filter.limit).map((d) => d.externalId) };
  }

  before(async () => {
    const { ConciliationRequest } = test.db.models;
    // Batches, as polls store them, interleaved across two accounts; one request by create().
    for (let batch = 0; batch < 6; batch++) {
      for (const accountId of [A, B, gone]) {
        const docs = Array.from({ length: 7 + batch }, (_, i) => request(accountId, batch * 100 + i));
        await ConciliationRequest.insertMany(docs);
        if (accountId === A) inserted.push(...docs.map((d) => d.externalId));
      }
    }
    const single = request(A, 999, 'failed');
    await ConciliationRequest.create(single);
    inserted.push(single.externalId);
  });

  it('numbers each account 1, 2, 3, … in the order stored, with unique keys and times that never go back', async () => {
    const docs = (await all()).filter((d) => d.accountId === A).sort((a, b) => a.listSeq! - b.listSeq!);
    expect(docs.map((d) => d.externalId)).to.deep.equal(inserted);
    expect(docs.map((d) => d.listSeq)).to.deep.equal(inserted.map((_, i) => i + 1));
    expect(docs.map((d) => d.listKey)).to.deep.equal(inserted.map((_, i) => `${A}:${i + 1}`));
    for (let i = 1; i < docs.length; i++) expect(docs[i]!.listedAt!.getTime()).to.be.at.least(docs[i - 1]!.listedAt!.getTime());
  });

  it('one account: newest first, offset and limit as a plain sort gives them, the total from the sequence', async () => {
    const newestFirst = [...inserted].reverse();
    for (const [offset, limit] of [[0, 50], [0, 1], [3, 7], [40, 10], [inserted.length - 1, 5], [inserted.length, 5], [500, 50]] as const) {
      const page = await readRequestPage(test.db.models, [A], { limit, offset });
      expect(page.docs.map((d) => d.externalId), `offset ${offset} limit ${limit}`).to.deep.equal(newestFirst.slice(offset, offset + limit));
      expect(page.total).to.equal(inserted.length);
    }
  });

  it('several accounts, with and without a status: the page and total a plain reading gives (a deleted account left out)', async () => {
    for (const status of [undefined, 'matched', 'failed', 'cancelled'] as const) {
      for (const [offset, limit] of [[0, 50], [0, 3], [5, 9], [60, 20], [130, 50]] as const) {
        const filter = { limit, offset, ...(status ? { status } : {}) };
        const page = await readRequestPage(test.db.models, [A, B], filter);
        const expected = await reference([A, B], filter);
        expect(page.docs.map((d) => d.externalId), JSON.stringify(filter)).to.deep.equal(expected.ids);
        expect(page.total, JSON.stringify(filter)).to.equal(expected.total);
      }
    }
    expect((await readRequestPage(test.db.models, [], { limit: 50, offset: 0 })).docs).to.deep.equal([]);
  });

  it('a number handed out for an insert that failed (a hole) is read past: the page stays full and in order', async () => {
    const C = randomUUID();
    const { ConciliationRequest } = test.db.models;
    await ConciliationRequest.insertMany([request(C, 1), request(C, 2)]);
    await allocateListSeqs(test.db.connection, C, 3, new Date());
    await ConciliationRequest.insertMany([request(C, 3), request(C, 4)]);
    const page = await readRequestPage(test.db.models, [C], { limit: 3, offset: 0 });
    expect(page.docs.map((d) => d.externalId)).to.deep.equal([`${C.slice(0, 4)}-4`, `${C.slice(0, 4)}-3`, `${C.slice(0, 4)}-2`]);
    expect(page.total, 'the hole counts (documented)').to.equal(7);
  });

  it(`a rare status deep in the list (past ${STATUS_SCAN} looked at) is the plain sorted query, same order`, async () => {
    const D = randomUUID();
    const { ConciliationRequest } = test.db.models;
    await ConciliationRequest.insertMany([request(D, 0, 'failed'), request(D, 1, 'failed'), request(D, 2, 'cancelled')]);
    for (let i = 0; i < STATUS_SCAN + 200; i += 2_000) await ConciliationRequest.insertMany(Array.from({ length: 2_000 }, (_, j) => request(D, 10 + i + j, 'matched')));
    for (const filter of [{ status: 'failed' as const, limit: 50, offset: 0 }, { status: 'failed' as const, limit: 1, offset: 1 }, { status: 'matched' as const, limit: 5, offset: 3 }]) {
      const page = await readRequestPage(test.db.models, [D], filter);
      const expected = await reference([D], filter);
      expect(page.docs.map((d) => d.externalId), JSON.stringify(filter)).to.deep.equal(expected.ids);
      expect(page.total).to.equal(expected.total);
    }
    expect((await readRequestPage(test.db.models, [D], { status: 'failed', limit: 50, offset: 0 })).docs.map((d) => d.externalId)).to.deep.equal([`${D.slice(0, 4)}-1`, `${D.slice(0, 4)}-0`]);
  });

  it('start-up backfill: requests stored without keys get them oldest first, after what the account has; the former order is kept; a second run changes nothing', async () => {
    const E = randomUUID();
    const F = randomUUID();
    const { ConciliationRequest } = test.db.models;
    // E: only requests stored before keys existed (raw inserts), with equal creation times among them.
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const legacy = Array.from({ length: 30 }, (_, n) => ({ _id: randomUUID(), ...request(E, n), createdAt: new Date(t0 + Math.floor(n / 3) * 1000), updatedAt: new Date(t0) }));
    await ConciliationRequest.collection.insertMany(legacy as never[]);
    // F: keyed requests first, then one stored without a key (a raw insert, older createdAt).
    await ConciliationRequest.insertMany([request(F, 1), request(F, 2)]);
    await ConciliationRequest.collection.insertOne({ _id: randomUUID(), ...request(F, 3), createdAt: new Date(t0), updatedAt: new Date(t0) } as never);
    expect((await readRequestPage(test.db.models, [E], { limit: 50, offset: 0 })).docs, 'not listed before the backfill').to.deep.equal([]);

    // The former list order: createdAt newest first, then _id ascending.
    const formerOrder = [...legacy].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? -1 : 1)).map((d) => d.externalId);
    // Start-up: a new connection to the same database runs the backfill (ensureIndexes).
    const again = await connectDatabase({ uri: testServerUri(), dbName: test.db.connection.name, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
    try {
      const page = await readRequestPage(again.models, [E], { limit: 50, offset: 0 });
      expect(page.docs.map((d) => d.externalId)).to.deep.equal(formerOrder);
      expect(page.total).to.equal(30);
      expect((await readRequestPage(again.models, [E], { limit: 4, offset: 10 })).docs.map((d) => d.externalId)).to.deep.equal(formerOrder.slice(10, 14));
      const f = (await all()).filter((d) => d.accountId === F).sort((a, b) => a.listSeq! - b.listSeq!);
      expect(f.map((d) => [d.externalId, d.listSeq])).to.deep.equal([[`${F.slice(0, 4)}-1`, 1], [`${F.slice(0, 4)}-2`, 2], [`${F.slice(0, 4)}-3`, 3]]);
      expect(f[2]!.listedAt!.getTime(), 'never before the account’s previous time').to.be.at.least(f[1]!.listedAt!.getTime());
      const before = await all();
      expect(await backfillRequestKeys(again.connection, again.models.ConciliationRequest as never)).to.equal(0);
      expect(await all()).to.deep.equal(before);
      expect(before.every((d) => typeof d.listKey === 'string'), 'every request keyed').to.equal(true);
    } finally {
      await again.close();
    }
  });
});
