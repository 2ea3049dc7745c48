import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectByName, type ObjectMapping } from '../../src/config/load.js';
import { crmsync, tempDir, type CliResult } from '../helpers/cli.js';
import { localRow, queryOne } from '../helpers/db.js';
import { dynamicsEmulatorPerTest, dynamicsEnvOf } from '../helpers/dynamics.js';
import { emulatorPerTest, hubspotEnvOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';
import { readOnlyFolder } from '../helpers/read-only-folder.js';
import { tableAfter } from '../helpers/table.js';

const dir = tempDir();
const startEmulator = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();
const contacts = objectByName(config, 'contacts');

const T0 = '2026-03-01T10:00:00.000Z';
const T1 = '2026-03-02T10:00:00.000Z';
const T2 = '2026-03-03T10:00:00.000Z';

/** Edits a contact in the emulator as of `at` (its modification time), leaving the rest as it is. */
function edit(emulator: HubSpotEmulator, id: string, at: string, properties: Record<string, string | null>): void {
  const current = emulator.store.get('contacts', id)!;
  emulator.store.put('contacts', { id, properties: { ...current.properties, ...properties, lastmodifieddate: at }, createdAt: current.createdAt, updatedAt: at });
}

async function run(args: string[], env: Record<string, string>, expectedCode = 0): Promise<CliResult> {
  const result = await crmsync(args, env);
  expect(result.code, `crmsync ${args.join(' ')}: ${result.stderr}`).toBe(expectedCode);
  return result;
}

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const runRow = (db: string, id: number) => queryOne<{ start_time: string; sync_mode: string; status: string }>(db, 'SELECT start_time, sync_mode, status FROM sync_history WHERE id = ?', id)!;

/** The value a view column holds, as `show` stores it in JSON: booleans are true/false there, 1/0 in the view. */
const typed = (mapping: ObjectMapping, column: string, value: unknown) =>
  mapping.fields.find((field) => field.column === column)?.type === 'boolean' && value !== null ? Boolean(value) : value;
const cell = (value: unknown) => (value === null ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

/** The record's mapped fields as its view row holds them, in the order of mappings.yaml. */
function viewFields(db: string, mapping: ObjectMapping, id: string): Record<string, unknown> {
  const row = localRow(db, mapping.table, id)!;
  return Object.fromEntries(mapping.fields.map((field) => [field.column, typed(mapping, field.column, row[field.column])]));
}

/** The line of the header block that starts with `label`, its value. */
function headerValue(stdout: string, label: string): string {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(`${label}  `));
  expect(line, `no "${label}" line in:\n${stdout}`).toBeDefined();
  return line!.slice(label.length).trim();
}

describe('crmsync show: one HubSpot record', () => {
  test('after sync-contacts: its state, its mapped fields aligned in mapping order with the values of its view row, its runs', async () => {
    const emulator = await startEmulator({ seed: { contacts: 25 }, seedValue: 81 });
    const db = join(dir, 'contact.db');
    const [contact] = emulator.store.all('contacts');
    edit(emulator, contact.id, T0, { jobtitle: 'Analytical Engine Programmer', phone: null, hs_email_optout: 'true' });
    await run(['sync-contacts'], hubspotEnvOf(emulator, db));

    const shown = await run(['show', 'contacts', contact.id], hubspotEnvOf(emulator, db));
    expect(shown.stderr).toBe('');
    const lines = shown.stdout.split('\n');
    expect(lines[0]).toBe(`hubspot contacts ${contact.id}`);
    const started = runRow(db, 1).start_time;
    expect(headerValue(shown.stdout, 'modified in hubspot')).toBe(T0);
    expect(headerValue(shown.stdout, 'deleted')).toBe('no');
    expect(headerValue(shown.stdout, 'last written by')).toBe(`run 1 (full, started ${started})`);
    expect(headerValue(shown.stdout, 'first written by')).toBe(`run 1 (full, started ${started})`);

    const fields = viewFields(db, contacts, contact.id);
    expect(fields).toMatchObject({ jobtitle: 'Analytical Engine Programmer', phone: null, email_optout: true, modified_at: T0 });
    expect(tableAfter(shown.stdout, ['field', 'value'])).toEqual(Object.entries(fields).map(([field, value]) => [field, cell(value)]));
    expect(shown.stdout).toContain('\nassociated records: none stored\n');
    expect(shown.stdout).not.toContain('versions:');
  });

  test('--json: one object with the state, the runs, the fields as an object, no rejection, the association counts', async () => {
    const emulator = await startEmulator({ seed: { contacts: 10 }, seedValue: 82 });
    const db = join(dir, 'json.db');
    await run(['sync-contacts'], hubspotEnvOf(emulator, db));
    const [contact] = emulator.store.all('contacts');
    const shown = await run(['show', 'contacts', contact.id, '--json'], hubspotEnvOf(emulator, db));
    const firstRun = { id: 1, startTime: runRow(db, 1).start_time, syncMode: 'full', status: 'success' };
    expect(JSON.parse(shown.stdout)).toEqual({
      object: 'contacts',
      source: 'hubspot',
      id: contact.id,
      sourceModifiedAt: new Date(contact.properties.lastmodifieddate!).toISOString(),
      deleted: false,
      deletedAt: null,
      lastRun: firstRun,
      firstRun,
      fields: viewFields(db, contacts, contact.id),
      rejection: null,
      associations: {},
    });
  });

  test('--history after two changes: each version with its interval, its run and the fields it changed', async () => {
    const emulator = await startEmulator({ seed: { contacts: 20 }, seedValue: 83 });
    const db = join(dir, 'history.db');
    const env = hubspotEnvOf(emulator, db);
    const [contact] = emulator.store.all('contacts');
    edit(emulator, contact.id, T0, { jobtitle: 'Intern', city: 'Leeds' });
    await run(['sync-contacts'], env);
    edit(emulator, contact.id, T1, { jobtitle: 'Engineer' });
    await run(['sync-contacts'], env);
    edit(emulator, contact.id, T2, { jobtitle: 'Manager', city: 'Utrecht' });
    await run(['sync-contacts'], env);

    const shown = await run(['show', 'contacts', contact.id, '--history'], env);
    expect(headerValue(shown.stdout, 'last written by')).toBe(`run 3 (incremental, started ${runRow(db, 3).start_time})`);
    expect(headerValue(shown.stdout, 'first written by')).toBe(`run 1 (full, started ${runRow(db, 1).start_time})`);
    expect(tableAfter(shown.stdout, ['field', 'value'])).toContainEqual(['jobtitle', 'Manager']);
    expect(tableAfter(shown.stdout, ['valid from', 'valid to', 'run', 'changes'])).toEqual([
      [T0, T1, '1', 'first version'],
      [T1, T2, '2', 'jobtitle: "Intern" → "Engineer"'],
      ['', '', '', `modified_at: "${T0}" → "${T1}"`],
      [T2, 'current', '3', 'jobtitle: "Engineer" → "Manager"'],
      ['', '', '', 'city: "Leeds" → "Utrecht"'],
      ['', '', '', `modified_at: "${T1}" → "${T2}"`],
    ]);

    const json = JSON.parse((await run(['show', 'contacts', contact.id, '--history', '--json'], env)).stdout);
    expect(json.versions).toEqual([
      { validFrom: T0, validTo: T1, runId: 1, current: false, endedByDeletion: false, changed: null, fields: expect.objectContaining({ jobtitle: 'Intern', city: 'Leeds' }) },
      { validFrom: T1, validTo: T2, runId: 2, current: false, endedByDeletion: false, changed: ['jobtitle', 'modified_at'], fields: expect.objectContaining({ jobtitle: 'Engineer', city: 'Leeds' }) },
      { validFrom: T2, validTo: null, runId: 3, current: true, endedByDeletion: false, changed: ['jobtitle', 'city', 'modified_at'], fields: json.fields },
    ]);
    expect(json.fields).toEqual(viewFields(db, contacts, contact.id));
  });

  test('a deleted (archived) record: deleted with its time, its last version ended at the deletion; restored, a new version follows', async () => {
    const emulator = await startEmulator({ seed: { contacts: 20 }, seedValue: 84 });
    const db = join(dir, 'deleted.db');
    const env = hubspotEnvOf(emulator, db);
    const [contact] = emulator.store.all('contacts');
    edit(emulator, contact.id, T0, {});
    await run(['sync-contacts'], env);
    emulator.store.archive('contacts', contact.id);
    await run(['sync-contacts'], env);
    const archivedAt = new Date(emulator.store.get('contacts', contact.id)!.archivedAt!).toISOString();
    expect(localRow(db, 'hubspot_contacts', contact.id)).toMatchObject({ is_deleted: 1, deleted_at: archivedAt });

    const shown = await run(['show', 'contacts', contact.id, '--history'], env);
    expect(headerValue(shown.stdout, 'deleted')).toBe(`yes, at ${archivedAt}`);
    expect(headerValue(shown.stdout, 'last written by')).toBe(`run 2 (incremental, started ${runRow(db, 2).start_time})`);
    expect(tableAfter(shown.stdout, ['valid from', 'valid to', 'run', 'changes'])).toEqual([[T0, `${archivedAt} (deleted)`, '1', 'first version']]);
    const json = JSON.parse((await run(['show', 'contacts', contact.id, '--history', '--json'], env)).stdout);
    expect(json).toMatchObject({ deleted: true, deletedAt: archivedAt, versions: [{ validFrom: T0, validTo: archivedAt, current: false, endedByDeletion: true }] });

    const restored = emulator.store.restore('contacts', contact.id);
    await run(['sync-contacts'], env);
    const after = await run(['show', 'contacts', contact.id, '--history'], env);
    expect(headerValue(after.stdout, 'deleted')).toBe('no');
    const versions = tableAfter(after.stdout, ['valid from', 'valid to', 'run', 'changes']).filter((row) => row[0] !== '');
    expect(versions.map((row) => row.slice(0, 3))).toEqual([
      [T0, `${archivedAt} (deleted)`, '1'],
      [restored.properties.lastmodifieddate, 'current', '3'],
    ]);
  });

  test('a record whose newer version was rejected: the reasons, outstanding, next to the last valid fields; resolved once a valid version arrives', async () => {
    const emulator = await startEmulator({ seed: { contacts: 20 }, seedValue: 85 });
    const db = join(dir, 'rejected.db');
    const env = hubspotEnvOf(emulator, db);
    const [contact] = emulator.store.all('contacts');
    edit(emulator, contact.id, T0, { email: 'ada@example.com' });
    await run(['sync-contacts'], env);
    edit(emulator, contact.id, T1, { email: 'not-an-email' });
    await run(['sync-contacts'], env, 3);
    const rejected = queryOne<{ rejected_at: string }>(db, 'SELECT rejected_at FROM rejected_records WHERE source_id = ?', contact.id)!;

    const shown = await run(['show', 'contacts', contact.id], env);
    expect(tableAfter(shown.stdout, ['field', 'value'])).toContainEqual(['email', 'ada@example.com']);
    const lines = shown.stdout.split('\n');
    const at = lines.indexOf(`latest rejected version: rejected at ${rejected.rejected_at} by run 2, outstanding: the fields above are the last valid version`);
    expect(at, shown.stdout).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe('  email: not a valid email address (value "not-an-email")');
    expect(JSON.parse((await run(['show', 'contacts', contact.id, '--json'], env)).stdout).rejection).toEqual({
      runId: 2,
      rejectedAt: rejected.rejected_at,
      resolvedAt: null,
      outstanding: true,
      reasons: [{ column: 'email', property: 'email', value: 'not-an-email', reason: 'not a valid email address' }],
    });

    edit(emulator, contact.id, T2, { email: 'ada.lovelace@example.com' });
    await run(['sync-contacts'], env);
    const resolved = queryOne<{ resolved_at: string }>(db, 'SELECT resolved_at FROM rejected_records WHERE source_id = ?', contact.id)!;
    const after = await run(['show', 'contacts', contact.id], env);
    expect(tableAfter(after.stdout, ['field', 'value'])).toContainEqual(['email', 'ada.lovelace@example.com']);
    expect(after.stdout).toContain(`latest rejected version: rejected at ${rejected.rejected_at} by run 2, resolved at ${resolved.resolved_at}`);
  });

  test('a record of which only rejected versions were read has nothing to show: exit 2 with the reasons', async () => {
    const emulator = await startEmulator({ seed: { contacts: 5 }, seedValue: 86 });
    const db = join(dir, 'only-rejected.db');
    const env = hubspotEnvOf(emulator, db);
    emulator.store.put('contacts', { id: '990001', properties: { email: 'broken', createdate: T0, lastmodifieddate: T0 }, createdAt: T0, updatedAt: T0 });
    await run(['sync-contacts'], env, 3);
    const rejected = queryOne<{ rejected_at: string }>(db, 'SELECT rejected_at FROM rejected_records WHERE source_id = ?', '990001')!;
    const shown = await run(['show', 'contacts', '990001'], env, 2);
    expect(shown.stderr).toBe(
      `crmsync: ${db} has no valid version of hubspot contacts 990001: every version read was rejected, the latest at ${rejected.rejected_at} (email: not a valid email address); crmsync history lists it\n`,
    );
    expect(shown.stdout).toBe('');
  });

  test('after sync-all: how many records of each object it is associated with, whichever end of a pair it is at', async () => {
    const emulator = await startEmulator({ seed: { contacts: 40, companies: 8, deals: 30 }, seedValue: 87 });
    const db = join(dir, 'associations.db');
    const env = hubspotEnvOf(emulator, db);
    await run(['sync-all'], env);
    const related = (object: string, id: string, other: string) => new Set(emulator.store.associations(object, id, other).map((target) => target.toId)).size;
    const contact = emulator.store.all('contacts').find((candidate) => related('contacts', candidate.id, 'companies') >= 1 && related('contacts', candidate.id, 'deals') >= 2)!;
    expect(contact).toBeDefined();
    const expected = { companies: related('contacts', contact.id, 'companies'), deals: related('contacts', contact.id, 'deals') };

    const shown = await run(['show', 'contacts', contact.id], env);
    expect(shown.stdout).toContain(`\nassociated records: companies: ${expected.companies}, deals: ${expected.deals}\n`);
    expect(JSON.parse((await run(['show', 'contacts', contact.id, '--json'], env)).stdout).associations).toEqual(expected);

    const [deal] = emulator.store.all('deals').filter((candidate) => related('deals', candidate.id, 'contacts') > 0);
    const dealJson = JSON.parse((await run(['show', 'deals', deal.id, '--json'], env)).stdout);
    expect(dealJson.associations).toEqual({ companies: related('deals', deal.id, 'companies'), contacts: related('deals', deal.id, 'contacts') });
  });

  test('reads a database in a folder that cannot be written, and leaves it as it was', async (context) => {
    const emulator = await startEmulator({ seed: { contacts: 10 }, seedValue: 88 });
    const folder = join(dir, 'readonly');
    mkdirSync(folder);
    const readOnly = readOnlyFolder(folder);
    context.skip(!readOnly.available, readOnly.reason);
    const db = join(folder, 'crmsync.db');
    await run(['sync-contacts'], hubspotEnvOf(emulator, db));
    const before = fileHash(db);
    const [contact] = emulator.store.all('contacts');
    const shown = await readOnly.run(['show', 'contacts', contact.id, '--history'], hubspotEnvOf(emulator, db));
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.split('\n')[0]).toBe(`hubspot contacts ${contact.id}`);
    expect(tableAfter(shown.stdout, ['valid from', 'valid to', 'run', 'changes'])).toHaveLength(1);
    expect(fileHash(db)).toBe(before);
    expect(readdirSync(folder)).toEqual(['crmsync.db']);
  });
});

