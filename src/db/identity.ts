import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { UsageError } from '../errors.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * SQLite's PRAGMA application_id (header bytes 68-71) of every crmsync database: "CRMS" in
 * ASCII. Files written before crmsync set it have 0 there.
 */
export const CRMSYNC_APPLICATION_ID = 0x43524d53;

const MIGRATIONS_TABLE = '__drizzle_migrations';
const REFUSAL_HINT = 'pass --db <path> to a new or crmsync file';

export interface Identity {
  /** The file already carries crmsync's application_id. */
  marked: boolean;
  /** Migrations of this release the file has not had yet. */
  pendingMigrations: number;
}

/** A file that does not exist yet: everything is still to be done. */
export function newFileIdentity(): Identity {
  return { marked: false, pendingMigrations: readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length };
}

/**
 * Decides, by reading only, whether crmsync may use the database: an empty one, one carrying
 * crmsync's application_id, or one an earlier crmsync wrote (its migrations table and
 * sync_history, no application_id). Anything else is another application's and is refused,
 * as is a file whose migrations come from a newer crmsync than this one.
 */
export function identify(sqlite: Database.Database, path: string): Identity {
  const applicationId = Number(sqlite.pragma('application_id', { simple: true }));
  const names = sqlite
    .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .pluck()
    .all() as string[];
  const marked = applicationId === CRMSYNC_APPLICATION_ID;
  if (!marked && applicationId !== 0) {
    throw new UsageError(`${path} is not a crmsync database (it belongs to another application: application_id ${applicationId}${names.length ? `, ${listNames(names)}` : ''}); ${REFUSAL_HINT}`);
  }
  const hasMigrations = names.includes(MIGRATIONS_TABLE);
  const writtenByEarlierCrmsync = hasMigrations && names.includes('sync_history');
  if (!marked && names.length > 0 && !writtenByEarlierCrmsync) {
    throw new UsageError(`${path} is not a crmsync database (it has ${listNames(names)}); ${REFUSAL_HINT}`);
  }
  const applied = hasMigrations ? (sqlite.prepare(`SELECT created_at FROM ${MIGRATIONS_TABLE}`).pluck().all() as unknown[]).map(Number) : [];
  return { marked, pendingMigrations: pendingMigrations(applied, path) };
}

/**
 * Drizzle applies a migration when its journal time (`when`) is later than the last one
 * recorded in the file, so a recorded time beyond this release's last migration means a
 * newer crmsync changed the schema in ways this one does not know.
 */
function pendingMigrations(applied: number[], path: string): number {
  const known = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).map((migration) => migration.folderMillis);
  const latestKnown = Math.max(...known);
  const unknown = applied.filter((time) => time > latestKnown);
  if (unknown.length > 0) {
    const count = unknown.length === 1 ? '1 migration' : `${unknown.length} migrations`;
    throw new UsageError(`${path} was written by a newer crmsync (${count} this release does not know${dated(Math.max(...unknown))}); upgrade crmsync to use it`);
  }
  const lastApplied = applied.length > 0 ? Math.max(...applied) : -Infinity;
  return known.filter((time) => time > lastApplied).length;
}

/** Tables and views alike: both are names crmsync could collide with. */
function listNames(names: string[]): string {
  const shown = names.slice(0, 5).join(', ');
  const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
  return `${names.length === 1 ? 'table' : 'tables'} ${shown}${more}`;
}

function dated(time: number): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? '' : `, the latest from ${date.toISOString().slice(0, 10)}`;
}
