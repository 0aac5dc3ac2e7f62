import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import { isDuplicateKey } from '../store/database.js';
import type { Models } from '../store/models.js';

/**
 * Inbound platform events are delivered at least once (Slack retries, Telegram redelivers
 * after a crash): each is recorded by its platform id the first time, so a repeat is handled
 * once, by this process or the next. Kept a day (ARCHITECTURE asks for at least 10 minutes).
 */
export type InboundLedger = ReturnType<typeof createInboundLedger>;

const KEEP_MS = 24 * 3_600_000;
/** Recent keys answered from memory first, so a burst of repeats costs no database round trip. */
const MEMORY = 10_000;

export function createInboundLedger(deps: { models: Models; clock: Clock; log: Logger }) {
  const { InboundEvent } = deps.models;
  const unseenHere = memoryFirstTime();

  return {
    /** True the first time `key` is seen. When the database cannot say, the event is handled (never dropped silently). */
    async firstTime(key: string): Promise<boolean> {
      if (!(await unseenHere(key))) return false;
      try {
        await InboundEvent.create({ _id: key, at: deps.clock.now() });
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        deps.log.warn({ err: error }, 'could not record an inbound event; handling it anyway');
        return true;
      }
    },

    async purge(): Promise<number> {
      const result = await InboundEvent.deleteMany({ at: { $lt: new Date(deps.clock.now().getTime() - KEEP_MS) } });
      return result.deletedCount ?? 0;
    },
  };
}

/** The same check kept in memory only (an adapter run without the core's ledger, in tests). */
export function memoryFirstTime(keep = MEMORY): (key: string) => Promise<boolean> {
  const seen = new Set<string>();
  return async (key) => {
    if (seen.has(key)) return false;
    seen.add(key);
    if (seen.size > keep) seen.delete(seen.values().next().value as string);
    return true;
  };
}
