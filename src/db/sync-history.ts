import { hostname } from 'node:os';
import { and, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Store } from './database.js';
import { syncHistory } from './schema.js';

export type SyncType = 'full' | 'incremental' | 'since' | 'force_overwrite';
export type RunStatus = 'running' | 'success' | 'partial' | 'failed';
export type SyncHistoryRow = typeof syncHistory.$inferSelect;

export interface PageCounts {
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
}

export const emptyCounts = (): PageCounts => ({ processed: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0 });

const now = () => new Date().toISOString();

export class SyncHistoryRepository {
  constructor(private readonly store: Store) {}

  /** Opens the run's row. `watermark` starts as the previous one and only moves forward. */
  start(run: {
    objectType: string;
    source: string;
    syncType: SyncType;
    configuration: Record<string, unknown>;
    watermark: string | null;
  }): number {
    const time = now();
    const [row] = this.store.orm
      .insert(syncHistory)
      .values({
        objectType: run.objectType,
        crmSource: run.source,
        syncType: run.syncType,
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

  /**
   * The watermark an incremental run may start from: that of the last run that finished
   * (success or partial). Each row carries the previous watermark forward, so a run that
   * changed nothing keeps it.
   */
  lastWatermark(source: string, objectType: string): string | null {
    const row = this.store.orm
      .select({ watermark: syncHistory.watermark })
      .from(syncHistory)
      .where(
        and(
          eq(syncHistory.crmSource, source),
          eq(syncHistory.objectType, objectType),
          inArray(syncHistory.status, ['success', 'partial']),
          isNotNull(syncHistory.watermark),
        ),
      )
      .orderBy(desc(syncHistory.id))
      .limit(1)
      .get();
    return row?.watermark ?? null;
  }

  /** Adds a page's counts and moves the checkpoint; called inside the page's transaction. */
  recordPage(id: number, counts: PageCounts, checkpoint: unknown, watermark: string | null): void {
    this.store.orm
      .update(syncHistory)
      .set({
        recordsProcessed: sql`${syncHistory.recordsProcessed} + ${counts.processed}`,
        recordsCreated: sql`${syncHistory.recordsCreated} + ${counts.created}`,
        recordsUpdated: sql`${syncHistory.recordsUpdated} + ${counts.updated}`,
        recordsUnchanged: sql`${syncHistory.recordsUnchanged} + ${counts.unchanged}`,
        recordsDeleted: sql`${syncHistory.recordsDeleted} + ${counts.deleted}`,
        recordsFailed: sql`${syncHistory.recordsFailed} + ${counts.failed}`,
        checkpoint: checkpoint === undefined ? null : JSON.stringify(checkpoint),
        watermark,
        heartbeatAt: now(),
      })
      .where(eq(syncHistory.id, id))
      .run();
  }

  finish(id: number, outcome: { status: Exclude<RunStatus, 'running'>; errorMessage?: string; metrics: object; watermark?: string | null }): SyncHistoryRow {
    return this.store.orm
      .update(syncHistory)
      .set({
        status: outcome.status,
        endTime: now(),
        errorMessage: outcome.errorMessage ?? null,
        performanceMetrics: JSON.stringify(outcome.metrics),
        ...(outcome.watermark !== undefined ? { watermark: outcome.watermark } : {}),
      })
      .where(eq(syncHistory.id, id))
      .returning()
      .get();
  }

  get(id: number): SyncHistoryRow | undefined {
    return this.store.orm.select().from(syncHistory).where(eq(syncHistory.id, id)).get();
  }

  list(filter: { objectType?: string; limit: number }): SyncHistoryRow[] {
    return this.store.orm
      .select()
      .from(syncHistory)
      .where(filter.objectType ? eq(syncHistory.objectType, filter.objectType) : undefined)
      .orderBy(desc(syncHistory.id))
      .limit(filter.limit)
      .all();
  }
}
