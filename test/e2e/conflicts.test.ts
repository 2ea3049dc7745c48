import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHubSpotEmulator } from '@crmsync/emulators/hubspot';
import { beforeAll, describe, expect, test } from 'vitest';
import { openStore } from '../../src/db/database.js';
import { crmsync, tempDir, type CliResult } from '../helpers/cli.js';
import { asListed, SAMPLE_GUIDS, sampleConflicts, storeConflict, type StoredConflict } from '../helpers/conflicts.js';
import { query, queryOne } from '../helpers/db.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { tableAfter } from '../helpers/table.js';

// crmsync conflicts lists what two-way runs left to a person; conflicts resolve records the choice.

const dir = tempDir();
const synced = join(dir, 'synced.db');
const HEADER = ['id', 'object', 'hubspot id', 'dynamics 365 id', 'field', 'base', 'hubspot value', 'hubspot changed', 'dynamics 365 value', 'dynamics 365 changed', 'opened'];
const [GUID_1, GUID_2] = SAMPLE_GUIDS;
let contactIds: string[];

// A database as a sync leaves it, with real contacts in it.
beforeAll(async () => {
  const emulator = await startHubSpotEmulator({ seed: { contacts: 5 }, seedValue: 17 });
  try {
    const run = await crmsync(['sync-contacts'], hubspotEnvOf(emulator, synced));
    expect(run.code, run.stderr).toBe(0);
    contactIds = emulator.store.all('contacts').map((contact) => contact.id);
  } finally {
    await emulator.close();
  }
});

let copies = 0;
/** A copy of the synced database with these conflicts stored, oldest last; the path and their ids. */
function databaseWith(conflicts: StoredConflict[]): { db: string; ids: number[] } {
  const db = join(dir, `copy-${++copies}.db`);
  copyFileSync(synced, db);
  const store = openStore(db);
  try {
    return { db, ids: conflicts.map((conflict) => storeConflict(store, conflict)) };
  } finally {
    store.close();
  }
}

const someConflicts = () => sampleConflicts(contactIds);

async function run(args: string[], db: string, expectedCode = 0): Promise<CliResult> {
  const result = await crmsync(args, { CRMSYNC_DB: db });
  expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expectedCode);
  return result;
}

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const conflictRows = (db: string) => query(db, 'SELECT * FROM conflicts ORDER BY id');

