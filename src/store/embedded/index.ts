import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { claimDataFolder, dataFolderOwner, DataFolderInUseError } from './data-folder-lock.js';
import { DataFileLockedError, h2FileIn, startJavaServer, type RunningServer, type ServerExit, type StepReporter } from './java-server.js';
import { memoryServerUnavailable, startMemoryServer } from './memory-server.js';
import { superviseServer, type SupervisorHooks, type SupervisorPolicy } from './supervisor.js';

export { DataFolderInUseError } from './data-folder-lock.js';
export type { StepReporter } from './java-server.js';
export type { SupervisorHooks, SupervisorPolicy } from './supervisor.js';

export type EmbeddedEngine = 'memory-server' | 'java';

export type EmbeddedDatabase = {
  uri: string;
  engine: EmbeddedEngine;
  reason: string;
  /** The server's process now (it changes when a supervised server is restarted). */
  readonly pid: number | undefined;
  /** Settles when the server running now ends. */
  readonly exited: Promise<ServerExit>;
  /**
   * From now on, a server that ends on its own is started again (same port, same data) with
   * back-off; `hooks` hear of the outage, the recovery, or that it could not come back.
   */
  supervise(hooks: SupervisorHooks, policy?: SupervisorPolicy): void;
  stop(): Promise<void>;
};

const memoSchema = z.object({ engine: z.enum(['memory-server', 'java']), reason: z.string(), at: z.string() });

export type EmbeddedOptions = {
  /** `auto` tries mongodb-memory-server, then mongo-java-server, and remembers the winner. */
  engine: 'auto' | EmbeddedEngine;
  port: number;
  /** Keep data here across restarts; omit for a throw-away in-memory database (tests). */
  dataDir?: string | undefined;
  /** Where the engine that worked is remembered (per data folder: its files belong to one engine). */
  memoFile: string;
  cacheDir: string;
  log: Logger;
  /** Start-up steps as they happen (the console prints them; the first run can take a minute). */
  step?: StepReporter;
  /** mongo-java-server's Java heap (DEFAULT_JAVA_HEAP_MB when omitted). */
  javaHeapMb?: number | undefined;
};

function readMemo(file: string): z.infer<typeof memoSchema> | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = memoSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

function writeMemo(file: string, engine: EmbeddedEngine, reason: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ engine, reason, at: new Date().toISOString() }, null, 2)}\n`);
}

function removeIfEmpty(dir: string | undefined): void {
  if (dir && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
}

/** How long a data file may stay locked by a process that is not a live Reconbanker (the JVM of one just killed closes its file). */
const LOCK_GRACE_MS = 15_000;

async function startOnce(engine: EmbeddedEngine, options: EmbeddedOptions, port: number): Promise<RunningServer> {
  const step = options.step ?? (() => undefined);
  if (engine === 'java') {
    const h2File = options.dataDir ? h2FileIn(options.dataDir) : undefined;
    step(`Embedded database: starting mongo-java-server${h2File ? ` (data in ${h2File})` : ''}…`);
    return startJavaServer({ cacheDir: options.cacheDir, port, h2File, step, heapMb: options.javaHeapMb });
  }
  step('Embedded database: starting mongod (mongodb-memory-server)…');
  return startMemoryServer({ port, dbPath: options.dataDir ? path.join(options.dataDir, 'mongod') : undefined });
}

/**
 * One engine started; a data file still locked by a process that is no live Reconbanker is
 * waited for a little (a JVM whose service was just killed closes its file as it exits).
 */
async function start(engine: EmbeddedEngine, options: EmbeddedOptions, port = options.port): Promise<RunningServer> {
  const deadline = Date.now() + LOCK_GRACE_MS;
  for (;;) {
    try {
      return await startOnce(engine, options, port);
    } catch (error) {
      if (!(error instanceof DataFileLockedError) || !options.dataDir) throw error;
      const owner = dataFolderOwner(options.dataDir);
      if (owner || Date.now() > deadline) throw new DataFolderInUseError(options.dataDir, owner);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function choose(options: EmbeddedOptions): Promise<{ server: RunningServer; engine: EmbeddedEngine; reason: string }> {
  const { log } = options;
  if (options.engine !== 'auto') return { server: await start(options.engine, options), engine: options.engine, reason: 'chosen by EMBEDDED_DB_ENGINE' };

  const memo = readMemo(options.memoFile);
  if (memo) return { server: await start(memo.engine, options), engine: memo.engine, reason: `remembered in ${options.memoFile} (${memo.reason})` };

  const step = options.step ?? (() => undefined);
  step('Embedded database: first start, choosing the engine (mongodb-memory-server if a mongod can be had, else mongo-java-server)…');
  let why = await memoryServerUnavailable(step).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  if (!why) {
    try {
      const server = await start('memory-server', options);
      const reason = 'mongodb-memory-server started a real mongod';
      writeMemo(options.memoFile, 'memory-server', reason);
      return { server, engine: 'memory-server', reason };
    } catch (error) {
      if (error instanceof DataFolderInUseError) throw error;
      why = error instanceof Error ? error.message : String(error);
    }
  }
  why = why.replace(/\s+/g, ' ').slice(0, 240);
  log.warn({ why }, 'mongodb-memory-server is not usable here; falling back to mongo-java-server');
  step(`Embedded database: mongodb-memory-server is not usable here (${why}); using mongo-java-server.`);
  removeIfEmpty(options.dataDir && path.join(options.dataDir, 'mongod'));
  const server = await start('java', options);
  const reason = `mongodb-memory-server failed: ${why}`;
  writeMemo(options.memoFile, 'java', reason);
  return { server, engine: 'java', reason };
}

/** Chooses and starts the embedded engine, logging which one and why. */
export async function startEmbeddedDatabase(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = options;
  let claim: { release(): void } | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    claim = claimDataFolder(options.dataDir);
  }
  let chosen: Awaited<ReturnType<typeof choose>>;
  try {
    chosen = await choose(options);
  } catch (error) {
    claim?.release();
    throw error;
  }
  const { engine, reason } = chosen;
  const uri = chosen.server.uri;
  const port = Number(new URL(uri).port);
  log.info({ engine, uri, serverPid: chosen.server.pid, reason }, 'embedded database started');

  const server = chosen.server;
  let supervised: ReturnType<typeof superviseServer> | undefined;
  return {
    uri,
    engine,
    reason,
    get pid() {
      return (supervised?.current() ?? server).pid;
    },
    get exited() {
      return (supervised?.current() ?? server).exited;
    },
    supervise(hooks, policy) {
      if (supervised) return;
      supervised = superviseServer({
        first: server,
        // The same port, so the connected driver finds it again by itself.
        restart: async () => {
          const restarted = await start(engine, { ...options, step: () => undefined }, port);
          log.info({ engine, uri, serverPid: restarted.pid }, 'embedded database started');
          return restarted;
        },
        hooks,
        log,
        what: `the embedded database (${engine === 'java' ? 'mongo-java-server' : 'mongod'})`,
        ...(policy ? { policy } : {}),
      });
    },
    async stop() {
      try {
        if (supervised) await supervised.stop();
        else await server.stop();
      } finally {
        claim?.release();
      }
    },
  };
}
