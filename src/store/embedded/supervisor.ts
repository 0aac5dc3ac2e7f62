import type { Logger } from '../../log.js';
import type { RunningServer, ServerExit } from './java-server.js';

export type SupervisorPolicy = {
  /** Wait before each restart attempt; one attempt per entry, then the supervisor gives up. */
  delaysMs: number[];
  /** Up this long after a restart, the server counts as healthy again and the attempts start over. */
  stableMs: number;
};

/** 0.5 + 1 + 2 + 4 + 8 s: about half a minute of trying (with the JVM's own start-up each time). */
export const DEFAULT_POLICY: SupervisorPolicy = { delaysMs: [500, 1_000, 2_000, 4_000, 8_000], stableMs: 60_000 };

export type SupervisorHooks = {
  /** The server ended unexpectedly; said once per outage, before the first restart attempt. */
  down(exit: ServerExit): void;
  /** It answers again, after `downForMs` and `attempts` restarts. */
  back(info: { downForMs: number; attempts: number }): void;
  /** It could not be restarted: one sentence saying so. The caller stops the service. */
  lost(sentence: string): void;
};

export type Supervised = {
  /** The server running now (the last one started). */
  current(): RunningServer;
  /** Stops watching, then the server (a restart under way is stopped once it is up). */
  stop(): Promise<void>;
};

export function describeExit(exit: ServerExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.code === null ? 'ended' : `exit code ${exit.code}`;
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 240);
}

/**
 * Watches the database server this process started and starts it again when it ends on its
 * own, with back-off. The restart listens where the first one did, so the driver's own
 * reconnection finds it. `what` names the server in sentences ("the embedded database").
 */
export function superviseServer(options: {
  first: RunningServer;
  restart: () => Promise<RunningServer>;
  hooks: SupervisorHooks;
  log: Logger;
  what: string;
  policy?: SupervisorPolicy;
  now?: () => number;
}): Supervised {
  const policy = options.policy ?? DEFAULT_POLICY;
  const now = options.now ?? Date.now;
  const { log, hooks } = options;
  let server = options.first;
  let upSince = now();
  let attempts = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let restarting: Promise<void> | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  async function recover(exit: ServerExit): Promise<void> {
    const downSince = now();
    // A server that had been up a while starts a fresh series of attempts; one that dies again
    // soon after a restart goes on counting, so a crash loop ends too.
    if (downSince - upSince >= policy.stableMs) attempts = 0;
    log.error({ exit: describeExit(exit), attemptsLeft: policy.delaysMs.length - attempts }, `${options.what} stopped unexpectedly; restarting it`);
    hooks.down(exit);
    let lastError = 'it did not start';
    while (!stopped) {
      const delay = policy.delaysMs[attempts];
      if (delay === undefined) {
        const seconds = Math.round((now() - downSince) / 1000);
        const sentence = `${options.what} stopped (${describeExit(exit)}) and could not be restarted: ${attempts} attempts in ${seconds} s failed, the last with: ${lastError}`;
        log.fatal({ attempts }, sentence);
        hooks.lost(sentence);
        return;
      }
      await pause(delay);
      if (stopped) return;
      attempts += 1;
      try {
        server = await options.restart();
      } catch (error) {
        lastError = oneLine(error);
        log.warn({ attempt: attempts, error: lastError }, `${options.what} did not restart`);
        continue;
      }
      if (stopped) {
        await server.stop();
        return;
      }
      upSince = now();
      log.info({ attempts, downForMs: upSince - downSince }, `${options.what} is running again`);
      hooks.back({ downForMs: upSince - downSince, attempts });
      watch(server);
      return;
    }
  }

  function watch(watched: RunningServer): void {
    void watched.exited.then((exit) => {
      if (stopped || watched !== server) return;
      restarting = recover(exit).finally(() => (restarting = undefined));
    });
  }
  watch(server);

  return {
    current: () => server,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await restarting;
      await server.stop();
    },
  };
}
