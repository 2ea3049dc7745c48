import type Database from 'better-sqlite3';
import type { Deletion, MappedRecord, RejectedRecord } from '../records.js';
import type { Store } from './database.js';
import { contentHash } from './content-hash.js';
import { RecordVersions, type VersionColumns } from './record-versions.js';
import { Rejections } from './rejections.js';
import { emptyCounts, type PageCounts, type RunPages } from './run-pages.js';

/** A mapped record as its page's transaction writes it: serialised before the write, on the thread that mapped it. */
export interface RecordRow {
  sourceId: string;
  modifiedAt: string;
  rawJson: string;
  fieldsJson: string;
  /** Of rawJson: a copy whose hash matches the stored one is unchanged. */
  hash: string;
}

export function toRecordRow(record: MappedRecord): RecordRow {
  const rawJson = JSON.stringify(record.raw);
  return { sourceId: record.sourceId, modifiedAt: record.modifiedAt, rawJson, fieldsJson: JSON.stringify(record.fields), hash: contentHash(rawJson) };
}

export interface PageToSave {
  runId: number;
  records: RecordRow[];
  rejected: RejectedRecord[];
  /** Records deleted in the source, marked deleted here (change reads). */
  deletions?: Deletion[];
  /** A full read that will sweep: remember every id of the page as seen. */
  markSeen?: boolean;
  /** Paging position after this page, stored with it so a crash resumes here. */
  checkpoint: unknown;
  /** The run's watermark once this page is committed. */
  watermark: string | null;
  /** Replace local rows even when unchanged or when the local copy looks newer. */
  forceOverwrite: boolean;
}

export interface DeletionsToSave {
  runId: number;
  deletions: Deletion[];
  checkpoint: unknown;
  watermark: string | null;
}

/** The version columns of a row whose object keeps no history. */
const NO_VERSION: VersionColumns = { versionFrom: null, versionRunId: null, fieldsHash: null };

/**
 * Saves pages of one object. The hot path uses prepared statements directly: a page is a
 * few hundred rows and this is where a full sync spends its local time.
 */
export class RecordRepository {
  private readonly upsertRow: Database.Statement;
  private readonly rejections: Rejections;
  /** Absent when the object keeps no history (history: false in mappings.yaml). */
  private readonly versions?: RecordVersions;
  private readonly markRowDeleted: Database.Statement;
  private readonly markSeen: Database.Statement;
  private readonly savePagesTx: Database.Transaction<(pages: PageToSave[]) => PageCounts[]>;
  private readonly saveDeletionsTx: Database.Transaction<(page: DeletionsToSave) => PageCounts>;

  constructor(
    private readonly store: Pick<Store, 'sqlite'>,
    private readonly history: Pick<RunPages, 'recordPage'>,
    private readonly source: string,
    private readonly objectType: string,
    options: { keepsHistory: boolean } = { keepsHistory: true },
  ) {
    const db = store.sqlite;
    // One statement per record: insert, or update only when the record as received (its
    // hash) or its mapped fields changed and the incoming copy is not older than the stored
    // one (or when forced, or to revive a deleted row). Comparing the mapped fields catches a
    // changed mapping, whose raw record is the same. RETURNING yields nothing for an
    // unchanged record; an inserted row still carries this run as its first run.
    this.upsertRow = db.prepare(
      `INSERT INTO records (source, object_type, source_id, raw_json, fields_json, content_hash, source_modified_at, first_run_id, last_run_id,
         version_from, version_run_id, fields_hash)
       VALUES (@source, @objectType, @sourceId, @rawJson, @fieldsJson, @hash, @modifiedAt, @runId, @runId, @versionFrom, @versionRunId, @fieldsHash)
       ON CONFLICT (source, object_type, source_id) DO UPDATE SET
         raw_json = excluded.raw_json, fields_json = excluded.fields_json, content_hash = excluded.content_hash,
         source_modified_at = excluded.source_modified_at, is_deleted = 0, deleted_at = NULL, last_run_id = excluded.last_run_id,
         version_from = excluded.version_from, version_run_id = excluded.version_run_id, fields_hash = excluded.fields_hash
       WHERE @force = 1 OR records.is_deleted = 1
         OR ((records.content_hash <> excluded.content_hash OR records.fields_json <> excluded.fields_json)
             AND (records.source_modified_at IS NULL OR records.source_modified_at <= excluded.source_modified_at))
       RETURNING first_run_id`,
    );
    this.rejections = new Rejections(store, source, objectType);
    if (options.keepsHistory) this.versions = new RecordVersions(store, source, objectType);
    this.markRowDeleted = db.prepare(
      `UPDATE records SET is_deleted = 1, deleted_at = @deletedAt, rejected_at = NULL, last_run_id = @runId
       WHERE source = @source AND object_type = @objectType AND source_id = @sourceId AND is_deleted = 0`,
    );
    this.markSeen = db.prepare('INSERT OR IGNORE INTO full_read_seen (source, object_type, source_id) VALUES (?, ?, ?)');
    this.savePagesTx = db.transaction((pages: PageToSave[]) => pages.map((page) => this.writePage(page)));
    this.saveDeletionsTx = db.transaction((page: DeletionsToSave) => this.writeDeletions(page));
  }

