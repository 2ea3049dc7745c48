import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDotEnv } from '../../src/config/env.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'crmsync-env-'));
function dotEnv(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('.env', () => {
  test('sets the variables that are not set yet; those already set win', () => {
    const env: NodeJS.ProcessEnv = { CRMSYNC_DB: 'mine.db' };
    loadDotEnv(dotEnv('plain.env', '# a comment\nCRMSYNC_DB=theirs.db\nHUBSPOT_ACCESS_TOKEN="pat-1"\n\nD365_CLIENT_ID=abc # trailing\n'), env);
    expect(env).toEqual({ CRMSYNC_DB: 'mine.db', HUBSPOT_ACCESS_TOKEN: 'pat-1', D365_CLIENT_ID: 'abc' });
  });

  test('none at all is fine', () => {
    const env: NodeJS.ProcessEnv = {};
    loadDotEnv(join(dir, 'missing.env'), env);
    expect(env).toEqual({});
  });

  test.each([
    ['a directory', () => {
      mkdirSync(join(dir, 'folder.env'));
      return join(dir, 'folder.env');
    }, 'folder.env is a directory, not a file of VAR=value lines'],
    ['not UTF-8 text', () => dotEnv('latin1.env', Buffer.from('NAME=J\xfcrgen\n', 'latin1')), 'latin1.env is not a text file of VAR=value lines (it is not UTF-8 text)'],
    ['binary', () => dotEnv('binary.env', Buffer.from([0x41, 0x3d, 0x00, 0x01])), 'binary.env is not a text file of VAR=value lines'],
  ])('%s: one line saying what is wrong', (_, make, message) => {
    const path = make();
    expect(() => loadDotEnv(path, {})).toThrow(UsageError);
    expect(() => loadDotEnv(path, {})).toThrow(message);
  });
});