describe('crmsync conflicts', () => {
  test('the open conflicts as a table, oldest first, with both record ids; the database is only read', async () => {
    const { db, ids } = databaseWith(someConflicts());
    const before = fileHash(db);
    const listed = await run(['conflicts'], db);
    expect(listed.stderr).toBe('');
    expect(tableAfter(listed.stdout, HEADER)).toEqual([
      [String(ids[2]), 'companies', '9001', GUID_2, 'industry', '(none)', 'COMPUTER_SOFTWARE', '-', '100000001', '-', '2026-02-28 10:00:00'],
      [String(ids[1]), 'contacts', contactIds[0], GUID_1, 'jobtitle', 'Engineer', 'Senior Engineer', '2026-03-01 08:00:00', 'Lead Engineer', '2026-03-01 08:30:00', '2026-03-01 10:00:00'],
      [String(ids[0]), 'contacts', contactIds[0], GUID_1, 'phone', '(empty)', '+442071234567', '2026-03-02 09:15:00', '(empty)', '-', '2026-03-02 10:00:00'],
    ]);
    expect(listed.stdout.trimEnd().split('\n').at(-1)).toBe(
      '3 open conflicts, oldest first; settle one with crmsync conflicts resolve <id> --use hubspot|dynamics, or --value <value>',
    );
    expect(fileHash(db)).toBe(before);
  });

  test('--json: an array of the open conflicts with their values parsed', async () => {
    const { db, ids } = databaseWith(someConflicts());
    const listed = JSON.parse((await run(['conflicts', '--json'], db)).stdout) as Record<string, unknown>[];
    expect(listed.map((conflict) => conflict.id)).toEqual([ids[2], ids[1], ids[0]]);
    const stored = someConflicts();
    expect(listed).toEqual([asListed(stored[2], ids[2]), asListed(stored[1], ids[1]), asListed(stored[0], ids[0])]);
    expect(listed[1]).toMatchObject({ linkId: `contacts:${contactIds[0]}`, hubspotId: contactIds[0], dynamicsId: GUID_1, baseValue: 'Engineer', hubspotValue: 'Senior Engineer' });
    expect(listed[0]).toMatchObject({ object: 'companies', hasBaseValue: false, baseValue: null, dynamicsValue: 100000001 });
    expect(listed[2]).toMatchObject({ hasBaseValue: true, baseValue: null, dynamicsValue: null });
  });

  test('--object: the conflicts of that object only', async () => {
    const { db, ids } = databaseWith(someConflicts());
    const contacts = await run(['conflicts', '--object', 'contacts'], db);
    expect(tableAfter(contacts.stdout, HEADER).map((row) => row[0])).toEqual([String(ids[1]), String(ids[0])]);
    expect((await run(['conflicts', '--object', 'deals'], db)).stdout).toBe('no open conflicts of deals\n');
    expect(JSON.parse((await run(['conflicts', '--object', 'deals', '--json'], db)).stdout)).toEqual([]);
  });

  test('none open: one line, exit 0', async () => {
    const { db } = databaseWith([someConflicts()[3]]);
    expect(await run(['conflicts'], db)).toMatchObject({ stdout: 'no open conflicts\n', stderr: '' });
    expect(JSON.parse((await run(['--json', 'conflicts'], db)).stdout)).toEqual([]);
  });

  test('an object mappings.yaml does not define, in the shipped file or the one --config names: one line, exit 2', async () => {
    const { db } = databaseWith(someConflicts());
    const unknown = await run(['conflicts', '--object', 'unicorns'], db, 2);
    expect(unknown.stderr).toMatch(/^crmsync: unknown object "unicorns"; mappings\.yaml defines: contacts, companies, deals, tickets/);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stdout).toBe('');

    const onlyTickets = join(dir, 'tickets-only.yaml');
    writeFileSync(onlyTickets, 'version: 1\nobjects:\n  tickets:\n    object_type: tickets\n    modified_property: hs_lastmodifieddate\n    fields: { subject: { type: string } }\n');
    const elsewhere = await run(['--config', onlyTickets, 'conflicts', '--object', 'contacts'], db, 2);
    expect(elsewhere.stderr).toBe(`crmsync: unknown object "contacts"; ${onlyTickets} defines: tickets\n`);
    expect(tableAfter((await run(['--config', onlyTickets, 'conflicts'], db)).stdout, HEADER)).toHaveLength(3);
  });

  test('no database: the usual line, exit 2, no file made', async () => {
    const missing = join(dir, 'missing.db');
    const listed = await run(['conflicts'], missing, 2);
    expect(listed.stderr).toBe(`crmsync: no database at ${missing}: run a sync first, or pass --db <path>\n`);
    const resolved = await run(['conflicts', 'resolve', '1', '--use', 'hubspot'], missing, 2);
    expect(resolved.stderr).toBe(`crmsync: no database at ${missing}: run a sync first, or pass --db <path>\n`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('crmsync conflicts resolve', () => {
  test("--use hubspot: records HubSpot's value and says where it goes; the conflict is no longer listed; a second resolve exits 2", async () => {
    const { db, ids } = databaseWith(someConflicts());
    const started = new Date().toISOString();
    const resolved = await run(['conflicts', 'resolve', String(ids[1]), '--use', 'hubspot'], db);
    expect(resolved.stderr).toBe('');
    expect(resolved.stdout).toBe(
      `conflict ${ids[1]} on contacts jobtitle (HubSpot ${contactIds[0]}, Dynamics 365 ${GUID_1}): chose HubSpot's value "Senior Engineer"; the next --two-way run writes it to Dynamics 365\n`,
    );
    const row = queryOne<{ resolved_at: string; resolution: string; resolved_value: string; closed_at: null }>(db, 'SELECT * FROM conflicts WHERE id = ?', ids[1])!;
    expect(row).toMatchObject({ resolution: 'hubspot', resolved_value: '"Senior Engineer"', closed_at: null });
    expect(row.resolved_at >= started && row.resolved_at <= new Date().toISOString()).toBe(true);
    expect(tableAfter((await run(['conflicts'], db)).stdout, HEADER).map((line) => line[0])).toEqual([String(ids[2]), String(ids[0])]);

    const before = conflictRows(db);
    const again = await run(['conflicts', 'resolve', String(ids[1]), '--use', 'dynamics'], db, 2);
    expect(again.stderr).toBe(`crmsync: conflict ${ids[1]} is already resolved (HubSpot's value chosen, at ${row.resolved_at}); crmsync conflicts lists the open ones\n`);
    expect(again.stdout).toBe('');
    expect(conflictRows(db)).toEqual(before);
  });

  test("--use dynamics: Dynamics 365's value as Dynamics 365 holds it", async () => {
    const { db, ids } = databaseWith(someConflicts());
    const resolved = await run(['conflicts', 'resolve', String(ids[2]), '--use', 'dynamics'], db);
    expect(resolved.stdout).toBe(
      `conflict ${ids[2]} on companies industry (HubSpot 9001, Dynamics 365 ${GUID_2}): chose Dynamics 365's value 100000001; the next --two-way run writes it to HubSpot\n`,
    );
    expect(queryOne(db, 'SELECT resolution, resolved_value FROM conflicts WHERE id = ?', ids[2])).toEqual({ resolution: 'dynamics', resolved_value: '100000001' });
  });

  test('--value with --json: the conflict as it now is', async () => {
    const { db, ids } = databaseWith(someConflicts());
    const resolved = JSON.parse((await run(['conflicts', 'resolve', String(ids[1]), '--value', 'Principal Engineer', '--json'], db)).stdout) as Record<string, unknown>;
    expect(resolved).toMatchObject({ id: ids[1], field: 'jobtitle', resolution: 'value', resolvedValue: 'Principal Engineer', resolvedAt: expect.any(String), closedAt: null });
    expect(queryOne(db, 'SELECT resolution, resolved_value, resolved_at FROM conflicts WHERE id = ?', ids[1])).toEqual({
      resolution: 'value',
      resolved_value: '"Principal Engineer"',
      resolved_at: resolved.resolvedAt,
    });
    expect(JSON.parse((await run(['--json', 'conflicts', 'resolve', String(ids[1]), '--use', 'hubspot'], db, 2)).stdout)).toEqual({
      exitCode: 2,
      error: expect.stringMatching(/^conflict \d+ is already resolved \(a value given outright, at /),
    });
  });

  test('--value "": an empty field, stored as JSON null', async () => {
    const { db, ids } = databaseWith(someConflicts());
    const resolved = await run(['conflicts', 'resolve', String(ids[0]), '--value', ''], db);
    expect(resolved.stdout).toBe(
      `conflict ${ids[0]} on contacts phone (HubSpot ${contactIds[0]}, Dynamics 365 ${GUID_1}): chose an empty value; the next --two-way run writes it to each CRM that lacks it\n`,
    );
    expect(queryOne(db, 'SELECT resolution, resolved_value FROM conflicts WHERE id = ?', ids[0])).toEqual({ resolution: 'value', resolved_value: 'null' });
  });

  // OPEN stands for the id of an open conflict.
  test.each([
    ['an unknown id', ['999', '--use', 'hubspot'], /^crmsync: no conflict with id 999; crmsync conflicts lists the open ones$/],
    ['an id that is not a number', ['first', '--use', 'hubspot'], /^crmsync: conflict id must be a whole number of 1 or more, got "first"$/],
    ['neither --use nor --value', ['OPEN'], /^crmsync: give exactly one of --use and --value: crmsync conflicts resolve <id> --use hubspot\|dynamics, or --value <value>$/],
    ['both --use and --value', ['OPEN', '--use', 'hubspot', '--value', 'x'], /^crmsync: give exactly one of --use and --value/],
    ['an unknown CRM', ['OPEN', '--use', 'salesforce'], /argument 'salesforce' is invalid\. Allowed choices are hubspot, dynamics/],
    ['--object, which only filters the list', ['OPEN', '--use', 'hubspot', '--object', 'contacts'], /^crmsync: --object filters the list of conflicts; resolve takes a conflict id/],
  ])('%s: one line, exit 2, nothing written', async (_, args, message) => {
    const { db, ids } = databaseWith(someConflicts());
    const before = conflictRows(db);
    const refused = await run(['conflicts', 'resolve', ...args.map((arg) => (arg === 'OPEN' ? String(ids[1]) : arg))], db, 2);
    expect(refused.stderr.split('\n')[0]).toMatch(message);
    expect(refused.stdout).toBe('');
    expect(conflictRows(db)).toEqual(before);
  });
});
