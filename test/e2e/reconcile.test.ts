/**
 * `crmsync reconcile` through the command line against the emulators: records deleted from
 * the store by hand, records gone from the CRM without the store knowing, records changed
 * behind its back, linked pairs edited on one side; what it prints, its exit codes, what
 * --fix repairs, what it costs, and `history`'s section. (Bad input: cli-bad-input.test.ts.)
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, tempDir, type CliResult } from '../helpers/cli.js';
import { query, queryOne } from '../helpers/db.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { tableAfter } from '../helpers/table.js';

const dir = tempDir();

interface Reconciled {
  id: number;
  status: string;
  exitCode: number;
  missing: string[];
  gone: string[];
  stale: string[];
  sourceRecords: number;
  localRecords: number;
  requests: number;
  fixed: number;
  pairs?: { compared: number; unread: number; drifted: { linkId: string; hubspotId: string; dynamicsId: string; fields: string[] }[]; fields: Record<string, number>; waiting: number };
  fixRun?: { runId: number; syncMode: string; counts: Record<string, number> };
  pairFix?: { runId: number; status: string; writesQueued: number };
}

/** Edits the store the way someone with sqlite3 would. */
function edit(db: string, sql: string, ...params: unknown[]): void {
  const handle = new Database(db);
  try {
    handle.prepare(sql).run(...params);
  } finally {
    handle.close();
  }
}

