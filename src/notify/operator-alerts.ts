import type { ChatMessage } from '../chat/port.js';
import type { Logger } from '../log.js';
import type { ChatSender } from './chat-notifier.js';

export type OperatorAlerts = {
  /** Reads again where operators are reached (kept for when the database cannot be read). */
  refresh(): Promise<void>;
  /** Tells every operator privately; a place that cannot be reached is logged and skipped. */
  tell(message: ChatMessage): Promise<void>;
  stop(): void;
};

/**
 * Alerts about the service itself (its database stopped, came back, or is lost). They are
 * needed exactly when the database cannot be read, so the operators' private places are read
 * while it can be, and again every `refreshMs`.
 */
export function createOperatorAlerts(deps: { places: () => Promise<string[]>; send: ChatSender; log: Logger; refreshMs: number }): OperatorAlerts {
  let known: string[] = [];
  async function refresh(): Promise<void> {
    try {
      known = await deps.places();
    } catch {
      // The database is away: the places known before are kept.
    }
  }
  const timer = setInterval(() => void refresh(), deps.refreshMs);
  timer.unref();
  return {
    refresh,
    async tell(message) {
      for (const ref of known) {
        try {
          await deps.send(ref, message);
        } catch (error) {
          deps.log.warn({ err: error, ref }, 'could not deliver an operator alert');
        }
      }
    },
    stop: () => clearInterval(timer),
  };
}
