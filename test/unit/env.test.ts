import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { dynamicsSettings, hubspotSettings, loadDotEnv, metricsTextfilePath } from '../../src/config/env.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(process.env.CRMSYNC_TEST_TMP ?? tmpdir(), 'crmsync-env-'));
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

describe('settings that cannot be sent are configuration errors, and the value is never shown', () => {
  const SECRET = 'pat-na1-0000-secret';
  const hubspot = { HUBSPOT_ACCESS_TOKEN: SECRET };
  const dynamics = { D365_TENANT_ID: 'tenant', D365_CLIENT_ID: 'client', D365_CLIENT_SECRET: SECRET, D365_RESOURCE_URL: 'https://org.example.com' };
  test.each([
    ['a token with a line break', () => hubspotSettings({ HUBSPOT_ACCESS_TOKEN: `${SECRET}\nsecond-line` }), 'HUBSPOT_ACCESS_TOKEN has a line break or another control character in it: set it again as one line'],
    ['a token with a tab', () => hubspotSettings({ HUBSPOT_ACCESS_TOKEN: `${SECRET}\tx` }), 'HUBSPOT_ACCESS_TOKEN has a line break'],
    ['a token with a typographic dash', () => hubspotSettings({ HUBSPOT_ACCESS_TOKEN: `pat\u2013${SECRET}` }), 'HUBSPOT_ACCESS_TOKEN has a space or a character that is not ASCII in it'],
    ['a token with a space', () => hubspotSettings({ HUBSPOT_ACCESS_TOKEN: `pat ${SECRET}` }), 'HUBSPOT_ACCESS_TOKEN has a space'],
    ['a base URL with a line break', () => hubspotSettings({ ...hubspot, HUBSPOT_BASE_URL: 'http://127.0.0.1\n:8080' }), 'HUBSPOT_BASE_URL has a line break'],
    ['a client secret with a line break', () => dynamicsSettings({ ...dynamics, D365_CLIENT_SECRET: `${SECRET}\r\nmore` }), 'D365_CLIENT_SECRET has a line break'],
    ['a client secret with a NUL', () => dynamicsSettings({ ...dynamics, D365_CLIENT_SECRET: `${SECRET}\u0000` }), 'D365_CLIENT_SECRET has a line break'],
    ['a tenant id with a line break', () => dynamicsSettings({ ...dynamics, D365_TENANT_ID: 'a\nb' }), 'D365_TENANT_ID has a line break'],
  ])('%s', (_, read, message) => {
    expect(read).toThrow(UsageError);
    expect(read).toThrow(message);
    try {
      read();
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
    }
  });

  test('a D365_CA_CERT holding a certificate that cannot be read', () => {
    const pem = dotEnv('broken.pem', '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n');
    expect(() => dynamicsSettings({ ...dynamics, D365_CA_CERT: pem })).toThrow(/^D365_CA_CERT: certificate 1 in .*broken\.pem cannot be read \(/);
    expect(() => dynamicsSettings({ ...dynamics, D365_CA_CERT: dotEnv('empty.pem', 'nothing here\n') })).toThrow(/holds no PEM certificate/);
  });

  test('a line break at either end is only white space', () => {
    expect(hubspotSettings({ HUBSPOT_ACCESS_TOKEN: `${SECRET}\n` }).accessToken).toBe(SECRET);
    expect(dynamicsSettings({ ...dynamics, D365_CLIENT_SECRET: `\n${SECRET}\n` }).clientSecret).toBe(SECRET);
  });
});

describe('HUBSPOT_FULL_READ', () => {
  const hubspot = { HUBSPOT_ACCESS_TOKEN: 'pat-na1-0000' };
  test('both ends by default; list keeps the list endpoint alone', () => {
    expect(hubspotSettings(hubspot).fullRead).toBe('both');
    expect(hubspotSettings({ ...hubspot, HUBSPOT_FULL_READ: 'list' }).fullRead).toBe('list');
    expect(hubspotSettings({ ...hubspot, HUBSPOT_FULL_READ: ' both ' }).fullRead).toBe('both');
  });
  test('anything else is a configuration error naming the values', () => {
    const read = () => hubspotSettings({ ...hubspot, HUBSPOT_FULL_READ: 'search' });
    expect(read).toThrow(UsageError);
    expect(read).toThrow('HUBSPOT_FULL_READ "search" is not both or list');
  });
});

describe('the metrics textfile of a sync', () => {
  test.each([
    ['/flag.prom', {}, '/flag.prom'],
    ['/flag.prom', { CRMSYNC_METRICS_TEXTFILE: '/env.prom' }, '/flag.prom'],
    [undefined, { CRMSYNC_METRICS_TEXTFILE: '/env.prom' }, '/env.prom'],
    [undefined, { CRMSYNC_METRICS_TEXTFILE: '  ' }, undefined],
    [undefined, {}, undefined],
  ])('--metrics-textfile %s with %j → %s', (flag, env, expected) => {
    expect(metricsTextfilePath(flag, env)).toBe(expected);
  });
});
