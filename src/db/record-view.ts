import type { FieldProblem } from '../records.js';
import type { Store } from './database.js';
import { VERSIONS_VIEW } from './schema-names.js';

/** One record of one object from one source: records' primary key. */
export interface RecordKey {
  source: string;
  objectType: string;
  sourceId: string;
}

/** A run as `show` names it: its sync_history row's id, start and kind of read (null when the row is gone). */
export interface RunInfo {
  id: number;
  startTime: string | null;
  syncMode: string | null;
  status: string | null;
}

/** The local row of a record, its mapped fields parsed. */
export interface StoredRecord {
  sourceId: string;
  fields: Record<string, unknown>;
  sourceModifiedAt: string | null;
  isDeleted: boolean;
  deletedAt: string | null;
  rejectedAt: string | null;
  firstRun: RunInfo;
  lastRun: RunInfo;
}

/** The record's latest rejected version: rejected_records' row with the highest id. */
export interface LatestRejection {
  runId: number;
  rejectedAt: string;
  /** NULL while outstanding. */
  resolvedAt: string | null;
  reasons: FieldProblem[];
}

/** One row of record_versions, its fields parsed. */
export interface StoredVersion {
  validFrom: string;
  validTo: string | null;
  runId: number;
  fields: Record<string, unknown>;
}

/** Everything the store knows of one record. */
export interface RecordDetails {
  record: StoredRecord;
  rejection: LatestRejection | null;
  /** Related records per object (companies: 2), both directions of every stored pair. */
  associations: Record<string, number>;
  /** Oldest first; only when asked for. */
  versions?: StoredVersion[];
}

const runColumns = (alias: string, prefix: string) =>
  `${alias}.start_time AS ${prefix}StartTime, ${alias}.sync_mode AS ${prefix}SyncMode, ${alias}.status AS ${prefix}Status`;

interface RecordRow {
  sourceId: string;
  fieldsJson: string;
  sourceModifiedAt: string | null;
  isDeleted: number;
  deletedAt: string | null;
  rejectedAt: string | null;
  firstRunId: number;
  firstStartTime: string | null;
  firstSyncMode: string | null;
  firstStatus: string | null;
  lastRunId: number;
  lastStartTime: string | null;
  lastSyncMode: string | null;
  lastStatus: string | null;
}

/**
 * The record with its runs, latest rejection, association counts and (with `versions`) its
 * versions; undefined when the store has no such record. Ids are matched exactly, or else
 * regardless of case (Dataverse ids are GUIDs, which are written in either case).
 */
export function readRecordDetails(store: Store, key: RecordKey, options: { versions: boolean }): RecordDetails | undefined {
  const record = findRecord(store, key);
  if (!record) return undefined;
  const found = { ...key, sourceId: record.sourceId };
  return {
    record,
    rejection: latestRejection(store, found),
    associations: associationCounts(store, found),
    ...(options.versions ? { versions: recordVersions(store, found) } : {}),
  };
}

function findRecord(store: Store, key: RecordKey): StoredRecord | undefined {
  const select = (match: string) =>
    store.sqlite
      .prepare(
        `SELECT r.source_id AS sourceId, r.fields_json AS fieldsJson, r.source_modified_at AS sourceModifiedAt, r.is_deleted AS isDeleted,
           r.deleted_at AS deletedAt, r.rejected_at AS rejectedAt, r.first_run_id AS firstRunId, ${runColumns('f', 'first')},
           r.last_run_id AS lastRunId, ${runColumns('l', 'last')}
         FROM records r
           LEFT JOIN sync_history f ON f.id = r.first_run_id
           LEFT JOIN sync_history l ON l.id = r.last_run_id
         WHERE r.source = @source AND r.object_type = @objectType AND ${match}
         LIMIT 2`,
      )
      .all(key) as RecordRow[];
  const exact = select('r.source_id = @sourceId');
  const rows = exact.length > 0 ? exact : select('r.source_id = @sourceId COLLATE NOCASE');
  // Two ids that differ only in case are two records: neither is meant more than the other.
  if (rows.length !== 1) return undefined;
  const [row] = rows;
  return {
    sourceId: row.sourceId,
    fields: JSON.parse(row.fieldsJson) as Record<string, unknown>,
    sourceModifiedAt: row.sourceModifiedAt,
    isDeleted: row.isDeleted === 1,
    deletedAt: row.deletedAt,
    rejectedAt: row.rejectedAt,
    firstRun: { id: row.firstRunId, startTime: row.firstStartTime, syncMode: row.firstSyncMode, status: row.firstStatus },
    lastRun: { id: row.lastRunId, startTime: row.lastStartTime, syncMode: row.lastSyncMode, status: row.lastStatus },
  };
}

/** The record's latest rejected version, if any version of it was ever rejected. */
export function latestRejection(store: Store, key: RecordKey): LatestRejection | null {
  const row = store.sqlite
    .prepare(
      `SELECT run_id AS runId, rejected_at AS rejectedAt, resolved_at AS resolvedAt, reasons FROM rejected_records
       WHERE source = @source AND object_type = @objectType AND source_id = @sourceId
       ORDER BY id DESC LIMIT 1`,
    )
    .get(key) as (Omit<LatestRejection, 'reasons'> & { reasons: string }) | undefined;
  return row ? { ...row, reasons: JSON.parse(row.reasons) as FieldProblem[] } : null;
}

/** Distinct related records per object, whichever end of a stored pair the record is at. */
function associationCounts(store: Store, key: RecordKey): Record<string, number> {
  const rows = store.sqlite
    .prepare(
      `SELECT object, count(*) AS count FROM (
         SELECT to_object AS object, to_id AS id FROM associations WHERE source = @source AND from_object = @objectType AND from_id = @sourceId
         UNION
         SELECT from_object, from_id FROM associations WHERE source = @source AND to_object = @objectType AND to_id = @sourceId)
       GROUP BY object ORDER BY object`,
    )
    .all(key) as { object: string; count: number }[];
  return Object.fromEntries(rows.map((row) => [row.object, row.count]));
}

function recordVersions(store: Store, key: RecordKey): StoredVersion[] {
  const rows = store.sqlite
    .prepare(
      `SELECT valid_from AS validFrom, valid_to AS validTo, run_id AS runId, fields_json AS fieldsJson FROM ${VERSIONS_VIEW}
       WHERE source = @source AND object_type = @objectType AND source_id = @sourceId ORDER BY valid_from`,
    )
    .all(key) as (Omit<StoredVersion, 'fields'> & { fieldsJson: string })[];
  return rows.map(({ fieldsJson, ...version }) => ({ ...version, fields: JSON.parse(fieldsJson) as Record<string, unknown> }));
}
