import type { ObjectMapping } from '../config/load.js';
import { historyViewName } from '../config/view-names.js';
import { UsageError } from '../errors.js';
import type { Store } from './database.js';
import { VERSIONS_VIEW } from './schema-names.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The SELECT behind an object's normalised view: one SQL column per mapped field. */
export function viewSql(object: ObjectMapping): string {
  return (
    `CREATE VIEW ${quote(object.table)} AS SELECT source_id AS id, ${fieldColumns(object)}, ` +
    `source_modified_at, is_deleted, deleted_at, rejected_at, last_run_id FROM records ` +
    `WHERE source = ${literal(object.source)} AND object_type = ${literal(object.name)}`
  );
}

/** The SELECT behind an object's history view: every version, its mapped fields as columns. */
export function historyViewSql(object: ObjectMapping): string {
  return (
    `CREATE VIEW ${quote(historyViewName(object.table))} AS SELECT source_id AS id, ${fieldColumns(object)}, ` +
    `valid_from, valid_to, is_current, content_hash, run_id FROM ${VERSIONS_VIEW} ` +
    `WHERE source = ${literal(object.source)} AND object_type = ${literal(object.name)}`
  );
}

function fieldColumns(object: ObjectMapping): string {
  return object.fields
    .map((field) => `json_extract(fields_json, ${literal(`$.${quote(field.column)}`)}) AS ${quote(field.column)}`)
    .join(', ');
}

/** Creates or refreshes the object's views when mappings.yaml changed; adding an object needs no code. */
export function ensureObjectView(store: Store, object: ObjectMapping): void {
  ensureView(store, object, object.table, viewSql(object));
  ensureView(store, object, historyViewName(object.table), historyViewSql(object));
}

function ensureView(store: Store, object: ObjectMapping, name: string, wanted: string): void {
  const existing = store.sqlite
    .prepare('SELECT type, sql FROM sqlite_master WHERE name = ?')
    .get(name) as { type: string; sql: string } | undefined;
  if (existing?.type === 'view' && existing.sql === wanted) return;
  if (existing && existing.type !== 'view') {
    throw new UsageError(`view name "${name}" of object "${object.name}" is already used by a ${existing.type}; set another "table:"`);
  }
  store.sqlite.transaction(() => {
    if (existing) store.sqlite.exec(`DROP VIEW ${quote(name)}`);
    store.sqlite.exec(wanted);
  })();
}
