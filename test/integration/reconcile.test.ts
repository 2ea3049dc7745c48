/**
 * Listing every id and modification time (RecordSource.listVersions) and reconciling the
 * store with it, in-process against the emulators: what each kind of drift looks like,
 * what --fix does about it, and what it costs in requests.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import type { RecordSource } from '../../src/clients/crm.js';
import { parseConfig } from '../../src/config/load.js';
import type { SourceName } from '../../src/config/sources.js';
import { openStore } from '../../src/db/database.js';
import { reconcileObject, type ReconcileResult } from '../../src/engines/reconcile.js';
import { silentLogger } from '../../src/log.js';
import type { RecordVersion } from '../../src/records.js';
import { tempDir } from '../helpers/cli.js';
import { history, query, queryOne } from '../helpers/db.js';
import { dynamicsEmulatorPerTest, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { config, syncFromDynamics, syncObject } from '../helpers/engine.js';
import { connect, contacts, dynamicsContacts, RETRY } from '../helpers/writes.js';

const startHubSpot = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();
const dir = tempDir();
const SEARCH = 'POST /crm/v3/objects/{type}/search';

async function listAll(reader: RecordSource, pageSize?: number): Promise<RecordVersion[][]> {
  const pages: RecordVersion[][] = [];
  for await (const page of reader.listVersions(pageSize)) pages.push(page);
  return pages;
}

async function reconcileIn(db: string, source: SourceName, settings: unknown, fix = false): Promise<ReconcileResult> {
  const store = openStore(db, { existing: true });
  try {
    return await reconcileObject(config.objects.get('contacts')!, source, { store, [source]: settings, log: silentLogger, retry: RETRY }, { fix });
  } finally {
    store.close();
  }
}

/** Removes local rows by hand, as someone with sqlite3 might. */
function deleteRows(db: string, source: SourceName, ids: string[]): void {
  const handle = new Database(db);
  try {
    const remove = handle.prepare("DELETE FROM records WHERE source = ? AND object_type = 'contacts' AND source_id = ?");
    for (const id of ids) remove.run(source, id);
  } finally {
    handle.close();
  }
}

describe('listing versions', () => {
  test('HubSpot: every id and modification time, 200 a search request, one request per 200 records and none for an empty page', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 1_000 }, seedValue: 91 });
    emulator.store.update('contacts', '1500', { jobtitle: 'Changed' });
    emulator.store.create('contacts', { email: 'late@example.com' });
    emulator.store.archive('contacts', '1002');
    const reader = (await connect('hubspot', settingsOf(emulator))).reader(contacts);
    emulator.stats.reset();

    const pages = await listAll(reader);
    expect(pages.map((page) => page.length)).toEqual([200, 200, 200, 200, 200]);
    const expected = emulator.store.all('contacts').map((record) => ({ id: record.id, modifiedAt: record.properties.lastmodifieddate }));
    expect(pages.flat()).toEqual(expected);
    expect(emulator.stats.requests).toBe(5);
    expect(emulator.stats.byRoute[SEARCH]).toBe(5);
    expect(reader.metrics.requests).toBe(5);

    emulator.stats.reset();
    expect((await listAll(reader, 150)).map((page) => page.length)).toEqual([150, 150, 150, 150, 150, 150, 100]);
    expect(emulator.stats.requests).toBe(7);
  });

  test('HubSpot, an object keyed on a property with unique values: ids are its values, and reads by id go by it too', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 30 }, seedValue: 92 });
    const keyed = parseConfig(
      `version: 1
objects:
  people:
    object_type: contacts
    primary_key: email
    modified_property: lastmodifieddate
    fields:
      email: { type: email, required: true }
      modified_at: { property: lastmodifieddate, type: datetime }
`,
      'mappings.yaml',
    ).objects.get('people')!.hubspot!;
    const reader = (await connect('hubspot', settingsOf(emulator))).reader(keyed);
    const listed = (await listAll(reader)).flat();
    const records = emulator.store.all('contacts').filter((record) => record.properties.email);
    expect(listed.map((version) => version.id)).toEqual(records.map((record) => record.properties.email));
    const read = (await reader.readByIds(listed.slice(0, 3).map((version) => version.id))) as { properties: { email: string } }[];
    expect(read.map((record) => record.properties.email)).toEqual(listed.slice(0, 3).map((version) => version.id));
  });

  test('Dynamics 365: the key and modifiedon only, 5,000 rows a request, following next links', async () => {
    const emulator = await startDynamics({ seed: { contacts: 2_500 }, seedValue: 93 });
    const reader = (await connect('dynamics', dynamicsSettingsOf(emulator))).reader(dynamicsContacts);
    const before = reader.metrics.requests;
    const pages = await listAll(reader);
    expect(pages.map((page) => page.length)).toEqual([2_500]);
    expect(reader.metrics.requests - before).toBe(1);
    const rows = emulator.store.all('contacts');
    expect(pages.flat()).toEqual(rows.map((row) => ({ id: String(row.contactid), modifiedAt: new Date(String(row.modifiedon)).toISOString() })));
    expect((await listAll(reader, 1_000)).map((page) => page.length)).toEqual([1_000, 1_000, 500]);
  });
});

