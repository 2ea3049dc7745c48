import type Database from 'better-sqlite3';

/** What a page (or a run) did to the local rows. */
export interface PageCounts {
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
}

export const emptyCounts = (): PageCounts => ({ processed: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0 });

/**
 * A run's progress in its sync_history row, page by page: the counts and the checkpoint of
 * the last page committed. Kept apart from SyncHistoryRepository so that the thread writing
 * pages (page-writer-thread.ts) loads nothing else.
 */
export class RunPages {
  private update?: Database.Statement;

  constructor(private readonly db: Database.Database) {}

  /** Adds a page's counts and moves the checkpoint; called inside the page's transaction. */
  recordPage(id: number, counts: PageCounts, checkpoint: unknown, watermark: string | null): void {
    // A prepared statement: this runs once per page, and building the query each time cost
    // more than the rest of the page's bookkeeping.
    this.update ??= this.db.prepare(
      `UPDATE sync_history SET records_processed = records_processed + @processed, records_created = records_created + @created,
         records_updated = records_updated + @updated, records_unchanged = records_unchanged + @unchanged,
         records_deleted = records_deleted + @deleted, records_failed = records_failed + @failed,
         checkpoint = @checkpoint, watermark = @watermark, heartbeat_at = @heartbeat
       WHERE id = @id`,
    );
    this.update.run({
      ...counts,
      id,
      checkpoint: checkpoint === undefined ? null : JSON.stringify(checkpoint),
      watermark,
      heartbeat: new Date().toISOString(),
    });
  }
}
