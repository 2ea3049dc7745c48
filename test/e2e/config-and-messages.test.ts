import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ACCOUNTS, CONTACTS, startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, ROOT, startCrmsync, summary, tempDir } from '../helpers/cli.js';
import { waitForRecords } from '../helpers/db.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';

// The README's contract for bad usage or configuration: one line on stderr, exit 2, nothing written.

let hubspot: HubSpotEmulator;
const dir = tempDir();
const env = (db: string, extra: Record<string, string> = {}) => ({ HUBSPOT_BASE_URL: hubspot.url, HUBSPOT_ACCESS_TOKEN: hubspot.token, CRMSYNC_DB: db, ...extra });
const results = (stdout: string) => summary(stdout).results;

function yamlFile(name: string, text: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

const contactsEntry = (name: string, table?: string, extra = '') =>
  `  ${name}:\n    object_type: contacts\n    modified_property: lastmodifieddate\n${table ? `    table: ${table}\n` : ''}${extra}    fields:\n      email: { type: email }\n`;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ seed: { contacts: 40 }, seedValue: 3 });
});
afterAll(() => hubspot?.close());

describe('view names that collide are configuration errors, found before anything is written', () => {
  test.each([
    ['two objects with one view name', `${contactsEntry('people', 'everyone')}${contactsEntry('leads', 'everyone')}`, /^(?=.*"everyone")(?=.*objects\.people\b)(?=.*objects\.leads\b)/],
    [
      "an object's view named like another object's Dynamics view",
      `${contactsEntry('people', 'dynamics_contacts')}  contacts:\n    dynamics:\n      entity_set: contacts\n      primary_key: contactid\n      fields:\n        email: { property: emailaddress1, type: email }\n`,
      /"dynamics_contacts"/,
    ],
    ["crmsync's own table", contactsEntry('people', 'sync_history'), /"sync_history".*crmsync/],
    ["crmsync's own records table", contactsEntry('people', 'records'), /"records".*crmsync/],
    ["SQLite's own names", contactsEntry('people', 'sqlite_stat1'), /"sqlite_stat1".*SQLite/],
  ])('%s', async (_, objects, message) => {
    const config = yamlFile(`collide-${Math.random()}`, `version: 1\nobjects:\n${objects}`);
    const db = join(dir, `collide-${Math.random()}.db`);
    for (const args of [['sync-all'], ['config', 'check']]) {
      const run = await crmsync(['--config', config, ...args], env(db));
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
      expect(existsSync(db)).toBe(false);
    }
  });
});

