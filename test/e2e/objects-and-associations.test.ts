import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, summary as json, ROOT, tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { query } from '../helpers/db.js';
import { emulatorPerTest, hubspotEnvOf as env } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';

const dir = tempDir();
const startEmulator = emulatorPerTest();

/** The emulator's associations of a pair, as sorted "from->to" strings. */
function sourceAssociations(emulator: HubSpotEmulator, from: string, to: string): string[] {
  const pairs: string[] = [];
  for (const record of emulator.store.all(from)) {
    for (const target of emulator.store.associations(from, record.id, to)) pairs.push(`${record.id}->${target.toId}`);
  }
  return [...new Set(pairs)].sort();
}
const localAssociations = (db: string, from: string, to: string) =>
  [...new Set(query<{ pair: string }>(db, "SELECT from_id || '->' || to_id AS pair FROM associations WHERE from_object = ? AND to_object = ?", from, to).map((row) => row.pair))].sort();

describe('custom objects', () => {
  test('sync-object reads a custom object by its type id; its view has the mapped columns', async () => {
    const emulator = await startEmulator({ seed: { appointments: 140 }, seedValue: 51 });
    const db = join(dir, 'custom.db');
    const run = await crmsync(['sync-object', 'appointments', '--json'], env(emulator, db));
    expect(run.code, run.stderr).toBe(0);
    expect(json(run.stdout).results[0]).toMatchObject({ object: 'appointments', status: 'success', counts: { created: 140 } });
    expect(expectComplete(compareWithSource(db, emulator.store, objectByName(config, 'appointments')))).toEqual(COMPLETE);
    const [first] = emulator.store.all('2-1234567');
    expect(query(db, 'SELECT appointment_name, location, status FROM hubspot_appointments WHERE id = ?', first.id)).toEqual([
      { appointment_name: first.properties.appointment_name, location: first.properties.location, status: first.properties.status },
    ]);
    // Changed in HubSpot: the next run is incremental and picks it up.
    emulator.store.update('appointments', first.id, { location: 'Room 42' });
    const next = await crmsync(['sync-object', 'appointments', '--json'], env(emulator, db));
    expect(json(next.stdout).results[0]).toMatchObject({ syncMode: 'incremental', counts: { updated: 1 } });
  });
});

describe('associations', () => {
  test('sync-all stores them after the objects; --full drops removed ones; an incremental run adds those of new records', async () => {
    const emulator = await startEmulator({ seed: { contacts: 150, companies: 30, deals: 60 }, seedValue: 52 });
    const db = join(dir, 'associations.db');
    const first = await crmsync(['sync-all', '--json'], env(emulator, db));
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout).results.map((result) => [result.object, result.status])).toEqual([
      ['contacts', 'success'],
      ['companies', 'success'],
      ['deals', 'success'],
      ['tickets', 'success'],
      ['contacts:companies', 'success'],
      ['deals:contacts', 'success'],
      ['deals:companies', 'success'],
    ]);
    for (const [from, to] of [['contacts', 'companies'], ['deals', 'contacts'], ['deals', 'companies']]) {
      const expected = sourceAssociations(emulator, from, to);
      expect(expected.length).toBeGreaterThan(10);
      expect(localAssociations(db, from, to)).toEqual(expected);
    }
    const labelled = query<{ type_id: number; category: string }>(db, "SELECT DISTINCT type_id, category FROM associations WHERE from_object = 'deals' AND to_object = 'contacts'");
    expect(labelled).toContainEqual({ type_id: 3, category: 'HUBSPOT_DEFINED' });

    // Removed in HubSpot: associations do not touch modification times, so only --full sees it.
    const deal = emulator.store.all('deals').find((record) => emulator.store.associations('deals', record.id, 'contacts').length > 0)!;
    const [gone] = emulator.store.associations('deals', deal.id, 'contacts');
    emulator.store.unassociate('deals', deal.id, 'contacts', gone.toId);
    // Small pages: the records are walked page by page (keyset on modification time and id).
    const full = await crmsync(['sync-associations', '--from-object', 'deals', '--to-object', 'contacts', '--full', '--batch-size', '7', '--json'], env(emulator, db));
    expect(full.code, full.stderr).toBe(0);
    expect(json(full.stdout).results[0]).toMatchObject({ object: 'deals:contacts', syncMode: 'full', counts: { processed: 60, deleted: 1, created: 0 } });
    expect(localAssociations(db, 'deals', 'contacts')).toEqual(sourceAssociations(emulator, 'deals', 'contacts'));

    // A new contact with a company: the incremental run of the objects, then of the pair, brings it.
    const company = emulator.store.all('companies')[0];
    const contact = emulator.store.create('contacts', { email: 'new.person@example.org', firstname: 'New' });
    emulator.store.associate('contacts', contact.id, 'companies', company.id);
    const incremental = await crmsync(['sync-all', '--json'], env(emulator, db));
    expect(incremental.code, incremental.stderr).toBe(0);
    const pair = json(incremental.stdout).results.find((result) => result.object === 'contacts:companies')!;
    expect(pair).toMatchObject({ syncMode: 'incremental', counts: { created: 1 } });
    expect(localAssociations(db, 'contacts', 'companies')).toContain(`${contact.id}->${company.id}`);
    expect(localAssociations(db, 'contacts', 'companies')).toEqual(sourceAssociations(emulator, 'contacts', 'companies'));

    const skipped = await crmsync(['sync-all', '--skip-associations', '--json'], env(emulator, db));
    expect(json(skipped.stdout).results.map((result) => result.object)).toEqual(['contacts', 'companies', 'deals', 'tickets']);
  });
});

