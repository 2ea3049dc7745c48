import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { and, desc, eq, inArray, isNotNull } from 'drizzle-orm';
import { displayName } from '../config/sources.js';
import { LeaseHeldError } from '../errors.js';
import type { Store } from './database.js';
import { emptyCounts, RunPages, type PageCounts } from './run-pages.js';
import { syncHistory } from './tables.js';

/**
 * How a run reads: sync_history.sync_mode; two_way: a two-way run of an object (crm_source two_way), which reads through runs
 * of its own; reconcile: `crmsync reconcile --fix` reading the records it found out of step by id, or queueing a pair's writes;
 * webhook: `crmsync serve` reading back by id the records webhooks said changed.
 */
export type SyncMode = 'full' | 'incremental' | 'since' | 'force_overwrite' | 'changes' | 'two_way' | 'reconcile' | 'webhook';
/** sync_history.crm_source of two-way runs: their object is their sync_type. */
export const TWO_WAY_SOURCE = 'two_way';

/** Where a two-way run's merge starts: the runs of each CRM whose changes the previous one merged (its checkpoint). */
export interface MergeCursor {
  hubspot: number | null;
  dynamics: number | null;
}

export type RunStatus = 'running' | 'success' | 'partial' | 'failed';
export type SyncHistoryRow = typeof syncHistory.$inferSelect;


/** SQL: the sync_history row is of a run stopped at the reserve of HubSpot's daily quota (run-lifecycle.ts marks its performance_metrics). */
export const STOPPED_AT_DAILY_RESERVE = `coalesce(json_extract(performance_metrics, '$.stoppedAtDailyReserve'), 0) = 1`;

export { emptyCounts, type PageCounts };

const now = () => new Date().toISOString();

/**
 * The `running` rows this process opened and has not closed yet, per database connection:
 * a row with this process's pid is live only if it is one of them (a long-running process
 * such as `serve` runs several objects at once), and otherwise left behind by a run of this
 * process that never closed it.
 */
const openedHere = new WeakMap<Database.Database, Set<number>>();
const runsOpenedHere = (store: Store): Set<number> => {
  let runs = openedHere.get(store.sqlite);
  if (!runs) openedHere.set(store.sqlite, (runs = new Set()));
  return runs;
};

/**
 * A run whose heartbeat is older than this is taken for dead even if its pid is alive
 * (another host, or a reused pid). Runs refresh their heartbeat every page and every
 * HEARTBEAT_MS while waiting on the API.
 */
export const LEASE_TTL_MS = 10 * 60_000;
export const HEARTBEAT_MS = 30_000;

/** A watermark or delta link, and the configuration of the run that stored it. */
export interface StoredRunValue {
  value: string;
  configuration: string | null;
}

export interface NewRun {
  /** sync_history.sync_type: contacts, contacts:companies */
  entity: string;
  source: string;
  syncMode: SyncMode;
  configuration: Record<string, unknown>;
  watermark: string | null;
}

export class SyncHistoryRepository {
  private readonly pages: RunPages;

  constructor(private readonly store: Store) {
    this.pages = new RunPages(store.sqlite);
  }

  /**
   * Takes the object's lease and opens the run's row, in one write transaction so two
   * processes cannot both win. The lease is the `running` row itself: a live holder makes
   * this throw LeaseHeldError; a dead one (its pid gone from this host, or its heartbeat
   * stale) has its row closed as `failed` first.
   */
  begin(
    source: string,
    entity: string,
    open: (previous: SyncHistoryRow | undefined) => NewRun,
    options: { shareLease?: boolean } = {},
  ): { runId: number; abandoned: SyncHistoryRow[] } {
    const begin = this.store.sqlite.transaction(() => {
      const { live, abandoned } = this.holders(source, entity);
      const [holder] = live;
      if (holder && !options.shareLease) {
        throw new LeaseHeldError(
          `${displayName(entity, source)} is already being synced by pid ${holder.pid} on ${holder.host} since ${holder.startTime} (run ${holder.id}); ` +
            'wait for it to finish, or stop that process',
        );
      }
      const last = this.last(source, entity);
      // A dead holder's row is closed as failed below, in this transaction: the new run sees it so.
      const run = open(last && abandoned.some((row) => row.id === last.id) ? { ...last, status: 'failed' } : last);
      const runId = this.insert(run);
      runsOpenedHere(this.store).add(runId);
      for (const holder of abandoned) {
        this.store.orm
          .update(syncHistory)
          .set({
            status: 'failed',
            endTime: holder.heartbeatAt ?? holder.startTime,
            errorMessage: `abandoned: pid ${holder.pid} on ${holder.host} stopped without closing the run; found by run ${runId}`,
          })
          .where(eq(syncHistory.id, holder.id))
          .run();
      }
      return { runId, abandoned };
    });
    return begin.immediate();
  }

