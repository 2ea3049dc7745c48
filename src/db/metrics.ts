import type { Store } from './database.js';
import type { RunStatus } from './sync-history.js';
import { STOPPED_AT_DAILY_RESERVE, TWO_WAY_SOURCE } from './sync-history.js';
import { WebhookEvents, type EventCounts } from './webhook-events.js';

/** A finished run's outcome: sync_history.status once the run is closed. */
export type FinishedStatus = Exclude<RunStatus, 'running'>;
export const FINISHED_STATUSES: readonly FinishedStatus[] = ['success', 'partial', 'failed'];

/** What sync_history says of one object (sync_type) read from one source (crm_source, or two_way). */
export interface RunSeries {
  object: string;
  source: string;
  /** End of the last run that completed its read (success or partial, not stopped at the daily quota's reserve), in seconds since the epoch; undefined before the first. */
  lastSuccessSeconds?: number;
  /** The last finished run (success, partial or failed); undefined while the only runs are still running. */
  lastRun?: { status: FinishedStatus; durationSeconds: number };
  /** Sums over every finished run. */
  records: { created: number; updated: number; unchanged: number; deleted: number; rejected: number };
  requests: number;
  retries: number;
  rateLimited: number;
}

/** Two-way bookkeeping of one object: conflicts left to a person, and writes per CRM waiting or given up on. */
export interface TwoWayState {
  object: string;
  conflictsOpen: number;
  outbox: { crm: string; pending: number; dead: number }[];
}

/** webhook_events of one CRM (`crmsync serve`): waiting to be read back, and processed by outcome. */
export interface WebhookBacklog extends EventCounts {
  source: string;
}

export interface MetricsSnapshot {
  runs: RunSeries[];
  twoWay: TwoWayState[];
  webhooks: WebhookBacklog[];
}

/** The CRMs a two-way object writes to: every one of them has an outbox series, 0 when nothing waits. */
const WRITE_TARGETS = ['hubspot', 'dynamics'] as const;

interface RunRow {
  object: string;
  source: string;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  requests: number;
  retries: number;
  rateLimited: number;
  lastSuccessAt: string | null;
  lastStatus: FinishedStatus | null;
  lastDurationMs: number | null;
  lastStart: string | null;
  lastEnd: string | null;
}

// Counters sum finished runs only: a running row's counts still grow, and a counter must not
// fall back when that run ends. A run closed as abandoned has no performance_metrics; its
// duration is then its end (its last heartbeat) less its start.
const RUNS_SQL = `
  WITH finished AS (SELECT * FROM sync_history WHERE status <> 'running'),
  totals AS (
    SELECT sync_type AS object, crm_source AS source,
      sum(records_created) AS created, sum(records_updated) AS updated, sum(records_unchanged) AS unchanged,
      sum(records_deleted) AS deleted, sum(records_failed) AS rejected,
      coalesce(sum(json_extract(performance_metrics, '$.requests')), 0) AS requests,
      coalesce(sum(json_extract(performance_metrics, '$.retries')), 0) AS retries,
      coalesce(sum(json_extract(performance_metrics, '$.rateLimited')), 0) AS rateLimited,
      max(CASE WHEN status IN ('success', 'partial') AND sync_mode <> 'webhook' AND NOT ${STOPPED_AT_DAILY_RESERVE} THEN end_time END) AS lastSuccessAt,
      max(id) AS lastId
    FROM finished GROUP BY sync_type, crm_source
  )
  SELECT totals.object, totals.source, created, updated, unchanged, deleted, rejected, requests, retries, rateLimited, lastSuccessAt,
    last.status AS lastStatus, json_extract(last.performance_metrics, '$.durationMs') AS lastDurationMs,
    last.start_time AS lastStart, last.end_time AS lastEnd
  FROM totals JOIN sync_history AS last ON last.id = totals.lastId
  ORDER BY totals.object, totals.source`;

/** Everything `crmsync metrics` exposes, read in one transaction so the numbers agree with each other. */
export function readMetrics(store: Store): MetricsSnapshot {
  return store.sqlite.transaction(() => ({ runs: runSeries(store), twoWay: twoWayState(store), webhooks: webhookBacklog(store) }))();
}

function runSeries(store: Store): RunSeries[] {
  const rows = store.sqlite.prepare(RUNS_SQL).all() as RunRow[];
  return rows.map((row) => ({
    object: row.object,
    source: row.source,
    ...(row.lastSuccessAt !== null && { lastSuccessSeconds: epochSeconds(row.lastSuccessAt) }),
    ...(row.lastStatus !== null && { lastRun: { status: row.lastStatus, durationSeconds: durationSeconds(row) } }),
    records: { created: row.created, updated: row.updated, unchanged: row.unchanged, deleted: row.deleted, rejected: row.rejected },
    requests: row.requests,
    retries: row.retries,
    rateLimited: row.rateLimited,
  }));
}

function durationSeconds(row: RunRow): number {
  if (row.lastDurationMs !== null) return row.lastDurationMs / 1000;
  if (row.lastStart === null || row.lastEnd === null) return 0;
  return Math.max(0, Date.parse(row.lastEnd) - Date.parse(row.lastStart)) / 1000;
}

const epochSeconds = (iso: string) => Date.parse(iso) / 1000;

/**
 * Objects that have had a two-way run, or that hold conflicts or outbox rows: each gets its
 * conflict and outbox series, 0 included, so an alert on them never meets an absent series.
 */
function twoWayState(store: Store): TwoWayState[] {
  const objects = store.sqlite
    .prepare(
      `SELECT sync_type AS object FROM sync_history WHERE crm_source = ?
       UNION SELECT object_type FROM conflicts UNION SELECT object_type FROM outbox ORDER BY 1`,
    )
    .pluck()
    .all(TWO_WAY_SOURCE) as string[];
  const open = new Map(
    (store.sqlite.prepare('SELECT object_type AS object, count(*) AS n FROM conflicts WHERE resolved_at IS NULL GROUP BY object_type').all() as { object: string; n: number }[]).map(
      (row) => [row.object, row.n],
    ),
  );
  const outbox = store.sqlite
    .prepare(`SELECT object_type AS object, crm, sum(status = 'pending') AS pending, sum(status = 'dead') AS dead FROM outbox GROUP BY object_type, crm`)
    .all() as { object: string; crm: string; pending: number; dead: number }[];
  return objects.map((object) => {
    const rows = outbox.filter((row) => row.object === object);
    const crms = [...new Set([...WRITE_TARGETS, ...rows.map((row) => row.crm)])];
    return {
      object,
      conflictsOpen: open.get(object) ?? 0,
      outbox: crms.map((crm) => {
        const row = rows.find((candidate) => candidate.crm === crm);
        return { crm, pending: row?.pending ?? 0, dead: row?.dead ?? 0 };
      }),
    };
  });
}

/** Both CRMs' series, 0 included, so an alert on a backlog never meets an absent series. */
function webhookBacklog(store: Store): WebhookBacklog[] {
  return [...new WebhookEvents(store).countsBySource()].map(([source, counts]) => ({ source, ...counts }));
}
