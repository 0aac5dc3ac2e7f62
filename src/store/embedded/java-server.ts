import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { projectRoot } from '../../paths.js';

const execFileAsync = promisify(execFile);

export type ServerExit = { code: number | null; signal: NodeJS.Signals | null };

export type RunningServer = {
  uri: string;
  /** The server's own process, where it is a child of ours. */
  pid?: number;
  /** Settles when the server has ended, whether stopped or killed. */
  exited: Promise<ServerExit>;
  stop(): Promise<void>;
};

/** Says what start-up is doing, as it happens (the first run can take a minute). */
export type StepReporter = (step: string) => void;

/** The data file is held by another process (H2's own file lock). */
export class DataFileLockedError extends Error {
  constructor(readonly file: string) {
    super(`the data file ${file} is locked by another process`);
    this.name = 'DataFileLockedError';
  }
}

const toolDir = path.join(projectRoot, 'tools', 'mongo-java-server');

function shortHash(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The classpath of mongo-java-server, resolved by Maven once and cached beside node_modules,
 * keyed by the pom's hash so a version bump re-resolves.
 */
export async function resolveJavaClasspath(cacheDir: string, step: StepReporter = () => undefined): Promise<string> {
  const pom = path.join(toolDir, 'pom.xml');
  const cacheFile = path.join(cacheDir, `mongo-java-server-${shortHash(readFileSync(pom))}.classpath`);
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').trim();
    if (cached && cached.split(path.delimiter).every((jar) => existsSync(jar))) return cached;
  }
  mkdirSync(cacheDir, { recursive: true });
  step('Embedded database: resolving the mongo-java-server classpath with Maven (first run only, ~30 s)…');
  // Written aside and renamed: a run killed half-way never leaves a truncated classpath behind.
  const partial = `${cacheFile}.${process.pid}.tmp`;
  try {
    await execFileAsync('mvn', ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${partial}`], { timeout: 300_000 });
    renameSync(partial, cacheFile);
  } catch (error) {
    rmSync(partial, { force: true });
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`could not resolve mongo-java-server with Maven (is "mvn" installed?): ${detail}`);
  }
  return readFileSync(cacheFile, 'utf8').trim();
}

/**
 * The launcher compiled once (javac) into the cache, keyed by its source and classpath: a JVM
 * then starts in about half the time of running Launcher.java as a source file, which matters
 * for every restart. Without javac, the source file is run directly.
 */
async function launcherArgs(cacheDir: string, classpath: string, step: StepReporter): Promise<string[]> {
  const source = path.join(toolDir, 'Launcher.java');
  const classes = path.join(cacheDir, `launcher-${shortHash(readFileSync(source), classpath)}`);
  if (existsSync(path.join(classes, 'Launcher.class'))) return ['-cp', `${classpath}${path.delimiter}${classes}`, 'Launcher'];
  step('Embedded database: compiling the mongo-java-server launcher (first run only)…');
  const partial = `${classes}.${process.pid}.tmp`;
  const compiled = ['-cp', `${classpath}${path.delimiter}${classes}`, 'Launcher'];
  try {
    await execFileAsync('javac', ['-nowarn', '-d', partial, '-cp', classpath, source], { timeout: 120_000 });
    renameSync(partial, classes);
    return compiled;
  } catch {
    rmSync(partial, { recursive: true, force: true });
    // Another start compiled it meanwhile (the rename lost), or there is no javac.
    return existsSync(path.join(classes, 'Launcher.class')) ? compiled : ['-cp', classpath, source];
  }
}

export type JavaServerOptions = {
  cacheDir: string;
  port: number;
  h2File?: string | undefined;
  startTimeoutMs?: number;
  /**
   * `every-write` (the default): a write's answer leaves the server once it is in the H2 file.
   * `periodic`: the former behaviour (a commit every 200 ms), kept only for bench/ to compare.
   */
  commit?: 'every-write' | 'periodic';
  step?: StepReporter;
  /** The JVM's heap limit (-Xmx), DEFAULT_JAVA_HEAP_MB when omitted. */
  heapMb?: number | undefined;
};

/**
 * mongo-java-server keeps every document a query returns in memory until the cursor is read
 * (and the H2 pages it touched in its cache): settling a poll of 100k orders on one account
 * needs about 1 GB (256 MB ran out at 100k). The JVM takes only what it uses up to this limit.
 */
export const DEFAULT_JAVA_HEAP_MB = 1024;

/**
 * Starts mongo-java-server on 127.0.0.1. With `h2File` data persist (H2 backend, each write
 * committed before it is acknowledged); without, they live in memory. The child exits when our
 * end of its stdin closes, so it never outlives this process.
 */
export async function startJavaServer(options: JavaServerOptions): Promise<RunningServer> {
  const step = options.step ?? (() => undefined);
  const classpath = await resolveJavaClasspath(options.cacheDir, step);
  const launcher = await launcherArgs(options.cacheDir, classpath, step);
  if (options.h2File) mkdirSync(path.dirname(options.h2File), { recursive: true });
  const args = [`-Xmx${options.heapMb ?? DEFAULT_JAVA_HEAP_MB}m`, '-XX:+UseSerialGC', ...launcher, String(options.port)];
  if (options.h2File) args.push(options.h2File);
  if (options.h2File && options.commit === 'periodic') args.push('--periodic-commit');
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A spawn failure (no java) ends the child without an exit event.
  const exited = new Promise<ServerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // Our end of the pipe may break when the server is killed; that is reported through `exited`.
  child.stdin.on('error', () => undefined);

  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const port = await new Promise<number>((resolve, reject) => {
    let said: string | undefined;
    const timer = setTimeout(() => reject(new Error(`mongo-java-server did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const text = line.trim();
      const ready = /^READY (\d+)$/.exec(text);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      } else if (/^(LOCKED|ERROR) /.test(text)) said = text;
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run java: ${error.message}`));
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      if (said?.startsWith('LOCKED ')) reject(new DataFileLockedError(said.slice('LOCKED '.length)));
      else if (said) reject(new Error(`mongo-java-server could not start: ${said.slice('ERROR '.length)}`));
      else reject(new Error(`mongo-java-server exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  let stopping: Promise<void> | undefined;
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    ...(child.pid ? { pid: child.pid } : {}),
    exited,
    stop() {
      stopping ??= (async () => {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Where `npm start` keeps the embedded database's data. */
export function h2FileIn(dataDir: string): string {
  return path.join(dataDir, 'mongo-java-server.h2');
}
