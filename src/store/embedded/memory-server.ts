import { mkdirSync } from 'node:fs';
import type { RunningServer } from './java-server.js';

/**
 * mongodb-memory-server: a real mongod, downloaded on first use. Where no binary can be had
 * (offline machines) this fails, and the caller falls back to mongo-java-server.
 */
export async function startMemoryServer(options: { port: number; dbPath?: string | undefined }): Promise<RunningServer> {
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // The library prints its own multi-line error on failure; ours (one line, with the fallback) suffices.
  const warn = console.warn;
  console.warn = () => undefined;
  const server = await MongoMemoryServer.create({
    instance: {
      ip: '127.0.0.1',
      ...(options.port > 0 ? { port: options.port } : {}),
      ...(options.dbPath ? { dbPath: options.dbPath, storageEngine: 'wiredTiger' as const } : {}),
    },
  }).finally(() => {
    console.warn = warn;
  });
  return {
    uri: server.getUri().replace(/\/$/, ''),
    async stop() {
      await server.stop({ doCleanup: !options.dbPath, force: false });
    },
  };
}
