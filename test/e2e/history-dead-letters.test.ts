/**
 * `crmsync history` lists the writes a CRM refused (dead-lettered outbox rows) after the
 * runs: here Dataverse refusing job titles longer than its jobtitle column allows, written
 * by real two-way runs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, tempDir, type CliResult } from '../helpers/cli.js';
import { query } from '../helpers/db.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { tableAfter } from '../helpers/table.js';

const SHARED = { contacts: 12, companies: 0 };
const HEADER = ['object', 'crm', 'operation', 'record', 'when', 'reason'];
/** Dataverse's contact.jobtitle holds 100 characters; HubSpot takes far longer text. */
const TOO_LONG = `Regional Vice President of ${'Customer Success and Partnerships, '.repeat(3)}EMEA`;
const REFUSED = /^A validation error occurred\. +The length of the 'jobtitle' attribute of the 'contact' entity exceeded the maximum allowed length of '100'\.$/;

const dir = tempDir();
const db = join(dir, 'dead.db');
let hubspot: HubSpotEmulator;
let dynamics: DynamicsEmulator;
let pairs: { hubspotId: string; dynamicsId: string }[];

async function run(args: string[], expectedCode = 0): Promise<CliResult> {
  const result = await crmsync(args, { ...hubspotEnvOf(hubspot, db), ...dynamicsEnvOf(dynamics) });
  expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expectedCode);
  return result;
}

// Two two-way runs each meet one refused write, a contact's job title too long for Dataverse.
beforeAll(async () => {
  expect(TOO_LONG.length).toBeGreaterThan(100);
  hubspot = await startHubSpotEmulator({ seed: { contacts: 5 }, sharedSeed: SHARED, seedValue: 23 });
  dynamics = await startDynamicsEmulator({ seed: { contacts: 5, accounts: 0 }, sharedSeed: SHARED, seedValue: 23 });
  await run(['sync-contacts', '--two-way']);
  pairs = query<{ hubspotId: string; dynamicsId: string }>(
    db,
    "SELECT hubspot_id AS hubspotId, dynamics_id AS dynamicsId FROM entity_links WHERE matched_by = 'match_key' ORDER BY hubspot_id LIMIT 2",
  );
  expect(pairs).toHaveLength(2);
  for (const pair of pairs) {
    hubspot.store.update('contacts', pair.hubspotId, { jobtitle: TOO_LONG });
    await run(['sync-contacts', '--two-way'], 3);
  }
});
afterAll(() => Promise.all([hubspot?.close(), dynamics?.close()]));

describe('crmsync history: writes refused and dead-lettered', () => {
  test('after the runs, newest first: object, CRM, operation, record, when, and the reason the CRM gave', async () => {
    const listed = await run(['history']);
    const lines = listed.stdout.split('\n');
    expect(lines.indexOf('2 writes refused and dead-lettered (not sent again; a --two-way run plans them anew once the record changes, or with --full):')).toBeGreaterThan(
      lines.findIndex((line) => line.startsWith('run ')),
    );
    const rows = tableAfter(listed.stdout, HEADER);
    expect(rows.map((row) => row.slice(0, 4))).toEqual([
      ['contacts', 'Dynamics 365', 'update', pairs[1].dynamicsId],
      ['contacts', 'Dynamics 365', 'update', pairs[0].dynamicsId],
    ]);
    for (const row of rows) expect(row[5]).toMatch(REFUSED);
    const stored = query<{ finishedAt: string }>(db, "SELECT finished_at AS finishedAt FROM outbox WHERE status = 'dead' ORDER BY id DESC");
    expect(rows.map((row) => row[4])).toEqual(stored.map((row) => row.finishedAt.slice(0, 19).replace('T', ' ')));
  });

  test('--limit lists the newest and says how many more there are; --object and --source choose whose', async () => {
    const limited = await run(['history', '--limit', '1']);
    expect(tableAfter(limited.stdout, HEADER)[0][3]).toBe(pairs[1].dynamicsId);
    expect(limited.stdout.trimEnd().split('\n').at(-1)).toBe("... and 1 more (outbox WHERE status = 'dead')");

    expect(tableAfter((await run(['history', '--object', 'contacts'])).stdout, HEADER)).toHaveLength(2);
    expect(tableAfter((await run(['history', '--source', 'dynamics'])).stdout, HEADER)).toHaveLength(2);
    // Writes to Dynamics 365 only: none for HubSpot, and none of the companies.
    expect((await run(['history', '--source', 'hubspot'])).stdout).not.toContain('dead-lettered');
    expect((await run(['history', '--object', 'companies'])).stdout).not.toContain('dead-lettered');
  });

  test('--json prints the runs alone, as before', async () => {
    const runs = JSON.parse((await run(['history', '--json'])).stdout) as { id: number; syncType: string }[];
    expect(runs.map((row) => row.id)).toEqual(query<{ id: number }>(db, 'SELECT id FROM sync_history ORDER BY id DESC LIMIT 20').map((row) => row.id));
    expect(runs.every((row) => row.syncType === 'contacts')).toBe(true);
  });

  test('a refused write is not sent again; a later change to the record is written', async () => {
    const [first] = pairs;
    expect(dynamics.store.get('contacts', first.dynamicsId)?.jobtitle).not.toBe(TOO_LONG);
    hubspot.store.update('contacts', first.hubspotId, { jobtitle: 'Regional VP, EMEA' });
    await run(['sync-contacts', '--two-way']);
    expect(dynamics.store.get('contacts', first.dynamicsId)?.jobtitle).toBe('Regional VP, EMEA');
    expect(query(db, "SELECT count(*) AS n FROM outbox WHERE status = 'dead'")).toEqual([{ n: 2 }]);
  });
});

describe('crmsync history without dead-lettered writes', () => {
  test('shows no such section', async () => {
    const clean = join(dir, 'clean.db');
    const env = { ...hubspotEnvOf(hubspot, clean), ...dynamicsEnvOf(dynamics) };
    expect((await crmsync(['sync-contacts', '--source', 'dynamics'], env)).code).toBe(0);
    const listed = await crmsync(['history'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('contacts  dynamics');
    expect(listed.stdout).not.toContain('dead-lettered');
  });
});