describe('crmsync show --source dynamics', () => {
  test('a Dynamics 365 contact: its fields as its view row holds them; with --history its two versions; its id in any case', async () => {
    const emulator = await startDynamics({ seed: { contacts: 30, accounts: 5 }, seedValue: 89 });
    const db = join(dir, 'dynamics.db');
    const env = { ...dynamicsEnvOf(emulator), CRMSYNC_DB: db };
    const mapping = objectByName(config, 'contacts', 'dynamics');
    const [row] = emulator.store.all('contacts');
    const id = String(row.contactid);
    await run(['sync-contacts', '--source', 'dynamics'], env);
    const firstFrom = localRow(db, 'dynamics_contacts', id)!.source_modified_at as string;
    const changed = emulator.store.update('contacts', id, { jobtitle: 'Head of Data' }, { modifiedOn: Date.parse(T2) });
    expect(new Date(String(changed.modifiedon)).toISOString()).toBe(T2);
    await run(['sync-contacts', '--source', 'dynamics'], env);

    const shown = await run(['show', 'contacts', id, '--source', 'dynamics'], env);
    expect(shown.stdout.split('\n')[0]).toBe(`dynamics contacts ${id}`);
    expect(headerValue(shown.stdout, 'modified in dynamics')).toBe(T2);
    expect(headerValue(shown.stdout, 'last written by')).toBe(`run 2 (changes, started ${runRow(db, 2).start_time})`);
    const fields = viewFields(db, mapping, id);
    expect(fields).toMatchObject({ jobtitle: 'Head of Data', modified_at: T2 });
    expect(tableAfter(shown.stdout, ['field', 'value'])).toEqual(Object.entries(fields).map(([field, value]) => [field, cell(value)]));
    expect(shown.stdout).not.toContain('versions:');

    const withHistory = await run(['show', 'contacts', id.toUpperCase(), '--source', 'dynamics', '--history'], env);
    expect(withHistory.stdout.split('\n')[0]).toBe(`dynamics contacts ${id}`);
    const before = (value: unknown) => (value === null ? '-' : JSON.stringify(value));
    expect(tableAfter(withHistory.stdout, ['valid from', 'valid to', 'run', 'changes'])).toEqual([
      [firstFrom, T2, '1', 'first version'],
      [T2, 'current', '2', `jobtitle: ${before(row.jobtitle ?? null)} → "Head of Data"`],
      ['', '', '', `modified_at: "${firstFrom}" → "${T2}"`],
    ]);
    const json = JSON.parse((await run(['show', 'contacts', id, '--source', 'dynamics', '--history', '--json'], env)).stdout);
    expect(json).toMatchObject({ object: 'contacts', source: 'dynamics', id, fields, associations: {}, rejection: null });
    expect(json.versions.map((version: { changed: string[] | null }) => version.changed)).toEqual([null, ['jobtitle', 'modified_at']]);
  });
});

