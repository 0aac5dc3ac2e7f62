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
};

// Flags for a closed network (no background calls to Google) and running as root in a
// container. No --disable-features here: Chromium keeps only the last such flag, and it would
// replace Playwright's own list.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-extensions',
];

export function createBrowserPool(options: { executablePath: string; maxContexts: number; log: Logger }): BrowserPool {
  const log = options.log.child({ component: 'browser' });
  let browser: Promise<Browser> | undefined;
  let open = 0;
  const waiting: (() => void)[] = [];
  let closed = false;

  function launch(): Promise<Browser> {
    if (!browser) {
      // Our shutdown closes the browser after sessions log out; Playwright must not kill it on a signal first.
      const launching = chromium.launch({ executablePath: options.executablePath, args: CHROMIUM_ARGS, headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false }).then((b) => {
        b.on('disconnected', () => {
          if (browser === launching) browser = undefined;
          if (!closed) log.warn('browser disconnected; it will be relaunched on next use');
        });
        log.info({ version: b.version() }, 'browser launched');
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
