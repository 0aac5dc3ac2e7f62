import { benchServices } from './lib/services.js';
import path from 'node:path';
import { pino } from 'pino';
import { createSandboxBank } from '../src/banks/sandbox/bank-server.js';
import { cacheDir } from '../src/paths.js';
import { type Services } from '../src/services.js';
import { createBrowserPool } from '../src/sessions/browser-pool.js';
import { connectDatabase } from '../src/store/database.js';
import { startEmbeddedDatabase } from '../src/store/embedded/index.js';
import { percentile, report } from './lib/report.js';
import { treeMemoryMb } from './lib/proc-memory.js';

/**
 * Bank sessions on the sandbox bank with Debian's Chromium (SPEC §8):
 *  - one-shot session (login, read 200 transactions over 8 pages, logout, close): median < 3 s
 *  - persistent session detection latency (transaction appears → stored): p50 < 5 s
 *  - memory of the service (Node + every Chromium process; the database is a service of its own
 *    and left out) with 1, 10 and 30 persistent sessions: < 60 MB per session
 */
const log = pino({ level: 'silent' });
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const embedded = await startEmbeddedDatabase({ engine: 'auto', port: 0, memoFile: path.join(cacheDir, 'test-engine.json'), cacheDir, log });
const database = await connectDatabase({ uri: embedded.uri, dbName: `bench_sessions_${Date.now()}`, timeoutMs: 10_000, log });
const bank = createSandboxBank();
await bank.start();
const pool = createBrowserPool({ executablePath: chromiumPath, maxContexts: 32, log });
const pollMs = 3_000;
const services: Services = benchServices(database, log, {
  sandboxUrl: bank.url,
  pool,
  maxConcurrentSessions: 32,
  sessionSettings: { otpTimeoutMs: 60_000, persistentPollMs: pollMs, monitorTickMs: 500 },
});
const owner = await services.users.createTenant({ platform: 'bench', teamId: 'T', userId: 'U', displayName: 'bench' }, 'Bench');

async function account(name: string, persistent: boolean) {
  bank.addUser({ username: name, password: 'pw' });
  const created = await services.accounts.create(owner.userId, { name, bank: 'sandbox' });
  await services.accounts.configure(owner.userId, created.id, { bank_username: name, bank_password: 'pw', ...(persistent ? { session_type: 'persistent' } : {}) });
  return created.id;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
console.log(`engine: ${embedded.engine}; Chromium ${chromiumPath}; sandbox on loopback; persistent poll every ${pollMs} ms`);

try {
  // One-shot: 200 transactions over the last two days (8 pages of 25).
  const oneShot = await account('oneshot', false);
  bank.addMovements(
    'oneshot',
    Array.from({ length: 200 }, (_, i) => ({ at: new Date(Date.now() - i * 10 * 60_000).toISOString(), amount: `${100 + i}.00`, sender: `Pagador ${i}` })),
  );
  const cold = performance.now();
  const first = await services.sessions.runner.runOneShot(oneShot, 'manual');
  const coldMs = performance.now() - cold;
  if (first.status !== 'ok' || first.found !== 200) throw new Error(`one-shot bench run failed: ${JSON.stringify(first)}`);
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const started = performance.now();
    const result = await services.sessions.runner.runOneShot(oneShot, 'manual');
    if (result.status !== 'ok') throw new Error(`one-shot bench run failed: ${JSON.stringify(result)}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  report('one-shot session, first (includes launching Chromium)', coldMs / 1000, 's');
  report('one-shot session median (login + 200 tx + logout), 9 runs', percentile(times, 50) / 1000, 's', { max: 3 });

  // Persistent: detection latency on one session.
  const live = await account('live', true);
  await services.sessions.monitors.tick();
  while (bank.stats('live').activeSessions < 1) await wait(50);
  const latencies: number[] = [];
  for (let i = 0; i < 10; i++) {
    await wait(Math.round(Math.random() * pollMs)); // land anywhere in the poll cycle
    const amount = 7_000 + i;
    bank.addMovements('live', [{ at: new Date().toISOString(), amount: `${amount}.00`, sender: 'Latency' }]);
    const injected = performance.now();
    while (!(await database.models.BankTransaction.exists({ accountId: live, amountMinor: amount * 100 }))) await wait(25);
    latencies.push(performance.now() - injected);
  }
  latencies.sort((a, b) => a - b);
  report('persistent detection latency p50 (inject → stored), 10 samples', percentile(latencies, 50) / 1000, 's', { max: 5 });
  report('persistent detection latency max', latencies[latencies.length - 1]! / 1000, 's');

  // Memory with 1, 10, 30 persistent sessions (the 'live' one counts).
  const names = ['live'];
  for (const target of [1, 10, 30]) {
    while (names.length < target) {
      const name = `mem${names.length}`;
      await account(name, true);
      names.push(name);
    }
    await services.sessions.monitors.tick();
    const deadline = Date.now() + 120_000;
    while (names.some((n) => bank.stats(n).activeSessions < 1)) {
      if (Date.now() > deadline) throw new Error('persistent sessions did not all log in');
      await wait(200);
    }
    await wait(2 * pollMs); // a couple of read cycles
    const memory = treeMemoryMb(process.pid, embedded.pid ? [embedded.pid] : []);
    report(`memory with ${target} persistent session(s): PSS total (${memory.processes} processes)`, memory.pssMb, 'MB');
    // SPEC §8 states the per-session target at 30 sessions; below that the fixed cost dominates.
    report(`memory with ${target} persistent session(s): PSS per session`, memory.pssMb / target, 'MB', target === 30 ? { max: 60 } : undefined);
    report(`memory with ${target} persistent session(s): RSS sum (double-counts shared pages)`, memory.rssMb, 'MB');
  }
} finally {
  await services.sessions.monitors.stop();
  await pool.close();
  await bank.stop();
  await database.connection.dropDatabase();
  await database.close();
  await embedded.stop();
}