  /**
   * The object's `running` rows: those whose process can still be working on them (the
   * lease's holder), and those left by a process that is gone, which the next run of the
   * object closes as failed.
   */
  holders(source: string, entity: string): { live: SyncHistoryRow[]; abandoned: SyncHistoryRow[] } {
    const running = this.store.orm
      .select()
      .from(syncHistory)
      .where(and(eq(syncHistory.crmSource, source), eq(syncHistory.syncType, entity), eq(syncHistory.status, 'running')))
      .orderBy(syncHistory.id)
      .all();
    const holders = { live: [] as SyncHistoryRow[], abandoned: [] as SyncHistoryRow[] };
    const here = runsOpenedHere(this.store);
    for (const row of running) (isAlive(row, here) ? holders.live : holders.abandoned).push(row);
    return holders;
  }

  private insert(run: NewRun): number {
    const time = now();
    const [row] = this.store.orm
      .insert(syncHistory)
      .values({
        crmSource: run.source,
        syncType: run.entity,
        syncMode: run.syncMode,
        status: 'running',
        startTime: time,
        heartbeatAt: time,
        configuration: JSON.stringify(run.configuration),
        watermark: run.watermark,
        host: hostname(),
        pid: process.pid,
      })
      .returning({ id: syncHistory.id })
      .all();
    return row.id;
  }

  /** The last run of the object, whatever its status. */
  last(source: string, entity: string): SyncHistoryRow | undefined {
    return this.store.orm
      .select()
      .from(syncHistory)
      .where(and(eq(syncHistory.crmSource, source), eq(syncHistory.syncType, entity)))
      .orderBy(desc(syncHistory.id))
      .limit(1)
      .get();
  }

  /** Stores the position a resumed run starts from, before it has read anything itself. */
  inheritCheckpoint(id: number, checkpoint: unknown): void {
    this.store.orm.update(syncHistory).set({ checkpoint: JSON.stringify(checkpoint) }).where(eq(syncHistory.id, id)).run();
  }

  heartbeat(id: number): void {
    this.store.orm.update(syncHistory).set({ heartbeatAt: now() }).where(eq(syncHistory.id, id)).run();
  }

  /**
   * The watermark an incremental run may start from: that of the last run that finished
   * (success or partial), with the configuration of that run (what it read). Each row
   * carries the previous watermark forward, so a run that changed nothing keeps it.
   */
  lastWatermark(source: string, entity: string): StoredRunValue | undefined {
    return this.lastFinished(source, entity, syncHistory.watermark);
  }

  /** The delta link the next change read starts from: that of the last finished run that has one, with its configuration. */
  lastDeltaLink(source: string, entity: string): StoredRunValue | undefined {
    return this.lastFinished(source, entity, syncHistory.deltaLink);
  }

  private lastFinished(source: string, entity: string, column: typeof syncHistory.watermark | typeof syncHistory.deltaLink): StoredRunValue | undefined {
    const row = this.store.orm
      .select({ value: column, configuration: syncHistory.configuration })
      .from(syncHistory)
      .where(
        and(
          eq(syncHistory.crmSource, source),
          eq(syncHistory.syncType, entity),
          inArray(syncHistory.status, ['success', 'partial']),
          isNotNull(column),
        ),
      )
      .orderBy(desc(syncHistory.id))
      .limit(1)
      .get();
    return row?.value ? { value: row.value, configuration: row.configuration } : undefined;
  }

