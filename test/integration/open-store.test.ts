import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { describe, expect, test } from 'vitest';
import { openStore, type OpenOptions } from '../../src/db/database.js';
import { explainOpenError } from '../../src/db/file-access.js';
import { CRMSYNC_APPLICATION_ID, MIGRATIONS_FOLDER } from '../../src/db/identity.js';
import { SyncHistoryRepository } from '../../src/db/sync-history.js';
import { UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/cli.js';

// Which files openStore agrees to use, and that a refused file is left exactly as it was.

const JOURNAL = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: { when: number }[] };
const MODES: [string, OpenOptions][] = [
  ['a sync', {}],
  ['a dry run', { dryRun: true }],
  ['history (read-only)', { readOnly: true }],
];

let files = 0;
/** A path in a folder of its own, so what is left next to the file can be listed. */
function freshPath(): string {
  const folder = join(tempDir(), `case-${++files}`);
  mkdirSync(folder);
  return join(folder, 'test.db');
}

function withFile(path: string, work: (sqlite: Database.Database) => void, journalMode = 'delete'): string {
  const sqlite = new Database(path);
  sqlite.pragma(`journal_mode = ${journalMode}`);
  work(sqlite);
  sqlite.close();
  return path;
}

/** The file's bytes and every file next to it. */
function snapshotOf(path: string): { hash: string; folder: string[] } {
  return { hash: createHash('sha256').update(readFileSync(path)).digest('hex'), folder: readdirSync(join(path, '..')).sort() };
}

const onDisk = <T>(path: string, sql: string): T => {
  const sqlite = new Database(path, { readonly: true });
  try {
    return sqlite.prepare(sql).pluck().get() as T;
  } finally {
    sqlite.close();
  }
};

/** A database as a crmsync release with only the first `count` migrations left it: no application_id. */
function earlierReleaseFile(count: number): string {
  const folder = join(tempDir(), 'earlier-migrations');
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ ...JOURNAL, entries: JOURNAL.entries.slice(0, count) }));
  return withFile(freshPath(), (sqlite) => {
    migrate(drizzle(sqlite), { migrationsFolder: folder });
    sqlite.prepare("INSERT INTO sync_history (object_type, crm_source, sync_type, status, start_time) VALUES ('contacts', 'hubspot', 'full', 'success', '2025-01-01T00:00:00.000Z')").run();
  }, 'wal');
}

function crmsyncFile(): string {
  const path = freshPath();
  openStore(path).close();
  return path;
}

function refusal(path: string, options: OpenOptions): UsageError {
  try {
    openStore(path, options).close();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`${path} was opened`);
}

describe('files crmsync uses', () => {
  test.each([
    ['a missing file', () => freshPath()],
    ['an empty file (0 bytes)', () => emptyFile()],
    ['a SQLite file without tables', () => withFile(freshPath(), (sqlite) => sqlite.pragma('user_version = 7'))],
  ])('%s: a sync creates the tables and marks it as crmsync', (_, make) => {
    const path = make();
    const store = openStore(path);
    expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(new SyncHistoryRepository(store).list({ limit: 5 })).toEqual([]);
    store.close();
    expect(onDisk(path, 'PRAGMA application_id')).toBe(CRMSYNC_APPLICATION_ID);
    expect(onDisk(path, 'SELECT count(*) FROM __drizzle_migrations')).toBe(JOURNAL.entries.length);
  });

  test('a crmsync file is used as it is, by each mode', () => {
    const path = crmsyncFile();
    const before = snapshotOf(path);
    for (const [, options] of MODES) {
      const store = openStore(path, options);
      expect(new SyncHistoryRepository(store).list({ limit: 5 })).toEqual([]);
      store.close();
    }
    expect(snapshotOf(path).hash).toBe(before.hash);
  });

  test('history reads a current crmsync file in place, read-only', () => {
    const path = crmsyncFile();
    const store = openStore(path, { readOnly: true });
    expect(store.sqlite.readonly).toBe(true);
    expect(store.sqlite.memory).toBe(false);
    store.close();
  });

  test('a file an earlier release wrote (no application_id) is marked and brought up to date by a sync, keeping its rows', () => {
    const path = earlierReleaseFile(2);
    expect(onDisk(path, 'PRAGMA application_id')).toBe(0);
    const store = openStore(path);
    expect(new SyncHistoryRepository(store).list({ limit: 5 })).toMatchObject([{ syncType: 'contacts', status: 'success' }]);
    store.close();
    expect(onDisk(path, 'PRAGMA application_id')).toBe(CRMSYNC_APPLICATION_ID);
    expect(onDisk(path, 'SELECT count(*) FROM __drizzle_migrations')).toBe(JOURNAL.entries.length);
  });

  test.each(MODES.slice(1))('%s of a file an earlier release wrote works on an up-to-date copy and leaves the file as it was', (_, options) => {
    const path = earlierReleaseFile(1);
    const before = snapshotOf(path);
    const store = openStore(path, options);
    expect(store.sqlite.memory).toBe(true);
    expect(new SyncHistoryRepository(store).list({ limit: 5 })).toMatchObject([{ syncType: 'contacts' }]);
    store.close();
    expect(snapshotOf(path)).toEqual(before);
  });
});

