import { Schema, type Connection, type Model } from 'mongoose';

/**
 * Collections of the realtime stream and the operations metrics (kept apart from models.ts so
 * each room's schemas stay short): events every API process tails, socket tickets any API
 * process accepts, sequence counters, and counters that processes add to for /metrics.
 */

/** One event on the realtime stream (SPEC §6), numbered in the order it was recorded. */
export type RealtimeEventDoc = {
  _id: string;
  /** Increasing per database (the `realtime_events` counter): tailers read in this order. */
  seq: number;
  type: string;
  userId: string;
  accountId: string;
  data: Record<string, unknown>;
  occurredAt: Date;
};

/** A realtime ticket: only its SHA-256 is stored; single use, short-lived. */
export type RealtimeTicketDoc = { _id: string; userId: string; expiresAt: Date; usedAt: Date | null };

export type CounterDoc = { _id: string; seq: number };

/** A counter processes add to (deliveries, latency buckets): `/metrics` of any process reads the sums. */
export type MetricCounterDoc = { _id: string; name: string; labels: Record<string, string>; value: number };

const realtimeEventSchema = new Schema(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true },
    type: { type: String, required: true },
    userId: { type: String, required: true },
    accountId: { type: String, required: true },
    data: { type: Schema.Types.Mixed, default: {} },
    occurredAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
realtimeEventSchema.index({ seq: 1 }, { unique: true });
realtimeEventSchema.index({ occurredAt: 1 });

const realtimeTicketSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
  },
  { versionKey: false },
);
realtimeTicketSchema.index({ expiresAt: 1 });

const counterSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, required: true } }, { versionKey: false });

const metricCounterSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    labels: { type: Schema.Types.Mixed, default: {} },
    value: { type: Number, default: 0 },
  },
  { versionKey: false, minimize: false },
);

export type LiveModels = {
  RealtimeEvent: Model<RealtimeEventDoc>;
  RealtimeTicket: Model<RealtimeTicketDoc>;
  Counter: Model<CounterDoc>;
  MetricCounter: Model<MetricCounterDoc>;
};

export function registerLiveModels(connection: Connection): LiveModels {
  return {
    RealtimeEvent: connection.model<RealtimeEventDoc>('RealtimeEvent', realtimeEventSchema, 'realtime_events'),
    RealtimeTicket: connection.model<RealtimeTicketDoc>('RealtimeTicket', realtimeTicketSchema, 'realtime_tickets'),
    Counter: connection.model<CounterDoc>('Counter', counterSchema, 'counters'),
    MetricCounter: connection.model<MetricCounterDoc>('MetricCounter', metricCounterSchema, 'metric_counters'),
  };
}
