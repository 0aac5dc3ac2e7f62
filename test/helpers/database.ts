import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { connectDatabase, type Database } from '../../src/store/database.js';

export function testServerUri(): string {
  const uri = process.env.RECONBANKER_TEST_MONGODB_URI;
  if (!uri) throw new Error('the test database was not started (test/helpers/global-setup.ts)');
  return uri;
}

/** A database name of its own for one test file (or one process under test). */
export function freshDatabaseName(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

/** A connection string to a fresh database on the test server. */
export function freshDatabaseUri(label: string): string {
  const base = new URL(testServerUri());
  base.pathname = `/${freshDatabaseName(label)}`;
  return base.toString();
}

/**
 * mongo-java-server can refuse a dropDatabase that races with a write still finishing from the
 * tests' background work ("index not found with name [...]", seen once in CI): tried again.
 */
async function dropWithRetry(db: Database): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.connection.dropDatabase();
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/**
 * A fresh database for the calling `describe` block, dropped after it. Use the returned
 * object's `db` inside hooks and tests.
 */
export function useTestDatabase(label: string): { readonly db: Database } {
  const holder: { db?: Database } = {};
  before(async () => {
    holder.db = await connectDatabase({ uri: testServerUri(), dbName: freshDatabaseName(label), timeoutMs: 10_000, log: pino({ level: 'silent' }) });
  });
  after(async () => {
    if (!holder.db) return;
    await dropWithRetry(holder.db);
    await holder.db.close();
  });
  return {
    get db() {
      if (!holder.db) throw new Error('database not ready: use it inside hooks or tests');
      return holder.db;
    },
  };
}

/** Every document of every collection of the database at `uri`, as one JSON text (to check that no secret was stored readable). */
export async function dumpDatabase(uri: string): Promise<string> {
  const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    const db = connection.db;
    if (!db) throw new Error('no database handle');
    const parts: string[] = [];
    for (const collection of await db.collections()) parts.push(JSON.stringify(await collection.find({}).toArray()));
    return parts.join('\n');
  } finally {
    await connection.close();
  }
}
