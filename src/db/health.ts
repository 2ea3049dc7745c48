import { SOURCES } from '../config/sources.js';
import { UsageError } from '../errors.js';
import { judgeHealth, type HealthReport } from '../processors/health.js';
import type { Store } from './database.js';
import { LinkRepository } from './link-repository.js';
import { Outbox } from './outbox.js';
import { outstandingRejections } from './rejections.js';
import { STOPPED_AT_DAILY_RESERVE, SyncHistoryRepository, TWO_WAY_SOURCE, type RunStatus } from './sync-history.js';

/** Finished runs whose start times tell an object's usual interval. */
export const INTERVAL_RUNS = 10;

/** A run as health judges it. */
export interface RunFacts {
  id: number;
  status: RunStatus;
  startTime: string;
  endTime: string | null;
  recordsFailed: number;
  errorMessage: string | null;
}

/** A `running` row whose process is gone. */
export interface AbandonedRun {
  runId: number;
  pid: number | null;
  host: string | null;
  startedAt: string;
  heartbeatAt: string | null;
}

/** What a two-way object has waiting on people or on the CRMs. */
export interface TwoWayBacklog {
  openConflicts: number;
  writesWaiting: number;
  writesDead: number;
  /** Dead-lettered writes whose record no later write to the same CRM has reached. */
  writesDeadOutstanding: number;
}

/** Everything sync_history and the other tables say about one entity (crm_source, sync_type). */
export interface EntityState {
  object: string;
  source: string;
  firstStartedAt: string;
  /** The newest run, whatever its status. */
  lastRun: RunFacts;
  /** The newest run that ended (not `running`): the one whose rejections count. */
  lastEnded: RunFacts | null;
  /** The newest run that finished its read: success or partial, not stopped at the daily quota's reserve. */
  lastFinished: RunFacts | null;
  /** The newest run stopped at HubSpot's daily quota reserve since the last finished one: its read is continued by the next run. */
  stoppedAtReserve: RunFacts | null;
  /** Start times of the newest finished runs, newest first, at most INTERVAL_RUNS. */
  recentFinishedStarts: string[];
  /** Failed runs after the last finished one (every failed run when none finished). */
  failuresSinceFinished: number;
  /** The newest failed run. */
  lastFailed: RunFacts | null;
  /** A run in progress whose process is alive. */
  liveRuns: number;
  abandoned: AbandonedRun[];
  /** Records whose latest version was rejected and is not yet resolved; null for two-way runs, which read through runs of their own. */
  rejectionsOutstanding: number | null;
  /** Two-way runs only. */
  twoWay: TwoWayBacklog | null;
}

/** HubSpot's daily quota as the latest run that heard it was told. */
export interface DailyQuotaSeen {
  remaining: number;
  limit: number | null;
  runId: number;
  seenAt: string;
}

const RUN_COLUMNS = `id, status, start_time AS startTime, end_time AS endTime, records_failed AS recordsFailed, error_message AS errorMessage`;

/**
 * Reads, for every entity in sync_history (or the one named), what `crmsync health` judges;
 * only reads. An object named that has no runs is a UsageError, and so is a database
 * without any run: there is nothing to judge.
 */
export function readHealth(store: Store, filter: { object?: string } = {}): { entities: EntityState[]; hubspotQuota: DailyQuotaSeen | null } {
  const pairs = store.sqlite
    .prepare(`SELECT DISTINCT crm_source AS source, sync_type AS object FROM sync_history WHERE @object IS NULL OR sync_type = @object ORDER BY sync_type, crm_source`)
    .all({ object: filter.object ?? null }) as { source: string; object: string }[];
  if (pairs.length === 0) {
    const what = filter.object === undefined ? 'no sync runs' : `no runs of ${filter.object}`;
    throw new UsageError(`${what} recorded in ${store.path}: check the name (crmsync history lists the runs), or run its sync first`);
  }
  const history = new SyncHistoryRepository(store);
  return { entities: pairs.map((pair) => entityState(store, history, pair.source, pair.object)), hubspotQuota: latestDailyQuota(store) };
}

/**
 * The verdict of `crmsync health`: every entity (or the one named) read from the store and
 * judged at `now`, with the allowed age `maxAgeMs` or each entity's default.
 */
