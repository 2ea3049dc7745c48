import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as tables from './tables.js';

/** drizzle's migrator keeps the list of applied migrations in this table (its default name, which openStore keeps). */
export const MIGRATIONS_TABLE = '__drizzle_migrations';

/** Every version of every record (past_versions and each live row's current version), a view the migrations create. */
export const VERSIONS_VIEW = 'record_versions';

/**
 * Every name crmsync's own schema takes in the database, with what it names (table,
 * index, view). SQLite keeps tables, indexes and views in one namespace, so an object's view
 * may take none of them.
 */
export function schemaNames(): Map<string, 'table' | 'index' | 'view'> {
  const names = new Map<string, 'table' | 'index' | 'view'>([
    [MIGRATIONS_TABLE, 'table'],
    [VERSIONS_VIEW, 'view'],
  ]);
  for (const value of Object.values(tables)) {
    if (!is(value, SQLiteTable)) continue;
    const config = getTableConfig(value);
    names.set(config.name, 'table');
    for (const index of config.indexes) names.set(index.config.name, 'index');
  }
  return names;
}
