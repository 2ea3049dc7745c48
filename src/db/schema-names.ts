import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as tables from './tables.js';

/** drizzle's migrator keeps the list of applied migrations in this table (its default name, which openStore keeps). */
export const MIGRATIONS_TABLE = '__drizzle_migrations';

/**
 * Every name crmsync's own schema takes in the database, with what it names (table,
 * index). SQLite keeps tables, indexes and views in one namespace, so an object's view
 * may take none of them.
 */
export function schemaNames(): Map<string, 'table' | 'index'> {
  const names = new Map<string, 'table' | 'index'>([[MIGRATIONS_TABLE, 'table']]);
  for (const value of Object.values(tables)) {
    if (!is(value, SQLiteTable)) continue;
    const config = getTableConfig(value);
    names.set(config.name, 'table');
    for (const index of config.indexes) names.set(index.config.name, 'index');
  }
  return names;
}
