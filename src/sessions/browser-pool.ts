import { readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import type { Logger } from '../log.js';
import { SessionFailure } from '../domain/session-outcome.js';

/**
 * One Chromium (Debian's; never downloaded) shared by every session, an isolated context per
 * account session, and a bound on how many contexts are open at once. A crashed browser is
 * relaunched on next use.
 */
export type BrowserPool = {
  /** Opens an isolated context, waiting for a free slot; the caller must close it (`release`). */
  acquire(): Promise<{ context: BrowserContext; release(): Promise<void> }>;
  /** Runs `work` in a fresh context that is closed afterwards, whatever happens. */
  withContext<T>(work: (context: BrowserContext) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly openContexts: number;
  /** Whether the running browser has its sandbox (undefined before the first launch). */
  readonly sandboxed: boolean | undefined;
};

// Flags for a closed network (no background calls to Google) and containers (small /dev/shm).
// No --disable-features here: Chromium keeps only the last such flag, and it would replace
// Playwright's own list. The sandbox is decided apart (sandboxPlan).
const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-extensions',
];

/**
 * CHROMIUM_SANDBOX: `auto` keeps Chromium's sandbox where the host allows it, `on` requires it
 * (a launch fails rather than run without it), `off` always runs without it.
 */
export type SandboxMode = 'auto' | 'on' | 'off';
export type SandboxHost = { uid: number | undefined; userNamespaces: boolean };

/** What this host offers Chromium's (namespace) sandbox: who we run as, and whether unprivileged user namespaces exist. */
export function detectSandboxHost(): SandboxHost {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const maxNamespaces = read('/proc/sys/user/max_user_namespaces');
  const userNamespaces =
    process.platform === 'linux' &&
    maxNamespaces !== undefined &&
    Number(maxNamespaces) > 0 &&
    read('/proc/sys/kernel/unprivileged_userns_clone') !== '0' &&
    read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') !== '1';
  return { uid: process.getuid?.(), userNamespaces };
}

/**
 * Pure: whether to launch with the sandbox, and whether a refusal may fall back to none.
 * Chromium refuses its sandbox to root whatever the kernel offers ("Running as root without
 * --no-sandbox is not supported"); without user namespaces it has none to build (Debian ships
 * no setuid helper). Where both look fine a container's seccomp profile may still deny it,
 * so `auto` tries, and falls back with a warning.
 */
export function sandboxPlan(mode: SandboxMode, host: SandboxHost): { sandbox: boolean; fallback: boolean; reason: string } {
  if (mode === 'off') return { sandbox: false, fallback: false, reason: 'CHROMIUM_SANDBOX=off' };
  if (mode === 'on') return { sandbox: true, fallback: false, reason: 'CHROMIUM_SANDBOX=on' };
  if (host.uid === 0) return { sandbox: false, fallback: false, reason: 'running as root: Chromium allows no sandbox to root (run the service as another user to keep it)' };
  if (!host.userNamespaces) return { sandbox: false, fallback: false, reason: 'this host allows no unprivileged user namespaces, which the sandbox needs' };
  return { sandbox: true, fallback: true, reason: 'the host allows it' };
}

export function createBrowserPool(options: { executablePath: string; maxContexts: number; log: Logger; sandbox?: SandboxMode; host?: SandboxHost }): BrowserPool {
  const log = options.log.child({ component: 'browser' });
  const plan = sandboxPlan(options.sandbox ?? 'auto', options.host ?? detectSandboxHost());
  /** Decided by the first launch that worked (or by the plan while none has). */
  let sandbox = plan.sandbox;
  let sandboxed: boolean | undefined;
  let browser: Promise<Browser> | undefined;
  let open = 0;
  const waiting: (() => void)[] = [];
  let closed = false;

  async function start(withSandbox: boolean): Promise<Browser> {
    // Our shutdown closes the browser after sessions log out; Playwright must not kill it on a signal first.
    return chromium.launch({
      executablePath: options.executablePath,
      args: withSandbox ? CHROMIUM_ARGS : ['--no-sandbox', ...CHROMIUM_ARGS],
      chromiumSandbox: withSandbox,
      headless: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  }

  async function startAsPlanned(): Promise<Browser> {
    if (!sandbox) return start(false);
    try {
      return await start(true);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      if (!plan.fallback) throw new Error(`Chromium could not start with its sandbox, which CHROMIUM_SANDBOX=on requires: ${detail}`);
      log.warn({ why: detail.split('\n').find((line) => /sandbox/i.test(line)) ?? detail.split('\n')[0] }, "Chromium's sandbox is not available on this host; running without it (CHROMIUM_SANDBOX=on would refuse instead, =off skips the attempt)");
      sandbox = false;
      return start(false);
    }
  }

  function launch(): Promise<Browser> {
    if (!browser) {
      const launching = startAsPlanned().then((b) => {
        b.on('disconnected', () => {
          if (browser === launching) browser = undefined;
          if (!closed) log.warn('browser disconnected; it will be relaunched on next use');
        });
        sandboxed = sandbox;
        log.info({ version: b.version(), sandbox, ...(sandbox ? {} : { why: plan.sandbox ? 'refused by this host' : plan.reason }) }, 'browser launched');
        return b;
      });
      launching.catch(() => {
        if (browser === launching) browser = undefined;
      });
      browser = launching;
    }
    return browser;
  }

  async function slot(): Promise<void> {
    if (open < options.maxContexts) {
      open += 1;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  }

  function freeSlot() {
    const next = waiting.shift();
    if (next) next();
    else open -= 1;
  }

  const pool: BrowserPool = {
    get openContexts() {
      return open;
    },
    get sandboxed() {
      return sandboxed;
    },
    async acquire() {
      if (closed) throw new SessionFailure('browser_failed', 'launch', 'the browser pool is closed');
      await slot();
      try {
        const b = await launch();
        const context = await b.newContext({ locale: 'es-UY', acceptDownloads: false, serviceWorkers: 'block' });
        let released = false;
        return {
          context,
          async release() {
            if (released) return;
            released = true;
            await context.close().catch(() => undefined);
            freeSlot();
          },
        };
      } catch (error) {
        freeSlot();
        const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw new SessionFailure('browser_failed', 'launch', detail);
      }
    },
    async withContext(work) {
      const { context, release } = await pool.acquire();
      try {
        return await work(context);
      } finally {
        await release();
      }
    },
    async close() {
      closed = true;
      const b = await browser?.catch(() => undefined);
      browser = undefined;
      await b?.close().catch(() => undefined);
    },
  };
  return pool;
}
