import type { Db } from 'mongodb';
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import { OPEN_STATUSES, REQUEST_STATUSES } from '../domain/request-status.js';
import { queueDepth } from '../jobs/scheduler.js';
import type { MetricCounterDoc } from '../store/live-models.js';
import type { Models } from '../store/models.js';
import { ATTEMPT_BUCKETS, DELIVERY_BUCKETS } from './port.js';

/**
 * The Prometheus metrics (GET /metrics). Most are read from the database when scraped (so any
 * API process reports the whole deployment, whichever process did the work), cached for
 * `cacheMs` so frequent scrapes cost one read. Counts only a process can know (delivery
 * latency, polls) come from metric_counters, which every process's recorder adds to.
 * Plus prom-client's process metrics (memory, CPU, event loop) of the process scraped.
 */

type Labels = Record<string, string>;
type Value = { labels: Labels; value: number; metricName?: string };
type Snapshot = Map<string, Value[]>;

type Definition = { name: string; help: string; type: 'gauge' | 'counter' | 'histogram' };

/** Every metric read from the database, with its help text (README lists the same). */
export const METRICS: Definition[] = [
  { name: 'reconbanker_session_runs', type: 'gauge', help: 'Bank session runs recorded, by kind (one-shot, persistent) and outcome (ok, the failure kind, running, orphaned).' },
  { name: 'reconbanker_conciliation_requests', type: 'gauge', help: 'Conciliation requests by status: the matches by result (matched, ambiguous, not_found, …).' },
  { name: 'reconbanker_open_requests', type: 'gauge', help: 'Conciliation requests still open (pending, processing, ambiguous, not_found).' },
  { name: 'reconbanker_outbox_events', type: 'gauge', help: 'Outbox events by lane (webhook, notification) and delivery state (pending, delivered, failed, not_sent): the deliveries by result.' },
  { name: 'reconbanker_outbox_undelivered', type: 'gauge', help: 'Outbox events waiting for delivery (pending), by lane: the delivery queue depth.' },
  { name: 'reconbanker_delivery_attempts_total', type: 'counter', help: 'Delivery attempts by lane and outcome (delivered, retry, failed, gone).' },
  { name: 'reconbanker_delivery_attempt_seconds', type: 'histogram', help: "A delivery attempt's round trip to the receiver, by lane." },
  { name: 'reconbanker_delivery_latency_seconds', type: 'histogram', help: 'From the event written to the outbox to its receipt (delivered), by lane.' },
  { name: 'reconbanker_polls_total', type: 'counter', help: 'Pending-orders polls by result (ok, failed).' },
  { name: 'reconbanker_accounts_poll_failing', type: 'gauge', help: 'Accounts whose latest pending-orders poll failed.' },
  { name: 'reconbanker_poll_consecutive_failures', type: 'gauge', help: 'Failed polls in a row, added over all accounts.' },
  { name: 'reconbanker_accounts_scrape_blocked', type: 'gauge', help: 'Accounts whose scraping is stopped after a fatal failure (scrapeBlockedAt set).' },
  { name: 'reconbanker_sessions_needing_attention', type: 'gauge', help: 'Persistent sessions parked until an operator reactivates them.' },
  { name: 'reconbanker_assistance_pending', type: 'gauge', help: 'Logins waiting for a bank code (pending assistance requests).' },
  { name: 'reconbanker_jobs', type: 'gauge', help: 'Job queue (Agenda) by state: due (waiting for a worker), running, scheduled (later).' },
];

const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  reconbanker_delivery_attempt_seconds: ATTEMPT_BUCKETS,
  reconbanker_delivery_latency_seconds: DELIVERY_BUCKETS,
};

const COUNTED = new Set(['reconbanker_delivery_attempts_total', 'reconbanker_polls_total']);

type Group<K> = { _id: K; n: number };

/** Cumulative histogram series from per-bucket counts (metric_counters), one set per label combination. */
function histogramValues(name: string, docs: MetricCounterDoc[]): Value[] {
  const buckets = HISTOGRAM_BUCKETS[name] ?? [];
  const groups = new Map<string, { labels: Labels; perBucket: Map<string, number>; sum: number; count: number }>();
  const groupOf = (labels: Labels) => {
    const { le: _le, ...rest } = labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { labels: rest, perBucket: new Map(), sum: 0, count: 0 }));
    return group;
  };
  for (const doc of docs) {
    const labels = (doc.labels ?? {}) as Labels;
    if (doc.name === `${name}_bucket`) {
      const group = groupOf(labels);
      const le = labels.le ?? '+Inf';
      group.perBucket.set(le, (group.perBucket.get(le) ?? 0) + doc.value);
    } else if (doc.name === `${name}_sum`) groupOf(labels).sum += doc.value;
    else if (doc.name === `${name}_count`) groupOf(labels).count += doc.value;
  }
  const values: Value[] = [];
  for (const group of groups.values()) {
    let running = 0;
    for (const bound of [...buckets.map(String), '+Inf']) {
      running += group.perBucket.get(bound) ?? 0;
      values.push({ metricName: `${name}_bucket`, labels: { ...group.labels, le: bound }, value: running });
    }
    values.push({ metricName: `${name}_sum`, labels: group.labels, value: group.sum });
    values.push({ metricName: `${name}_count`, labels: group.labels, value: group.count });
  }
  return values;
}

