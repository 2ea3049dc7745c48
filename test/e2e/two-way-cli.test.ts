/**
 * `--two-way` through the command line, against both emulators holding a shared seed (the
 * same people and companies, some fields differing): what a run prints and writes, what a
 * dry run leaves alone, one run of an object at a time, and what the flag refuses.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator } from '@crmsync/emulators/hubspot';
import type { PlannedWriteView, TwoWaySummary } from '../../src/engines/two-way/two-way-engine.js';
import { linkId } from '../../src/processors/link-id.js';
import { crmsync, startCrmsync, tempDir } from '../helpers/cli.js';
import { countRows, history, query, queryOne } from '../helpers/db.js';
import {
  bookkeepingProblems,
  differingPairs,
  emulatorState,
  expectedPairing,
  fileState,
  links,
  recordsByKey,
  twoWayEnvOf,
  writeRequests,
  type EmulatorPair,
} from '../helpers/two-way-checks.js';

const dir = tempDir();
const SHARED = { contacts: 300, companies: 40 };

interface TwoWayResult {
  object: string;
  source: string;
  status: string;
  runId: number | null;
  exitCode: number;
  error?: string;
  counts: Record<string, number>;
  twoWay?: TwoWaySummary;
}
const parsed = (stdout: string) => JSON.parse(stdout) as { exitCode: number; results: TwoWayResult[] };
const twoWayOf = (stdout: string) => parsed(stdout).results.find((result) => result.source === 'two_way')!;

/** What a planned write sends: property → new value. */
const sentValues = (write: PlannedWriteView) => Object.fromEntries(Object.entries(write.changes).map(([property, change]) => [property, change.new]));
/** A planned write in the shape of a stored one. */
const asStored = (write: PlannedWriteView) => ({ ...write, properties: sentValues(write) });

/** A planned or stored write as a comparable line: crm, operation, record id and properties. */
const writeLine = (write: { crm: string; operation: string; recordId: string | null; properties: Record<string, unknown> }) =>
  `${write.crm} ${write.operation} ${write.recordId ?? '(new)'} ${JSON.stringify(Object.entries(write.properties).sort(([a], [b]) => a.localeCompare(b)))}`;

/** Per CRM and operation, as the text output names them: "HubSpot create 7". */
function tally(writes: PlannedWriteView[]): string[] {
  const names = { hubspot: 'HubSpot', dynamics: 'Dynamics 365' };
  const counts = new Map<string, number>();
  for (const write of writes) counts.set(`${names[write.crm]} ${write.operation}`, (counts.get(`${names[write.crm]} ${write.operation}`) ?? 0) + 1);
  return [...counts].map(([what, n]) => `${what} ${n}`).sort();
}

/** Ids of the records present both times whose values changed in between. */
function changedIds(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([id, values]) => after.has(id) && after.get(id) !== values).map(([id]) => id);
}

