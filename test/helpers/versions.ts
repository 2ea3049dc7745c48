import { expect } from 'vitest';
import { query } from './db.js';

export interface VersionRow {
  source: string;
  object_type: string;
  source_id: string;
  valid_from: string;
  valid_to: string | null;
  is_current: number;
  content_hash: string;
  fields_json: string;
  run_id: number;
}

/** One record's versions, oldest first. */
export function versionsOf(db: string, id: string, source = 'hubspot', object = 'contacts'): VersionRow[] {
  return query<VersionRow>(db, 'SELECT * FROM record_versions WHERE source = ? AND object_type = ? AND source_id = ? ORDER BY valid_from', source, object, id);
}

/** The intervals of a record's versions, as [from, to] pairs. */
export const intervals = (versions: VersionRow[]) => versions.map((version) => [version.valid_from, version.valid_to]);

/**
 * What every record's timeline must be, whatever happened: intervals that start before they
 * end and never overlap, exactly the last one open (is_current) while the record exists and
 * none once it is deleted, neighbours with different content, and the current version
 * holding the local row's mapped fields.
 */
export function expectSoundTimelines(db: string): void {
  const versions = query<VersionRow>(db, 'SELECT * FROM record_versions ORDER BY source, object_type, source_id, valid_from');
  const rows = new Map(
    query<{ key: string; fields_json: string; is_deleted: number }>(db, "SELECT source || '/' || object_type || '/' || source_id AS key, fields_json, is_deleted FROM records").map((row) => [row.key, row]),
  );
  const byRecord = new Map<string, VersionRow[]>();
  for (const version of versions) {
    const key = `${version.source}/${version.object_type}/${version.source_id}`;
    byRecord.set(key, [...(byRecord.get(key) ?? []), version]);
  }
  const problems: string[] = [];
  for (const [key, timeline] of byRecord) {
    timeline.forEach((version, index) => {
      const next = timeline[index + 1];
      if (version.valid_to !== null && version.valid_to < version.valid_from) problems.push(`${key}: ends before it starts at ${version.valid_from}`);
      if (next && (version.valid_to === null || version.valid_to > next.valid_from)) problems.push(`${key}: ${version.valid_from} overlaps ${next.valid_from}`);
      if (next && version.valid_to === next.valid_from && version.content_hash === next.content_hash) problems.push(`${key}: ${version.valid_from} and ${next.valid_from} hold the same content`);
      if (Boolean(version.is_current) !== (version.valid_to === null)) problems.push(`${key}: is_current disagrees with valid_to at ${version.valid_from}`);
    });
    const row = rows.get(key);
    const last = timeline.at(-1)!;
    if (!row) problems.push(`${key}: versions of no record`);
    else if (row.is_deleted && last.is_current) problems.push(`${key}: deleted, yet a version is current`);
    else if (!row.is_deleted && !last.is_current) problems.push(`${key}: exists, yet no version is current`);
    else if (!row.is_deleted && last.fields_json !== row.fields_json) problems.push(`${key}: the current version is not the local row`);
  }
  for (const key of rows.keys()) if (!byRecord.has(key)) problems.push(`${key}: a record without versions`);
  expect(problems.slice(0, 10)).toEqual([]);
}
