import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Binary, Decimal128, Long, MongoClient, ObjectId, type Document } from 'mongodb';
import { pino } from 'pino';
import { cacheDir } from '../../src/paths.js';
import { connectDatabase } from '../../src/store/database.js';
import { startJavaServer, type RunningServer } from '../../src/store/embedded/java-server.js';

/**
 * The embedded engine's launcher (tools/mongo-java-server/Launcher.java), issue 13 item 5:
 *  - a query naming `_id` that no index covers whole is read through the _id index (settlement's
 *    conditional writes `{_id, status}`, `{_id, usedBy, claimFence}` read the whole collection
 *    without an index on exactly their fields, and those indexes cost every write);
 *  - `{_id: {$in: list}}` is not compared with the whole list for every document it found;
 *  - documents are stored as BSON, and data folders written before (Java serialization) open.
 *  - an aggregation (and so a count) reads the documents as it goes, not the collection into one list.
 * On the real server, with its H2 file and in memory.
 */
describe('embedded engine: queries by _id and document storage (real mongo-java-server)', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-engine-'));
  const servers: RunningServer[] = [];

  after(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(h2File?: string, commit?: 'periodic'): Promise<RunningServer> {
    const server = await startJavaServer({ cacheDir, port: 0, h2File, ...(commit ? { commit } : {}) });
    servers.push(server);
    return server;
  }

  async function stop(server: RunningServer): Promise<void> {
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
  }

  async function withClient<T>(uri: string, work: (client: MongoClient) => Promise<T>): Promise<T> {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
    try {
      return await work(client);
    } finally {
      await client.close(true);
    }
  }

  const ms = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };

  for (const engine of ['h2', 'memory'] as const) {
    describe(`${engine} engine`, () => {
      let uri = '';
      before(async () => {
        uri = (await start(engine === 'h2' ? path.join(dir, 'queries.h2') : undefined)).uri;
      });

      it('answers queries that name _id with other fields exactly as a scan would', async () => {
        await withClient(uri, async (client) => {
          const docs = client.db('q').collection<{ _id: string; status: string; n: number }>('docs');
          await docs.createIndex({ name: 1 }, { unique: true, sparse: true });
          await docs.insertMany(['a', 'b', 'c', 'd', 'e'].map((_id, n) => ({ _id, status: n % 2 === 0 ? 'open' : 'done', n })));
          expect(await docs.find({ _id: 'a', status: 'open' }).toArray()).to.deep.equal([{ _id: 'a', status: 'open', n: 0 }]);
          expect(await docs.find({ _id: 'a', status: 'done' }).toArray()).to.deep.equal([]);
          expect(await docs.find({ _id: 'zz', status: 'open' }).toArray()).to.deep.equal([]);
          const some = await docs.find({ _id: { $in: ['e', 'a', 'b', 'zz', 'a'] }, status: 'open' }).sort({ n: -1 }).toArray();
          expect(some.map((d) => d._id)).to.deep.equal(['e', 'a']);
          expect((await docs.find({ _id: { $in: ['c', 'b', 'c'] } }).sort({ _id: 1 }).toArray()).map((d) => d._id)).to.deep.equal(['b', 'c']);
          expect(await docs.countDocuments({ _id: { $in: ['a', 'b', 'c', 'd'] }, n: { $gt: 1 } })).to.equal(2);
          expect((await docs.find({ _id: 'c', $or: [{ status: 'x' }, { n: 2 }] }).toArray()).map((d) => d._id)).to.deep.equal(['c']);
          expect((await docs.find({ _id: { $ne: 'a' }, status: 'open' }).sort({ _id: 1 }).toArray()).map((d) => d._id)).to.deep.equal(['c', 'e']);
          expect((await docs.find({ _id: { $in: ['a', 'c'] }, status: 'open' }).limit(1).sort({ n: -1 }).toArray()).map((d) => d._id)).to.deep.equal(['c']);
          // Conditional writes: applied once, then refused (the status read is gone).
          expect((await docs.updateOne({ _id: 'b', status: 'done' }, { $set: { status: 'open' } })).matchedCount).to.equal(1);
          expect((await docs.updateOne({ _id: 'b', status: 'done' }, { $set: { status: 'open' } })).matchedCount).to.equal(0);
          expect((await docs.deleteOne({ _id: 'd', status: 'open' })).deletedCount).to.equal(0);
          expect((await docs.deleteOne({ _id: 'd', status: 'done' })).deletedCount).to.equal(1);
          const upserted = await docs.updateOne({ _id: 'f', status: 'open' }, { $set: { n: 9 } }, { upsert: true });
          expect(upserted.upsertedId).to.equal('f');
          expect(await docs.findOne({ _id: 'f' })).to.deep.equal({ _id: 'f', status: 'open', n: 9 });
        });
      });

      it('a conditional write by {_id, status} costs about what one by _id does, and an $in of n ids about a read of n documents', async () => {
        await withClient(uri, async (client) => {
          const docs = client.db('q').collection<{ _id: string; status: string; n: number }>('many');
          const n = 20_000;
          for (let i = 0; i < n; i += 5_000) await docs.insertMany(Array.from({ length: 5_000 }, (_, k) => ({ _id: `id-${i + k}`, status: 'open', n: i + k })));
          const picked = Array.from({ length: 1_000 }, (_, i) => `id-${i * 17}`);
          // Warmed once (a loaded machine and a cold JIT make a first bulk slower than the scans compared).
          await docs.bulkWrite(picked.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { n: -2 } } } })));
          const byId = await ms(() => docs.bulkWrite(picked.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { n: -1 } } } }))));
          const byIdAndStatus = await ms(async () => {
            const result = await docs.bulkWrite(picked.map((_id) => ({ updateOne: { filter: { _id, status: 'open' }, update: { $set: { status: 'done' } } } })));
            expect(result.matchedCount).to.equal(picked.length);
          });
          // Before: every one of those writes read the 20k documents (a scan each: 22-34 times as long).
          expect(byIdAndStatus, `by {_id, status}: ${byIdAndStatus.toFixed(0)} ms; by _id: ${byId.toFixed(0)} ms`).to.be.below(8 * byId + 500);

          const all = Array.from({ length: n }, (_, i) => `id-${i}`);
          const scan = await ms(async () => expect(await docs.find({}).toArray()).to.have.length(n));
          const listed = await ms(async () => expect(await docs.find({ _id: { $in: all } }).toArray()).to.have.length(n));
          // Before: each of the 20k documents was compared with the 20k ids of the list (50 times as long).
          expect(listed, `$in of ${n} ids: ${listed.toFixed(0)} ms; all ${n} documents: ${scan.toFixed(0)} ms`).to.be.below(8 * scan + 500);
        });
      });
    });
  }

  it('counts and groups a collection several times the size of its heap (an aggregation reads the documents as it goes)', async () => {
    // 64 MB of heap, 16 of them H2's page cache; 24k documents of 4 KB are ~120 MB decoded.
    // Before, an aggregation (and so every countDocuments) first read the whole collection into
    // one list: at 100k requests and the default 1 GB heap the server ran out of heap and died.
    const small = await startJavaServer({ cacheDir, port: 0, h2File: path.join(dir, 'aggregate.h2'), heapMb: 64 });
    servers.push(small);
    await withClient(small.uri, async (client) => {
      const docs = client.db('q').collection<{ _id: string; kind: string; filler: string }>('big');
      const filler = 'x'.repeat(4_000);
      const n = 24_000;
      for (let i = 0; i < n; i += 500) await docs.insertMany(Array.from({ length: 500 }, (_, k) => ({ _id: `d-${i + k}`, kind: (i + k) % 3 === 0 ? 'a' : 'b', filler })));
      expect(await docs.countDocuments({})).to.equal(n);
      expect(await docs.countDocuments({ kind: 'a' })).to.equal(n / 3);
      const groups = await docs.aggregate<{ _id: string; n: number }>([{ $match: { filler } }, { $group: { _id: '$kind', n: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray();
      expect(groups).to.deep.equal([{ _id: 'a', n: n / 3 }, { _id: 'b', n: (2 * n) / 3 }]);
      // Still up, and the documents are whole.
      expect((await docs.findOne({ _id: 'd-7' }))?.filler).to.equal(filler);
    });
  });

  it('opens a data file written before documents were stored as BSON, and keeps every value type across restarts', async () => {
    const h2File = path.join(dir, 'before.h2');
    const when = new Date('2026-11-26T14:05:00.123Z');
    type Stored = Document & { _id: string; list?: unknown[] };
    const original: Stored = {
      _id: 'doc-000',
      text: 'José Pérez ÆØÅ łódź 東京',
      int: 42,
      long: Long.fromString('9007199254740993'),
      double: 1.5,
      decimal: Decimal128.fromString('611.00'),
      when,
      yes: true,
      no: false,
      nothing: null,
      list: [1, 'two', { three: 3 }, [4]],
      nested: { a: { b: { c: 'deep' } }, empty: {} },
      binary: new Binary(Buffer.from([0, 1, 2, 255])),
      oid: new ObjectId('65a1b2c3d4e5f60718293a4b'),
    };
    const readAll = (client: MongoClient) => client.db('old').collection<Stored>('docs').find({}, { promoteLongs: false }).sort({ _id: 1 }).toArray();

    // Written by the engine as it stored documents before (H2's Java serialization: the periodic mode is H2's own backend).
    let server = await start(h2File, 'periodic');
    await withClient(server.uri, async (client) => {
      await client.db('old').collection<Stored>('docs').insertMany([original, ...Array.from({ length: 300 }, (_, i) => ({ _id: `doc-${String(i + 2).padStart(3, '0')}`, n: i, at: when }))]);
    });
    await stop(server);

    server = await start(h2File);
    const before = await withClient(server.uri, readAll);
    expect(before[0]).to.deep.equal(original);
    expect(before).to.have.length(301);
    // Rewrites pages: what they hold is now stored as BSON, beside pages still in the old form.
    await withClient(server.uri, async (client) => {
      await client.db('old').collection<Stored>('docs').updateOne({ _id: 'doc-000' }, { $set: { added: when }, $push: { list: 5 } as never });
      await client.db('old').collection<Stored>('docs').insertOne({ _id: 'doc-999', n: 999 });
    });
    await stop(server);

    server = await start(h2File);
    const after = await withClient(server.uri, readAll);
    expect(after[0]).to.deep.equal({ ...original, list: [...(original.list as unknown[]), 5], added: when });
    expect(after.slice(1, 301)).to.deep.equal(before.slice(1));
    expect(after[301]).to.deep.equal({ _id: 'doc-999', n: 999 });
    await stop(server);
  });

  it('drops the indexes that served only conditional writes from a data folder made before, and keeps the others', async () => {
    const server = await start(path.join(dir, 'indexes.h2'));
    const dbName = 'retired';
    await withClient(server.uri, async (client) => {
      const db = client.db(dbName);
      await db.collection('conciliation_requests').createIndex({ _id: 1, status: 1 }, { unique: true });
      await db.collection('conciliation_requests').createIndex({ _id: 1, status: 1, processingFence: 1 }, { unique: true });
      await db.collection('bank_transactions').createIndex({ _id: 1, usedBy: 1, claimFence: 1 }, { unique: true });
      // Another collection's index of the same name stays (mongo-java-server drops an index named so in every collection).
      await db.collection('other').createIndex({ _id: 1, status: 1 }, { unique: true });
      await db.collection('conciliation_requests').insertOne({ _id: 'r1' as never, status: 'pending' });
    });
    const database = await connectDatabase({ uri: server.uri, dbName, timeoutMs: 10_000, log: pino({ level: 'silent' }) });
    try {
      const keys = async (name: string) => (await database.connection.collection(name).indexes()).map((i) => JSON.stringify(i.key));
      const requests = await keys('conciliation_requests');
      expect(requests).to.not.include(JSON.stringify({ _id: 1, status: 1 }));
      expect(requests).to.not.include(JSON.stringify({ _id: 1, status: 1, processingFence: 1 }));
      expect(requests).to.include(JSON.stringify({ accountId: 1, externalId: 1 }));
      expect(await keys('bank_transactions')).to.not.include(JSON.stringify({ _id: 1, usedBy: 1, claimFence: 1 }));
      expect(await keys('bank_transactions')).to.include(JSON.stringify({ claimKey: 1 }));
      expect(await keys('other')).to.include(JSON.stringify({ _id: 1, status: 1 }));
      expect(await database.connection.collection('conciliation_requests').countDocuments({})).to.equal(1);
    } finally {
      await database.close();
    }
  });
});
