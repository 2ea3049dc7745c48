import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './tables.js';

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

export interface Store {
  sqlite: Database.Database;
  orm: BetterSQLite3Database<typeof schema>;
  /** Where the data lives; ':memory:' copy for a dry run. */
  path: string;
  dryRun: boolean;
  close(): void;
}

/**
 * Opens (creating if needed) the database and applies pending migrations.
 *
 * A dry run works on an in-memory copy of the file: every step runs for real, including
 * migrations, yet the file on disk stays byte-for-byte as it was.
 */
export function openStore(path: string, options: { dryRun?: boolean } = {}): Store {
  const dryRun = options.dryRun ?? false;
  let sqlite: Database.Database;
  if (dryRun) {
    sqlite = existsSync(path) ? new Database(snapshot(path)) : new Database(':memory:');
  } else {
    sqlite = new Database(path);
    // WAL lets `crmsync history` read while a sync writes; NORMAL is durable at each
    // checkpoint in WAL mode and much faster than FULL.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
  }
  sqlite.pragma('busy_timeout = 10000');
  const orm = drizzle(sqlite, { schema });
  migrate(orm, { migrationsFolder: MIGRATIONS });
  return { sqlite, orm, path: dryRun ? ':memory:' : path, dryRun, close: () => sqlite.close() };
}

function snapshot(path: string): Buffer {
  const source = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const image = source.serialize();
    // Bytes 18-19 of the header say "WAL mode"; an in-memory database cannot use WAL and
    // would refuse writes, so mark the copy as a rollback-journal database.
    image[18] = 1;
    image[19] = 1;
    return image;
  } finally {
    source.close();
  }
}
