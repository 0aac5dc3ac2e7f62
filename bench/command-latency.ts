import { benchServices } from './lib/services.js';
import path from 'node:path';
import { pino } from 'pino';
import { allCommands } from '../commands/index.js';
import { createCommandRouter } from '../src/chat/router.js';
import type { FormResult } from '../src/chat/port.js';
import { cacheDir } from '../src/paths.js';
import { connectDatabase } from '../src/store/database.js';
import { startEmbeddedDatabase } from '../src/store/embedded/index.js';
import { percentile, report } from './lib/report.js';

/**
 * Chat command handling under 50 concurrent commands, through the router on the embedded
 * database (which shares the pinned core). SPEC §8's target (p99 < 200 ms) is for the
 * platform acknowledgement, which adapters send before handling; that is measured per
 * platform with the adapters (#8). This number is the whole handling, an upper bound.
 */
const CONCURRENCY = 50;
const ROUNDS = 20;
const log = pino({ level: 'silent' });

const embedded = await startEmbeddedDatabase({ engine: 'auto', port: 0, memoFile: path.join(cacheDir, 'test-engine.json'), cacheDir, log });
const database = await connectDatabase({ uri: embedded.uri, dbName: `bench_${Date.now()}`, timeoutMs: 10_000, log });
try {
  const services = benchServices(database, log);
  const router = createCommandRouter({ commands: allCommands(), services, log });
  const actor = { platform: 'bench', teamId: 'T', userId: 'U', displayName: 'bench' };
  await services.users.ensureOwner(actor, 'Bench');
  const noForm = { askPrivately: async (): Promise<FormResult> => ({ status: 'cancelled' }) };
  for (let i = 0; i < 20; i++) {
    await router.handle({ actor, place: { ref: 'bench:dm', kind: 'dm', private: true }, text: `account add acct-${i} sandbox`, progress: async () => undefined }, noForm);
  }
  const texts = ['account list', 'account show acct-3', 'banks', 'mode', 'account set acct-5 retry_limit=4'];
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, i) => {
        const started = performance.now();
        await router.handle({ actor, place: { ref: 'bench:dm', kind: 'dm', private: true }, text: texts[i % texts.length] as string, progress: async () => undefined }, noForm);
        latencies.push(performance.now() - started);
      }),
    );
  }
  latencies.sort((a, b) => a - b);
  console.log(`engine: ${embedded.engine}; ${CONCURRENCY} concurrent commands × ${ROUNDS} rounds (${latencies.length} commands), 20 accounts`);
  report('command handling p50 (50 concurrent)', percentile(latencies, 50), 'ms');
  report('command handling p99 (50 concurrent; ack target 200 ms is per platform)', percentile(latencies, 99), 'ms');
} finally {
  await database.connection.dropDatabase();
  await database.close();
  await embedded.stop();
}