describe('reconciling HubSpot contacts', () => {
  test('finds rows deleted here, records purged there, records changed there; --fix leaves no drift, through a run of its own', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 600 }, seedValue: 94 });
    const settings = settingsOf(emulator);
    const db = join(dir, 'hubspot.db');
    expect((await syncObject('contacts', db, settings)).status).toBe('success');
    deleteRows(db, 'hubspot', ['1003', '1004']);
    emulator.store.purge('contacts', '1010');
    emulator.store.archive('contacts', '1011');
    emulator.store.update('contacts', '1020', { jobtitle: 'Behind its back' });

    const found = await reconcileIn(db, 'hubspot', settings);
    expect(found).toMatchObject({ status: 'drift', exitCode: 3, missing: ['1003', '1004'], gone: ['1010', '1011'], stale: ['1020'], sourceRecords: 598, localRecords: 598 });
    // Three searches list 598 records; one batch read confirms the two not listed are gone.
    expect(found.requests).toBe(3 + 1);

    const fixed = await reconcileIn(db, 'hubspot', settings, true);
    expect(fixed).toMatchObject({ status: 'fixed', exitCode: 0, fixed: 5 });
    expect(fixed.fixRun).toMatchObject({ syncMode: 'reconcile', status: 'success', counts: { created: 2, updated: 1, deleted: 2 } });
    const deletedAt = queryOne<{ n: number }>(db, "SELECT count(*) AS n FROM records WHERE source_id IN ('1010', '1011') AND is_deleted = 1 AND deleted_at IS NOT NULL")!.n;
    expect(deletedAt).toBe(2);
    expect(queryOne(db, "SELECT jobtitle FROM hubspot_contacts WHERE id = '1020'")).toEqual({ jobtitle: 'Behind its back' });

    const again = await reconcileIn(db, 'hubspot', settings);
    expect(again).toMatchObject({ status: 'clean', exitCode: 0, missing: [], gone: [], stale: [] });
    const rows = query(db, 'SELECT status, fix, missing, gone, stale, fixed, fix_run_id AS fixRunId FROM reconciliation_runs ORDER BY id');
    const fixRun = history<{ id: number; sync_mode: string; watermark: string }>(db, 'id, sync_mode, watermark');
    expect(rows).toEqual([
      { status: 'drift', fix: 0, missing: 2, gone: 2, stale: 1, fixed: 0, fixRunId: null },
      { status: 'fixed', fix: 1, missing: 2, gone: 2, stale: 1, fixed: 5, fixRunId: fixRun[1]!.id },
      { status: 'clean', fix: 0, missing: 0, gone: 0, stale: 0, fixed: 0, fixRunId: null },
    ]);
    // The read by id leaves the watermark where the full read put it: it read only a few records.
    expect(fixRun.map((run) => run.sync_mode)).toEqual(['full', 'reconcile']);
    expect(fixRun[1]!.watermark).toBe(fixRun[0]!.watermark);
  });

  test('costs at most 5.1 requests per 1,000 records: 4,200 contacts listed in 21 searches', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 4_200 }, seedValue: 95 });
    const settings = settingsOf(emulator);
    const db = join(dir, 'cost.db');
    await syncObject('contacts', db, settings);
    emulator.stats.reset();
    const result = await reconcileIn(db, 'hubspot', settings);
    expect(result).toMatchObject({ status: 'clean', sourceRecords: 4_200 });
    expect(emulator.stats.requests).toBe(21);
    expect(result.requests).toBe(21);
    expect((emulator.stats.requests * 1_000) / 4_200).toBeLessThanOrEqual(5.1);
  });
});

describe('reconciling Dynamics 365 contacts', () => {
  test('a row deleted there (not yet synced), a row changed there, rows deleted here; --fix leaves no drift', async () => {
    const emulator = await startDynamics({ seed: { contacts: 300 }, seedValue: 96 });
    const settings = dynamicsSettingsOf(emulator);
    const db = join(dir, 'dynamics.db');
    await syncFromDynamics('contacts', db, settings);
    const [first, second, third, fourth] = emulator.store.all('contacts').map((row) => String(row.contactid));
    emulator.store.delete('contacts', first!);
    emulator.store.update('contacts', second!, { jobtitle: 'Behind its back' });
    deleteRows(db, 'dynamics', [third!, fourth!]);

    const found = await reconcileIn(db, 'dynamics', settings);
    expect(found).toMatchObject({ status: 'drift', gone: [first], stale: [second], sourceRecords: 299, localRecords: 298 });
    expect([...found.missing].sort()).toEqual([third, fourth].sort());
    expect(found.requests).toBe(2);

    expect(await reconcileIn(db, 'dynamics', settings, true)).toMatchObject({ status: 'fixed', fixed: 4 });
    expect(await reconcileIn(db, 'dynamics', settings)).toMatchObject({ status: 'clean', missing: [], gone: [], stale: [] });
    expect(queryOne(db, 'SELECT is_deleted FROM dynamics_contacts WHERE id = ?', first)).toEqual({ is_deleted: 1 });
  });
});
