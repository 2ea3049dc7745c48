import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Runs a query against a database file, read-only, and closes it again. */
export function query<T = Record<string, unknown>>(db: string, sql: string, ...params: unknown[]): T[] {
  const handle = new Database(db, { readonly: true, timeout: 1_000 });
  try {
    return handle.prepare(sql).all(...params) as T[];
  } finally {
    handle.close();
  }
}

/** The first row of a query, if any. */
export function queryOne<T = Record<string, unknown>>(db: string, sql: string, ...params: unknown[]): T | undefined {
  return query<T>(db, sql, ...params)[0];
}

/** The rows of sync_history, oldest first: every column, or those named. */
export function history<T = Record<string, unknown>>(db: string, columns = '*'): T[] {
  return query<T>(db, `SELECT ${columns} FROM sync_history ORDER BY id`);
}

/** A record of an object's view (hubspot_contacts, dynamics_companies) by id. */
export function localRow(db: string, view: string, id: string): Record<string, unknown> | undefined {
  return queryOne(db, `SELECT * FROM ${view} WHERE id = ?`, id);
}

/** How many rows a table or view holds, of those matching `where`. */
export function countRows(db: string, table: string, where = '1 = 1', ...params: unknown[]): number {
  return queryOne<{ n: number }>(db, `SELECT count(*) AS n FROM ${table} WHERE ${where}`, ...params)!.n;
}

/** Saved records matching `where`, read while a sync may be writing them; 0 before the database or its tables exist. */
export function savedRecords(db: string, where = '1 = 1'): number {
  if (!existsSync(db)) return 0;
  try {
    return countRows(db, 'records', where);
  } catch {
    return 0;
  }
}

/** Waits until a sync in another process has saved at least `count` records matching `where`. */
export async function waitForRecords(db: string, count: number, where = '1 = 1'): Promise<void> {
  for (let tries = 0; tries < 800; tries++) {
    if (savedRecords(db, where) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never reached ${count} records`);
}
