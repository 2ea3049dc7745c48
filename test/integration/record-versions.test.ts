import { join } from 'node:path';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../helpers/cli.js';
import { countRows, query, queryOne } from '../helpers/db.js';
import { dynamicsEmulatorPerTest, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { syncFromDynamics, syncObject } from '../helpers/engine.js';
import { expectSoundTimelines, intervals, versionsOf } from '../helpers/versions.js';

const dir = tempDir();
const startEmulator = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();

/** Edits a contact in the emulator as of `at` (its modification time), leaving the rest as it is. */
function edit(emulator: HubSpotEmulator, id: string, at: string, properties: Record<string, string | null>): void {
  const current = emulator.store.get('contacts', id)!;
  emulator.store.put('contacts', { id, properties: { ...current.properties, ...properties, lastmodifieddate: at }, createdAt: current.createdAt, updatedAt: at });
}

const T1 = '2026-03-01T10:00:00.000Z';
const T2 = '2026-03-02T10:00:00.000Z';
const T3 = '2026-03-03T10:00:00.000Z';

describe('versions of the mapped fields (SCD Type 2)', () => {
  test('a first sync opens one current version per record, from its modification time, with its mapped fields', async () => {
    const emulator = await startEmulator({ seed: { contacts: 120 }, seedValue: 61 });
    const db = join(dir, 'first.db');
    expect((await syncObject('contacts', db, settingsOf(emulator))).status).toBe('success');
    expect(countRows(db, 'record_versions')).toBe(120);
    const [record] = emulator.store.all('contacts');
    const [version] = query<Record<string, unknown>>(db, 'SELECT * FROM hubspot_contacts_history WHERE id = ?', record.id);
    const live = queryOne<Record<string, unknown>>(db, 'SELECT * FROM hubspot_contacts WHERE id = ?', record.id)!;
    expect(version).toMatchObject({ valid_from: live.source_modified_at, valid_to: null, is_current: 1, run_id: 1, email: live.email, firstname: live.firstname, modified_at: live.modified_at });
    expect(version.content_hash).toEqual(expect.any(String));
    expectSoundTimelines(db);
  });

  test('re-reads add nothing: an incremental overlap, --full and --force-overwrite of unchanged data', async () => {
    const emulator = await startEmulator({ seed: { contacts: 150 }, seedValue: 62 });
    const db = join(dir, 'rereads.db');
    await syncObject('contacts', db, settingsOf(emulator));
    // Records within the overlap are read again by the incremental run.
    const incremental = await syncObject('contacts', db, settingsOf(emulator));
    expect(incremental.counts.processed).toBeGreaterThan(0);
    await syncObject('contacts', db, settingsOf(emulator), { full: true });
    await syncObject('contacts', db, settingsOf(emulator), { forceOverwrite: true });
    await syncObject('contacts', db, settingsOf(emulator), { since: new Date('2020-01-01T00:00:00Z') });
    expect(countRows(db, 'record_versions')).toBe(150);
    expect(countRows(db, 'record_versions', 'run_id <> 1')).toBe(0);
  });

  test('a change of a mapped field closes the version at the new modification time and opens the next; a change the mapping does not show adds nothing', async () => {
    const emulator = await startEmulator({ seed: { contacts: 40 }, seedValue: 63 });
    const db = join(dir, 'changes.db');
    const [a, b] = emulator.store.all('contacts');
    const bModified = b.properties.lastmodifieddate!;
    edit(emulator, b.id, bModified, { email: 'mixed.case@example.com' });
    await syncObject('contacts', db, settingsOf(emulator));
    const firstFrom = versionsOf(db, a.id)[0].valid_from;
    edit(emulator, a.id, T1, { jobtitle: 'Chief Counter' });
    // b changes as received, not as mapped (emails are kept in lower case), at the same modification time.
    edit(emulator, b.id, bModified, { email: 'Mixed.Case@Example.COM' });
    const second = await syncObject('contacts', db, settingsOf(emulator), { full: true });
    expect(second.counts.updated).toBe(2);
    edit(emulator, a.id, T2, { city: 'Utrecht' });
    await syncObject('contacts', db, settingsOf(emulator));

    const versions = versionsOf(db, a.id);
    expect(intervals(versions)).toEqual([
      [firstFrom, T1],
      [T1, T2],
      [T2, null],
    ]);
    expect(versions.map((version) => version.is_current)).toEqual([0, 0, 1]);
    expect(versions[1].run_id).toBe(second.runId);
    expect(JSON.parse(versions[1].fields_json)).toMatchObject({ jobtitle: 'Chief Counter' });
    expect(JSON.parse(versions[2].fields_json)).toMatchObject({ jobtitle: 'Chief Counter', city: 'Utrecht' });
    expect(versionsOf(db, b.id)).toHaveLength(1);
    expectSoundTimelines(db);
  });

  test('a deletion closes the current version at the deletion time; a restore opens a new one', async () => {
    const emulator = await startEmulator({ seed: { contacts: 30 }, seedValue: 64 });
    const db = join(dir, 'deletions.db');
    await syncObject('contacts', db, settingsOf(emulator));
    const [a] = emulator.store.all('contacts');
    const firstFrom = versionsOf(db, a.id)[0].valid_from;
    emulator.store.archive('contacts', a.id);
    await syncObject('contacts', db, settingsOf(emulator));
    const archivedAt = new Date(emulator.store.get('contacts', a.id)!.archivedAt!).toISOString();
    expect(intervals(versionsOf(db, a.id))).toEqual([[firstFrom, archivedAt]]);
    expect(versionsOf(db, a.id)[0].is_current).toBe(0);
    expect(countRows(db, 'hubspot_contacts_history', 'is_current = 1')).toBe(29);

    const restored = emulator.store.restore('contacts', a.id);
    await syncObject('contacts', db, settingsOf(emulator));
    const restoredFrom = restored.properties.lastmodifieddate!;
    expect(intervals(versionsOf(db, a.id))).toEqual([
      [firstFrom, archivedAt],
      [restoredFrom, null],
    ]);
    expect(restoredFrom >= archivedAt).toBe(true);
    expectSoundTimelines(db);
  });

  test('a copy older than the versions known (a stale, late-indexed read) is fitted into the timeline; the current version stays', async () => {
    const emulator = await startEmulator({ seed: { contacts: 20 }, seedValue: 66 });
    const db = join(dir, 'out-of-order.db');
    const [a] = emulator.store.all('contacts');
    edit(emulator, a.id, T1, { jobtitle: 'One' });
    await syncObject('contacts', db, settingsOf(emulator));
    edit(emulator, a.id, T3, { jobtitle: 'Three' });
    await syncObject('contacts', db, settingsOf(emulator));
    // The source now shows a copy from between the two (as a lagging search index would).
    edit(emulator, a.id, T2, { jobtitle: 'Two' });
    const stale = await syncObject('contacts', db, settingsOf(emulator), { since: new Date('2026-01-01T00:00:00Z') });
    expect(stale.counts).toMatchObject({ updated: 0 });
    expect(queryOne(db, 'SELECT jobtitle FROM hubspot_contacts WHERE id = ?', a.id)).toEqual({ jobtitle: 'Three' });
    const versions = versionsOf(db, a.id);
    expect(intervals(versions)).toEqual([
      [T1, T2],
      [T2, T3],
      [T3, null],
    ]);
    expect(versions.map((version) => JSON.parse(version.fields_json).jobtitle)).toEqual(['One', 'Two', 'Three']);
    // Read again, and once the source shows the latest copy again: nothing changes.
    await syncObject('contacts', db, settingsOf(emulator), { since: new Date('2026-01-01T00:00:00Z') });
    edit(emulator, a.id, T3, { jobtitle: 'Three' });
    await syncObject('contacts', db, settingsOf(emulator), { full: true });
    expect(intervals(versionsOf(db, a.id))).toEqual([
      [T1, T2],
      [T2, T3],
      [T3, null],
    ]);
    expectSoundTimelines(db);
  });

  test('a copy from before the first version known extends the timeline backwards', async () => {
    const emulator = await startEmulator({ seed: { contacts: 10 }, seedValue: 67 });
    const db = join(dir, 'before-first.db');
    const [a] = emulator.store.all('contacts');
    edit(emulator, a.id, T2, { jobtitle: 'Two' });
    await syncObject('contacts', db, settingsOf(emulator));
    edit(emulator, a.id, T1, { jobtitle: 'One' });
    await syncObject('contacts', db, settingsOf(emulator), { full: true });
    expect(intervals(versionsOf(db, a.id))).toEqual([
      [T1, T2],
      [T2, null],
    ]);
    expectSoundTimelines(db);
  });

  test('--dry-run writes no version', async () => {
    const emulator = await startEmulator({ seed: { contacts: 25 }, seedValue: 68 });
    const db = join(dir, 'dry.db');
    await syncObject('contacts', db, settingsOf(emulator));
    const [a] = emulator.store.all('contacts');
    edit(emulator, a.id, T1, { jobtitle: 'Dry' });
    const dry = await syncObject('contacts', db, settingsOf(emulator), { dryRun: true });
    expect(dry.counts.updated).toBe(1);
    expect(countRows(db, 'record_versions')).toBe(25);
    expect(versionsOf(db, a.id)).toHaveLength(1);
  });

  test('history: false keeps no versions of that object', async () => {
    const emulator = await startEmulator({ seed: { contacts: 25 }, seedValue: 69 });
    const db = join(dir, 'no-history.db');
    const { objectByName, parseConfig } = await import('../../src/config/load.js');
    const { readFileSync } = await import('node:fs');
    const { ROOT } = await import('../helpers/cli.js');
    const { runEngine } = await import('../helpers/engine.js');
    const text = readFileSync(join(ROOT, 'mappings.yaml'), 'utf8').replace('    validation: strict\n', '    validation: strict\n    history: false\n');
    const mapping = objectByName(parseConfig(text, 'mappings.yaml'), 'contacts');
    expect(mapping.keepsHistory).toBe(false);
    expect((await runEngine(mapping, db, { hubspot: settingsOf(emulator), log: silentLogger }, {})).counts.created).toBe(25);
    expect(countRows(db, 'record_versions')).toBe(0);
    expect(countRows(db, 'hubspot_contacts_history')).toBe(0);
  });
});

describe('versions of Dynamics 365 rows', () => {
  test('changes and deletions read through delta links, and deletions a full read finds, close and open versions', async () => {
    const emulator = await startDynamics({ seed: { contacts: 60 }, seedValue: 70 });
    const db = join(dir, 'dynamics.db');
    const settings = dynamicsSettingsOf(emulator);
    await syncFromDynamics('contacts', db, settings);
    expect(countRows(db, 'dynamics_contacts_history', 'is_current = 1')).toBe(60);
    const [a, b, c] = emulator.store.all('contacts').map((row) => String(row.contactid));
    const firstFrom = versionsOf(db, a, 'dynamics')[0].valid_from;
    const updatedAt = new Date(String(emulator.store.update('contacts', a, { jobtitle: 'Head of Versions' }).modifiedon)).toISOString();
    emulator.store.delete('contacts', b);
    const changes = await syncFromDynamics('contacts', db, settings);
    expect(changes.counts).toMatchObject({ updated: 1, deleted: 1 });
    expect(intervals(versionsOf(db, a, 'dynamics'))).toEqual([
      [firstFrom, updatedAt],
      [updatedAt, null],
    ]);
    const deletedAt = queryOne<{ deleted_at: string }>(db, 'SELECT deleted_at FROM dynamics_contacts WHERE id = ?', b)!.deleted_at;
    expect(versionsOf(db, b, 'dynamics').at(-1)).toMatchObject({ valid_to: deletedAt, is_current: 0 });

    // A full read (the delta link expired) sweeps what it did not see.
    emulator.store.delete('contacts', c);
    emulator.expireDeltaTokens();
    const full = await syncFromDynamics('contacts', db, settings);
    expect(full.counts.deleted).toBe(1);
    expect(versionsOf(db, c, 'dynamics').at(-1)).toMatchObject({ is_current: 0, valid_to: expect.any(String) });
    expect(countRows(db, 'dynamics_contacts_history', 'is_current = 1')).toBe(58);
    expectSoundTimelines(db);
  });
});
