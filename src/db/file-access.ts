import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UsageError } from '../errors.js';

export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Checks with the file system that `path` can hold a database for reading or for writing,
 * before SQLite opens it (SQLite would only say "unable to open database file"). Returns
 * whether the file exists.
 */
export function checkLocation(path: string, access: 'read' | 'write'): boolean {
  const dir = dirname(path);
  const stats = statOrProblem(path, path);
  if (stats?.isDirectory()) throw new UsageError(`${path}: is a directory; pass --db <file>`);
  if (!stats) {
    const dirStats = statOrProblem(dir, path);
    if (!dirStats) throw new UsageError(`${path}: directory ${dir} does not exist`);
    if (access === 'write' && !can(dir, constants.W_OK)) throw new UsageError(`${path}: cannot write to ${dir}, so the database cannot be created there`);
    return false;
  }
  if (!can(path, constants.R_OK)) throw new UsageError(`${path}: cannot read the file`);
  if (access === 'write') {
    // SQLite keeps the write-ahead log (-wal) and its index (-shm) next to the database.
    if (!can(dir, constants.W_OK)) throw new UsageError(`${path}: cannot write to ${dir}, where its -wal and -shm files go (history and --dry-run can still read it)`);
    if (!can(path, constants.W_OK)) throw new UsageError(`${path}: cannot write to the file (history and --dry-run can still read it)`);
  }
  return true;
}

/**
 * A read-only connection to the file. Where the folder cannot be written (so SQLite cannot
 * create the -shm index a WAL database needs), a file without a -wal file is read from its
 * bytes into memory instead.
 */
export function openReadOnly(path: string, plan: ReadPlan = readPlan(path)): Database.Database {
  if (plan === 'empty') return new Database(':memory:');
  if (plan === 'file image') return new Database(rollbackImage(readFileSync(path)));
  return new Database(path, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
}

/**
 * A connection that reads the file as it is, for deciding whether it is crmsync's: it
 * writes nothing and also leaves no -wal or -shm file behind.
 */
export function openForInspection(path: string, plan: ReadPlan = readPlan(path)): Database.Database {
  if (plan !== 'read-write') return openReadOnly(path, plan);
  // A read-only connection to a WAL database creates the -wal and -shm files and, unable to
  // remove them, leaves them. A read-write connection that is only allowed to query removes
  // them when it closes (when no other process has the database open), its log being empty.
  const sqlite = new Database(path, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  sqlite.pragma('query_only = ON');
  return sqlite;
}

/**
 * An in-memory database holding a copy of the file's content, committed write-ahead log
 * included, that can be written freely without touching the file.
 */
export function openCopy(path: string): Database.Database {
  const plan = readPlan(path);
  // Both are in memory already.
  if (plan === 'empty' || plan === 'file image') return openReadOnly(path, plan);
  const reader = openForInspection(path, plan);
  try {
    return new Database(rollbackImage(reader.serialize()));
  } finally {
    reader.close();
  }
}

/** The messages SQLite gives when it cannot open a file, as one line naming the file. */
export function explainOpenError(path: string, error: unknown): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  if (error.code.startsWith('SQLITE_CANTOPEN')) return new UsageError(`${path}: SQLite cannot open it (${error.message}); check the path and its folder's permissions`);
  if (error.code.startsWith('SQLITE_READONLY')) return new UsageError(`${path}: cannot write to it (${error.message})`);
  if (error.code === 'SQLITE_NOTADB') return notSqlite(path);
  return error;
}

/**
 * How to read the file. A WAL database needs its -shm index, which SQLite creates next to it
 * when it is missing; a file without a -wal file holds every committed page, so where the
 * index cannot be created its bytes are read instead.
 */
type ReadPlan = 'empty' | 'read-only' | 'read-write' | 'file image';

function readPlan(path: string): ReadPlan {
  const mode = journalMode(path);
  if (mode === 'empty') return 'empty';
  if (mode === 'rollback') return 'read-only';
  const dir = dirname(path);
  const dirWritable = can(dir, constants.W_OK);
  if (existsSync(`${path}-wal`)) {
    if (existsSync(`${path}-shm`) || dirWritable) return 'read-only';
    throw new UsageError(
      `${path}: its write-ahead log ${path}-wal holds changes that reading needs ${path}-shm for, and ${dir} cannot be written to create it; ` +
        'open the database once where its folder is writable (any crmsync sync does) to fold the log into the file',
    );
  }
  return dirWritable && can(path, constants.W_OK) ? 'read-write' : 'file image';
}

/** From the 100-byte header: bytes 0-15 are the magic string, 18-19 are 2 for WAL. */
function journalMode(path: string): 'empty' | 'rollback' | 'wal' {
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (length === 0) return 'empty';
  if (length < header.length || header.toString('latin1', 0, 16) !== 'SQLite format 3\u0000') throw notSqlite(path);
  return header[18] === 2 ? 'wal' : 'rollback';
}

/** An in-memory database cannot use WAL and would refuse writes, so mark the copy as a rollback-journal database. */
function rollbackImage(image: Buffer): Buffer {
  image[18] = 1;
  image[19] = 1;
  return image;
}

function notSqlite(path: string): UsageError {
  return new UsageError(`${path} is not a SQLite database; pass --db <path> to a new or crmsync file`);
}

function can(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** The stats of `target` (the database at `path`, or its folder); undefined when it does not exist. */
function statOrProblem(target: string, path: string): Stats | undefined {
  try {
    return statSync(target, { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`${path}: ${fileOnTheWay(dirname(path))} is not a directory`);
    if (code === 'EACCES') throw new UsageError(`${path}: no permission to look into ${dirname(target)}`);
    throw error;
  }
}

/** The file that a path treats as a folder (`/etc/passwd` in `/etc/passwd/a/x.db`). */
function fileOnTheWay(dir: string): string {
  for (let candidate = dir; candidate !== dirname(candidate); candidate = dirname(candidate)) {
    try {
      if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    } catch {
      // ENOTDIR: the file is further up.
    }
  }
  return dir;
}
