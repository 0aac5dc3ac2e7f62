/**
 * What services tell the metrics about, where the database cannot say it later (how long a
 * delivery took, how many polls failed). Services get this port injected; the recorder
 * (recorder.ts) adds the counts to the database, so the `/metrics` of any API process shows
 * what every worker did.
 */
export type DeliveryLane = 'webhook' | 'notification';
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'gone';

export type MetricsPort = {
  /** One delivery attempt: its outcome, the receiver's round trip, and (once delivered) how long since the event was recorded. */
  delivery(sample: { lane: DeliveryLane; outcome: DeliveryOutcome; attemptMs: number; sinceRecordedMs: number | null }): void;
  /** One pending-orders poll, ok or failed. */
  poll(result: 'ok' | 'failed'): void;
};

export const noMetrics: MetricsPort = { delivery: () => undefined, poll: () => undefined };

/** Histogram buckets in seconds: a receiver's answer (10 ms to 10 s) and outbox-to-receipt (SPEC §8: p99 < 1 s; retries take hours). */
export const ATTEMPT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const DELIVERY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400];
