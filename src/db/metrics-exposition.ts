import type { Store } from './database.js';
import { FINISHED_STATUSES, readMetrics, type MetricsSnapshot, type RunSeries } from './metrics.js';
import type { EventOutcome } from './webhook-events.js';

const RECORD_OPERATIONS = ['created', 'updated', 'unchanged', 'deleted', 'rejected'] as const;
const EVENT_OUTCOMES: readonly EventOutcome[] = ['applied', 'ignored'];

/** Counters summed from performance_metrics: the metric, and the RunSeries field it reads. */
const REQUEST_COUNTERS = [
  ['crmsync_requests_total', 'requests', 'HTTP requests sent to the CRM APIs'],
  ['crmsync_retries_total', 'retries', 'requests sent again after a 429, a 5xx, a reset or a timeout'],
  ['crmsync_rate_limited_total', 'rateLimited', 'answers that were HTTP 429 (rate limited)'],
] as const;

const OF_RUNS = 'summed over every finished run of the object and source';
const TWO_WAY_READS = 'a two-way run (source two_way) counts the reads it makes too, which also count under their CRM';

/**
 * The Prometheus text exposition (format 0.0.4) of what the database holds. A fresh registry
 * each time: counters are set by one inc of their sum from sync_history, which only grows.
 */
export async function metricsExposition(snapshot: MetricsSnapshot): Promise<string> {
  // prom-client is loaded only here: `crmsync --help` and the syncs without a textfile never pay for it.
  const { Counter, Gauge, Registry } = await import('prom-client');
  const registry = new Registry();
  const runLabels = ['object', 'source'] as const;
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers: [registry] });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers: [registry] });

  const lastSuccess = gauge('crmsync_last_success_timestamp_seconds', 'end of the last run that completed its read (status success or partial, not stopped at the daily quota reserve), seconds since the epoch', runLabels);
  const duration = gauge('crmsync_last_run_duration_seconds', 'duration of the last finished run', runLabels);
  const status = gauge('crmsync_last_run_status', 'status of the last finished run: 1 on the series of its status (success, partial, failed), 0 on the others', [...runLabels, 'status']);
  const records = counter(
    'crmsync_records_total',
    `records by what the run did with them (rejected: refused by validation), ${OF_RUNS}; for two_way: twins created, records updated or deleted in either CRM, pairs merged with nothing to write, writes refused or waiting`,
    [...runLabels, 'operation'],
  );
  const requestCounters = REQUEST_COUNTERS.map(([name, field, help]) => [counter(name, `${help}, ${OF_RUNS}; ${TWO_WAY_READS}`, runLabels), field] as const);

  for (const series of snapshot.runs) {
    const labels = { object: series.object, source: series.source };
    if (series.lastSuccessSeconds !== undefined) lastSuccess.set(labels, series.lastSuccessSeconds);
    if (series.lastRun) {
      duration.set(labels, series.lastRun.durationSeconds);
      for (const each of FINISHED_STATUSES) status.set({ ...labels, status: each }, each === series.lastRun.status ? 1 : 0);
    }
    for (const operation of RECORD_OPERATIONS) records.inc({ ...labels, operation }, series.records[operation]);
    for (const [metric, field] of requestCounters) metric.inc(labels, series[field satisfies keyof RunSeries]);
  }

  const conflicts = gauge('crmsync_conflicts_open', 'conflicts left to a person (conflict: manual) and not yet resolved', ['object']);
  const depth = gauge('crmsync_outbox_depth', 'two-way writes waiting in the outbox to be sent (pending), by the CRM they go to', ['object', 'crm']);
  const dead = counter('crmsync_outbox_dead_total', 'two-way writes given up on (dead-lettered: refused by the CRM, or failing until the last retry), by the CRM they were for', ['object', 'crm']);
  for (const object of snapshot.twoWay) {
    conflicts.set({ object: object.object }, object.conflictsOpen);
    for (const { crm, pending, dead: given } of object.outbox) {
      depth.set({ object: object.object, crm }, pending);
      dead.inc({ object: object.object, crm }, given);
    }
  }
  const waiting = gauge('crmsync_webhook_events_waiting', 'webhook events crmsync serve stored and has not yet read back (a read-back failing keeps them waiting), by the CRM that sent them', ['source']);
  const events = counter(
    'crmsync_webhook_events_total',
    'webhook events processed, by the CRM that sent them and outcome: applied (their records read back through a run), ignored (an object or kind crmsync does not sync)',
    ['source', 'outcome'],
  );
  for (const backlog of snapshot.webhooks) {
    waiting.set({ source: backlog.source }, backlog.waiting);
    for (const outcome of EVENT_OUTCOMES) events.inc({ source: backlog.source, outcome }, backlog[outcome]);
  }
  return registry.metrics();
}

/** The exposition of the database behind `store`. */
export async function storeExposition(store: Store): Promise<string> {
  return metricsExposition(readMetrics(store));
}
