import type Database from 'better-sqlite3';
import type { SourceName } from '../config/sources.js';
import type { MatchKey } from '../config/two-way.js';
import type { RecordShape } from '../records.js';
import type { Store } from './database.js';

/** A record of one CRM as the local store holds it, as two-way sync reads it. */
export interface LocalRecord {
  id: string;
  fields: Record<string, unknown>;
  modifiedAt: string | null;
  deleted: boolean;
  /** The row version it was read at (a Dataverse @odata.etag). */
  etag?: string;
}

interface Row {
  id: string;
  fields: string;
  modifiedAt: string | null;
  deleted: number;
  etag: string | null;
}

/** Ids are looked up this many at a time (SQLite's limit on bound parameters is far above it). */
const LOOKUP_CHUNK = 500;

/**
 * Reads an object's records of one CRM from `records` for two-way sync: by id, those a run
 * after a given one changed, and the values records are matched by.
 */
export class LocalRecords {
  private readonly db: Database.Database;

  constructor(
    store: Store,
    readonly source: SourceName,
    readonly objectType: string,
  ) {
    this.db = store.sqlite;
  }

  get(ids: Iterable<string>): Map<string, LocalRecord> {
    const found = new Map<string, LocalRecord>();
    const list = [...ids];
    for (let start = 0; start < list.length; start += LOOKUP_CHUNK) {
      const chunk = list.slice(start, start + LOOKUP_CHUNK);
      const rows = this.db
        .prepare(
          `SELECT source_id AS id, fields_json AS fields, source_modified_at AS modifiedAt, is_deleted AS deleted,
             json_extract(raw_json, '$."@odata.etag"') AS etag
           FROM records WHERE source = ? AND object_type = ? AND source_id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(this.source, this.objectType, ...chunk) as Row[];
      for (const row of rows) found.set(row.id, localRecord(row));
    }
    return found;
  }

  /** Ids of records a run later than `afterRunId` created, changed or deleted (every record when null). */
  changedSince(afterRunId: number | null): string[] {
    const rows = this.db
      .prepare('SELECT source_id AS id FROM records WHERE source = ? AND object_type = ? AND last_run_id > ?')
      .all(this.source, this.objectType, afterRunId ?? -1) as { id: string }[];
    return rows.map((row) => row.id);
  }

  /** The match property's value of every record not deleted: the column's when it is mapped, else the raw property's. */
  matchValues(key: MatchKey, shape: RecordShape): { id: string; value: unknown }[] {
    const path = key.column !== undefined ? ['fields_json', jsonPath(key.column)] : ['raw_json', jsonPath(key.property, shape.layout === 'envelope' ? 'properties' : undefined)];
    return this.db
      .prepare(`SELECT source_id AS id, json_extract(${path[0]}, ?) AS value FROM records WHERE source = ? AND object_type = ? AND is_deleted = 0`)
      .all(path[1], this.source, this.objectType) as { id: string; value: unknown }[];
  }
}

function localRecord(row: Row): LocalRecord {
  return {
    id: row.id,
    fields: JSON.parse(row.fields) as Record<string, unknown>,
    modifiedAt: row.modifiedAt,
    deleted: row.deleted === 1,
    ...(row.etag !== null && { etag: row.etag }),
  };
}

/** A JSON path naming a key exactly, whatever characters it holds. */
function jsonPath(key: string, parent?: string): string {
  const quoted = `"${key.replace(/"/g, '\\"')}"`;
  return parent ? `$.${parent}.${quoted}` : `$.${quoted}`;
}
