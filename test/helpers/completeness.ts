import type { DynamicsStore } from '@crmsync/emulators/dynamics';
import type { HubSpotStore } from '@crmsync/emulators/hubspot';
import type { ObjectMapping } from '../../src/config/load.js';
import { query } from './db.js';

export interface Completeness {
  sourceCount: number;
  localCount: number;
  /** Active in the source, absent (or marked deleted) locally. */
  missing: string[];
  /** Present locally but not active in the source. */
  extra: string[];
  /** Same id, different value of a fetched property. */
  mismatched: { id: string; property: string; source: unknown; local: unknown }[];
  duplicates: number;
}

/** A record as the comparison sees it: its id and its property values. */
interface Values {
  id: string;
  values: Record<string, unknown>;
}

/**
 * Compares an emulator's active records of one object with the local database: ids, every
 * fetched property value, and the deleted flag. Local = source when all lists are empty.
 */
export function compareWithSource(dbPath: string, store: HubSpotStore, object: ObjectMapping): Completeness {
  const source = store.all(object.remoteName).map((record) => ({ id: record.id, values: record.properties as Record<string, unknown> }));
  return compare(dbPath, object, source, (raw) => (raw as { properties: Record<string, unknown> }).properties);
}

/** The same for a Dynamics 365 table: rows are flat, keyed by the mapping's primary key. */
export function compareWithDynamics(dbPath: string, store: DynamicsStore, object: ObjectMapping): Completeness {
  const source = store.all(object.remoteName).map((row) => ({ id: String(row[object.primaryKey]), values: row as Record<string, unknown> }));
  return compare(dbPath, object, source, (raw) => raw as Record<string, unknown>);
}

function compare(dbPath: string, object: ObjectMapping, source: Values[], valuesOf: (raw: unknown) => Record<string, unknown>): Completeness {
  const rows = query<{ source_id: string; raw_json: string; is_deleted: number }>(
    dbPath,
    'SELECT source_id, raw_json, is_deleted FROM records WHERE source = ? AND object_type = ?',
    object.source,
    object.name,
  );
  const duplicates = rows.length - new Set(rows.map((row) => row.source_id)).size;
  const local = new Map(rows.filter((row) => !row.is_deleted).map((row) => [row.source_id, valuesOf(JSON.parse(row.raw_json))]));
  const result: Completeness = { sourceCount: source.length, localCount: local.size, missing: [], extra: [], mismatched: [], duplicates };
  const sourceIds = new Set<string>();
  for (const record of source) {
    sourceIds.add(record.id);
    const copy = local.get(record.id);
    if (!copy) {
      result.missing.push(record.id);
      continue;
    }
    for (const property of object.properties) {
      const expected = record.values[property] ?? null;
      const actual = copy[property] ?? null;
      if (expected !== actual) result.mismatched.push({ id: record.id, property, source: expected, local: actual });
    }
  }
  for (const id of local.keys()) if (!sourceIds.has(id)) result.extra.push(id);
  return result;
}

/** expectComplete(...) of a local store equal to its source. */
export const COMPLETE = { missing: [], extra: [], mismatched: [], duplicates: 0, sameCount: true };

/** What a test asserts: nothing missing, extra, different or duplicated. */
export function expectComplete(report: Completeness): { missing: string[]; extra: string[]; mismatched: unknown[]; duplicates: number; sameCount: boolean } {
  return { missing: report.missing.slice(0, 5), extra: report.extra.slice(0, 5), mismatched: report.mismatched.slice(0, 5), duplicates: report.duplicates, sameCount: report.sourceCount === report.localCount };
}
