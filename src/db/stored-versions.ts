import type { StoredVersion } from '../processors/reconcile.js';
import type { Store } from './database.js';

/** Every stored row of one object from one CRM: its id, the CRM's modification time of the copy, and whether it is marked deleted. */
export function storedVersions(store: Store, source: string, objectType: string): StoredVersion[] {
  const rows = store.sqlite
    .prepare('SELECT source_id, source_modified_at, is_deleted FROM records WHERE source = ? AND object_type = ?')
    .raw()
    .all(source, objectType) as [string, string | null, number][];
  return rows.map(([id, modifiedAt, deleted]) => ({ id, modifiedAt, deleted: deleted === 1 }));
}

/** Ids of the object's records whose latest version was rejected and is not yet resolved. */
export function rejectedIds(store: Store, source: string, objectType: string): Set<string> {
  const rows = store.sqlite
    .prepare('SELECT DISTINCT source_id FROM rejected_records WHERE source = ? AND object_type = ? AND resolved_at IS NULL AND source_id IS NOT NULL')
    .pluck()
    .all(source, objectType) as string[];
  return new Set(rows);
}
