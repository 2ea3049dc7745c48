import type Database from 'better-sqlite3';
import { placeObservation, type Observation, type Version } from '../processors/versions.js';
import { contentHash } from './content-hash.js';
import type { Store } from './database.js';

/** A copy of a record as a page brings it. */
export interface ReadCopy {
  runId: number;
  sourceId: string;
  fieldsJson: string;
  /** The source's modification time of the copy; the run's time when the source gives none. */
  at: string;
  /** When the run saw it: a restored record whose copy predates its deletion opens its version then. */
  seenAt: string;
}

/** The version columns of a records row: its current version. */
export interface VersionColumns {
  versionFrom: string | null;
  versionRunId: number | null;
  fieldsHash: string | null;
}

/** What a copy does to the versions if the row takes it, decided before the row is written. */
export interface VersionPlan {
  copy: ReadCopy;
  hash: string;
  stored: StoredRow | undefined;
  /** The row's version columns should it take the copy. */
  columns: VersionColumns;
}

interface StoredRow {
  fields_json: string;
  fields_hash: string | null;
  source_modified_at: string | null;
  is_deleted: number;
  deleted_at: string | null;
  version_from: string | null;
  version_run_id: number | null;
}

/**
 * The versions of one object's records, kept inside RecordRepository's page transactions. The
 * current version lives in the records row itself; a version that ends moves to
 * past_versions. Copies read in order of modification time cost one lookup each and a write
 * per ended version; a copy older than what is known rebuilds that record's timeline.
 */
export class RecordVersions {
  private readonly storedRow: Database.Statement;
  private readonly insertPast: Database.Statement;
  private readonly endCurrent: Database.Statement;
  private readonly endUnseenCurrent: Database.Statement;
  private readonly pastTimeline: Database.Statement;
  private readonly dropPast: Database.Statement;
  private readonly setCurrent: Database.Statement;

  constructor(
    store: Pick<Store, 'sqlite'>,
    private readonly source: string,
    private readonly objectType: string,
  ) {
    const db = store.sqlite;
    const record = 'source = @source AND object_type = @objectType AND source_id = @sourceId';
    const past = 'past_versions (source, object_type, source_id, valid_from, valid_to, content_hash, fields_json, run_id)';
    const currentAsPast = 'source, object_type, source_id, version_from, max(@at, version_from), fields_hash, fields_json, version_run_id';
    this.storedRow = db.prepare(
      `SELECT fields_json, fields_hash, source_modified_at, is_deleted, deleted_at, version_from, version_run_id FROM records WHERE ${record}`,
    );
    this.insertPast = db.prepare(`INSERT OR REPLACE INTO ${past} VALUES (@source, @objectType, @sourceId, @validFrom, @validTo, @hash, @fieldsJson, @runId)`);
    this.endCurrent = db.prepare(`INSERT OR REPLACE INTO ${past} SELECT ${currentAsPast} FROM records WHERE ${record} AND is_deleted = 0 AND version_from IS NOT NULL`);
    this.endUnseenCurrent = db.prepare(
      `INSERT OR REPLACE INTO ${past} SELECT ${currentAsPast} FROM records
       WHERE source = @source AND object_type = @objectType AND is_deleted = 0 AND version_from IS NOT NULL
         AND source_id NOT IN (SELECT source_id FROM full_read_seen WHERE source = @source AND object_type = @objectType)`,
    );
    this.pastTimeline = db.prepare(
      `SELECT valid_from AS validFrom, valid_to AS validTo, content_hash AS hash, fields_json AS fieldsJson, run_id AS runId
       FROM past_versions WHERE ${record} ORDER BY valid_from`,
    );
    this.dropPast = db.prepare(`DELETE FROM past_versions WHERE ${record}`);
    this.setCurrent = db.prepare(`UPDATE records SET version_from = @versionFrom, version_run_id = @versionRunId, fields_hash = @fieldsHash WHERE ${record}`);
  }

