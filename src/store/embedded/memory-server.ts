import { lookup } from 'node:dns/promises';
import { mkdirSync } from 'node:fs';
import type { RunningServer, ServerExit, StepReporter } from './java-server.js';

/**
 * Whether mongodb-memory-server can have a mongod without waiting for a download that cannot
 * work: a cached or system binary is used at once; otherwise the download host must at least
 * resolve. Offline, the library tries three downloads with back-off (about 8 s) before failing;
 * one DNS lookup says the same in milliseconds. Resolves to undefined when worth trying, or
 * to the reason it is not.
 */
export async function memoryServerUnavailable(step: StepReporter = () => undefined): Promise<string | undefined> {
  const { DryMongoBinary } = await import('mongodb-memory-server-core');
  const options = await DryMongoBinary.generateOptions();
  if (await DryMongoBinary.locateBinary(options)) return undefined;
  const { MongoBinaryDownloadUrl } = await import('mongodb-memory-server-core/lib/util/MongoBinaryDownloadUrl.js');
  const url = new URL(await new MongoBinaryDownloadUrl(options).getDownloadUrl());
  const resolved = await Promise.race([
    lookup(url.hostname).then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 3_000).unref()),
  ]);
  if (!resolved) return `mongod ${options.version} is not cached and its download host ${url.hostname} cannot be resolved (offline?)`;
  step(`Embedded database: downloading mongod ${options.version} from ${url.hostname} for mongodb-memory-server (first run only)…`);
  return undefined;
}

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
  const mongod = server.instanceInfo?.instance.mongodProcess;
  const exited = new Promise<ServerExit>((resolve) => {
    if (!mongod || mongod.exitCode !== null || mongod.signalCode !== null) resolve({ code: mongod?.exitCode ?? null, signal: mongod?.signalCode ?? null });
    else mongod.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    uri: server.getUri().replace(/\/$/, ''),
    ...(mongod?.pid ? { pid: mongod.pid } : {}),
    exited,
    async stop() {
      await server.stop({ doCleanup: !options.dbPath, force: false });
    },
  };
}
