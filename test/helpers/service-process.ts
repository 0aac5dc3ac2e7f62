import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';

/**
 * Runs the real service (`src/main.ts`) as a child process with its console chat on pipes:
 * tests type commands and wait for answers. Waiting is event-driven with a deadline.
 */
export type ServiceProcess = {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Types one line into the console. */
  type(line: string): void;
  /** Waits until stdout (from `from` on) matches; returns the matched text and where it ended. */
  waitForOutput(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<{ text: string; end: number }>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /**
   * Sends a command (and the lines a private form will read, if any) and returns everything
   * printed until the next prompt.
   */
  command(line: string, options?: { input?: string[]; timeoutMs?: number }): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const PROMPT = 'recon> ';

/** `compiled`: the JavaScript of `npm run build` run by node alone, as the container runs it (`cwd`: where a `.env` would be read). */
export function startServiceProcess(env: Record<string, string>, args: string[] = ['start'], options: { compiled?: boolean; cwd?: string } = {}): ServiceProcess {
  const entry = options.compiled ? [path.join(projectRoot, 'dist', 'src', 'main.js')] : ['--import', 'tsx', path.join(projectRoot, 'src', 'main.ts')];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', CHAT_CONSOLE: 'on', API_PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    notify();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      notify();
      resolve({ code, signal });
    }),
  );
  let exitedNow = false;
  void exited.then(() => (exitedNow = true));

  function waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found !== undefined) {
          cleanup();
          resolve(found);
        } else if (exitedNow) {
          cleanup();
          reject(new Error(`service exited while waiting for ${what}\n--- stdout ---\n${out}\n--- stderr ---\n${err.slice(-3000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- stdout ---\n${out}\n--- stderr ---\n${err.slice(-3000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  }

  let consumed = 0;
  const service: ServiceProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    type(line) {
      child.stdin.write(`${line}\n`);
    },
    waitForOutput(pattern, options = {}) {
      const from = options.from ?? 0;
      return waitUntil(
        () => {
          const match = pattern.exec(out.slice(from));
          return match ? { text: match[0], end: from + match.index + match[0].length } : undefined;
        },
        options.timeoutMs ?? 30_000,
        `output ${pattern}`,
      );
    },
    async waitForLog(pattern, timeoutMs = 30_000) {
      await waitUntil(() => (pattern.test(err) ? true : undefined), timeoutMs, `log ${pattern}`);
    },
    async command(line, options = {}) {
      const timeoutMs = options.timeoutMs ?? 30_000;
      // Every answer ends with a fresh prompt; the text between is the answer.
      await service.waitForOutput(new RegExp(escape(PROMPT)), { from: consumed, timeoutMs });
      // Start after the latest prompt: lines typed with type() have had their answers already.
      consumed = out.lastIndexOf(PROMPT) + PROMPT.length;
      service.type(line);
      for (const input of options.input ?? []) service.type(input);
      const answer = await service.waitForOutput(new RegExp(`([\\s\\S]*?)${escape(PROMPT)}`), { from: consumed, timeoutMs });
      const text = out.slice(consumed, answer.end - PROMPT.length);
      consumed = answer.end - PROMPT.length;
      return text;
    },
    exited,
  };
  return service;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The environment of a service process that shares a test's database and sandbox bank: the
 * test's key (so both read each other's sealed values), no console, a fast scrape tick and job poll.
 */
export function sharedDatabaseEnv(uri: string, bankUrl: string, key: { id: string; key: Buffer }): Record<string, string> {
  return {
    MONGODB_URI: uri,
    SECRET_KEYS: `${key.id}:${key.key.toString('base64')}`,
    SANDBOX_BANK_URL: bankUrl,
    CHAT_CONSOLE: 'off',
    SCRAPE_TICK_SECONDS: '1',
    JOB_POLL_MS: '200',
  };
}