describe('sync-contacts --two-way on a shared seed', () => {
  const pair = {} as EmulatorPair;
  const db = join(dir, 'contacts.db');
  const env = () => twoWayEnvOf(pair, db);
  const hubspotRecords = () => new Map(pair.hubspot.store.all('contacts').map((record) => [record.id, JSON.stringify(record.properties)]));
  const dataverseRows = () => new Map(pair.dynamics.store.all('contacts').map(({ '@odata.etag': _etag, ...row }) => [String(row.contactid), JSON.stringify(row)]));
  let planned: PlannedWriteView[] = [];
  let expected: ReturnType<typeof expectedPairing>;

  beforeAll(async () => {
    pair.hubspot = await startHubSpotEmulator({ seed: { contacts: 40, companies: 5 }, sharedSeed: SHARED, seedValue: 11 });
    pair.dynamics = await startDynamicsEmulator({ seed: { contacts: 25, accounts: 4 }, sharedSeed: SHARED, seedValue: 11 });
    // The same person entered twice in Dynamics 365 and never in HubSpot, which holds one contact per email.
    pair.dynamics.store.create('contacts', { emailaddress1: 'Noor.Haddad@Example.org', firstname: 'Noor', lastname: 'Haddad', jobtitle: 'CFO' });
    pair.dynamics.store.create('contacts', { emailaddress1: 'noor.haddad@example.org', firstname: 'Noor', lastname: 'Haddad', jobtitle: 'Finance Director' });
    expected = expectedPairing(pair, 'contacts');
  });
  afterAll(() => Promise.all([pair.hubspot?.close(), pair.dynamics?.close()]));

  test('--dry-run on a database that does not exist creates no file, writes to neither CRM, and lists every write with --json', async () => {
    const before = emulatorState(pair);
    const requests = writeRequests(pair);
    const dry = await crmsync(['sync-contacts', '--two-way', '--dry-run', '--json'], env());
    expect(dry.code, dry.stderr).toBe(0);
    expect(fileState(db)).toEqual({ hash: 'absent', wal: 'absent', files: [] });
    expect(emulatorState(pair)).toBe(before);
    expect(writeRequests(pair)).toEqual(requests);

    const result = twoWayOf(dry.stdout);
    expect(result).toMatchObject({ object: 'contacts', status: 'success', twoWay: { linked: expected.linked, unmatched: expected.unmatched, writeRequests: { hubspot: 0, dynamics: 0 } } });
    planned = result.twoWay!.planned!;
    const of = (crm: string, operation: string) => planned.filter((write) => write.crm === crm && write.operation === operation);
    expect([of('hubspot', 'create').length, of('dynamics', 'create').length]).toEqual([expected.created.hubspot, expected.created.dynamics]);
    expect([of('hubspot', 'update').length, of('dynamics', 'update').length].every((n) => n > 0)).toBe(true);
    expect(planned.length).toBe(of('hubspot', 'create').length + of('dynamics', 'create').length + of('hubspot', 'update').length + of('dynamics', 'update').length);
    // A HubSpot twin is made by its email; a Dataverse twin gets its link's id as its key; an update names the record it changes.
    for (const write of of('hubspot', 'create')) expect(asStored(write)).toMatchObject({ recordId: null, properties: { email: expect.any(String) } });
    for (const write of of('dynamics', 'create')) expect(write.recordId).toBe(write.link);
    for (const write of of('hubspot', 'update')) expect(pair.hubspot.store.get('contacts', write.recordId!)).toBeDefined();
    for (const write of of('dynamics', 'update')) expect(pair.dynamics.store.get('contacts', write.recordId!)).toBeDefined();
    for (const write of planned) expect(Object.keys(write.changes).length).toBeGreaterThan(0);
    // Neither Noor gets a twin: HubSpot could hold only one of them.
    expect(planned.filter((write) => JSON.stringify(write.changes).toLowerCase().includes('noor.haddad'))).toEqual([]);

    const text = await crmsync(['sync-contacts', '--two-way', '--dry-run'], env());
    expect(text.code, text.stderr).toBe(0);
    expect(existsSync(db)).toBe(false);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[2]).toMatch(/^contacts \(two_way\)\s+success\s+two_way\s+dry run, nothing written; would have: /);
    expect(lines[3].trim()).toBe(`${expected.linked} pairs merged, ${expected.linked} newly linked, ${expected.unmatched} unmatched (crmsync links contacts --unmatched)`);
    const wouldWrite = /^would write: (.*) \(--json lists every write\)$/.exec(lines[4].trim());
    expect(wouldWrite?.[1].split(', ').sort()).toEqual(tally(planned));
    expect(lines).toHaveLength(5);
  });

  test('the run exits 0 and prints a line per run and the writes per CRM; it sends exactly the writes the dry run listed', async () => {
    const [hubspotBefore, dataverseBefore] = [hubspotRecords(), dataverseRows()];
    const requestsBefore = writeRequests(pair);
    const run = await crmsync(['sync-contacts', '--two-way'], env());
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const [hubspotAfter, dataverseAfter] = [hubspotRecords(), dataverseRows()];
    const created = { hubspot: hubspotAfter.size - hubspotBefore.size, dynamics: dataverseAfter.size - dataverseBefore.size };
    const updated = { hubspot: changedIds(hubspotBefore, hubspotAfter).length, dynamics: changedIds(dataverseBefore, dataverseAfter).length };
    expect(created).toEqual(expected.created);
    expect(updated.hubspot).toBeGreaterThan(0);
    expect(updated.dynamics).toBeGreaterThan(0);

    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(new RegExp(`^contacts\\s+success\\s+full\\s+${hubspotBefore.size} processed, ${hubspotBefore.size} created, `));
    expect(lines[1]).toMatch(new RegExp(`^contacts \\(dynamics\\)\\s+success\\s+full\\s+${dataverseBefore.size} processed, ${dataverseBefore.size} created, `));
    const writes = updated.hubspot + updated.dynamics;
    expect(lines[2]).toMatch(
      new RegExp(`^contacts \\(two_way\\)\\s+success\\s+two_way\\s+${expected.linked} processed, ${created.hubspot + created.dynamics} created, ${writes} updated, ${expected.linked - writes} unchanged, 0 deleted, 0 rejected in `),
    );
    expect(lines[3].trim()).toBe(`${expected.linked} pairs merged, ${expected.linked} newly linked, ${expected.unmatched} unmatched (crmsync links contacts --unmatched)`);
    const perCrm = /^HubSpot: (\d+) created, (\d+) updated, 0 deleted \((\d+) requests?\); Dynamics 365: (\d+) created, (\d+) updated, 0 deleted \((\d+) requests?\)$/.exec(lines[4].trim());
    expect(perCrm?.slice(1).map(Number)).toEqual([created.hubspot, updated.hubspot, expect.any(Number), created.dynamics, updated.dynamics, expect.any(Number)]);
    const sentRequests = writeRequests(pair);
    expect([Number(perCrm![3]), Number(perCrm![6])]).toEqual([sentRequests.hubspot - requestsBefore.hubspot, sentRequests.dynamics - requestsBefore.dynamics]);

    const runId = queryOne<{ id: number }>(db, "SELECT id FROM sync_history WHERE crm_source = 'two_way'")!.id;
    const sent = query<{ crm: string; operation: string; record_id: string | null; properties: string }>(db, 'SELECT crm, operation, record_id, properties FROM outbox WHERE run_id = ?', runId);
    expect(sent.map((row) => writeLine({ ...row, recordId: row.record_id, properties: JSON.parse(row.properties) })).sort()).toEqual(planned.map((write) => writeLine(asStored(write))).sort());
    expect(differingPairs(pair, db, 'contacts')).toEqual([]);
    expect(bookkeepingProblems(db)).toEqual([]);
    expect(recordsByKey(pair, 'contacts').get('noor.haddad@example.org')).toEqual({ hubspot: [], dynamics: [expect.any(String), expect.any(String)] });
  });

  test('an immediate rerun writes nothing: no write request to either CRM, no new audit or outbox row', async () => {
    const state = emulatorState(pair);
    const requests = writeRequests(pair);
    const [audits, writes] = [countRows(db, 'audit_log'), countRows(db, 'outbox')];
    const rerun = await crmsync(['sync-contacts', '--two-way', '--json'], env());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(twoWayOf(rerun.stdout).twoWay).toMatchObject({
      created: { hubspot: 0, dynamics: 0 },
      updated: { hubspot: 0, dynamics: 0 },
      writeRequests: { hubspot: 0, dynamics: 0 },
      linked: 0,
      writesWaiting: 0,
      writesDead: 0,
    });
    expect(writeRequests(pair)).toEqual(requests);
    expect(emulatorState(pair)).toBe(state);
    expect([countRows(db, 'audit_log'), countRows(db, 'outbox')]).toEqual([audits, writes]);
  });

  test('--dry-run on an existing database leaves the file byte for byte as it was and lists just the writes that edits call for', async () => {
    const linked = links(db, 'contacts').slice(0, 5);
    for (const link of linked.slice(0, 2)) pair.hubspot.store.update('contacts', link.hubspotId, { jobtitle: 'Chief Cartographer' });
    for (const link of linked.slice(2)) pair.dynamics.store.update('contacts', link.dynamicsId, { address1_city: 'Reykjavík' });
    const newcomer = pair.hubspot.store.create('contacts', { email: 'ines.moreau@example.net', firstname: 'Inès', lastname: 'Moreau', jobtitle: 'Surveyor' });
    const [state, file] = [emulatorState(pair), fileState(db)];
    expect(file.hash).not.toBe('absent');

    const dry = await crmsync(['sync-contacts', '--two-way', '--dry-run', '--json'], env());
    expect(dry.code, dry.stderr).toBe(0);
    expect(fileState(db)).toEqual(file);
    expect(emulatorState(pair)).toBe(state);
    const writes = twoWayOf(dry.stdout).twoWay!.planned!;
    const twin = linkId('hubspot', 'contacts', newcomer.id);
    expect(writes.map((write) => writeLine(asStored(write))).sort()).toEqual(
      [
        ...linked.slice(0, 2).map((link) => writeLine({ crm: 'dynamics', operation: 'update', recordId: link.dynamicsId, properties: { jobtitle: 'Chief Cartographer' } })),
        ...linked.slice(2).map((link) => writeLine({ crm: 'hubspot', operation: 'update', recordId: link.hubspotId, properties: { city: 'Reykjavík' } })),
        writeLine({ crm: 'dynamics', operation: 'create', recordId: twin, properties: { emailaddress1: 'ines.moreau@example.net', firstname: 'Inès', lastname: 'Moreau', jobtitle: 'Surveyor' } }),
      ].sort(),
    );

    const text = await crmsync(['sync-contacts', '--two-way', '--dry-run'], env());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('would write: Dynamics 365 create 1, Dynamics 365 update 2, HubSpot update 3 (--json lists every write)');
    expect(fileState(db)).toEqual(file);
    expect(emulatorState(pair)).toBe(state);
  });

  test('sync-companies --two-way --json: the two inbound runs, then the two-way run with its summary', async () => {
    const expectedCompanies = expectedPairing(pair, 'companies');
    const run = await crmsync(['sync-companies', '--two-way', '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    const { exitCode, results } = parsed(run.stdout);
    expect(exitCode).toBe(0);
    expect(results.map((result) => `${result.object}/${result.source}/${result.status}`)).toEqual(['companies/hubspot/success', 'companies/dynamics/success', 'companies/two_way/success']);
    const summary = results[2].twoWay!;
    expect(summary).toMatchObject({
      pairsMerged: expectedCompanies.linked,
      linked: expectedCompanies.linked,
      unmatched: expectedCompanies.unmatched,
      created: expectedCompanies.created,
      deleted: { hubspot: 0, dynamics: 0 },
      conflictsOpen: 0,
      writesWaiting: 0,
      writesDead: 0,
      valueErrors: 0,
    });
    expect(summary.planned).toBeUndefined();
    expect(summary.updated.hubspot + summary.updated.dynamics).toBeGreaterThan(0);
    expect(results[2].counts).toMatchObject({ processed: summary.pairsMerged, created: summary.created.hubspot + summary.created.dynamics, failed: 0 });
    expect(differingPairs(pair, db, 'companies')).toEqual([]);
    expect(bookkeepingProblems(db)).toEqual([]);
  });
});

/** Waits until a two-way run in another process has its sync_history row. */
async function holdsLease(db: string): Promise<void> {
  const started = () => {
    try {
      return countRows(db, 'sync_history', "crm_source = 'two_way' AND status = 'running'") > 0;
    } catch {
      return false; // no file or no tables yet
    }
  };
  for (let tries = 0; !started(); tries++) {
    if (tries > 400) throw new Error('the first run never started');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('one two-way run of an object at a time', () => {
  const pair = {} as EmulatorPair;
  beforeAll(async () => {
    // Slow answers keep the first run going while the second starts.
    pair.hubspot = await startHubSpotEmulator({ sharedSeed: { contacts: 400 }, seedValue: 5, latencyMs: 400 });
    pair.dynamics = await startDynamicsEmulator({ sharedSeed: { contacts: 400 }, seedValue: 5, latencyMs: 100 });
  });
  afterAll(() => Promise.all([pair.hubspot?.close(), pair.dynamics?.close()]));

  test('a second run of the same object exits 4 with one line naming the holder; a dry run beside it goes ahead', async () => {
    const db = join(dir, 'lease.db');
    const first = startCrmsync(['sync-contacts', '--two-way', '--quiet'], twoWayEnvOf(pair, db));
    await holdsLease(db);
    const second = await crmsync(['sync-contacts', '--two-way'], twoWayEnvOf(pair, db));
    expect(second.code).toBe(4);
    const holder = `contacts \\(two_way\\) is already being synced by pid ${first.child.pid} on .+ since \\d{4}-\\d{2}-\\d{2}T\\S+ \\(run 1\\); wait for it to finish, or stop that process`;
    expect(second.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^\\S+ error: ${holder}$`))]);
    expect(second.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^contacts \\(two_way\\)\\s+not run\\s+${holder}$`))]);

    const dry = await crmsync(['sync-contacts', '--two-way', '--dry-run', '--quiet'], twoWayEnvOf(pair, db));
    expect(dry.code, dry.stderr).toBe(0);
    const done = await first.done;
    expect(done.code, done.stdout + done.stderr).toBe(0);
    // The refused run left no row; the dry run wrote none.
    expect(history<{ crm_source: string; status: string }>(db, 'crm_source, status')).toEqual([
      { crm_source: 'two_way', status: 'success' },
      { crm_source: 'hubspot', status: 'success' },
      { crm_source: 'dynamics', status: 'success' },
    ]);
  });
});

