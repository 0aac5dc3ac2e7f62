import { expect } from 'chai';
import { pino } from 'pino';
import { createRealtimeFeed } from '../../src/realtime/feed.js';
import { fromAssistanceEvent, fromSessionEvent, type RealtimeEvent } from '../../src/realtime/events.js';
import { useTestDatabase } from '../helpers/database.js';
import { manualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';

const log = pino({ level: 'silent' });
const account = { id: 'acc-1', name: 'Main', bank: 'sandbox', userId: 'user-1' };

describe('realtime feed (stored stream, tailed with a cursor)', () => {
  const test = useTestDatabase('rtfeed');

  it('hands out events recorded after the tail started, in order, once', async () => {
    const clock = manualClock();
    const feed = createRealtimeFeed({ models: test.db.models, clock, log });
    await feed.record({ type: 'session.recovered', userId: 'u', accountId: 'a', data: {}, occurredAt: clock.now() });
    const tail = feed.tail({ pollMs: 10_000 });
    const seen: RealtimeEvent[] = [];
    tail.subscribe((event) => seen.push(event));
    await tail.start();
    for (let i = 0; i < 3; i++) await feed.record({ type: 'scrape.finished', userId: 'u', accountId: 'a', data: { found: i, inserted: 0 }, occurredAt: clock.now() });
    expect(await tail.poll()).to.equal(3);
    expect(await tail.poll()).to.equal(0);
    expect(seen.map((e) => e.data.found)).to.deep.equal([0, 1, 2]);
    expect(seen[0]).to.deep.equal({ type: 'scrape.finished', userId: 'u', accountId: 'a', data: { found: 0, inserted: 0 }, occurredAt: clock.now().toISOString() });
    await tail.stop();
  });

  it('waits at a gap (a number taken, its event not written yet), then goes past it if it never comes', async () => {
    const clock = manualClock();
    const feed = createRealtimeFeed({ models: test.db.models, clock, log });
    const tail = feed.tail({ pollMs: 10_000, gapWaitMs: 300 });
    const seen: number[] = [];
    tail.subscribe((event) => seen.push(Number(event.data.n)));
    await tail.start();
    const base = (await test.db.models.Counter.findById('realtime_events').lean())?.seq ?? 0;
    // Another process took base+1 and has not written it; this one wrote base+2.
    await test.db.models.Counter.updateOne({ _id: 'realtime_events' }, { $inc: { seq: 1 } }, { upsert: true });
    await feed.record({ type: 'session.recovered', userId: 'u', accountId: 'a', data: { n: 2 }, occurredAt: clock.now() });
    expect(await tail.poll(), 'held at the gap').to.equal(0);
    // The slow writer finishes: both arrive, in number order.
    await test.db.models.RealtimeEvent.create({ _id: 'late', seq: base + 1, type: 'session.recovered', userId: 'u', accountId: 'a', data: { n: 1 }, occurredAt: clock.now() });
    expect(await tail.poll()).to.equal(2);
    expect(seen).to.deep.equal([1, 2]);

    // A writer that died: its number is given up after the wait.
    await test.db.models.Counter.updateOne({ _id: 'realtime_events' }, { $inc: { seq: 1 } });
    await feed.record({ type: 'session.recovered', userId: 'u', accountId: 'a', data: { n: 4 }, occurredAt: clock.now() });
    expect(await tail.poll()).to.equal(0);
    const started = Date.now();
    expect(await eventually(async () => (await tail.poll()) || undefined, 5_000, 'the event after the abandoned number', 50)).to.equal(1);
    expect(Date.now() - started).to.be.at.least(250);
    expect(seen).to.deep.equal([1, 2, 4]);
    await tail.stop();
  });

  it('maps what chat is told to events without secrets or file paths', () => {
    const now = new Date('2026-11-01T12:00:00Z');
    const failed = fromSessionEvent({ type: 'failed', runId: 'r1', account, kind: 'otp_timeout', fatal: true, stage: 'otp', sentence: 'No code arrived in time.', screenshot: '/data/artifacts/x.png', nextAttemptAt: null }, now);
    expect(failed).to.deep.equal({
      type: 'login.failed',
      userId: 'user-1',
      accountId: 'acc-1',
      occurredAt: now,
      data: { runId: 'r1', outcome: 'otp_timeout', stage: 'otp', fatal: true, message: 'No code arrived in time.', nextAttemptAt: null },
    });
    expect(fromSessionEvent({ type: 'failed', runId: 'r2', account, kind: 'layout_changed', fatal: false, stage: 'read', sentence: 'x', screenshot: null, nextAttemptAt: now }, now)?.type).to.equal('scrape.failed');
    expect(fromSessionEvent({ type: 'progress', account, text: 'logging in' }, now)).to.equal(undefined);
    const request = { id: 'q1', accountId: 'acc-1', type: 'otp' as const, descriptor: { length: 6, type: 'numeric' as const }, attempts: 1, status: 'pending' as const, expiresAt: now, prompts: ['console:local#1'], answeredOn: null, createdAt: now };
    expect(fromAssistanceEvent({ type: 'requested', request, account }, now).data).to.deep.equal({ requestId: 'q1', descriptor: { length: 6, type: 'numeric' }, attempts: 1, expiresAt: now.toISOString() });
    expect(fromAssistanceEvent({ type: 'interrupted', request, account }, now)).to.deep.include({ type: 'assistance.cancelled', data: { requestId: 'q1', attempts: 1, reason: 'interrupted' } });
  });
});

describe('realtime feed numbering under concurrency', () => {
  const test = useTestDatabase('rtseq');

  it('events recorded at once, the very first included, each get their own number and none is lost', async () => {
    const feeds = [0, 1, 2].map(() => createRealtimeFeed({ models: test.db.models, clock: manualClock(), log }));
    await Promise.all(Array.from({ length: 60 }, (_, i) => (feeds[i % 3] as (typeof feeds)[number]).record({ type: 'session.recovered', userId: 'u', accountId: 'a', data: { i }, occurredAt: new Date() })));
    const docs = await test.db.models.RealtimeEvent.find({}).lean();
    expect(docs).to.have.length(60);
    expect(new Set(docs.map((d) => d.seq)).size).to.equal(60);
    expect(new Set(docs.map((d) => d.data.i)).size).to.equal(60);
  });
});