describe('a stored link or cursor is followed only to the host it came from', () => {
  let first: DynamicsEmulator;
  let second: DynamicsEmulator;
  beforeAll(async () => {
    first = await startDynamicsEmulator({ entitySets: [CONTACTS, ACCOUNTS], seed: { contacts: 30 }, seedValue: 1 });
    second = await startDynamicsEmulator({ entitySets: [CONTACTS, ACCOUNTS], seed: { contacts: 45 }, seedValue: 2 });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  test('after D365_RESOURCE_URL changes, the old delta link is not followed: the run says so and reads the new organisation in full', async () => {
    const db = join(dir, 'moved.db');
    const initial = await crmsync(['sync-contacts', '--source', 'dynamics'], { ...dynamicsEnvOf(first), CRMSYNC_DB: db });
    expect(initial.code, initial.stderr).toBe(0);
    const requestsBefore = first.stats.requests;

    const moved = await crmsync(['sync-contacts', '--source', 'dynamics', '--json'], { ...dynamicsEnvOf(second), CRMSYNC_DB: db });
    expect(moved.code, moved.stderr).toBe(0);
    expect(first.stats.requests).toBe(requestsBefore);
    expect(moved.stderr).toMatch(/organisation changed/i);
    expect(results(moved.stdout)[0]).toMatchObject({ syncMode: 'full', counts: { created: 45 } });
  });

  test('after HUBSPOT_BASE_URL changes, a failed run of the old portal is not resumed there', async () => {
    const other = await startHubSpotEmulator({ seed: { contacts: 25 }, seedValue: 9, token: hubspot.token });
    try {
      const db = join(dir, 'moved-hubspot.db');
      expect((await crmsync(['sync-contacts', '--max-records', '10'], env(db))).code).toBe(0);
      const requestsBefore = hubspot.stats.requests;
      const moved = await crmsync(['sync-contacts', '--json'], env(db, { HUBSPOT_BASE_URL: other.url }));
      expect(moved.code, moved.stderr).toBe(0);
      expect(hubspot.stats.requests).toBe(requestsBefore);
      expect(moved.stderr).toMatch(/HUBSPOT_BASE_URL changed|portal changed/i);
      expect(results(moved.stdout)[0].syncMode).toBe('full');
    } finally {
      await other.close();
    }
  });

  test('a run of the old portal killed mid-read is not continued at the new one', async () => {
    const slow = await startHubSpotEmulator({ seed: { contacts: 2_000 }, seedValue: 4, latencyMs: 40, token: hubspot.token });
    try {
      const db = join(dir, 'killed-moved.db');
      const { child, done } = startCrmsync(['sync-contacts', '--batch-size', '100'], env(db, { HUBSPOT_BASE_URL: slow.url }));
      await waitForRecords(db, 100);
      child.kill('SIGKILL');
      expect((await done).signal).toBe('SIGKILL');
      const requestsBefore = slow.stats.requests;
      const moved = await crmsync(['sync-contacts', '--json'], env(db));
      expect(moved.code, moved.stderr).toBe(0);
      expect(slow.stats.requests).toBe(requestsBefore);
      expect(moved.stderr).toMatch(/HUBSPOT_BASE_URL changed/);
      expect(moved.stderr).not.toMatch(/resuming/);
      expect(results(moved.stdout)[0]).toMatchObject({ syncMode: 'full', counts: { processed: 40 } });
    } finally {
      await slow.close();
    }
  });
});

describe('messages and exit codes', () => {
  test('.env being a directory: one line, exit 2', async () => {
    const cwd = join(dir, 'dotenv-dir');
    mkdirSync(join(cwd, '.env'), { recursive: true });
    const run = await crmsync(['--config', join(ROOT, 'mappings.yaml'), 'sync-contacts'], { CRMSYNC_DB: join(cwd, 'x.db') }, { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/\.env.*directory/);
  });

  test('crmsync emulator --port 99999: one line, exit 2', async () => {
    const run = await crmsync(['emulator', '--port', '99999']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^crmsync: --port must be a whole number from 0 to 65535, got "99999"/);
  });

  test('a failed run prints its error on stderr, even with --quiet', async () => {
    const db = join(dir, 'failed.db');
    const run = await crmsync(['sync-contacts', '--quiet'], env(db, { HUBSPOT_ACCESS_TOKEN: 'pat-wrong-token' }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/HubSpot rejected HUBSPOT_ACCESS_TOKEN \(401/);
    expect(run.stderr).not.toContain('pat-wrong-token');
  });

  test('a token with a line break is a configuration error, not a network one', async () => {
    const db = join(dir, 'newline.db');
    const before = hubspot.stats.requests;
    const run = await crmsync(['sync-contacts'], env(db, { HUBSPOT_ACCESS_TOKEN: `${hubspot.token}\nsecond-line` }));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/HUBSPOT_ACCESS_TOKEN .*line break/);
    expect(run.stderr).not.toContain(hubspot.token);
    expect(hubspot.stats.requests).toBe(before);
    expect(existsSync(db)).toBe(false);
  });

  test('a wrong base-URL prefix is blamed on HUBSPOT_BASE_URL, not on object_type', async () => {
    const db = join(dir, 'prefix.db');
    const run = await crmsync(['sync-contacts'], env(db, { HUBSPOT_BASE_URL: `${hubspot.url}/wrong-prefix` }));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/HUBSPOT_BASE_URL/);
    expect(run.stderr).not.toMatch(/object_type/);
  });

  test('--json prints a JSON error object on stdout for usage errors', async () => {
    const run = await crmsync(['--json', 'sync-contacts', '--since', 'yesterday'], env(join(dir, 'json.db')));
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: 2, error: expect.stringMatching(/--since "yesterday" is not a valid date/) });
    expect(run.stderr).toMatch(/^crmsync: --since "yesterday"/);
  });

  test('--since in the future is accepted with a warning', async () => {
    const run = await crmsync(['sync-contacts', '--since', '2999-01-01'], env(join(dir, 'future.db')));
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/--since 2999-01-01.* is in the future/);
  });
});
