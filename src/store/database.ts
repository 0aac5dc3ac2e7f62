import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../log.js';
import { UnavailableError } from '../domain/errors.js';
import { ensureIndexes, registerModels, type Models } from './models.js';

export type Database = {
  connection: Connection;
  models: Models;
  close(): Promise<void>;
};

/** Removes credentials from a connection string before it is logged or shown. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Connects (failing fast with a clear error if the server is unreachable), registers the
 * models and builds their indexes. While running, the driver reconnects by itself; operations
 * meanwhile fail after `timeoutMs` and surface as UnavailableError.
 */
export async function connectDatabase(options: {
  uri: string;
  dbName?: string | undefined;
  timeoutMs: number;
  log: Logger;
  /** Writes are acknowledged only once in the server's journal (a mongod we started: kill -9 then loses nothing answered). */
  journaled?: boolean;
  /** The driver emits commandStarted/…Succeeded events (benches count round trips; tests pause at a write). */
  monitorCommands?: boolean;
}): Promise<Database> {
  const { log } = options;
  const connection = mongoose.createConnection(options.uri, {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    ...(options.journaled ? { writeConcern: { w: 1, journal: true } } : {}),
    serverSelectionTimeoutMS: options.timeoutMs,
    ...(options.monitorCommands ? { monitorCommands: true } : {}),
    bufferCommands: false,
    autoIndex: false,
  });
  try {
    await connection.asPromise();
  } catch (error) {
    await connection.close().catch(() => undefined);
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UnavailableError(`Cannot reach MongoDB at ${redactUri(options.uri)}: ${detail}`);
  }
  connection.on('disconnected', () => log.warn('database connection lost; the driver keeps retrying'));
  connection.on('reconnected', () => log.info('database connection restored'));
  const models = registerModels(connection);
  await ensureIndexes(models);
  return {
    connection,
    models,
    async close() {
      connection.removeAllListeners('disconnected');
      await connection.close();
    },
  };
}

/** True for errors that mean "the database cannot be reached now" rather than a bad request. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const names = ['MongoNetworkError', 'MongoServerSelectionError', 'MongooseServerSelectionError', 'MongoNotConnectedError', 'MongoTopologyClosedError', 'MongoNetworkTimeoutError'];
  if (names.includes(error.name)) return true;
  return /connection .* closed|not connected|buffering timed out|Client must be connected/i.test(error.message);
}

/** True for a unique-index violation (E11000). */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 11000;
}
