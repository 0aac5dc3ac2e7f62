import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { connectDatabase } from '../../src/store/database.js';
import { buildServices } from './services.js';

/**
 * A second (or third) reconciliation process for multi-process tests: the real services on
 * the database named by RECONBANKER_WORKER_URI, driven by JSON lines on stdin
 * (`{"id", "op": "rematch" | "sweep", …}`), each answered by one JSON line on stdout.
 *
 * RECONBANKER_WORKER_PAUSE_AT_MATCHED=1: the process stops itself (SIGSTOP), once, just
 * before it sends the first write that records a request as `matched` (after its claim, so
 * mid-settlement), having printed `PAUSED`. The test sends SIGCONT. Nothing else differs.
 */
const uri = process.env.RECONBANKER_WORKER_URI;
if (!uri) throw new Error('RECONBANKER_WORKER_URI is required');
const pauseAtMatched = process.env.RECONBANKER_WORKER_PAUSE_AT_MATCHED === '1';
const lockTtlMs = Number(process.env.RECONBANKER_WORKER_LOCK_TTL_MS ?? 60_000);

const say = (line: unknown) => writeSync(1, `${JSON.stringify(line)}\n`);

const db = await connectDatabase({ uri, timeoutMs: 10_000, log: pino({ level: 'silent' }), monitorCommands: pauseAtMatched });
if (pauseAtMatched) {
  let paused = false;
  db.connection.getClient().on('commandStarted', (event) => {
    if (paused || event.databaseName !== db.connection.name) return;
    const collection = (event.command as Record<string, unknown>)[event.commandName];
    if (collection !== 'conciliation_requests' || !['update', 'findAndModify'].includes(event.commandName)) return;
    if (!JSON.stringify(event.command).includes('"status":"matched"')) return;
    paused = true;
    writeSync(1, 'PAUSED\n');
    // Stops here, synchronously, before the command is written to the socket.
    process.kill(process.pid, 'SIGSTOP');
  });
}
const services = buildServices(db, { clock: systemClock, reconcileSettings: { lockTtlMs, lockWaitMs: 60_000 } });
say({ ready: true, pid: process.pid });

type Line = { id: number; op: 'rematch'; userId: string; account: string; externalId: string } | { id: number; op: 'sweep' } | { id: number; op: 'exit' };

for await (const text of createInterface({ input: process.stdin })) {
  if (!text.trim()) continue;
  const line = JSON.parse(text) as Line;
  try {
    if (line.op === 'exit') break;
    const result =
      line.op === 'rematch'
        ? (await services.reconcile.requests.rematch(line.userId, line.account, line.externalId)).summary
        : await services.reconcile.sweep();
    say({ id: line.id, ok: true, result });
  } catch (error) {
    say({ id: line.id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
}
await db.close();
process.exit(0);
