import type { Logger } from '../log.js';
import { isDuplicateKey } from '../store/database.js';
import type { Models } from '../store/models.js';
import { ATTEMPT_BUCKETS, DELIVERY_BUCKETS, type MetricsPort } from './port.js';

/**
 * The metrics port, stored: counts are added up in memory and written every `flushMs` as `$inc`
 * on one document per series (metric_counters), so they are shared by every process and
 * survive restarts. A crash loses at most the last interval's counts.
 */

export type MetricsRecorder = MetricsPort & {
  /** Writes what was counted since the last flush. */
  flush(): Promise<void>;
  start(): void;
  /** Stops the timer and flushes once more. */
  stop(): Promise<void>;
};

type Series = { name: string; labels: Record<string, string> };

/** The id of a series: its name and its labels in key order. */
export function seriesId(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/** The bucket an observation counts in (its upper bound as text; "+Inf" past the last). */
export function bucketOf(seconds: number, buckets: number[]): string {
  const bound = buckets.find((b) => seconds <= b);
  return bound === undefined ? '+Inf' : String(bound);
}

export function createMetricsRecorder(deps: { models: Models; log: Logger; flushMs?: number }): MetricsRecorder {
  const { MetricCounter } = deps.models;
  const pending = new Map<string, Series & { value: number }>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  function add(name: string, labels: Record<string, string>, value: number): void {
    const id = seriesId(name, labels);
    const entry = pending.get(id);
    if (entry) entry.value += value;
    else pending.set(id, { name, labels, value });
  }

  function observe(name: string, labels: Record<string, string>, seconds: number, buckets: number[]): void {
    // Per bucket (not cumulative): the reader adds them up.
    add(`${name}_bucket`, { ...labels, le: bucketOf(seconds, buckets) }, 1);
    add(`${name}_sum`, labels, seconds);
    add(`${name}_count`, labels, 1);
  }

  async function write(): Promise<void> {
    if (pending.size === 0) return;
    const batch = [...pending.entries()];
    pending.clear();
    const operations = batch.map(([id, s]) => ({ updateOne: { filter: { _id: id }, update: { $inc: { value: s.value }, $setOnInsert: { name: s.name, labels: s.labels } }, upsert: true } }));
    try {
      await MetricCounter.bulkWrite(operations, { ordered: false });
    } catch (error) {
      // Two processes creating one series at once: the losers' increments go to the winners'
      // documents. Only the writes that failed are made again (the others counted already).
      const failed = (error as { writeErrors?: { index: number; code?: number }[] }).writeErrors ?? [];
      if (!isDuplicateKey(error) || failed.length === 0) throw error;
      const again = failed.map((e) => batch[e.index]).filter((entry): entry is (typeof batch)[number] => entry !== undefined);
      await MetricCounter.bulkWrite(
        again.map(([id, s]) => ({ updateOne: { filter: { _id: id }, update: { $inc: { value: s.value } } } })),
        { ordered: false },
      );
    }
  }

  async function flush(): Promise<void> {
    while (flushing) await flushing;
    flushing = write().finally(() => (flushing = undefined));
    await flushing;
  }

  return {
    delivery(sample) {
      add('reconbanker_delivery_attempts_total', { lane: sample.lane, outcome: sample.outcome }, 1);
      observe('reconbanker_delivery_attempt_seconds', { lane: sample.lane }, sample.attemptMs / 1000, ATTEMPT_BUCKETS);
      if (sample.sinceRecordedMs !== null) observe('reconbanker_delivery_latency_seconds', { lane: sample.lane }, Math.max(0, sample.sinceRecordedMs) / 1000, DELIVERY_BUCKETS);
    },
    poll(result) {
      add('reconbanker_polls_total', { result }, 1);
    },
    flush,
    start() {
      if (timer) return;
      timer = setInterval(() => void flush().catch((error: unknown) => deps.log.warn({ err: error }, 'could not write metric counts; kept for the next try')), deps.flushMs ?? 5_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await flush().catch((error: unknown) => deps.log.warn({ err: error }, 'could not write the last metric counts'));
    },
  };
}
