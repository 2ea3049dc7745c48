import type Database from 'better-sqlite3';
import type { SourceName } from '../config/sources.js';
import type { MatchKey, TwoWayMapping } from '../config/two-way.js';
import type { MatchNormalization } from '../config/two-way-schema.js';
import { matchKey } from '../processors/match-key.js';
import { buildMatchIndex, type MatchIndex } from '../processors/pairing.js';
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

/** The match keys of an object's records, as pairing reads them. */
export interface MatchKeys {
  /** Each side's records not deleted, by id, with the normalised key (null: the record has no match value). */
  keys: Record<SourceName, Map<string, string | null>>;
  /** The ids of each side by key. */
  index: MatchIndex;
}

/** The normalised match key of every record of one side that is not deleted, by id. */
export function matchKeysOf(records: LocalRecords, key: MatchKey, shape: RecordShape, normalize: MatchNormalization): Map<string, string | null> {
  return new Map(records.matchValues(key, shape).map(({ id, value }) => [id, matchKey(value, normalize)]));
}

/** Every record's match key on both sides, and the index pairing looks candidates up in. */
export function readMatchKeys(local: Record<SourceName, LocalRecords>, twoWay: TwoWayMapping, shapes: Record<SourceName, RecordShape>): MatchKeys {
  const keys = {
    hubspot: matchKeysOf(local.hubspot, twoWay.match.hubspot, shapes.hubspot, twoWay.match.normalize),
    dynamics: matchKeysOf(local.dynamics, twoWay.match.dynamics, shapes.dynamics, twoWay.match.normalize),
  };
  const entries = (side: SourceName) => [...keys[side]].map(([id, key]) => ({ id, key }));
  return { keys, index: buildMatchIndex({ hubspot: entries('hubspot'), dynamics: entries('dynamics') }) };
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
