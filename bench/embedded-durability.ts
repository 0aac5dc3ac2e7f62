import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { cacheDir } from '../src/paths.js';
import { startJavaServer } from '../src/store/embedded/java-server.js';
import { percentile, report } from './lib/report.js';

/**
 * What "no acknowledged write lost on kill -9" costs on the embedded database (issue 13 item 11):
 * mongo-java-server with its H2 file, each write committed to the file before it is answered,
 * against the former behaviour (answered at once, committed every 200 ms). Small documents, as
 * the service writes them; one writer in sequence, then 16 at once.
 *
 * Targets: SPEC §8 asks a chat command's acknowledgement in p99 < 200 ms under 50 concurrent
 * commands, and a command makes up to about four writes one after another, so one write under
 * concurrency may take a quarter of that: p99 ≤ 50 ms with 16 writers. Throughput: SPEC §8's
 * ≥ 500 webhook deliveries/s each write their state once, so the durable file must take
 * ≥ 500 writes/s from 16 writers. The former behaviour is measured beside it, without targets.
 */
const SEQUENTIAL = 1_500;
const CONCURRENT = 4_000;
const WRITERS = 16;

type Figures = { sequential: number[]; concurrent: number[]; concurrentSeconds: number; fileMb: number };

async function measure(commit: 'every-write' | 'periodic'): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-bench-durable-'));
  const h2File = path.join(dir, 'bench.h2');
  const server = await startJavaServer({ cacheDir, port: 0, h2File, commit });
  const client = new MongoClient(server.uri, { maxPoolSize: WRITERS });
  try {
    const accounts = client.db('bench').collection<{ _id: number; status: string; n: number }>('accounts');
    const movements = client.db('bench').collection<{ _id: number; amountMinor: number; payer: string }>('movements');
    // Warm-up (JIT, connections, the collections' first pages): not measured.
    for (let i = 0; i < 200; i++) await accounts.updateOne({ _id: i % 20 }, { $set: { status: 'warm', n: i } }, { upsert: true });
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => movements.insertOne({ _id: -1 - w, amountMinor: 0, payer: 'warm' })));

    const sequential: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const started = performance.now();
      await accounts.updateOne({ _id: i % 20 }, { $set: { status: i % 2 ? 'inactive' : 'active', n: i } });
      sequential.push(performance.now() - started);
    }

    const concurrent: number[] = [];
    let next = 0;
    const begun = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let id = next++; id < CONCURRENT; id = next++) {
          const started = performance.now();
          await movements.insertOne({ _id: id, amountMinor: 1000 + id, payer: `Payer ${id}` });
          concurrent.push(performance.now() - started);
        }
      }),
    );
    const concurrentSeconds = (performance.now() - begun) / 1000;
    return { sequential: sequential.sort((a, b) => a - b), concurrent: concurrent.sort((a, b) => a - b), concurrentSeconds, fileMb: statSync(h2File).size / 1024 / 1024 };
  } finally {
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`engine: mongo-java-server + H2 file; ${SEQUENTIAL} sequential updates, then ${CONCURRENT} inserts from ${WRITERS} writers; load average ${loadavg()[0]?.toFixed(1)}`);
const before = await measure('periodic');
const after = await measure('every-write');
for (const [label, figures, targets] of [
  ['before (commit every 200 ms; loses writes on kill -9)', before, false],
  ['after (commit before answering)', after, true],
] as const) {
  console.log(`-- ${label}`);
  report('one writer: writes per second', SEQUENTIAL / (figures.sequential.reduce((sum, ms) => sum + ms, 0) / 1000), '/s');
  report('one writer: write latency p50', percentile(figures.sequential, 50), 'ms');
  report('one writer: write latency p99', percentile(figures.sequential, 99), 'ms');
  report(`${WRITERS} writers: writes per second`, CONCURRENT / figures.concurrentSeconds, '/s', targets ? { min: 500 } : undefined);
  report(`${WRITERS} writers: write latency p50`, percentile(figures.concurrent, 50), 'ms');
  report(`${WRITERS} writers: write latency p99`, percentile(figures.concurrent, 99), 'ms', targets ? { max: 50 } : undefined);
  report('H2 file size afterwards (freed space is reused after 45 s)', figures.fileMb, 'MB');
}
