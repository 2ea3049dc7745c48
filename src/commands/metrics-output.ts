import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Store } from '../db/database.js';
import { storeExposition } from '../db/metrics-exposition.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Replaces `path` with `text` in one step: written to a temporary file in the same folder,
 * flushed, then renamed over it, so a reader (node_exporter's textfile collector) sees the
 * old file or the new one, never half of one. The temporary name does not end in .prom, so
 * the collector never reads it. Problems are one line naming the path (UsageError).
 */
export function writeFileAtomically(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let descriptor: number | undefined;
  try {
    descriptor = openSync(temporary, 'wx', 0o644);
    writeSync(descriptor, text);
    fsyncSync(descriptor);
    closeSync(descriptor);
    descriptor = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (descriptor !== undefined) closeSync(descriptor);
    removeQuietly(temporary);
    throw new UsageError(textfileProblem(path, error as NodeJS.ErrnoException));
  }
}

/** The temporary file, if it was made; where it could not be (no folder), there is nothing to remove. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // ENOTDIR and the like: the file was never created.
  }
}

function textfileProblem(path: string, error: NodeJS.ErrnoException): string {
  const folder = dirname(path);
  switch (error.code) {
    case 'ENOENT':
      return `cannot write ${path}: the folder ${folder} does not exist; create it, or name a file in another folder`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `cannot write ${path}: no permission to create files in ${folder} (${error.code}); name a file in a folder crmsync may write`;
    case 'EISDIR':
      return `cannot write ${path}: it is a folder; name a file such as ${join(path, 'crmsync.prom')}`;
    case 'ENOTDIR':
      return `cannot write ${path}: part of its folder path is a file, not a folder`;
    default:
      return `cannot write ${path} (${error.code ?? error.message})`;
  }
}

/**
 * After a sync: the textfile is rewritten from the database, and a failure to write it is a
 * warning, never a failed sync (the runs are recorded already).
 */
export async function refreshMetricsTextfile(store: Store, path: string, log: Logger): Promise<void> {
  try {
    writeFileAtomically(path, await storeExposition(store));
  } catch (error) {
    log.warn(`metrics textfile not refreshed: ${(error as Error).message}`);
  }
}
