import type { ObjectMapping } from '../config/load.js';
import { UsageError } from '../errors.js';
import type { Store } from './database.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The SELECT behind an object's normalised view: one SQL column per mapped field. */
export function viewSql(object: ObjectMapping): string {
  const columns = object.fields.map(
    (field) => `json_extract(fields_json, ${literal(`$.${quote(field.column)}`)}) AS ${quote(field.column)}`,
  );
  return (
    `CREATE VIEW ${quote(object.table)} AS SELECT source_id AS id, ${columns.join(', ')}, ` +
    `source_modified_at, is_deleted, deleted_at, rejected_at, last_run_id FROM records ` +
    `WHERE source = ${literal(object.source)} AND object_type = ${literal(object.name)}`
  );
}

/** Creates or refreshes the view when mappings.yaml changed; adding an object needs no code. */
export function ensureObjectView(store: Store, object: ObjectMapping): void {
  const wanted = viewSql(object);
  const existing = store.sqlite
    .prepare('SELECT type, sql FROM sqlite_master WHERE name = ?')
    .get(object.table) as { type: string; sql: string } | undefined;
  if (existing?.type === 'view' && existing.sql === wanted) return;
  if (existing && existing.type !== 'view') {
    throw new UsageError(`table name "${object.table}" of object "${object.name}" is already used by a ${existing.type}; set another "table:"`);
  }
  store.sqlite.transaction(() => {
    if (existing) store.sqlite.exec(`DROP VIEW ${quote(object.table)}`);
    store.sqlite.exec(wanted);
  })();
}
