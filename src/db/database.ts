import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { UsageError } from '../errors.js';
import { CONTENT_HASH_SQL_FUNCTION, contentHash } from './content-hash.js';
import { BUSY_TIMEOUT_MS, checkLocation, explainOpenError, openCopy, openForInspection, openReadOnly } from './file-access.js';
import { CRMSYNC_APPLICATION_ID, identify, MIGRATIONS_FOLDER, newFileIdentity } from './identity.js';
import * as schema from './tables.js';

export interface Store {
  sqlite: Database.Database;
  orm: BetterSQLite3Database<typeof schema>;
  /** Where the data lives; ':memory:' for a dry run's copy. */
  path: string;
  dryRun: boolean;
  close(): void;
}

export interface OpenOptions {
  /**
   * Work on an in-memory copy of the file: every step runs for real, including migrations,
   * yet the file on disk stays byte-for-byte as it was.
   */
  dryRun?: boolean;
  /** Only read (history): nothing is written, and a folder that cannot be written is fine. */
  readOnly?: boolean;
  /** Write only to a database that is there already: a command that edits stored rows never starts an empty one. */
  existing?: boolean;
}

/**
 * Opens the database at `path` after making sure it is crmsync's to use (see identify): a
 * sync creates it if needed, marks it as crmsync's and applies pending migrations. A file
 * that is refused is left exactly as it was. Problems with the path or the file are one
 * line naming it (UsageError).
 */
export function openStore(path: string, options: OpenOptions = {}): Store {
  const dryRun = options.dryRun ?? false;
  let sqlite: Database.Database;
  try {
    sqlite = path === ':memory:' ? migrated(new Database(path), newFileIdentity()) : options.readOnly ? openToRead(path) : dryRun ? openDryRun(path) : openToWrite(path, options.existing ?? false);
  } catch (error) {
    throw explainOpenError(path, error);
  }
  return { sqlite, orm: drizzle(sqlite, { schema }), path: sqlite.memory ? ':memory:' : path, dryRun, close: () => sqlite.close() };
}

function openToWrite(path: string, existing: boolean): Database.Database {
  const found = checkLocation(path, 'write');
  if (!found && existing) throw noDatabase(path);
  const identity = found ? withReader(path, (reader) => identify(reader, path)) : newFileIdentity();
  const sqlite = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  return closingOnError(sqlite, () => {
    // Marked before WAL is turned on, so the mark is in the file's header at once.
    if (!identity.marked) sqlite.pragma(`application_id = ${CRMSYNC_APPLICATION_ID}`);
    // WAL lets `crmsync history` read while a sync writes; NORMAL is durable at each
    // checkpoint in WAL mode and much faster than FULL.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    return migrated(sqlite, identity);
  });
}

function openDryRun(path: string): Database.Database {
  if (!checkLocation(path, 'read')) return migrated(new Database(':memory:'), newFileIdentity());
  const copy = openCopy(path);
  return closingOnError(copy, () => migrated(copy, identify(copy, path)));
}

/**
 * Reads the file in place. A file an earlier crmsync wrote lacks this release's migrations;
 * they are applied to an in-memory copy, never to the file (a sync applies them for good).
 */
function openToRead(path: string): Database.Database {
  if (!checkLocation(path, 'read')) throw noDatabase(path);
  const identity = withReader(path, (reader) => identify(reader, path));
  if (identity.pendingMigrations === 0) return openReadOnly(path);
  const copy = openCopy(path);
  return closingOnError(copy, () => migrated(copy, identity));
}

function noDatabase(path: string): UsageError {
  return new UsageError(`no database at ${path}: run a sync first, or pass --db <path>`);
}

function migrated(sqlite: Database.Database, identity: { pendingMigrations: number }): Database.Database {
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  sqlite.function(CONTENT_HASH_SQL_FUNCTION, { deterministic: true }, (json) => contentHash(String(json)));
  if (identity.pendingMigrations > 0) migrate(drizzle(sqlite, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
  return sqlite;
}

function withReader<T>(path: string, read: (reader: Database.Database) => T): T {
  const reader = openForInspection(path);
  try {
    return read(reader);
  } finally {
    reader.close();
  }
}

function closingOnError<T>(sqlite: Database.Database, work: () => T): T {
  try {
    return work();
  } catch (error) {
    sqlite.close();
    throw error;
  }
}
