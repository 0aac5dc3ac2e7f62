import { Types } from 'mongoose';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import { isDuplicateKey } from '../store/database.js';
import type { RealtimeEventDoc } from '../store/live-models.js';
import type { Models } from '../store/models.js';
import type { RealtimeEvent, RealtimeEventInput, RealtimeEventType } from './events.js';

/**
 * The realtime stream, stored: whichever process produces an event (a worker running a bank
 * session) records it in `realtime_events` with the next number of one counter; every API
 * process tails the collection with a cursor (no change streams needed: the offline engine has
 * none) and hands each event to its sockets. Events are kept a day (RETENTION_MS), then pruned.
 *
 * Numbers are taken before the write, so two processes may write 7 after 8: a tailer that sees
 * a gap waits for it (up to `gapWaitMs`) before going past it, so events arrive once and in order;
 * a number whose writer died is given up after that wait.
 */

export const RETENTION_MS = 24 * 3_600_000;
const COUNTER_ID = 'realtime_events';
const PRUNE_EVERY_MS = 60_000;

export type RealtimeListener = (event: RealtimeEvent) => void;

export type RealtimeTail = {
  /** Starts reading from the newest event recorded so far (earlier ones are not replayed). */
  start(): Promise<void>;
  stop(): Promise<void>;
  subscribe(listener: RealtimeListener): () => void;
  /** Reads once (tests and the poll loop); resolves to how many events were handed out. */
  poll(): Promise<number>;
};

export type RealtimeFeed = {
  record(event: RealtimeEventInput): Promise<void>;
  tail(options?: { pollMs?: number; gapWaitMs?: number; batch?: number }): RealtimeTail;
};

function toEvent(doc: RealtimeEventDoc): RealtimeEvent {
  return { type: doc.type as RealtimeEventType, userId: doc.userId, accountId: doc.accountId, data: doc.data ?? {}, occurredAt: doc.occurredAt.toISOString() };
}

export function createRealtimeFeed(deps: { models: Models; clock: Clock; log: Logger; retentionMs?: number }): RealtimeFeed {
  const { RealtimeEvent, Counter } = deps.models;
  const log = deps.log.child({ component: 'realtime' });
  const retentionMs = deps.retentionMs ?? RETENTION_MS;
  let prunedAt = 0;

  /**
   * The next number. The pre-image is asked for, not the updated document: the offline engine
   * applies `$inc` atomically but may read the "after" document once a concurrent `$inc` has
   * landed too, giving two callers one number (seen in tests). The unique index on `seq`
   * backs this up: a number taken twice is refused on insert, and the event takes another.
   */
  async function nextSeq(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const before = await Counter.findOneAndUpdate({ _id: COUNTER_ID }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'before' }).lean();
        return (before?.seq ?? 0) + 1;
      } catch (error) {
        // Two first events at once both upserting: the loser increments the winner's counter.
        if (!isDuplicateKey(error) || attempt > 2) throw error;
      }
    }
  }

  async function prune(now: Date): Promise<void> {
    if (now.getTime() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now.getTime();
    const { deletedCount } = await RealtimeEvent.deleteMany({ occurredAt: { $lt: new Date(now.getTime() - retentionMs) } });
    if (deletedCount > 0) log.debug({ deleted: deletedCount }, 'old realtime events pruned');
  }

  return {
    async record(event) {
      for (let attempt = 0; ; attempt++) {
        const seq = await nextSeq();
        try {
          await RealtimeEvent.create({ _id: new Types.ObjectId().toHexString(), seq, type: event.type, userId: event.userId, accountId: event.accountId, data: event.data, occurredAt: event.occurredAt });
          break;
        } catch (error) {
          if (!isDuplicateKey(error) || attempt > 4) throw error;
        }
      }
      await prune(deps.clock.now()).catch((error: unknown) => log.warn({ err: error }, 'could not prune old realtime events'));
    },

    tail(options = {}) {
      const pollMs = options.pollMs ?? 250;
      const gapWaitMs = options.gapWaitMs ?? 5_000;
      const batch = options.batch ?? 500;
      const listeners = new Set<RealtimeListener>();
      let cursor = 0;
      /** When the gap just after the cursor was first seen (Date.now()). */
      let gapSince: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      let running = false;
      let loop: Promise<void> | undefined;

      async function poll(): Promise<number> {
        const docs = await RealtimeEvent.find({ seq: { $gt: cursor } }).sort({ seq: 1 }).limit(batch).lean<RealtimeEventDoc[]>();
        let handed = 0;
        for (const doc of docs) {
          if (doc.seq !== cursor + 1) {
            gapSince ??= Date.now();
            if (Date.now() - gapSince < gapWaitMs) break;
            log.warn({ from: cursor + 1, to: doc.seq - 1 }, 'realtime events never written (their process stopped?); going past them');
          }
          gapSince = undefined;
          cursor = doc.seq;
          const event = toEvent(doc);
          for (const listener of listeners) {
            try {
              listener(event);
            } catch (error) {
              log.error({ err: error }, 'a realtime listener failed');
            }
          }
          handed += 1;
        }
        return handed;
      }

      const tick = () => {
        loop = poll()
          .then((handed) => {
            // A full batch: more are waiting, read on at once.
            if (running) timer = setTimeout(tick, handed === batch ? 0 : pollMs);
          })
          .catch((error: unknown) => {
            log.warn({ err: error }, 'could not read realtime events; trying again');
            if (running) timer = setTimeout(tick, Math.max(pollMs, 1_000));
          });
      };

      return {
        async start() {
          if (running) return;
          // The counter, not the newest event: pruned or never-written numbers are no gap to wait for.
          const counter = await Counter.findById(COUNTER_ID).lean();
          cursor = counter?.seq ?? 0;
          running = true;
          timer = setTimeout(tick, pollMs);
        },
        async stop() {
          running = false;
          clearTimeout(timer);
          await loop;
        },
        subscribe(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        poll,
      };
    },
  };
}