describe('reconcile HubSpot contacts', () => {
  const db = join(dir, 'hubspot.db');
  let hubspot: HubSpotEmulator;
  const run = async (args: string[], expected: number): Promise<CliResult> => {
    const result = await crmsync(args, hubspotEnvOf(hubspot, db));
    expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expected);
    return result;
  };
  const json = async (args: string[], expected: number) => JSON.parse((await run([...args, '--json'], expected)).stdout) as Reconciled;

  beforeAll(async () => {
    hubspot = await startHubSpotEmulator({ seed: { contacts: 2_000 }, seedValue: 61 });
  });
  afterAll(() => hubspot?.close());

  test('a store that is the CRM\'s: no drift, exit 0, at most 5.1 requests per 1,000 records', async () => {
    await run(['sync-contacts'], 0);
    hubspot.stats.reset();
    const clean = await json(['reconcile', 'contacts'], 0);
    expect(clean).toMatchObject({ status: 'clean', missing: [], gone: [], stale: [], sourceRecords: 2_000, localRecords: 2_000, requests: 10 });
    expect(hubspot.stats.requests).toBe(10);
    expect((hubspot.stats.requests * 1_000) / clean.sourceRecords).toBeLessThanOrEqual(5.1);
  });

  test('rows deleted here by hand, records purged and archived there, records changed there: counts, the first ids, exit 3', async () => {
    const removedHere = Array.from({ length: 12 }, (_, index) => String(1_101 + index));
    edit(db, `DELETE FROM records WHERE source = 'hubspot' AND object_type = 'contacts' AND source_id IN (${removedHere.map(() => '?').join(',')})`, ...removedHere);
    hubspot.store.purge('contacts', '1500');
    hubspot.store.archive('contacts', '1501');
    hubspot.store.update('contacts', '1600', { jobtitle: 'Changed behind its back' });

    const text = (await run(['reconcile', 'contacts'], 3)).stdout.split('\n');
    expect(text[0]).toMatch(/^contacts in HubSpot: 1998 there, 1988 stored; 12 missing, 2 gone, 1 stale \(11 requests, \d+\.\d s\)$/);
    expect(text[1]).toBe(`  missing (in HubSpot, not stored): ${removedHere.slice(0, 10).join(', ')} and 2 more (--json lists every id)`);
    expect(text[2]).toBe('  gone (stored, no longer in HubSpot): 1500, 1501');
    expect(text[3]).toBe('  stale (changed in HubSpot after the stored copy): 1600');
    expect(text[4]).toBe('drift found (exit 3): crmsync reconcile contacts --fix repairs it');

    const found = await json(['reconcile', 'contacts'], 3);
    expect(found).toMatchObject({ status: 'drift', exitCode: 3, missing: removedHere, gone: ['1500', '1501'], stale: ['1600'] });
  });

  test('--fix reads those records by id through a run of its own, marks the gone ones deleted; then no drift', async () => {
    const fixed = await json(['reconcile', 'contacts', '--fix'], 0);
    expect(fixed).toMatchObject({ status: 'fixed', fixed: 15, fixRun: { syncMode: 'reconcile', counts: { created: 12, updated: 1, deleted: 2, failed: 0 } } });
    const gone = query<{ id: string; is_deleted: number; deleted_at: string | null }>(db, "SELECT id, is_deleted, deleted_at FROM hubspot_contacts WHERE id IN ('1500', '1501') ORDER BY id");
    expect(gone.map((row) => [row.id, row.is_deleted])).toEqual([['1500', 1], ['1501', 1]]);
    for (const row of gone) expect(Date.parse(row.deleted_at!)).toBeGreaterThan(Date.now() - 60_000);
    expect(queryOne(db, "SELECT jobtitle FROM hubspot_contacts WHERE id = '1600'")).toEqual({ jobtitle: 'Changed behind its back' });

    const again = await run(['reconcile', 'contacts'], 0);
    expect(again.stdout).toMatch(/^contacts in HubSpot: 1998 there, 1998 stored; 0 missing, 0 gone, 0 stale \(10 requests, [\d.]+ s\)\nno drift\n$/);
  });

  test('history: the fix run among the runs, then the reconciliations; --json stays an array of runs', async () => {
    const listed = (await run(['history'], 0)).stdout;
    const runs = tableAfter(listed, ['run', 'entity', 'source', 'mode', 'status', 'started', 'seconds', 'processed', 'created', 'updated', 'unchanged', 'deleted', 'rejected', 'watermark']);
    expect(runs.map((row) => row[3])).toEqual(['reconcile', 'full']);
    expect(listed).toContain('\n5 reconciliations (crmsync reconcile), newest first:\n');
    const rows = tableAfter(listed, ['id', 'object', 'source', 'started', 'status', 'fix', 'missing', 'gone', 'stale', 'pair drift', 'fixed', 'requests']);
    expect(rows.map((row) => [row[4], row[5], ...row.slice(6, 11)])).toEqual([
      ['clean', 'no', '0', '0', '0', '0', '0'],
      ['fixed', 'yes', '12', '2', '1', '0', '15'],
      ['drift', 'no', '12', '2', '1', '0', '0'],
      ['drift', 'no', '12', '2', '1', '0', '0'],
      ['clean', 'no', '0', '0', '0', '0', '0'],
    ]);
    const asJson = JSON.parse((await run(['history', '--json'], 0)).stdout) as { syncMode: string }[];
    expect(asJson.map((row) => row.syncMode)).toEqual(['reconcile', 'full']);
    const deals = (await run(['history', '--object', 'deals'], 0)).stdout;
    expect(deals).not.toContain('reconciliation');
  });

  test('--fix while a sync of the object holds the lease: one line, exit 4, recorded as failed; a plain reconcile still runs', async () => {
    edit(
      db,
      `INSERT INTO sync_history (crm_source, sync_type, sync_mode, status, start_time, heartbeat_at, host, pid) VALUES ('hubspot', 'contacts', 'incremental', 'running', ?, ?, ?, ?)`,
      new Date().toISOString(),
      new Date().toISOString(),
      hostname(),
      process.pid,
    );
    hubspot.store.update('contacts', '1700', { jobtitle: 'Changed again' });
    try {
      const refused = await run(['reconcile', 'contacts', '--fix'], 4);
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^crmsync: contacts is already being synced by pid \d+ on .* \(run \d+\); wait for it to finish, or stop that process$/)]);
      expect(queryOne(db, 'SELECT status, stale, error FROM reconciliation_runs ORDER BY id DESC LIMIT 1')).toEqual({ status: 'failed', stale: 1, error: expect.stringContaining('is already being synced') });
      expect((await json(['reconcile', 'contacts'], 3)).stale).toEqual(['1700']);
    } finally {
      edit(db, "UPDATE sync_history SET status = 'failed', end_time = start_time WHERE status = 'running'");
    }
  });
});