describe('property discovery', () => {
  test('properties --yaml prints an entry that parses and, appended to mappings.yaml, syncs', async () => {
    const emulator = await startEmulator({ seed: { line_items: 75 }, seedValue: 53 });
    const listed = await crmsync(['properties', 'line_items'], env(emulator, join(dir, 'unused.db')));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^name\s+label\s+type\s+field type$/);
    expect(listed.stdout).toMatch(/\nprice\s+.*number\s+number/);

    const block = await crmsync(['properties', 'line_items', '--yaml'], env(emulator, join(dir, 'unused.db')));
    expect(block.code, block.stderr).toBe(0);
    const entry = (yaml.load(`objects:\n${block.stdout}`) as { objects: Record<string, { object_type: string; modified_property: string }> }).objects.line_items;
    expect(entry).toMatchObject({ object_type: 'line_items', modified_property: 'hs_lastmodifieddate' });

    const mappings = join(dir, 'with-line-items.yaml');
    writeFileSync(mappings, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8') + block.stdout);
    const db = join(dir, 'line-items.db');
    const run = await crmsync(['--config', mappings, 'sync-object', 'line_items', '--json'], env(emulator, db));
    expect(run.code, run.stderr).toBe(0);
    expect(json(run.stdout).results[0]).toMatchObject({ status: 'success', counts: { created: 75, failed: 0 } });
    const check = await crmsync(['--config', mappings, 'config', 'check'], env(emulator, db));
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});

describe('config check', () => {
  const broken = (edit: (text: string) => string) => {
    const path = join(dir, `check-${Math.random()}.yaml`);
    writeFileSync(path, edit(readFileSync(join(ROOT, 'mappings.yaml'), 'utf8')));
    return path;
  };

  test('the shipped mappings.yaml matches the emulated portal', async () => {
    const emulator = await startEmulator({ seed: {}, seedValue: 54 });
    const run = await crmsync(['config', 'check'], env(emulator, join(dir, 'unused.db')));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/mappings\.yaml: 6 objects, \d+ fields, 4 association pairs: matches the portal at http:\/\/127\.0\.0\.1:\d+/);
  });

  test.each([
    ['an unknown property', (text: string) => text.replace('jobtitle: { type: string }', 'jobtitle: { property: job_titel, type: string }'), 'objects.contacts.fields.jobtitle: HubSpot has no property "job_titel"'],
    ['a type mismatch', (text: string) => text.replace('dealname: { type: string }', 'dealname: { type: integer }'), `objects.deals.fields.dealname: type integer cannot read HubSpot's string property "dealname"`],
    ['a key that is not unique', (text: string) => text.replace('    primary_key: hs_object_id\n    modified_property: hs_lastmodifieddate\n    validation: strict\n    fields:\n      name:', '    primary_key: name\n    modified_property: hs_lastmodifieddate\n    validation: strict\n    fields:\n      name:'), 'objects.companies.primary_key: "name" does not hold unique values in HubSpot'],
    ['an unknown object type', (text: string) => text.replace('"2-7654321"', '"2-999"'), 'objects.divisions.object_type: HubSpot has no object type "2-999"'],
  ])('catches %s: one line, exit 2', async (_, edit, line) => {
    const emulator = await startEmulator({ seed: {}, seedValue: 55 });
    const run = await crmsync(['--config', broken(edit), 'config', 'check'], env(emulator, join(dir, 'unused.db')));
    expect(run.code).toBe(2);
    expect(run.stdout.trim().split('\n')).toEqual([expect.stringContaining(line)]);
    expect(run.stderr).toMatch(/^crmsync: 1 problem in .* against the portal at http:\/\/127\.0\.0\.1:\d+/);
  });

  test('without credentials it still validates the file itself', async () => {
    const good = await crmsync(['config', 'check'], { CRMSYNC_DB: join(dir, 'unused.db') });
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('the file is valid (set HUBSPOT_ACCESS_TOKEN or the D365_* settings to check it against the CRMs too)');
    const bad = await crmsync(['--config', broken((text) => text.replace('type: email', 'type: emial')), 'config', 'check'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/objects\.contacts\.fields\.email\.type: Invalid option/);
  });
});

describe('schema drift', () => {
  test('a mapped property that disappeared from HubSpot gives a warning naming it, not a crash', async () => {
    const emulator = await startEmulator({ seed: { deals: 30 }, seedValue: 56 });
    const mappings = join(dir, 'drift.yaml');
    writeFileSync(mappings, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8').replace('pipeline: { type: string }', 'pipeline: { type: string }\n      region: { property: deal_region, type: string }'));
    const db = join(dir, 'drift.db');
    const run = await crmsync(['--config', mappings, 'sync-deals', '--json'], env(emulator, db));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('deals: HubSpot did not return property "deal_region" (column region); it may have been deleted or renamed');
    expect(json(run.stdout).results[0].counts.created).toBe(30);
    expect(query(db, 'SELECT count(*) AS n FROM hubspot_deals WHERE region IS NULL')).toEqual([{ n: 30 }]);
  });
});
