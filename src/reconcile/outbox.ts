import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { Models, OutboxEventDoc, PendingEvent } from '../store/models.js';

/**
 * The outbox: every result event, stored once under its deterministic id before anything is
 * sent. A request's events travel inside the request document with its status change (one
 * atomic update), then are copied here and removed there; `flushPending` finishes copies a
 * crash interrupted. Inserting an id that exists is a no-op, so a copy done twice is one event.
 */
export type Outbox = ReturnType<typeof createOutbox>;

export function createOutbox(deps: { models: Models; clock: Clock; log: Logger; onStored?: (events: OutboxEventDoc[]) => Promise<void> }) {
  const { OutboxEvent, ConciliationRequest } = deps.models;
  const listeners: ((events: OutboxEventDoc[]) => void)[] = [];
  // Creation order: microseconds of the wall clock, kept strictly increasing within the process.
  let lastSeq = 0;
  const nextSeq = () => (lastSeq = Math.max(Date.now() * 1000, lastSeq + 1));

  async function store(events: PendingEvent[]): Promise<OutboxEventDoc[]> {
    if (events.length === 0) return [];
    const result = await OutboxEvent.bulkWrite(
      events.map((event) => ({
        updateOne: {
          filter: { _id: event._id },
          update: {
            $setOnInsert: {
              accountId: event.accountId,
              userId: event.userId,
              type: event.type,
              lane: event.lane ?? 'webhook',
              seq: nextSeq(),
              subjectId: event.subjectId,
              occurredAt: event.occurredAt,
              data: event.data,
              ...(event.evidence ? { evidence: event.evidence } : {}),
              webhook: {
                state: event.webhook ? 'pending' : 'not_sent',
                attempts: 0,
                nextAttemptAt: event.webhook ? event.occurredAt : null,
                lastStatus: null,
                lastError: null,
                deliveredAt: null,
                replays: 0,
                log: [],
              },
              chat: { state: event.chat ? 'pending' : 'none' },
            },
          },
          upsert: true,
        },
      })),
      { ordered: true },
    );
    const inserted = Object.values(result.upsertedIds).map(String);
    if (inserted.length === 0) return [];
    const docs = await OutboxEvent.find({ _id: { $in: inserted } }).sort({ createdAt: 1, _id: 1 }).lean<OutboxEventDoc[]>();
    deps.log.info({ count: docs.length, events: docs.slice(0, 20).map((d) => ({ id: d._id, type: d.type, accountId: d.accountId })) }, 'events recorded');
    for (const listener of listeners) listener(docs);
    await deps.onStored?.(docs).catch((error: unknown) => deps.log.error({ err: error }, 'event follow-up failed; the sweeper retries it'));
    return docs;
  }

  return {
    /** Called (synchronously, must not throw) with every batch of newly stored events: the dispatcher wakes up. */
    subscribe(listener: (events: OutboxEventDoc[]) => void): void {
      listeners.push(listener);
    },

    /** Records events that have no document of their own to travel in (bank movements, notifications). */
    record: store,

    /** Copies a request's pending events to the outbox, then removes them from the request. */
    async flushRequest(requestId: string, events: PendingEvent[]): Promise<void> {
      if (events.length === 0) return;
      await store(events);
      await ConciliationRequest.updateOne({ _id: requestId }, { $pull: { pendingEvents: { _id: { $in: events.map((e) => e._id) } } } });
    },

    /** Many requests' pending events at once (settlement's chunks): one bulk store, one update removing them. */
    async flushRequests(items: { requestId: string; event: PendingEvent }[]): Promise<void> {
      if (items.length === 0) return;
      await store(items.map((i) => i.event));
      await ConciliationRequest.updateMany(
        { _id: { $in: [...new Set(items.map((i) => i.requestId))] } },
        { $pull: { pendingEvents: { _id: { $in: items.map((i) => i.event._id) } } } },
      );
    },

    /** These requests' pending events, if any are left. */
    async flushRequestsById(requestIds: string[]): Promise<void> {
      if (requestIds.length === 0) return;
      const docs = await ConciliationRequest.find({ _id: { $in: requestIds }, 'pendingEvents.0': { $exists: true } }, { pendingEvents: 1 }).lean<{ _id: string; pendingEvents: PendingEvent[] }[]>();
      await this.flushRequests(docs.flatMap((d) => d.pendingEvents.map((event) => ({ requestId: d._id, event }))));
    },

    /** Sweeper: requests still holding events (a crash between the status change and the copy). */
    async flushPending(limit = 500): Promise<number> {
      const docs = await ConciliationRequest.find({ 'pendingEvents.0': { $exists: true } }, { pendingEvents: 1 }).limit(limit).lean<{ _id: string; pendingEvents: PendingEvent[] }[]>();
      for (const doc of docs) {
        await store(doc.pendingEvents);
        await ConciliationRequest.updateOne({ _id: doc._id }, { $pull: { pendingEvents: { _id: { $in: doc.pendingEvents.map((e) => e._id) } } } });
      }
      return docs.length;
    },

    /** Events whose chat notification has not gone out (after a crash or a chat outage), oldest first. */
    async chatBacklog(occurredBefore: Date, limit = 100): Promise<OutboxEventDoc[]> {
      return OutboxEvent.find({ 'chat.state': 'pending', occurredAt: { $lt: occurredBefore } }).sort({ occurredAt: 1, _id: 1 }).limit(limit).lean<OutboxEventDoc[]>();
    },

    async markChatSent(ids: string | string[]): Promise<void> {
      const list = Array.isArray(ids) ? ids : [ids];
      if (list.length === 1) await OutboxEvent.updateOne({ _id: list[0] }, { $set: { 'chat.state': 'sent' } });
      else if (list.length > 1) await OutboxEvent.updateMany({ _id: { $in: list } }, { $set: { 'chat.state': 'sent' } });
    },

    async list(accountId: string, limit = 100): Promise<OutboxEventDoc[]> {
      return OutboxEvent.find({ accountId }).sort({ createdAt: 1, _id: 1 }).limit(limit).lean<OutboxEventDoc[]>();
    },
  };
}
