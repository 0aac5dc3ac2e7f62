import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { projectRoot } from '../../paths.js';

const execFileAsync = promisify(execFile);

export type RunningServer = { uri: string; /** The server's own process, where it is a child of ours. */ pid?: number; stop(): Promise<void> };

const toolDir = path.join(projectRoot, 'tools', 'mongo-java-server');

/**
 * The classpath of mongo-java-server, resolved by Maven once and cached beside node_modules,
 * keyed by the pom's hash so a version bump re-resolves.
 */
export async function resolveJavaClasspath(cacheDir: string): Promise<string> {
  const pom = path.join(toolDir, 'pom.xml');
  const pomHash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 16);
  const cacheFile = path.join(cacheDir, `mongo-java-server-${pomHash}.classpath`);
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').trim();
    if (cached && cached.split(path.delimiter).every((jar) => existsSync(jar))) return cached;
  }
  mkdirSync(cacheDir, { recursive: true });
  try {
    await execFileAsync('mvn', ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${cacheFile}`], {
      timeout: 300_000,
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`could not resolve mongo-java-server with Maven (is "mvn" installed?): ${detail}`);
  }
  return readFileSync(cacheFile, 'utf8').trim();
}

/**
 * Starts mongo-java-server on 127.0.0.1. With `h2File` data persist (H2 backend, committed every
 * 200 ms and on shutdown); without, they live in memory. The child exits when our end of its
 * stdin closes, so it never outlives this process.
 */
export async function startJavaServer(options: { cacheDir: string; port: number; h2File?: string | undefined; startTimeoutMs?: number }): Promise<RunningServer> {
  const classpath = await resolveJavaClasspath(options.cacheDir);
  if (options.h2File) mkdirSync(path.dirname(options.h2File), { recursive: true });
  const args = ['-Xmx256m', '-XX:+UseSerialGC', '-cp', classpath, path.join(toolDir, 'Launcher.java'), String(options.port)];
  if (options.h2File) args.push(options.h2File);
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mongo-java-server did not start within ${options.startTimeoutMs ?? 60_000} ms`)), options.startTimeoutMs ?? 60_000);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^READY (\d+)$/.exec(line.trim());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run java: ${error.message}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`mongo-java-server exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  let stopping: Promise<void> | undefined;
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    ...(child.pid ? { pid: child.pid } : {}),
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