  /** Before the row is written: the version the row holds if it takes the copy. A new version only when the mapped content changed. */
  plan(copy: ReadCopy): VersionPlan {
    const hash = contentHash(copy.fieldsJson);
    const stored = this.storedRow.get(this.key(copy.sourceId)) as StoredRow | undefined;
    const opens = { versionFrom: copy.at, versionRunId: copy.runId, fieldsHash: hash };
    if (!stored || stored.version_from === null) return { copy, hash, stored, columns: opens };
    if (stored.is_deleted) return { copy, hash, stored, columns: { ...opens, versionFrom: restoredFrom(copy, stored.deleted_at ?? stored.version_from) } };
    if (stored.fields_hash === hash) return { copy, hash, stored, columns: { versionFrom: stored.version_from, versionRunId: stored.version_run_id, fieldsHash: hash } };
    return { copy, hash, stored, columns: opens };
  }

  /** After the row was written (or left as it was): ends the version the copy replaced, or fits an older copy in. */
  settle(plan: VersionPlan, written: boolean): void {
    const { copy, hash, stored } = plan;
    if (!stored || stored.is_deleted) return;
    if (stored.version_from === null) {
      // Versions were not kept for this row until now: it opens its first.
      if (!written) this.setCurrent.run({ ...this.key(copy.sourceId), versionFrom: stored.source_modified_at ?? copy.at, versionRunId: copy.runId, fieldsHash: contentHash(stored.fields_json) });
      return;
    }
    if (stored.fields_hash === hash) return;
    if (written && copy.at > stored.version_from) {
      this.insertPast.run({ ...this.key(copy.sourceId), validFrom: stored.version_from, validTo: copy.at, hash: stored.fields_hash, fieldsJson: stored.fields_json, runId: stored.version_run_id });
    } else if (!written || copy.at < stored.version_from) {
      this.rebuild(plan);
    }
    // A copy at the very start of the current version re-describes it (a changed mapping): the row holds it now.
  }

  /** Before a record is marked deleted: its current version ends at the deletion. */
  endDeleted(sourceId: string, deletedAt: string): void {
    this.endCurrent.run({ ...this.key(sourceId), at: deletedAt });
  }

  /** Before a sweep marks them deleted: the current versions of the rows a complete full read did not see end. */
  endUnseen(deletedAt: string): void {
    this.endUnseenCurrent.run({ source: this.source, objectType: this.objectType, at: deletedAt });
  }

  /**
   * Places the copy into the record's whole timeline (past versions and the current one as it
   * was), then the row as it is now at its own modification time (the latest copy known), and
   * writes back what changed.
   */
  private rebuild({ copy, hash, stored }: VersionPlan): void {
    const key = this.key(copy.sourceId);
    const past = this.pastTimeline.all(key) as Version[];
    const current: Version[] = stored?.version_from ? [{ validFrom: stored.version_from, validTo: null, hash: stored.fields_hash!, fieldsJson: stored.fields_json, runId: stored.version_run_id! }] : [];
    const row = this.storedRow.get(key) as StoredRow;
    const latest: Observation = { at: row.source_modified_at ?? copy.at, hash: contentHash(row.fields_json), fieldsJson: row.fields_json, runId: row.version_run_id ?? copy.runId };
    const timeline = [{ at: copy.at, hash, fieldsJson: copy.fieldsJson, runId: copy.runId }, latest].reduce(placeObservation, [...past, ...current]);
    const open = timeline.at(-1)?.validTo === null ? timeline.at(-1)! : undefined;
    const ended = open ? timeline.slice(0, -1) : timeline;
    if (JSON.stringify(ended) !== JSON.stringify(past)) {
      this.dropPast.run(key);
      for (const version of ended) this.insertPast.run({ ...key, ...version });
    }
    this.setCurrent.run({ ...key, versionFrom: open?.validFrom ?? null, versionRunId: open?.runId ?? null, fieldsHash: open?.hash ?? null });
  }

  private key(sourceId: string) {
    return { source: this.source, objectType: this.objectType, sourceId };
  }
}

/**
 * A restored record's version starts at its copy's modification time, unless that is before
 * the deletion (the CRM kept the old time): then when the restore was seen, never before the
 * deletion.
 */
function restoredFrom(copy: ReadCopy, deletedAt: string): string {
  if (copy.at >= deletedAt) return copy.at;
  return copy.seenAt > deletedAt ? copy.seenAt : deletedAt;
}