describe('what --two-way refuses', () => {
  const pair = {} as EmulatorPair;
  beforeAll(async () => {
    pair.hubspot = await startHubSpotEmulator({ seed: { deals: 20 }, sharedSeed: { contacts: 20 }, seedValue: 3 });
    pair.dynamics = await startDynamicsEmulator({ sharedSeed: { contacts: 20 }, seedValue: 3 });
  });
  afterAll(() => Promise.all([pair.hubspot?.close(), pair.dynamics?.close()]));

  const dynamicsNames = ['D365_RESOURCE_URL', 'D365_AUTHORITY_HOST', 'D365_TENANT_ID', 'D365_CLIENT_ID', 'D365_CLIENT_SECRET', 'D365_CA_CERT'];
  test.each([
    ['an object without a two_way: block', ['sync-deals', '--two-way'], [], 'crmsync: object "deals" has no two_way: block in mappings.yaml; add one (match, create, fields) to sync it both ways'],
    [
      'a missing Dynamics 365 setting',
      ['sync-contacts', '--two-way'],
      ['D365_CLIENT_SECRET'],
      "crmsync: D365_CLIENT_SECRET is not set: export the Azure app registration's tenant id, client id and client secret and the organisation URL (https://<org>.crm.dynamics.com), or put them in .env",
    ],
    [
      'no Dynamics 365 settings at all',
      ['sync-all', '--two-way'],
      dynamicsNames,
      "crmsync: D365_TENANT_ID, D365_CLIENT_ID, D365_CLIENT_SECRET, D365_RESOURCE_URL are not set: export the Azure app registration's tenant id, client id and client secret and the organisation URL (https://<org>.crm.dynamics.com), or put them in .env",
    ],
    ['an association pair', ['sync-associations', '--from-object', 'contacts', '--to-object', 'companies', '--two-way'], [], 'crmsync: sync-associations reads associations one way only; drop --two-way'],
  ])('%s: one line, exit 2, nothing written', async (_, args, unset, message) => {
    const db = join(dir, `refused-${args[0]}-${unset.length}.db`);
    const env: Record<string, string | undefined> = twoWayEnvOf(pair, db);
    for (const name of unset) env[name] = undefined;
    pair.hubspot.stats.reset();
    pair.dynamics.stats.reset();
    const run = await crmsync(args, env);
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([message]);
    expect(run.stdout).toBe('');
    expect(existsSync(db)).toBe(false);
    expect([pair.hubspot.stats.requests, pair.dynamics.stats.requests]).toEqual([0, 0]);
  });
});

