import type { Logger } from '../log.js';

/**
 * Work started after an event was acknowledged, that nothing awaits: its failure is logged
 * here, never left as an unhandled rejection (which ends a Node process).
 */
export function detached(log: Logger, what: string, work: () => Promise<unknown>): void {
  void Promise.resolve()
    .then(work)
    .catch((error: unknown) => log.error({ err: error }, what));
}
