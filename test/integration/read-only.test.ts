import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HubSpotClient } from '../../src/clients/hubspot/client.js';
import { HUBSPOT_API_URL } from '../../src/config/env.js';
import { objectByName } from '../../src/config/load.js';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { tempDir } from '../helpers/cli.js';
import { query, queryOne } from '../helpers/db.js';
import { config, syncObject } from '../helpers/engine.js';

/**
 * Read-only checks that run against the emulator and, when CRMSYNC_LIVE_HUBSPOT_TOKEN is
 * set, against that real portal too. Nothing here writes to HubSpot.
 */
const liveToken = process.env.CRMSYNC_LIVE_HUBSPOT_TOKEN;
let emulator: HubSpotEmulator;
const targets = [
  { name: 'emulator', settings: () => ({ baseUrl: emulator.url, accessToken: emulator.token }) },
  ...(liveToken ? [{ name: 'live HubSpot', settings: () => ({ baseUrl: process.env.HUBSPOT_BASE_URL ?? HUBSPOT_API_URL, accessToken: liveToken }) }] : []),
];

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ seed: { contacts: 420, companies: 60, deals: 90 }, seedValue: 5 });
});
afterAll(() => emulator?.close());

describe.each(targets)('$name (read-only)', ({ settings }) => {
  const dir = tempDir();

  test.each(['contacts', 'companies', 'deals'])('%s: pages hold distinct records and the counts add up', async (name) => {
    const db = join(dir, `${name}.db`);
    const result = await syncObject(name, db, settings(), { full: true, batchSize: 100, maxRecords: 250 });
    expect(['success', 'partial']).toContain(result.status);
    expect(result.counts.processed).toBeLessThanOrEqual(250);
    expect(result.counts.created + result.counts.failed).toBe(result.counts.processed);
    const { rows, ids } = queryOne<{ rows: number; ids: number }>(db, 'SELECT count(*) AS rows, count(DISTINCT source_id) AS ids FROM records')!;
    expect(rows).toBe(result.counts.created);
    expect(ids).toBe(rows);
  });

  test('reading the same records again changes nothing', async () => {
    const db = join(dir, 'again.db');
    await syncObject('companies', db, settings(), { full: true, maxRecords: 50 });
    const again = await syncObject('companies', db, settings(), { full: true, maxRecords: 50 });
    expect(again.counts.created).toBe(0);
    expect(again.counts.updated).toBeLessThanOrEqual(1); // a live portal may change meanwhile
  });

  test('an incremental search since a recent date returns records in modification order', async () => {
    const db = join(dir, 'since.db');
    const result = await syncObject('deals', db, settings(), { since: new Date('2025-06-01T00:00:00Z'), maxRecords: 150, batchSize: 50 });
    expect(['success', 'partial']).toContain(result.status);
    const times = query<{ t: string }>(db, 'SELECT source_modified_at AS t FROM records ORDER BY rowid').map((row) => row.t);
    expect(times).toEqual([...times].sort());
    expect(times.every((time) => time >= '2025-06-01T00:00:00.000Z')).toBe(true);
  });

  test('an unknown object type fails at once with a message pointing at object_type', async () => {
    const client = new HubSpotClient(settings());
    await expect(client.listPage('crmsync_no_such_type', { limit: 1, properties: [] })).rejects.toThrow(
      /^list crmsync_no_such_type: HubSpot answered \d{3} \(Unable to infer object type from: crmsync_no_such_type\); check object_type in mappings\.yaml$/,
    );
  });

  test('every mapped property exists in the portal', async () => {
    const client = new HubSpotClient(settings());
    for (const name of ['contacts', 'companies', 'deals']) {
      const object = objectByName(config, name);
      const known = new Set((await client.properties(object.remoteName)).map((property) => property.name));
      expect(object.properties.filter((property) => !known.has(property))).toEqual([]);
    }
  });
});