export function healthReport(store: Store, options: { object?: string; maxAgeMs?: number; now?: number } = {}): HealthReport {
  return judgeHealth(readHealth(store, { object: options.object }), { now: options.now ?? Date.now(), maxAgeMs: options.maxAgeMs });
}

function entityState(store: Store, history: SyncHistoryRepository, source: string, object: string): EntityState {
  const runs = (where: string, limit = 1) =>
    store.sqlite
      .prepare(`SELECT ${RUN_COLUMNS} FROM sync_history WHERE crm_source = ? AND sync_type = ? AND ${where} ORDER BY id DESC LIMIT ?`)
      .all(source, object, limit) as RunFacts[];
  // A webhook's read-back reads a few records, and a run stopped at the daily quota's reserve read part of what it
  // set out to: neither says how current the others are, so the object's age is its last complete read's.
  const finished = runs(`status IN ('success', 'partial') AND sync_mode <> 'webhook' AND NOT ${STOPPED_AT_DAILY_RESERVE}`, INTERVAL_RUNS);
  const lastFinished = finished[0] ?? null;
  const { failures, firstStartedAt } = store.sqlite
    .prepare(
      `SELECT sum(status = 'failed' AND id > @after) AS failures, min(start_time) AS firstStartedAt
       FROM sync_history WHERE crm_source = @source AND sync_type = @object`,
    )
    .get({ source, object, after: lastFinished?.id ?? 0 }) as { failures: number; firstStartedAt: string };
  const { live, abandoned } = history.holders(source, object);
  return {
    object,
    source,
    firstStartedAt,
    lastRun: runs('1 = 1')[0],
    lastEnded: runs(`status <> 'running'`)[0] ?? null,
    lastFinished,
    stoppedAtReserve: runs(`${STOPPED_AT_DAILY_RESERVE} AND id > ${lastFinished?.id ?? 0}`)[0] ?? null,
    recentFinishedStarts: finished.map((run) => run.startTime),
    failuresSinceFinished: failures,
    lastFailed: runs(`status = 'failed'`)[0] ?? null,
    liveRuns: live.length,
    abandoned: abandoned.map((row) => ({ runId: row.id, pid: row.pid, host: row.host, startedAt: row.startTime, heartbeatAt: row.heartbeatAt })),
    rejectionsOutstanding: (SOURCES as readonly string[]).includes(source) ? outstandingRejections(store, { source, objectType: object, limit: 0 }).total : null,
    twoWay: source === TWO_WAY_SOURCE ? twoWayBacklog(store, object) : null,
  };
}

function twoWayBacklog(store: Store, object: string): TwoWayBacklog {
  const { pending, dead } = new Outbox(store, object).counts();
  // A later write of the same record that its CRM took (audit_log's done, or exists: a create
  // that met its own twin) carried the record's fields as they are now: that refusal is behind it.
  const { outstanding } = store.sqlite
    .prepare(
      `SELECT count(*) AS outstanding FROM outbox AS dead
       WHERE dead.object_type = ? AND dead.status = 'dead'
         AND NOT EXISTS (SELECT 1 FROM audit_log AS later WHERE later.link_id = dead.link_id AND later.crm = dead.crm
                         AND later.outbox_id > dead.id AND later.outcome IN ('done', 'exists'))`,
    )
    .get(object) as { outstanding: number };
  return { openConflicts: new LinkRepository(store, object).openConflictCount(), writesWaiting: pending, writesDead: dead, writesDeadOutstanding: outstanding };
}

/** The quota HubSpot stated in the latest answer of the latest run that recorded one (see recordDailyQuota). */
function latestDailyQuota(store: Store): DailyQuotaSeen | null {
  const row = store.sqlite
    .prepare(
      `SELECT id AS runId, end_time AS seenAt, json_extract(performance_metrics, '$.hubspotDailyRemaining') AS remaining,
              json_extract(performance_metrics, '$.hubspotDailyLimit') AS "limit"
       FROM sync_history WHERE end_time IS NOT NULL AND remaining IS NOT NULL
       ORDER BY end_time DESC, id DESC LIMIT 1`,
    )
    .get() as DailyQuotaSeen | undefined;
  return row ?? null;
}
