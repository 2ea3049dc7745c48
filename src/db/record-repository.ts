import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { MappedRecord, RejectedRecord } from '../processors/mapper.js';
import type { Store } from './database.js';
import { emptyCounts, type PageCounts, type SyncHistoryRepository } from './sync-history.js';

export interface PageToSave {
  runId: number;
  records: MappedRecord[];
  rejected: RejectedRecord[];
  /** Paging position after this page, stored with it so a crash resumes here. */
  checkpoint: unknown;
  /** The run's watermark once this page is committed. */
  watermark: string | null;
  /** Replace local rows even when unchanged or when the local copy looks newer. */
  forceOverwrite: boolean;
}

export interface DeletionsToSave {
  runId: number;
  deletions: { sourceId: string; deletedAt: string }[];
  checkpoint: unknown;
  watermark: string | null;
}

interface ExistingRow {
  content_hash: string;
  source_modified_at: string | null;
  is_deleted: number;
}

/**
 * Saves pages of one object. The hot path uses prepared statements directly: a page is a
 * few hundred rows and this is where a full sync spends its local time.
 */
export class RecordRepository {
  private readonly findRow: Database.Statement;
  private readonly insertRow: Database.Statement;
  private readonly updateRow: Database.Statement;
  private readonly insertRejected: Database.Statement;
  private readonly markRowDeleted: Database.Statement;
  private readonly savePageTx: Database.Transaction<(page: PageToSave) => PageCounts>;
  private readonly saveDeletionsTx: Database.Transaction<(page: DeletionsToSave) => PageCounts>;

  constructor(
    private readonly store: Store,
    private readonly history: SyncHistoryRepository,
    private readonly source: string,
    private readonly objectType: string,
  ) {
    const db = store.sqlite;
    this.findRow = db.prepare(
      'SELECT content_hash, source_modified_at, is_deleted FROM records WHERE source = ? AND object_type = ? AND source_id = ?',
    );
    this.insertRow = db.prepare(
      `INSERT INTO records (source, object_type, source_id, raw_json, fields_json, content_hash, source_modified_at, first_run_id, last_run_id)
       VALUES (@source, @objectType, @sourceId, @rawJson, @fieldsJson, @hash, @modifiedAt, @runId, @runId)`,
    );
    this.updateRow = db.prepare(
      `UPDATE records SET raw_json = @rawJson, fields_json = @fieldsJson, content_hash = @hash, source_modified_at = @modifiedAt,
         is_deleted = 0, deleted_at = NULL, last_run_id = @runId
       WHERE source = @source AND object_type = @objectType AND source_id = @sourceId`,
    );
    this.insertRejected = db.prepare(
      'INSERT INTO rejected_records (run_id, source, object_type, source_id, raw_json, reasons) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.markRowDeleted = db.prepare(
      `UPDATE records SET is_deleted = 1, deleted_at = @deletedAt, last_run_id = @runId
       WHERE source = @source AND object_type = @objectType AND source_id = @sourceId AND is_deleted = 0`,
    );
    this.savePageTx = db.transaction((page: PageToSave) => this.writePage(page));
    this.saveDeletionsTx = db.transaction((page: DeletionsToSave) => this.writeDeletions(page));
  }

  /** Marks rows deleted (never erases them), with the checkpoint, in one transaction. */
  saveDeletions(page: DeletionsToSave): PageCounts {
    return this.saveDeletionsTx.immediate(page);
  }

  private writeDeletions(page: DeletionsToSave): PageCounts {
    const counts = emptyCounts();
    for (const deletion of page.deletions) {
      const { changes } = this.markRowDeleted.run({ ...deletion, source: this.source, objectType: this.objectType, runId: page.runId });
      counts.deleted += changes;
    }
    this.history.recordPage(page.runId, counts, page.checkpoint, page.watermark);
    return counts;
  }

  /** Ids of rows marked deleted locally, to check which of them came back. */
  deletedIds(): string[] {
    return (
      this.store.sqlite
        .prepare('SELECT source_id FROM records WHERE source = ? AND object_type = ? AND is_deleted = 1')
        .all(this.source, this.objectType) as { source_id: string }[]
    ).map((row) => row.source_id);
  }

  /** One transaction: the rows, the rejections, the counts and the checkpoint. */
  savePage(page: PageToSave): PageCounts {
    // IMMEDIATE takes the write lock first: a deferred transaction that reads, then writes,
    // fails with "database is locked" without waiting when another process wrote meanwhile.
    return this.savePageTx.immediate(page);
  }

  private writePage(page: PageToSave): PageCounts {
    const counts = emptyCounts();
    const { source, objectType } = this;
    for (const record of page.records) {
      counts.processed++;
      const rawJson = JSON.stringify(record.raw);
      const hash = createHash('sha1').update(rawJson).digest('base64');
      const existing = this.findRow.get(source, objectType, record.sourceId) as ExistingRow | undefined;
      const row = {
        source,
        objectType,
        sourceId: record.sourceId,
        rawJson,
        fieldsJson: JSON.stringify(record.fields),
        hash,
        modifiedAt: record.modifiedAt,
        runId: page.runId,
      };
      if (!existing) {
        this.insertRow.run(row);
        counts.created++;
      } else if (!page.forceOverwrite && !existing.is_deleted && (existing.content_hash === hash || isNewer(existing, record))) {
        // Same content, or a re-read from the overlap window older than what we hold.
        counts.unchanged++;
      } else {
        this.updateRow.run(row);
        counts.updated++;
      }
    }
    for (const rejected of page.rejected) {
      counts.processed++;
      counts.failed++;
      this.insertRejected.run(page.runId, source, objectType, rejected.sourceId, JSON.stringify(rejected.raw), JSON.stringify(rejected.reasons));
    }
    this.history.recordPage(page.runId, counts, page.checkpoint, page.watermark);
    return counts;
  }

  count(): number {
    const row = this.store.sqlite
      .prepare('SELECT count(*) AS n FROM records WHERE source = ? AND object_type = ? AND is_deleted = 0')
      .get(this.source, this.objectType) as { n: number };
    return row.n;
  }
}

function isNewer(existing: ExistingRow, incoming: MappedRecord): boolean {
  return existing.source_modified_at !== null && existing.source_modified_at > incoming.modifiedAt;
}