  /** The checkpoint of the last run that finished (success or partial) and stored one. */
  lastCheckpoint(source: string, entity: string): unknown {
    const row = this.store.orm
      .select({ checkpoint: syncHistory.checkpoint })
      .from(syncHistory)
      .where(and(eq(syncHistory.crmSource, source), eq(syncHistory.syncType, entity), inArray(syncHistory.status, ['success', 'partial']), isNotNull(syncHistory.checkpoint)))
      .orderBy(desc(syncHistory.id))
      .limit(1)
      .get();
    return row?.checkpoint ? JSON.parse(row.checkpoint) : undefined;
  }

  /** Where the object's next two-way run merges from; undefined before its first finished run. */
  mergeCursor(object: string): MergeCursor | undefined {
    return this.lastCheckpoint(TWO_WAY_SOURCE, object) as MergeCursor | undefined;
  }

  /** A two-way run's counts, the summary of its writes, and where its next run starts. */
  recordWrites(id: number, counts: PageCounts, summary: object, checkpoint: unknown): void {
    this.store.orm
      .update(syncHistory)
      .set({
        recordsProcessed: counts.processed,
        recordsCreated: counts.created,
        recordsUpdated: counts.updated,
        recordsUnchanged: counts.unchanged,
        recordsDeleted: counts.deleted,
        recordsFailed: counts.failed,
        writeSummary: JSON.stringify(summary),
        checkpoint: checkpoint === undefined ? null : JSON.stringify(checkpoint),
      })
      .where(eq(syncHistory.id, id))
      .run();
  }

  /** A run that switched to another kind of read (an expired delta link → a full read). */
  changeSyncMode(id: number, syncMode: SyncMode, configuration: Record<string, unknown>): void {
    this.store.orm.update(syncHistory).set({ syncMode, configuration: JSON.stringify(configuration) }).where(eq(syncHistory.id, id)).run();
  }

  /** Adds a page's counts and moves the checkpoint; called inside the page's transaction. */
  recordPage(id: number, counts: PageCounts, checkpoint: unknown, watermark: string | null): void {
    this.pages.recordPage(id, counts, checkpoint, watermark);
  }

  finish(id: number, outcome: { status: Exclude<RunStatus, 'running'>; errorMessage?: string; metrics: object; watermark?: string | null; deltaLink?: string }): void {
    this.store.orm
      .update(syncHistory)
      .set({
        status: outcome.status,
        endTime: now(),
        errorMessage: outcome.errorMessage ?? null,
        performanceMetrics: JSON.stringify(outcome.metrics),
        ...(outcome.watermark !== undefined ? { watermark: outcome.watermark } : {}),
        ...(outcome.deltaLink !== undefined ? { deltaLink: outcome.deltaLink } : {}),
      })
      .where(eq(syncHistory.id, id))
      .run();
    runsOpenedHere(this.store).delete(id);
  }

  list(filter: { entity?: string; source?: string; limit: number }): SyncHistoryRow[] {
    return this.store.orm
      .select()
      .from(syncHistory)
      .where(
        and(
          filter.entity ? eq(syncHistory.syncType, filter.entity) : undefined,
          filter.source ? eq(syncHistory.crmSource, filter.source) : undefined,
        ),
      )
      .orderBy(desc(syncHistory.id))
      .limit(filter.limit)
      .all();
  }
}

/** Whether the process holding a `running` row can still be working on it. */
function isAlive(row: SyncHistoryRow, openedHere: Set<number>): boolean {
  const heartbeat = Date.parse(row.heartbeatAt ?? row.startTime);
  if (Date.now() - heartbeat > LEASE_TTL_MS) return false;
  if (row.host !== hostname() || row.pid === null) return true;
  if (row.pid === process.pid) return openedHere.has(row.id);
  try {
    process.kill(row.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
