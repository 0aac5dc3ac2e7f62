import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from './log.js';

/**
 * Readiness for a container health check, without a port: the running service probes its
 * database every few seconds and writes the outcome to a small file in DATA_DIR (one per host
 * name, so replicas sharing a volume do not answer for each other); `healthcheck` reads it.
 * A file that is missing, stale (a stuck process stops writing it), from a process that is
 * gone, or saying "not ready", is unhealthy. It works for every process role, with or without
 * the HTTP API, and needs no curl in the image.
 */

export const READINESS_INTERVAL_MS = 10_000;
/** Three missed probes. */
export const READINESS_STALE_MS = 3 * READINESS_INTERVAL_MS;

type Readiness = { pid: number; ready: boolean; checkedAt: string; reason?: string };

export function readinessFile(dataDir: string, host = hostname()): string {
  return path.join(dataDir, 'health', `${host.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

function write(file: string, state: Readiness): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // Written aside, then renamed: the check never reads half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, file);
}

/** Starts probing (`probe` resolves when the service can do its work); `stop` removes the file. */
export function startReadiness(options: { dataDir: string; probe: () => Promise<void>; log: Logger; intervalMs?: number }): { stop(): void } {
  const file = readinessFile(options.dataDir);
  let stopped = false;
  let wasReady: boolean | undefined;
  async function check(): Promise<void> {
    let state: Readiness;
    try {
      await options.probe();
      state = { pid: process.pid, ready: true, checkedAt: new Date().toISOString() };
    } catch (error) {
      state = { pid: process.pid, ready: false, checkedAt: new Date().toISOString(), reason: error instanceof Error ? error.message : String(error) };
    }
    if (stopped) return;
    try {
      write(file, state);
    } catch (error) {
      options.log.warn({ err: error, file }, 'could not write the readiness file (the container health check reads it)');
    }
    if (wasReady !== state.ready) options.log.info({ ready: state.ready, file, ...(state.reason ? { reason: state.reason } : {}) }, 'readiness changed');
    wasReady = state.ready;
  }
  void check();
  const timer = setInterval(() => void check(), options.intervalMs ?? READINESS_INTERVAL_MS);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      rmSync(file, { force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pure apart from reading the file and the process table: whether this host's service is ready, and why not. */
export function checkReadiness(dataDir: string, now = Date.now()): { ok: boolean; reason: string } {
  const file = readinessFile(dataDir);
  if (!existsSync(file)) return { ok: false, reason: `no readiness file at ${file}: the service is not running (or not started yet)` };
  let state: Readiness;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as Readiness;
  } catch {
    return { ok: false, reason: `unreadable readiness file ${file}` };
  }
  const age = now - Date.parse(state.checkedAt);
  if (!alive(state.pid)) return { ok: false, reason: `the service (pid ${state.pid}) is gone` };
  if (!(age <= READINESS_STALE_MS)) return { ok: false, reason: `the last readiness probe is ${Math.round(age / 1000)} s old: the service is stuck` };
  if (!state.ready) return { ok: false, reason: `not ready: ${state.reason ?? 'unknown'}` };
  return { ok: true, reason: `ready (database answered ${Math.round(age / 1000)} s ago)` };
}