/** Reads every database-backed metric at once. */
export async function readSnapshot(models: Models, db: Db, now: Date): Promise<Snapshot> {
  const [runs, requests, outbox, pollFailing, pollFailures, blocked, attention, assistance, jobs, counters] = await Promise.all([
    models.SessionRun.aggregate<Group<{ kind: string; outcome: string | null; status: string }>>([{ $group: { _id: { kind: '$kind', outcome: '$outcome', status: '$status' }, n: { $sum: 1 } } }]),
    models.ConciliationRequest.aggregate<Group<string>>([{ $group: { _id: '$status', n: { $sum: 1 } } }]),
    models.OutboxEvent.aggregate<Group<{ lane: string | null; state: string }>>([{ $group: { _id: { lane: '$lane', state: '$webhook.state' }, n: { $sum: 1 } } }]),
    models.Account.countDocuments({ 'polling.failures': { $gt: 0 } }),
    models.Account.aggregate<{ _id: null; n: number }>([{ $match: { 'polling.failures': { $gt: 0 } } }, { $group: { _id: null, n: { $sum: '$polling.failures' } } }]),
    models.Account.countDocuments({ scrapeBlockedAt: { $ne: null } }),
    models.Account.countDocuments({ 'session.state': 'needs_attention' }),
    models.AssistanceRequest.countDocuments({ status: 'pending' }),
    queueDepth(db, now),
    models.MetricCounter.find({}).lean<MetricCounterDoc[]>(),
  ]);
  const snapshot: Snapshot = new Map();
  const put = (name: string, values: Value[]) => snapshot.set(name, values);

  const byRun = new Map<string, Value>();
  for (const g of runs) {
    const outcome = g._id.status === 'running' || g._id.status === 'orphaned' ? g._id.status : (g._id.outcome ?? g._id.status);
    const key = `${g._id.kind}|${outcome}`;
    const entry = byRun.get(key) ?? { labels: { kind: g._id.kind, outcome }, value: 0 };
    entry.value += g.n;
    byRun.set(key, entry);
  }
  put('reconbanker_session_runs', [...byRun.values()]);

  const statusCount = new Map(requests.map((g) => [g._id, g.n]));
  put('reconbanker_conciliation_requests', REQUEST_STATUSES.map((status) => ({ labels: { status }, value: statusCount.get(status) ?? 0 })));
  put('reconbanker_open_requests', [{ labels: {}, value: OPEN_STATUSES.reduce((sum, status) => sum + (statusCount.get(status) ?? 0), 0) }]);

  const outboxCount = new Map<string, number>();
  for (const g of outbox) {
    const key = `${g._id.lane ?? 'webhook'}|${g._id.state}`;
    outboxCount.set(key, (outboxCount.get(key) ?? 0) + g.n);
  }
  const lanes = ['webhook', 'notification'];
  put('reconbanker_outbox_events', lanes.flatMap((lane) => ['pending', 'delivered', 'failed', 'not_sent'].map((state) => ({ labels: { lane, state }, value: outboxCount.get(`${lane}|${state}`) ?? 0 }))));
  put('reconbanker_outbox_undelivered', lanes.map((lane) => ({ labels: { lane }, value: outboxCount.get(`${lane}|pending`) ?? 0 })));

  put('reconbanker_accounts_poll_failing', [{ labels: {}, value: pollFailing }]);
  put('reconbanker_poll_consecutive_failures', [{ labels: {}, value: pollFailures[0]?.n ?? 0 }]);
  put('reconbanker_accounts_scrape_blocked', [{ labels: {}, value: blocked }]);
  put('reconbanker_sessions_needing_attention', [{ labels: {}, value: attention }]);
  put('reconbanker_assistance_pending', [{ labels: {}, value: assistance }]);
  put('reconbanker_jobs', [
    { labels: { state: 'due' }, value: jobs.due },
    { labels: { state: 'running' }, value: jobs.running },
    { labels: { state: 'scheduled' }, value: jobs.scheduled },
  ]);

  for (const name of COUNTED) {
    const values = counters.filter((c) => c.name === name).map((c) => ({ labels: (c.labels ?? {}) as Labels, value: c.value }));
    // Zero series for the results that have not happened yet, so rate() has a start.
    if (name === 'reconbanker_polls_total') for (const result of ['ok', 'failed']) if (!values.some((v) => v.labels.result === result)) values.push({ labels: { result }, value: 0 });
    put(name, values);
  }
  for (const name of Object.keys(HISTOGRAM_BUCKETS)) put(name, histogramValues(name, counters));
  return snapshot;
}

export type Metrics = {
  registry: Registry;
  contentType: string;
  /** The exposition text; database values at most `cacheMs` old. */
  render(): Promise<string>;
};

export function createMetrics(deps: { models: Models; db: Db; clock: Clock; cacheMs?: number; processMetrics?: boolean }): Metrics {
  const registry = new Registry();
  const cacheMs = deps.cacheMs ?? 5_000;
  let cached: { at: number; snapshot: Snapshot } | undefined;
  let reading: Promise<Snapshot> | undefined;

  async function snapshot(): Promise<Snapshot> {
    if (cached && Date.now() - cached.at < cacheMs) return cached.snapshot;
    // Scrapes at once share one read.
    reading ??= readSnapshot(deps.models, deps.db, deps.clock.now())
      .then((read) => {
        cached = { at: Date.now(), snapshot: read };
        return read;
      })
      .finally(() => (reading = undefined));
    return reading;
  }

  for (const definition of METRICS) {
    // Values computed elsewhere: a metric object prom-client formats as it does its own.
    const metric = {
      name: definition.name,
      help: definition.help,
      type: definition.type,
      aggregator: 'sum',
      get: async () => ({ name: definition.name, help: definition.help, type: definition.type, aggregator: 'sum', values: (await snapshot()).get(definition.name) ?? [] }),
      reset: () => undefined,
    };
    registry.registerMetric(metric as unknown as Metric);
  }
  if (deps.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'reconbanker_' });

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      // Read first, so a database that does not answer fails the scrape instead of showing old or empty values.
      await snapshot();
      return registry.metrics();
    },
  };
}