  /** Marks rows deleted (never erases them), with the checkpoint, in one transaction. */
  saveDeletions(page: DeletionsToSave): PageCounts {
    return this.saveDeletionsTx.immediate(page);
  }

  private writeDeletions(page: DeletionsToSave): PageCounts {
    const counts = emptyCounts();
    this.markDeleted(page.runId, page.deletions, counts);
    this.history.recordPage(page.runId, counts, page.checkpoint, page.watermark);
    return counts;
  }

  private markDeleted(runId: number, deletions: Deletion[], counts: PageCounts): void {
    for (const deletion of deletions) {
      this.versions?.endDeleted(deletion.sourceId, deletion.deletedAt);
      const { changes } = this.markRowDeleted.run({ ...deletion, source: this.source, objectType: this.objectType, runId });
      counts.deleted += changes;
      this.rejections.resolve(deletion.sourceId, deletion.deletedAt);
    }
  }

  /** Records of the object whose latest version was rejected and is not yet resolved (by a valid version, or a deletion). */
  get rejectedOutstanding(): number {
    return this.rejections.outstandingCount;
  }

  /** Starts a full read that will sweep: forgets what an earlier, unfinished one saw. */
  startFullRead(): void {
    this.store.sqlite.prepare('DELETE FROM full_read_seen WHERE source = ? AND object_type = ?').run(this.source, this.objectType);
  }

  /**
   * Ends a complete full read: local rows it did not see were deleted in the source since
   * they were last read. Marked deleted (with this time), never erased, in one transaction
   * with the checkpoint.
   */
  sweepUnseen(page: { runId: number; checkpoint: unknown; watermark: string | null; deletedAt: string }): PageCounts {
    const sweep = this.store.sqlite.transaction(() => {
      const counts = emptyCounts();
      this.versions?.endUnseen(page.deletedAt);
      counts.deleted = this.store.sqlite
        .prepare(
          `UPDATE records SET is_deleted = 1, deleted_at = @deletedAt, rejected_at = NULL, last_run_id = @runId
           WHERE source = @source AND object_type = @objectType AND is_deleted = 0
             AND source_id NOT IN (SELECT source_id FROM full_read_seen WHERE source = @source AND object_type = @objectType)`,
        )
        .run({ source: this.source, objectType: this.objectType, runId: page.runId, deletedAt: page.deletedAt }).changes;
      this.rejections.resolveUnseen(page.deletedAt);
      this.startFullRead();
      this.history.recordPage(page.runId, counts, page.checkpoint, page.watermark);
      return counts;
    });
    return sweep.immediate();
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
    return this.savePages([page])[0]!;
  }

  /** Pages in order, in one transaction: each page's checkpoint is written after its rows, so the last one stands. */
  savePages(pages: PageToSave[]): PageCounts[] {
    // IMMEDIATE takes the write lock first: a deferred transaction that reads, then writes,
    // fails with "database is locked" without waiting when another process wrote meanwhile.
    return this.savePagesTx.immediate(pages);
  }

  /** Another connection wrote this object's pages: what this one remembers of its rejections may be out of date. */
  forgetRemembered(): void {
    this.rejections.forget();
  }

  private writePage(page: PageToSave): PageCounts {
    const counts = emptyCounts();
    const { source, objectType } = this;
    const force = page.forceOverwrite ? 1 : 0;
    const savedAt = new Date().toISOString();
    for (const record of page.records) {
      counts.processed++;
      const { rawJson, fieldsJson } = record;
      const version = this.versions?.plan({ runId: page.runId, sourceId: record.sourceId, fieldsJson, at: record.modifiedAt || savedAt, seenAt: savedAt });
      const written = this.upsertRow.get({
        source,
        objectType,
        sourceId: record.sourceId,
        rawJson,
        fieldsJson,
        hash: record.hash,
        modifiedAt: record.modifiedAt,
        runId: page.runId,
        force,
        ...(version?.columns ?? NO_VERSION),
      }) as { first_run_id: number } | undefined;
      if (!written) counts.unchanged++;
      else if (written.first_run_id === page.runId) counts.created++;
      else counts.updated++;
      if (version) this.versions!.settle(version, written !== undefined);
      // Also when unchanged: the source went back to the version the row holds.
      this.rejections.resolve(record.sourceId, savedAt);
    }
    for (const rejected of page.rejected) {
      counts.processed++;
      counts.failed++;
      this.rejections.reject(page.runId, rejected);
    }
    if (page.markSeen) {
      // A rejected record still exists in the source: its local row must not be swept.
      for (const record of page.records) this.markSeen.run(source, objectType, record.sourceId);
      for (const rejected of page.rejected) if (rejected.sourceId) this.markSeen.run(source, objectType, rejected.sourceId);
    }
    if (page.deletions) this.markDeleted(page.runId, page.deletions, counts);
    this.history.recordPage(page.runId, counts, page.checkpoint, page.watermark);
    return counts;
  }
}