describe('reconcile Dynamics 365 contacts', () => {
  const db = join(dir, 'dynamics.db');
  let dynamics: DynamicsEmulator;
  const run = async (args: string[], expected: number): Promise<CliResult> => {
    const result = await crmsync(args, { ...dynamicsEnvOf(dynamics), CRMSYNC_DB: db });
    expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expected);
    return result;
  };
  const json = async (args: string[], expected: number) => JSON.parse((await run([...args, '--json'], expected)).stdout) as Reconciled;

  beforeAll(async () => {
    dynamics = await startDynamicsEmulator({ seed: { contacts: 400, accounts: 0 }, seedValue: 62 });
  });
  afterAll(() => dynamics?.close());

  test('a row deleted in Dataverse, a row changed there, a row deleted here: found in one request, fixed, then none', async () => {
    await run(['sync-contacts', '--source', 'dynamics'], 0);
    const [deleted, changed, removedHere] = dynamics.store.all('contacts').map((row) => String(row.contactid));
    dynamics.store.delete('contacts', deleted!);
    dynamics.store.update('contacts', changed!, { jobtitle: 'Changed behind its back' });
    edit(db, "DELETE FROM records WHERE source = 'dynamics' AND source_id = ?", removedHere);

    const found = await json(['reconcile', 'contacts', '--source', 'dynamics'], 3);
    expect(found).toMatchObject({ status: 'drift', missing: [removedHere], gone: [deleted], stale: [changed], sourceRecords: 399, localRecords: 399 });
    // One listing request; one query confirms the row not listed is gone.
    expect(found.requests).toBe(2);
    expect(found.pairs).toMatchObject({ compared: 0, drifted: [] });
    const text = (await run(['reconcile', 'contacts', '--source', 'dynamics'], 3)).stdout;
    expect(text).toContain('drift found (exit 3): crmsync reconcile contacts --source dynamics --fix repairs it');

    expect(await json(['reconcile', 'contacts', '--source', 'dynamics', '--fix'], 0)).toMatchObject({ status: 'fixed', fixed: 3 });
    expect(await json(['reconcile', 'contacts', '--source', 'dynamics'], 0)).toMatchObject({ status: 'clean', missing: [], gone: [], stale: [] });
    expect(queryOne(db, 'SELECT is_deleted FROM dynamics_contacts WHERE id = ?', deleted)).toEqual({ is_deleted: 1 });
  });
});

