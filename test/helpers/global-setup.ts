import path from 'node:path';
import { pino } from 'pino';
import { cacheDir } from '../../src/paths.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/store/embedded/index.js';

/**
 * Once per test run: with MONGODB_URI, the suites use that server; otherwise the same embedded
 * launcher as `npm start` (in memory). Test files get a fresh database each (helpers/database.ts).
 */
let embedded: EmbeddedDatabase | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.RECONBANKER_TEST_MONGODB_URI = process.env.MONGODB_URI;
    console.log(`Test database: MONGODB_URI (${process.env.MONGODB_URI.replace(/\/\/[^@/]*@/, '//***@')})`);
    return;
  }
  const engine = (process.env.EMBEDDED_DB_ENGINE as 'auto' | 'java' | 'memory-server' | undefined) ?? 'auto';
  embedded = await startEmbeddedDatabase({
    engine,
    port: 0,
    memoFile: path.join(cacheDir, 'test-engine.json'),
    cacheDir,
    log: pino({ level: 'silent' }),
  });
  process.env.RECONBANKER_TEST_MONGODB_URI = embedded.uri;
  console.log(`Test database: embedded ${embedded.engine} at ${embedded.uri} (${embedded.reason})`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await embedded?.stop();
}