describe('sync-all --two-way against `crmsync emulator --shared-seed`', () => {
  test('runs contacts and companies, the objects with a two_way: block, and a rerun writes nothing', async () => {
    const emulator = startCrmsync(['emulator', '--port', '0', '--dynamics-port', '0', '--seed', 'contacts=30,companies=5', '--dynamics-seed', 'contacts=20,accounts=3', '--shared-seed', 'contacts=200,companies=30']);
    try {
      await emulator.printed('Press Ctrl-C');
      const exported = Object.fromEntries([...emulator.stdout().matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1], match[2]]));
      const env = { ...exported, CRMSYNC_DB: join(dir, 'all.db') };
      const run = await crmsync(['sync-all', '--two-way', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const { results } = parsed(run.stdout);
      expect(results.map((result) => `${result.object}/${result.source}`)).toEqual([
        'contacts/hubspot',
        'contacts/dynamics',
        'contacts/two_way',
        'companies/hubspot',
        'companies/dynamics',
        'companies/two_way',
      ]);
      const twoWay = results.filter((result) => result.source === 'two_way');
      for (const result of twoWay) {
        expect(result.status).toBe('success');
        expect(result.twoWay!.linked).toBeGreaterThan(0);
        expect(result.twoWay!.created.hubspot + result.twoWay!.created.dynamics).toBeGreaterThan(0);
      }
      expect(query(env.CRMSYNC_DB, 'SELECT DISTINCT object_type FROM entity_links ORDER BY 1')).toEqual([{ object_type: 'companies' }, { object_type: 'contacts' }]);

      const rerun = await crmsync(['sync-all', '--two-way', '--json'], env);
      expect(rerun.code, rerun.stderr).toBe(0);
      for (const result of parsed(rerun.stdout).results.filter((entry) => entry.source === 'two_way')) {
        expect(result.twoWay).toMatchObject({ linked: 0, created: { hubspot: 0, dynamics: 0 }, updated: { hubspot: 0, dynamics: 0 }, writeRequests: { hubspot: 0, dynamics: 0 } });
      }
    } finally {
      emulator.child.kill('SIGINT');
      await emulator.done;
    }
  });
});
