import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest global setup: one folder for every temporary file of a test run, removed when the
 * run ends. The forked test workers inherit CRMSYNC_TEST_TMP and make their folders in it.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'crmsync-tests-'));
  process.env.CRMSYNC_TEST_TMP = root;
  return () => rmSync(root, { recursive: true, force: true });
}
