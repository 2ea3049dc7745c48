import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { crmsync, tempDir } from '../helpers/cli.js';

const dir = tempDir();
const badYaml = join(dir, 'bad.yaml');
writeFileSync(badYaml, 'version: 1\nobjects:\n  contacts:\n    object_type: contacts\n    fields: { email: { type: email } }\n');
const brokenYaml = join(dir, 'broken.yaml');
writeFileSync(brokenYaml, 'version: 1\nobjects: [\n');

const EMULATOR_PORTS = ['--port', '0', '--dynamics-port', '0'];

// The API is never reached: each case fails before anything is read or written.
const env = (db: string) => ({ HUBSPOT_BASE_URL: 'http://127.0.0.1:9', HUBSPOT_ACCESS_TOKEN: 'pat-test', CRMSYNC_DB: db });

describe('bad input: one clear line, exit 2, nothing written', () => {
  test.each([
    ['an impossible --since', ['sync-contacts', '--since', '2025-13-45'], /^crmsync: --since "2025-13-45" is not a valid date: use YYYY-MM-DD or an ISO-8601 date-time/],
    ['a zero --batch-size', ['sync-contacts', '--batch-size', '0'], /^crmsync: --batch-size must be a whole number from 1 to 200, got "0"/],
    ['a negative --batch-size', ['sync-deals', '--batch-size=-5'], /^crmsync: --batch-size must be a whole number from 1 to 200, got "-5"/],
    ['an unknown object', ['sync-all', '--objects', 'contacts,unicorns'], /^crmsync: unknown object "unicorns"; mappings\.yaml defines: contacts, companies, deals/],
    ['an invalid mappings.yaml', ['--config', badYaml, 'sync-contacts'], /^crmsync: .*bad\.yaml: objects\.contacts\.modified_property: is required with object_type/],
    ['a malformed mappings.yaml', ['--config', brokenYaml, 'sync-contacts'], /^crmsync: .*broken\.yaml: not valid YAML: /],
    ['a missing mappings.yaml', ['--config', join(dir, 'nope.yaml'), 'sync-contacts'], /^crmsync: .*nope\.yaml: file not found/],
    ['an unknown flag', ['sync-contacts', '--fulll'], /unknown option '--fulll'/],
    ['an unknown command', ['sync-unicorns'], /unknown command 'sync-unicorns'/],
    ['reconcile of an unknown object', ['reconcile', 'widgets'], /^crmsync: unknown object "widgets"; mappings\.yaml defines: contacts, companies, deals/],
    ['reconcile with an unknown source', ['reconcile', 'contacts', '--source', 'salesforce'], /argument 'salesforce' is invalid\. Allowed choices are hubspot, dynamics\./],
    ['reconcile from a CRM without the object', ['reconcile', 'deals', '--source', 'dynamics'], /^crmsync: object "deals" has no dynamics: block in mappings\.yaml/],
    ['reconcile without an object', ['reconcile'], /missing required argument 'object'/],
    ['reconcile before any sync', ['reconcile', 'contacts'], /^crmsync: no database at .*: run a sync first, or pass --db <path>$/],
    ['an emulator --webhook-url that is no URL', ['emulator', ...EMULATOR_PORTS, '--webhook-url', 'localhost', '--webhook-secret', 's'], /^crmsync: --webhook-url must be an http or https URL, such as http:\/\/127\.0\.0\.1:8787\/webhooks, got "localhost"$/],
    ['an emulator --webhook-url without a secret', ['emulator', ...EMULATOR_PORTS, '--webhook-url', 'http://127.0.0.1:9/hooks'], /^crmsync: --webhook-url needs --webhook-secret <value> \(or HUBSPOT_CLIENT_SECRET\) to authenticate the webhooks$/],
    ['an emulator --webhook-drop-rate without a URL', ['emulator', ...EMULATOR_PORTS, '--webhook-drop-rate', '0.2'], /^crmsync: --webhook-drop-rate needs --webhook-url <url>: webhooks go only where a URL says$/],
    [
      'an emulator --dynamics-webhook-drop-rate above 1',
      ['emulator', ...EMULATOR_PORTS, '--dynamics-webhook-url', 'http://127.0.0.1:9/hooks', '--dynamics-webhook-key', 'k', '--dynamics-webhook-drop-rate', '1.5'],
      /^crmsync: --dynamics-webhook-drop-rate must be a number from 0 to 1, such as 0\.2, got "1\.5"$/,
    ],
    ['an emulator --dynamics-webhook-url without a key', ['emulator', ...EMULATOR_PORTS, '--dynamics-webhook-url', 'http://127.0.0.1:9/hooks'], /^crmsync: --dynamics-webhook-url needs --dynamics-webhook-key <value> \(or D365_WEBHOOK_KEY\)/],
  ])('%s', async (_, args, message) => {
    const db = join(dir, `${Math.random()}.db`);
    const run = await crmsync(args, env(db));
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(message);
    expect(run.stdout).toBe('');
    expect(existsSync(db)).toBe(false);
  });

  test.each([
    ['an unknown flag', ['--json', 'sync-contacts', '--fulll'], /^unknown option '--fulll'/],
    ['an invalid mappings.yaml', ['--config', badYaml, 'sync-contacts', '--json'], /bad\.yaml: objects\.contacts\.modified_property: is required with object_type/],
    ['reconcile of an unknown object', ['--json', 'reconcile', 'widgets'], /^unknown object "widgets"/],
  ])('with --json, %s is also a JSON error object on stdout', async (_, args, message) => {
    const db = join(dir, `${Math.random()}.db`);
    const run = await crmsync(args, env(db));
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ exitCode: 2, error: expect.stringMatching(message) });
    expect(existsSync(db)).toBe(false);
  });

  test('a missing token', async () => {
    const db = join(dir, 'token.db');
    const run = await crmsync(['sync-contacts'], { CRMSYNC_DB: db });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^crmsync: HUBSPOT_ACCESS_TOKEN is not set: /);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(db)).toBe(false);
  });
});

test('crmsync emulator on a port already in use: one line naming the flag, exit 2, nothing left listening', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = taken.address() as { port: number };
    const run = await crmsync(['emulator', '--port', '0', '--dynamics-port', String(port)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`crmsync: cannot listen on 127.0.0.1:${port} (--dynamics-port): the port is in use; choose another (0 = any free port)\n`);
  } finally {
    taken.close();
  }
});

test('--help lists every command and the exit codes', async () => {
  const run = await crmsync(['--help']);
  expect(run.code).toBe(0);
  for (const command of ['sync-contacts', 'sync-companies', 'sync-deals', 'sync-all', 'history', 'demo', 'emulator']) expect(run.stdout).toContain(command);
  expect(run.stdout).toMatch(/Exit codes:\n\s+0\s+success/);
  expect(run.stdout).toContain('4  another run of the same object holds the lease');
  const sync = await crmsync(['sync-contacts', '--help']);
  for (const flag of ['--full', '--since', '--dry-run', '--force-overwrite', '--batch-size', '--max-records', '--debug']) expect(sync.stdout).toContain(flag);
});
