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

/**
 * Saves pages of one object. The hot path uses prepared statements directly: a page is a
 * few hundred rows and this is where a full sync spends its local time.
 */
export class RecordRepository {
  private readonly upsertRow: Database.Statement;
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
    // One statement per record: insert, or update only when the content changed and the
    // incoming copy is not older than the stored one (or when forced, or to revive a
    // deleted row). RETURNING yields nothing for an unchanged record; an inserted row still
    // carries this run as its first run.
    this.upsertRow = db.prepare(
      `INSERT INTO records (source, object_type, source_id, raw_json, fields_json, content_hash, source_modified_at, first_run_id, last_run_id)
       VALUES (@source, @objectType, @sourceId, @rawJson, @fieldsJson, @hash, @modifiedAt, @runId, @runId)
       ON CONFLICT (source, object_type, source_id) DO UPDATE SET
         raw_json = excluded.raw_json, fields_json = excluded.fields_json, content_hash = excluded.content_hash,
         source_modified_at = excluded.source_modified_at, is_deleted = 0, deleted_at = NULL, last_run_id = excluded.last_run_id
       WHERE @force = 1 OR records.is_deleted = 1
         OR (records.content_hash <> excluded.content_hash
             AND (records.source_modified_at IS NULL OR records.source_modified_at <= excluded.source_modified_at))
       RETURNING first_run_id`,
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
    const force = page.forceOverwrite ? 1 : 0;
    for (const record of page.records) {
      counts.processed++;
      const rawJson = JSON.stringify(record.raw);
      const written = this.upsertRow.get({
        source,
        objectType,
        sourceId: record.sourceId,
        rawJson,
        fieldsJson: JSON.stringify(record.fields),
        hash: createHash('sha1').update(rawJson).digest('base64'),
        modifiedAt: record.modifiedAt,
        runId: page.runId,
        force,
      }) as { first_run_id: number } | undefined;
      if (!written) counts.unchanged++;
      else if (written.first_run_id === page.runId) counts.created++;
      else counts.updated++;
    }
    for (const rejected of page.rejected) {
      counts.processed++;
      counts.failed++;
      this.insertRejected.run(page.runId, source, objectType, rejected.sourceId, JSON.stringify(rejected.raw), JSON.stringify(rejected.reasons));
    }
    this.history.recordPage(page.runId, counts, page.checkpoint, page.watermark);
    return counts;
  }
}
