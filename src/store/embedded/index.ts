import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { h2FileIn, startJavaServer, type RunningServer } from './java-server.js';
import { startMemoryServer } from './memory-server.js';

export type EmbeddedEngine = 'memory-server' | 'java';

export type EmbeddedDatabase = RunningServer & { engine: EmbeddedEngine; reason: string };

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

function start(engine: EmbeddedEngine, options: EmbeddedOptions): Promise<RunningServer> {
  if (engine === 'java') {
    return startJavaServer({
      cacheDir: options.cacheDir,
      port: options.port,
      h2File: options.dataDir ? h2FileIn(options.dataDir) : undefined,
    });
  }
  return startMemoryServer({ port: options.port, dbPath: options.dataDir ? path.join(options.dataDir, 'mongod') : undefined });
}

/** Chooses and starts the embedded engine, logging which one and why. */
export async function startEmbeddedDatabase(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = options;
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });

  if (options.engine !== 'auto') {
    const server = await start(options.engine, options);
    const reason = 'chosen by EMBEDDED_DB_ENGINE';
    log.info({ engine: options.engine, uri: server.uri, reason }, 'embedded database started');
    return { ...server, engine: options.engine, reason };
  }

  const memo = readMemo(options.memoFile);
  if (memo) {
    const server = await start(memo.engine, options);
    const reason = `remembered in ${options.memoFile} (${memo.reason})`;
    log.info({ engine: memo.engine, uri: server.uri, reason }, 'embedded database started');
    return { ...server, engine: memo.engine, reason };
  }

  try {
    const server = await start('memory-server', options);
    const reason = 'mongodb-memory-server started a real mongod';
    writeMemo(options.memoFile, 'memory-server', reason);
    log.info({ engine: 'memory-server', uri: server.uri, reason }, 'embedded database started');
    return { ...server, engine: 'memory-server', reason };
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 240);
    log.warn({ why }, 'mongodb-memory-server is not usable here; falling back to mongo-java-server');
    removeIfEmpty(options.dataDir && path.join(options.dataDir, 'mongod'));
    const server = await start('java', options);
    const reason = `mongodb-memory-server failed: ${why}`;
    writeMemo(options.memoFile, 'java', reason);
    log.info({ engine: 'java', uri: server.uri, reason }, 'embedded database started');
    return { ...server, engine: 'java', reason };
  }
}
