import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crmsync, type CliResult } from './cli.js';

export interface ReadOnlyFolder {
  /** Whether commands can be made to see the folder as read-only here; `reason` says why not. */
  available: boolean;
  reason: string;
  /** Runs crmsync while `folder` (and everything in it) cannot be written. */
  run(args: string[], env: Record<string, string | undefined>): Promise<CliResult>;
}

// Inside a private mount namespace, the folder is bind-mounted read-only over itself: the
// same view a read-only filesystem gives, which even root cannot write through.
const READ_ONLY_MOUNT = 'mount --bind -o ro -- "$0" "$0" || exit 97; exec "$@"';

/**
 * Makes `folder` read-only for the commands it runs. An ordinary user gets that from
 * permission bits; root ignores those, so for root each command runs under `unshare
 * --mount` with the folder mounted read-only (util-linux, and a kernel and container that
 * allow mount namespaces). Either way the folder is first proven unwritable.
 */
export function readOnlyFolder(folder: string): ReadOnlyFolder {
  if (process.getuid?.() !== 0) {
    restrict(folder);
    const stillWritable = writable(folder);
    restore(folder);
    return {
      available: !stillWritable,
      reason: stillWritable ? 'the folder can be written without write permission (a filesystem that ignores permission bits)' : '',
      run: async (args, env) => {
        restrict(folder);
        try {
          return await crmsync(args, env);
        } finally {
          restore(folder);
        }
      },
    };
  }
  const prefix = ['unshare', '--mount', 'sh', '-c', READ_ONLY_MOUNT, folder];
  const check = spawnSync(prefix[0], [...prefix.slice(1), 'sh', '-c', 'touch "$0/.probe" 2>/dev/null && exit 98; exit 0', folder], { encoding: 'utf8' });
  const reason =
    check.error ? `root, and unshare cannot run here (${check.error.message})`
    : check.status === 97 ? 'root, and a read-only bind mount is not allowed here'
    : check.status === 98 ? 'root, and the read-only bind mount could still be written'
    : check.status !== 0 ? `root, and unshare --mount is not allowed here (${check.stderr.trim()})`
    : '';
  rmSync(join(folder, '.probe'), { force: true });
  return { available: reason === '', reason, run: (args, env) => crmsync(args, env, { prefix }) };
}

function writable(folder: string): boolean {
  try {
    writeFileSync(join(folder, '.probe'), '');
    rmSync(join(folder, '.probe'));
    return true;
  } catch {
    return false;
  }
}

function restrict(folder: string): void {
  for (const name of readdirSync(folder)) chmodSync(join(folder, name), 0o444);
  chmodSync(folder, 0o555);
}

function restore(folder: string): void {
  chmodSync(folder, 0o755);
  for (const name of readdirSync(folder)) chmodSync(join(folder, name), 0o644);
}
