import type Database from 'better-sqlite3';
import type { FieldProblem, RejectedRecord } from '../records.js';
import { contentHash } from './content-hash.js';
import type { Store } from './database.js';

/**
 * The rejected versions of one object's records. A rejection is outstanding until a valid
 * version of the record is saved or the record is deleted in the source; meanwhile the local
 * row (if any) keeps its last valid version, marked with `rejected_at`. Called inside the
 * page transactions of RecordRepository.
 */
export class Rejections {
  private readonly adoptLegacy: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly markRow: Database.Statement;
  private readonly resolveRecord: Database.Statement;
  private readonly clearRow: Database.Statement;
  /** Ids of records with an outstanding rejection: few, so every saved record is checked against them in memory. */
  private outstanding?: Set<string>;

  constructor(
    private readonly store: Pick<Store, 'sqlite'>,
    private readonly source: string,
    private readonly objectType: string,
  ) {
    const db = store.sqlite;
    // A version kept from before versions were told apart has no hash yet: it gets one when rejected again.
    this.adoptLegacy = db.prepare(
      `UPDATE OR IGNORE rejected_records SET content_hash = @hash
       WHERE source = @source AND object_type = @objectType AND source_id IS @sourceId AND content_hash IS NULL AND raw_json = @rawJson`,
    );
    // The same version read again keeps its row (and the run that first rejected it); it is outstanding again if it was resolved.
    this.insert = db.prepare(
      `INSERT INTO rejected_records (run_id, source, object_type, source_id, raw_json, reasons, content_hash)
       VALUES (@runId, @source, @objectType, @sourceId, @rawJson, @reasons, @hash)
       ON CONFLICT (source, object_type, content_hash) DO UPDATE SET resolved_at = NULL
       RETURNING rejected_at`,
    );
    this.markRow = db.prepare('UPDATE records SET rejected_at = ? WHERE source = ? AND object_type = ? AND source_id = ?');
    this.resolveRecord = db.prepare('UPDATE rejected_records SET resolved_at = ? WHERE source = ? AND object_type = ? AND source_id = ? AND resolved_at IS NULL');
    this.clearRow = db.prepare('UPDATE records SET rejected_at = NULL WHERE source = ? AND object_type = ? AND source_id = ? AND rejected_at IS NOT NULL');
  }

  private get ids(): Set<string> {
    this.outstanding ??= new Set(
      (
        this.store.sqlite
          .prepare('SELECT DISTINCT source_id FROM rejected_records WHERE source = ? AND object_type = ? AND resolved_at IS NULL AND source_id IS NOT NULL')
          .all(this.source, this.objectType) as { source_id: string }[]
      ).map((row) => row.source_id),
    );
    return this.outstanding;
  }

  /** Another connection may have rejected or resolved records: read them again when next needed. */
  forget(): void {
    this.outstanding = undefined;
  }

  /** Records whose latest version was rejected and is not yet resolved. */
  get outstandingCount(): number {
    return this.ids.size;
  }

  /** Keeps a rejected version (once per version) and marks the record's local row, if it has one. */
  reject(runId: number, rejected: RejectedRecord): void {
    const { source, objectType } = this;
    const rawJson = JSON.stringify(rejected.raw);
    const version = { source, objectType, sourceId: rejected.sourceId, rawJson, hash: contentHash(rawJson) };
    this.adoptLegacy.run(version);
    const { rejected_at: rejectedAt } = this.insert.get({ ...version, runId, reasons: JSON.stringify(rejected.reasons) }) as { rejected_at: string };
    // Without an id a rejection cannot be told apart from others, nor resolved: it stays in rejected_records only.
    if (rejected.sourceId === null) return;
    this.markRow.run(rejectedAt, source, objectType, rejected.sourceId);
    this.ids.add(rejected.sourceId);
  }

  /** A valid version of the record was saved, or it was deleted in the source: its rejections are resolved. */
  resolve(sourceId: string, at: string): void {
    if (!this.ids.has(sourceId)) return;
    this.resolveRecord.run(at, this.source, this.objectType, sourceId);
    this.clearRow.run(this.source, this.objectType, sourceId);
    this.ids.delete(sourceId);
  }

  /** A complete full read did not see these records: deleted in the source, so their rejections are resolved. */
  resolveUnseen(at: string): void {
    this.store.sqlite
      .prepare(
        `UPDATE rejected_records SET resolved_at = @at
         WHERE source = @source AND object_type = @objectType AND resolved_at IS NULL AND source_id IS NOT NULL
           AND source_id NOT IN (SELECT source_id FROM full_read_seen WHERE source = @source AND object_type = @objectType)`,
      )
      .run({ at, source: this.source, objectType: this.objectType });
    this.outstanding = undefined;
  }
}

/** A record whose latest version was rejected, as `crmsync history` lists it. */
export interface OutstandingRejection {
  objectType: string;
  source: string;
  sourceId: string;
  rejectedAt: string;
  reasons: FieldProblem[];
}

/** Outstanding rejections, the latest version of each record, newest first; and how many there are in all. */
export function outstandingRejections(store: Store, filter: { objectType?: string; source?: string; limit: number }): { rows: OutstandingRejection[]; total: number } {
  const where = `resolved_at IS NULL AND source_id IS NOT NULL AND (@source IS NULL OR source = @source) AND (@objectType IS NULL OR object_type = @objectType)`;
  const params = { source: filter.source ?? null, objectType: filter.objectType ?? null };
  const latest = store.sqlite
    .prepare(
      `SELECT object_type AS objectType, source, source_id AS sourceId, rejected_at AS rejectedAt, reasons FROM rejected_records
       WHERE id IN (SELECT max(id) FROM rejected_records WHERE ${where} GROUP BY source, object_type, source_id)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({ ...params, limit: filter.limit }) as (Omit<OutstandingRejection, 'reasons'> & { reasons: string })[];
  const { total } = store.sqlite
    .prepare(`SELECT count(*) AS total FROM (SELECT 1 FROM rejected_records WHERE ${where} GROUP BY source, object_type, source_id)`)
    .get(params) as { total: number };
  return { rows: latest.map((row) => ({ ...row, reasons: JSON.parse(row.reasons) as FieldProblem[] })), total };
}