function emptyFile(): string {
  const path = freshPath();
  writeFileSync(path, '');
  return path;
}

const refused: [string, () => string, RegExp][] = [
  [
    "another application's file",
    () => withFile(freshPath(), (sqlite) => sqlite.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada'); CREATE TABLE orders (id INTEGER)")),
    /is not a crmsync database \(it has tables customers, orders\); pass --db <path> to a new or crmsync file$/,
  ],
  ["another application's file in WAL mode", () => withFile(freshPath(), (sqlite) => sqlite.exec('CREATE TABLE notes (body TEXT)'), 'wal'), /is not a crmsync database \(it has table notes\)/],
  [
    'a file marked by another application, even without tables',
    () => withFile(freshPath(), (sqlite) => sqlite.pragma('application_id = 1196444487')),
    /is not a crmsync database \(it belongs to another application: application_id 1196444487\)/,
  ],
  [
    "another drizzle application's file (a migrations table, no sync_history)",
    () => withFile(freshPath(), (sqlite) => sqlite.exec('CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY, hash TEXT, created_at NUMERIC); CREATE TABLE users (id INTEGER)')),
    /is not a crmsync database \(it has tables __drizzle_migrations, users\)/,
  ],
  [
    'a file that is not SQLite',
    () => {
      const path = emptyFile();
      writeFileSync(path, 'name,email\nAda,ada@example.com\n'.repeat(20));
      return path;
    },
    /is not a SQLite database; pass --db <path> to a new or crmsync file$/,
  ],
  [
    'a file a newer crmsync wrote',
    () => {
      const path = crmsyncFile();
      withFile(path, (sqlite) => sqlite.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('f'.repeat(64), 4_102_444_800_000), 'wal');
      return path;
    },
    /was written by a newer crmsync \(1 migration this release does not know, the latest from 2100-01-01\); upgrade crmsync to use it$/,
  ],
];

describe.each(MODES)('%s refuses, naming the file and leaving it as it was', (_, options) => {
  test.each(refused)('%s', (__, make, message) => {
    const path = make();
    const before = snapshotOf(path);
    const error = refusal(path, options);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(message);
    expect(snapshotOf(path)).toEqual(before);
  });
});

describe.each(MODES)('%s names what is wrong with the path', (_, options) => {
  test('a directory', () => {
    const folder = tempDir();
    expect(refusal(folder, options).message).toBe(`${folder}: is a directory; pass --db <file>`);
  });

  test('a path in a missing directory', () => {
    const path = join(tempDir(), 'no', 'such', 'crmsync.db');
    expect(refusal(path, options).message).toBe(`${path}: directory ${join(path, '..')} does not exist`);
  });

  test('a path through a file', () => {
    const file = emptyFile();
    const path = join(file, 'inside', 'crmsync.db');
    expect(refusal(path, options).message).toBe(`${path}: ${file} is not a directory`);
  });
});

test.each([
  ['SQLITE_CANTOPEN', 'unable to open database file', /^\/data\/x\.db: SQLite cannot open it \(unable to open database file\)/],
  ['SQLITE_READONLY_DIRECTORY', 'attempt to write a readonly database', /^\/data\/x\.db: cannot write to it/],
  ['SQLITE_NOTADB', 'file is not a database', /^\/data\/x\.db is not a SQLite database/],
])("SQLite's %s, where the checks before opening missed it, becomes one line naming the file", (code, message, expected) => {
  const explained = explainOpenError('/data/x.db', new Database.SqliteError(message, code));
  expect(explained).toBeInstanceOf(UsageError);
  expect((explained as Error).message).toMatch(expected);
});

test('other SQLite errors are left as they are', () => {
  const error = new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
  expect(explainOpenError('/data/x.db', error)).toBe(error);
});
