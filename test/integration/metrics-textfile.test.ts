/**
 * The metrics textfile is replaced in one step: a reader in another process, polling while
 * it is rewritten hundreds of times, only ever finds a complete version, and no temporary
 * file is left beside it.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFileAtomically } from '../../src/commands/metrics-output.js';
import { UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/cli.js';
import { pollFile } from '../helpers/textfile.js';

/** Complete files of different sizes (a few hundred bytes to about half a megabyte), each different from the others. */
const VERSIONS = [3, 400, 9_000, 1_500, 60, 12_000].map((lines, version) =>
  Array.from({ length: lines }, (_, line) => `crmsync_test_total{version="${version}",line="${line}"} ${line * version}\n`).join(''),
);

describe('writeFileAtomically', () => {
  test('a reader polling during 300 rewrites never sees a partial or missing file; no temporary file is left', async () => {
    const dir = tempDir();
    const path = join(dir, 'crmsync.prom');
    writeFileAtomically(path, VERSIONS[0]);
    const reader = await pollFile(path, VERSIONS);
    for (let rewrite = 1; rewrite <= 300; rewrite++) {
      writeFileAtomically(path, VERSIONS[rewrite % VERSIONS.length]);
      // Let the reader in between rewrites too, not only during them.
      if (rewrite % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const report = await reader.stop();
    expect(report).toMatchObject({ partial: 0, vanished: 0 });
    expect(report.reads).toBeGreaterThan(100);
    expect(readFileSync(path, 'utf8')).toBe(VERSIONS[300 % VERSIONS.length]);
    expect(readdirSync(dir)).toEqual(['crmsync.prom']);
  });

  test('a missing folder, a folder for a file and a folder that cannot be written are one line each; nothing is left behind', () => {
    const dir = tempDir();
    expect(() => writeFileAtomically(join(dir, 'missing', 'crmsync.prom'), 'x 1\n')).toThrow(
      new UsageError(`cannot write ${join(dir, 'missing', 'crmsync.prom')}: the folder ${join(dir, 'missing')} does not exist; create it, or name a file in another folder`),
    );
    expect(() => writeFileAtomically(dir, 'x 1\n')).toThrow(/^cannot write .*: it is a folder; name a file such as .*crmsync\.prom$/);
    writeFileSync(join(dir, 'plain'), '');
    expect(() => writeFileAtomically(join(dir, 'plain', 'crmsync.prom'), 'x 1\n')).toThrow(/part of its folder path is a file/);
    expect(readdirSync(dir)).toEqual(['plain']);
  });

  test.skipIf(process.getuid?.() === 0)('a folder without write permission', () => {
    const dir = tempDir();
    chmodSync(dir, 0o555);
    try {
      expect(() => writeFileAtomically(join(dir, 'crmsync.prom'), 'x 1\n')).toThrow(/no permission to create files in/);
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});