describe('crmsync show: bad input is one line on stderr, exit 2, and nothing written', () => {
  let emulator: HubSpotEmulator;
  const db = join(dir, 'bad-input.db');
  beforeAll(async () => {
    emulator = await startHubSpotEmulator({ seed: { contacts: 5 }, seedValue: 90 });
    await run(['sync-contacts'], hubspotEnvOf(emulator, db));
  });
  afterAll(() => emulator?.close());

  test.each([
    ['an unknown object', ['show', 'unicorns', '1'], /^crmsync: unknown object "unicorns"; mappings\.yaml defines: contacts, companies, deals, /],
    ['an unknown id', ['show', 'contacts', '424242'], `crmsync: ${db} has no hubspot contacts record with id 424242; check the id, or run crmsync sync-contacts first`],
    [
      'an unknown id of an object never synced, from Dynamics 365',
      ['show', 'companies', '0b1e6d0a-0000-4000-8000-000000000000', '--source', 'dynamics'],
      `crmsync: ${db} has no dynamics companies record with id 0b1e6d0a-0000-4000-8000-000000000000; check the id, or run crmsync sync-companies --source dynamics first`,
    ],
    ['an unknown id of another object', ['show', 'tickets', '7'], `crmsync: ${db} has no hubspot tickets record with id 7; check the id, or run crmsync sync-object tickets first`],
    ['an object without a mapping for the source', ['show', 'deals', '1', '--source', 'dynamics'], /^crmsync: object "deals" has no dynamics: block in mappings\.yaml; add one/],
  ])('%s', async (_, args, message) => {
    const before = fileHash(db);
    const shown = await crmsync(args, { CRMSYNC_DB: db });
    expect(shown.code).toBe(2);
    expect(shown.stderr.trim().split('\n')).toHaveLength(1);
    if (typeof message === 'string') expect(shown.stderr.trim()).toBe(message);
    else expect(shown.stderr.trim()).toMatch(message);
    expect(shown.stdout).toBe('');
    expect(fileHash(db)).toBe(before);
  });

  test('a database that does not exist is named, and not created', async () => {
    const missing = join(dir, 'missing.db');
    const shown = await crmsync(['show', 'contacts', '1'], { CRMSYNC_DB: missing });
    expect(shown.code).toBe(2);
    expect(shown.stderr).toBe(`crmsync: no database at ${missing}: run a sync first, or pass --db <path>\n`);
    expect(shown.stdout).toBe('');
    expect(existsSync(missing)).toBe(false);
    const asJson = await crmsync(['--db', missing, 'show', 'contacts', '1', '--json'], {});
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toEqual({ exitCode: 2, error: `no database at ${missing}: run a sync first, or pass --db <path>` });
    expect(existsSync(missing)).toBe(false);
  });
});