describe('reconcile a two-way object: linked pairs compared field by field', () => {
  const SHARED = { contacts: 30, companies: 0 };
  const db = join(dir, 'two-way.db');
  let hubspot: HubSpotEmulator;
  let dynamics: DynamicsEmulator;
  let pairs: { linkId: string; hubspotId: string; dynamicsId: string }[];
  const run = async (args: string[], expected: number): Promise<CliResult> => {
    const result = await crmsync(args, { ...hubspotEnvOf(hubspot, db), ...dynamicsEnvOf(dynamics) });
    expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expected);
    return result;
  };
  const json = async (args: string[], expected: number) => JSON.parse((await run([...args, '--json'], expected)).stdout) as Reconciled;
  /** Reads both CRMs one way, so the store sees what changed in them. */
  const readBoth = async () => {
    await run(['sync-contacts'], 0);
    await run(['sync-contacts', '--source', 'dynamics'], 0);
  };

  beforeAll(async () => {
    hubspot = await startHubSpotEmulator({ seed: { contacts: 0 }, sharedSeed: SHARED, seedValue: 63 });
    dynamics = await startDynamicsEmulator({ seed: { contacts: 0, accounts: 0 }, sharedSeed: SHARED, seedValue: 63 });
    await run(['sync-contacts', '--two-way'], 0);
    pairs = query(db, "SELECT id AS linkId, hubspot_id AS hubspotId, dynamics_id AS dynamicsId FROM entity_links WHERE matched_by = 'match_key' ORDER BY hubspot_id LIMIT 2");
    expect(pairs).toHaveLength(2);
  });
  afterAll(() => Promise.all([hubspot?.close(), dynamics?.close()]));

  test('right after a two-way run: records it wrote are stale here and their pairs left out until read back; then both agree', async () => {
    const after = await json(['reconcile', 'contacts'], 3);
    expect(after.missing.length + after.stale.length).toBeGreaterThan(0);
    expect(after.pairs!.drifted).toEqual([]);
    await readBoth();
    for (const source of ['hubspot', 'dynamics']) {
      const clean = await json(['reconcile', 'contacts', '--source', source], 0);
      expect(clean).toMatchObject({ status: 'clean', pairs: { unread: 0, drifted: [] } });
      expect(clean.pairs!.compared).toBeGreaterThan(20);
    }
  });

  test('a pair edited behind crmsync\'s back on each side: drift by field once the store has read it; --fix queues the writes the rules call for', async () => {
    const [first, second] = pairs;
    hubspot.store.update('contacts', first!.hubspotId, { jobtitle: 'Edited in HubSpot' });
    dynamics.store.update('contacts', second!.dynamicsId, { address1_city: 'Edited in Dataverse' });
    // The store has not read the edits: the records are stale, their pairs still agree here.
    expect(await json(['reconcile', 'contacts'], 3)).toMatchObject({ stale: [first!.hubspotId], pairs: { drifted: [] } });
    await readBoth();

    const text = (await run(['reconcile', 'contacts'], 3)).stdout.split('\n');
    expect(text).toContain(`    jobtitle: 1 pair (HubSpot ${first!.hubspotId} / Dynamics 365 ${first!.dynamicsId})`);
    expect(text).toContain(`    city: 1 pair (HubSpot ${second!.hubspotId} / Dynamics 365 ${second!.dynamicsId})`);
    expect(text).toContainEqual(expect.stringMatching(/^ {2}linked pairs: \d+ compared, 2 differ$/));
    const found = await json(['reconcile', 'contacts', '--source', 'dynamics'], 3);
    expect(found).toMatchObject({ missing: [], gone: [], stale: [], pairs: { fields: { jobtitle: 1, city: 1 }, waiting: 0 } });
    const byLink = (a: { linkId: string }, b: { linkId: string }) => a.linkId.localeCompare(b.linkId);
    expect([...found.pairs!.drifted].sort(byLink)).toEqual(
      [
        { ...first!, fields: ['jobtitle'], manual: [] },
        { ...second!, fields: ['city'], manual: [] },
      ].sort(byLink),
    );

    const fixed = await json(['reconcile', 'contacts', '--fix'], 0);
    expect(fixed).toMatchObject({ status: 'fixed', fixed: 2, pairFix: { status: 'success', writesQueued: 2 } });
    const queued = query<{ crm: string; record_id: string; properties: string; status: string }>(db, 'SELECT crm, record_id, properties, status FROM outbox WHERE run_id = ? ORDER BY crm', fixed.pairFix!.runId);
    expect(queued).toEqual([
      { crm: 'dynamics', record_id: first!.dynamicsId, properties: JSON.stringify({ jobtitle: 'Edited in HubSpot' }), status: 'pending' },
      { crm: 'hubspot', record_id: second!.hubspotId, properties: JSON.stringify({ city: 'Edited in Dataverse' }), status: 'pending' },
    ]);
    expect(queryOne(db, 'SELECT crm_source, sync_type, sync_mode, status FROM sync_history WHERE id = ?', fixed.pairFix!.runId)).toEqual({
      crm_source: 'two_way', sync_type: 'contacts', sync_mode: 'reconcile', status: 'success',
    });
    // Queued, not sent: the pairs still differ in the CRMs, and say their writes wait.
    expect((await json(['reconcile', 'contacts'], 3)).pairs).toMatchObject({ waiting: 2, fields: { jobtitle: 1, city: 1 } });
  });

  test('the next two-way run sends them; once read back, both CRMs agree and nothing drifts', async () => {
    await run(['sync-contacts', '--two-way'], 0);
    expect(dynamics.store.get('contacts', pairs[0]!.dynamicsId)?.jobtitle).toBe('Edited in HubSpot');
    expect(hubspot.store.get('contacts', pairs[1]!.hubspotId)?.properties.city).toBe('Edited in Dataverse');
    await readBoth();
    expect(await json(['reconcile', 'contacts'], 0)).toMatchObject({ status: 'clean', pairs: { drifted: [], unread: 0 } });
    expect(await json(['reconcile', 'contacts', '--source', 'dynamics'], 0)).toMatchObject({ status: 'clean' });
    expect(query(db, "SELECT status FROM outbox WHERE status = 'pending'")).toEqual([]);
  });
});
