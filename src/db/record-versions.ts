import type Database from 'better-sqlite3';
import { placeObservation, type Observation, type Version } from '../processors/versions.js';
import { contentHash } from './content-hash.js';
import type { Store } from './database.js';

/** A copy of a record as a page brings it, and whether the local row now holds it. */
export interface ReadCopy {
  runId: number;
  sourceId: string;
  fieldsJson: string;
  /** The source's modification time of the copy; the run's time when the source gives none. */
  at: string;
  /** The local row was inserted or replaced with this copy. */
  written: boolean;
  /** Ends a deletion: a restored record opens a version no earlier than its deletion, at the latest when it was seen again. */
  seenAt: string;
}

interface LastVersion {
  valid_from: string;
  valid_to: string | null;
  is_current: number;
  content_hash: string;
}

interface StoredRow {
  fields_json: string;
  source_modified_at: string | null;
  last_run_id: number;
}

/**
 * The versions of one object's records (record_versions), written inside RecordRepository's
 * page transactions. Reads in order of modification time cost one lookup per record and a
 * write per change; a copy older than what is known rebuilds that record's timeline.
 */
export class RecordVersions {
  private readonly lastVersion: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly close: Database.Statement;
  private readonly closeCurrent: Database.Statement;
  private readonly closeUnseenCurrent: Database.Statement;
  private readonly timeline: Database.Statement;
  private readonly dropTimeline: Database.Statement;
  private readonly storedRow: Database.Statement;

  constructor(
    store: Store,
    private readonly source: string,
    private readonly objectType: string,
  ) {
    const db = store.sqlite;
    const record = 'source = @source AND object_type = @objectType AND source_id = @sourceId';
    this.lastVersion = db.prepare(`SELECT valid_from, valid_to, is_current, content_hash FROM record_versions WHERE ${record} ORDER BY valid_from DESC LIMIT 1`);
    this.insert = db.prepare(
      `INSERT INTO record_versions (source, object_type, source_id, valid_from, valid_to, is_current, content_hash, fields_json, run_id)
       VALUES (@source, @objectType, @sourceId, @validFrom, @validTo, @validTo IS NULL, @hash, @fieldsJson, @runId)`,
    );
    this.close = db.prepare(`UPDATE record_versions SET valid_to = @at, is_current = 0 WHERE ${record} AND valid_from = @validFrom`);
    this.closeCurrent = db.prepare(`UPDATE record_versions SET valid_to = max(@at, valid_from), is_current = 0 WHERE ${record} AND is_current = 1`);
    this.closeUnseenCurrent = db.prepare(
      `UPDATE record_versions SET valid_to = max(@at, valid_from), is_current = 0
       WHERE source = @source AND object_type = @objectType AND is_current = 1 AND source_id IN (
         SELECT source_id FROM records WHERE source = @source AND object_type = @objectType AND is_deleted = 0
           AND source_id NOT IN (SELECT source_id FROM full_read_seen WHERE source = @source AND object_type = @objectType))`,
    );
    this.timeline = db.prepare(
      `SELECT valid_from AS validFrom, valid_to AS validTo, content_hash AS hash, fields_json AS fieldsJson, run_id AS runId
       FROM record_versions WHERE ${record} ORDER BY valid_from`,
    );
    this.dropTimeline = db.prepare(`DELETE FROM record_versions WHERE ${record}`);
    this.storedRow = db.prepare(`SELECT fields_json, source_modified_at, last_run_id FROM records WHERE ${record}`);
  }

  /** Opens, closes or leaves versions for a copy of a record: a new version only when its mapped content changed. */
  observe(copy: ReadCopy): void {
    const key = this.key(copy.sourceId);
    const hash = contentHash(copy.fieldsJson);
    const observation: Observation = { at: copy.at, hash, fieldsJson: copy.fieldsJson, runId: copy.runId };
    const last = this.lastVersion.get(key) as LastVersion | undefined;
    if (!copy.written) {
      // Unchanged, or older than the local row: usually the current version already says it.
      if (last?.is_current && last.content_hash === hash) return;
      this.rebuild(copy.sourceId, [observation, ...this.storedObservation(copy.sourceId, copy.at)]);
      return;
    }
    if (!last) {
      this.open(copy.sourceId, observation);
    } else if (last.is_current) {
      if (last.content_hash === hash) return;
      if (copy.at > last.valid_from) {
        this.close.run({ ...key, validFrom: last.valid_from, at: copy.at });
        this.open(copy.sourceId, observation);
      } else {
        this.rebuild(copy.sourceId, [observation]);
      }
    } else {
      // A restore: the record was deleted at last.valid_to.
      const deletedAt = last.valid_to ?? last.valid_from;
      const from = copy.at >= deletedAt ? copy.at : deletedAt > copy.seenAt ? deletedAt : copy.seenAt;
      if (from > last.valid_from) this.open(copy.sourceId, { ...observation, at: from });
      else this.rebuild(copy.sourceId, [{ ...observation, at: from }]);
    }
  }

  /** Closes the current version of a record deleted in the source, at the deletion time. */
  closeDeleted(sourceId: string, deletedAt: string): void {
    this.closeCurrent.run({ ...this.key(sourceId), at: deletedAt });
  }

  /** Before a sweep marks them deleted: closes the current versions of the rows a complete full read did not see. */
  closeUnseen(deletedAt: string): void {
    this.closeUnseenCurrent.run({ source: this.source, objectType: this.objectType, at: deletedAt });
  }

  private open(sourceId: string, version: Observation): void {
    this.insert.run({ ...this.key(sourceId), validFrom: version.at, validTo: null, hash: version.hash, fieldsJson: version.fieldsJson, runId: version.runId });
  }

  /** The local row as an observation: it is the latest copy known, at its own modification time. */
  private storedObservation(sourceId: string, fallbackAt: string): Observation[] {
    const row = this.storedRow.get(this.key(sourceId)) as StoredRow | undefined;
    if (!row) return [];
    return [{ at: row.source_modified_at ?? fallbackAt, hash: contentHash(row.fields_json), fieldsJson: row.fields_json, runId: row.last_run_id }];
  }

  /** Places copies into the record's timeline and writes it back when it changed. */
  private rebuild(sourceId: string, copies: Observation[]): void {
    const key = this.key(sourceId);
    const before = this.timeline.all(key) as Version[];
    const after = copies.reduce(placeObservation, before);
    if (JSON.stringify(after) === JSON.stringify(before)) return;
    this.dropTimeline.run(key);
    for (const version of after) this.insert.run({ ...key, ...version });
  }

  private key(sourceId: string) {
    return { source: this.source, objectType: this.objectType, sourceId };
  }
}
