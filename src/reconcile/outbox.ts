import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import { appendTo } from '../domain/collections.js';
import type { PullOperator } from 'mongodb';
import { driverCollection, type DriverDocument, type Models, type OutboxEventDoc, type PendingEvent } from '../store/models.js';

/**
 * The outbox: every result event, stored once under its deterministic id before anything is
 * sent. A request's events travel inside the request document with its status change (one
 * atomic update), then are copied here and removed there; `flushPending` finishes copies a
 * crash interrupted. Inserting an id that exists is a no-op, so a copy done twice is one event.
 */
export type Outbox = ReturnType<typeof createOutbox>;

/** Events marked told in chat per command. */
const CHAT_MARKS = 5_000;

export function createOutbox(deps: { models: Models; clock: Clock; log: Logger; onStored?: (events: OutboxEventDoc[]) => Promise<void> }) {
  const { OutboxEvent, ConciliationRequest } = deps.models;
  // Settlement's bulk writes go through the driver (models.ts driverCollection): the documents are built here.
  const outboxEvents = driverCollection(OutboxEvent as never);
  const requests = driverCollection(ConciliationRequest as never);
  const listeners: ((events: OutboxEventDoc[]) => void)[] = [];
  // Creation order: microseconds of the wall clock, kept strictly increasing within the process.
  let lastSeq = 0;
  const nextSeq = () => (lastSeq = Math.max(Date.now() * 1000, lastSeq + 1));

  /** The chat follow-up of stored events (a failure is logged: the sweeper's chat backlog retries it). */
  async function announce(docs: OutboxEventDoc[]): Promise<void> {
    if (docs.length === 0) return;
    await deps.onStored?.(docs).catch((error: unknown) => deps.log.error({ err: error }, 'event follow-up failed; the sweeper retries it'));
  }

  /**
   * Stores events (an id already stored is left as it is) and returns those it inserted, as
   * stored: the documents are made here, with their creation time, so they need not be read
   * back. Listeners hear of them at once; their chat follow-up is made now, or, with `told`,
   * left to the caller (settlement tells one evaluation's results together).
   */
  async function store(events: PendingEvent[], told?: OutboxEventDoc[]): Promise<OutboxEventDoc[]> {
    if (events.length === 0) return [];
    const createdAt = new Date();
    const docs: OutboxEventDoc[] = events.map((event) => ({
      _id: event._id,
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
      createdAt,
    }));
    const result = await outboxEvents.bulkWrite(
      docs.map(({ _id, ...fields }) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } })),
      { ordered: true },
    );
    const upserted = new Set(Object.values(result.upsertedIds).map(String));
    const inserted = docs.filter((d) => upserted.has(d._id));
    if (inserted.length === 0) return [];
    deps.log.info({ count: inserted.length, events: inserted.slice(0, 20).map((d) => ({ id: d._id, type: d.type, accountId: d.accountId })) }, 'events recorded');
    for (const listener of listeners) listener(inserted);
    if (told) told.push(...inserted);
    else await announce(inserted);
    return inserted;
  }

  return {
    /** Called (synchronously, must not throw) with every batch of newly stored events: the dispatcher wakes up. */
    subscribe(listener: (events: OutboxEventDoc[]) => void): void {
      listeners.push(listener);
    },

    /** Records events that have no document of their own to travel in (bank movements, notifications). */
    record: (events: PendingEvent[]) => store(events),

    /** Copies a request's pending events to the outbox, then removes them from the request. */
    async flushRequest(requestId: string, events: PendingEvent[]): Promise<void> {
      if (events.length === 0) return;
      await store(events);
      await ConciliationRequest.updateOne({ _id: requestId }, { $pull: { pendingEvents: { _id: { $in: events.map((e) => e._id) } } } });
    },

    /** Tells in chat of events stored with `told` (see store). */
    announce,

    /** Many requests' pending events at once (settlement's chunks): one bulk store, one update removing them; `told`: see store. */
    async flushRequests(items: { requestId: string; event: PendingEvent }[], told?: OutboxEventDoc[]): Promise<void> {
      if (items.length === 0) return;
      await store(
        items.map((i) => i.event),
        told,
      );
      const byRequest = new Map<string, string[]>();
      for (const i of items) appendTo(byRequest, i.requestId, i.event._id);
      // One update per request, by _id: mongo-java-server compares every document it reads with
      // the whole of an $in list, so one update naming all the chunk's requests grew with its square.
      await requests.bulkWrite(
        [...byRequest].map(([_id, ids]) => ({ updateOne: { filter: { _id }, update: { $pull: { pendingEvents: { _id: { $in: ids } } } as unknown as PullOperator<DriverDocument> } } })),
        { ordered: false },
      );
    },

    /** These requests' pending events, if any are left. */
    async flushRequestsById(requestIds: string[], told?: OutboxEventDoc[]): Promise<void> {
      if (requestIds.length === 0) return;
      const docs = await ConciliationRequest.find({ _id: { $in: requestIds }, 'pendingEvents.0': { $exists: true } }, { pendingEvents: 1 }).lean<{ _id: string; pendingEvents: PendingEvent[] }[]>();
      await this.flushRequests(
        docs.flatMap((d) => d.pendingEvents.map((event) => ({ requestId: d._id, event }))),
        told,
      );
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

    /**
     * One update per event, by _id, in bulks of CHAT_MARKS: an update naming many ids in one
     * $in list costs the square of its length on mongo-java-server (10k events: 50 s), and a
     * smaller command holds the engine's write turn for less time.
     */
    async markChatSent(ids: string | string[]): Promise<void> {
      const list = Array.isArray(ids) ? ids : [ids];
      for (let i = 0; i < list.length; i += CHAT_MARKS) {
        await outboxEvents.bulkWrite(
          list.slice(i, i + CHAT_MARKS).map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { 'chat.state': 'sent' } } } })),
          { ordered: false },
        );
      }
    },

    async list(accountId: string, limit = 100): Promise<OutboxEventDoc[]> {
      return OutboxEvent.find({ accountId }).sort({ createdAt: 1, _id: 1 }).limit(limit).lean<OutboxEventDoc[]>();
    },
  };
}
