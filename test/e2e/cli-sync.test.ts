import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, summary as json, tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { countRows, history, query, queryOne } from '../helpers/db.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';

const SEED = { contacts: 1200, companies: 150, deals: 400 };
let emulator: HubSpotEmulator;
let dir: string;
const env = (db: string, extra: Record<string, string> = {}) => ({ ...hubspotEnvOf(emulator, db), ...extra });
const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ seed: SEED, seedValue: 7 });
  dir = tempDir();
});
afterAll(() => emulator?.close());

describe('sync-all against the emulator, through the real command line', () => {
  let db: string;
  beforeAll(() => {
    db = join(dir, 'main.db');
  });

  test('the first run reads every record: counts equal the emulator', async () => {
    const run = await crmsync(['sync-all', '--json'], env(db));
    expect(run.stderr).not.toContain(emulator.token);
    expect(run.code, run.stderr).toBe(0);
    const { results } = json(run.stdout);
    expect(results.map((result) => [result.object, result.status, result.syncMode, result.counts.created])).toEqual([
      ['contacts', 'success', 'full', SEED.contacts],
      ['companies', 'success', 'full', SEED.companies],
      ['deals', 'success', 'full', SEED.deals],
      ['tickets', 'success', 'full', 0],
      ['contacts:companies', 'success', 'full', expect.any(Number)],
      ['deals:contacts', 'success', 'full', expect.any(Number)],
      ['deals:companies', 'success', 'full', expect.any(Number)],
    ]);
    for (const name of ['contacts', 'companies', 'deals']) {
      expect(expectComplete(compareWithSource(db, emulator.store, objectByName(config, name)))).toEqual(COMPLETE);
    }
    expect(countRows(db, 'hubspot_contacts')).toEqual(SEED.contacts);
    const first = emulator.store.all('contacts')[0];
    expect(queryOne(db, 'SELECT email, firstname FROM hubspot_contacts WHERE id = ?', first.id)).toEqual({
      email: first.properties.email?.toLowerCase() ?? null,
      firstname: first.properties.firstname,
    });
  });

  test('a second run changes nothing and makes at most 2 requests per object', async () => {
    emulator.stats.reset();
    const run = await crmsync(['sync-all', '--json'], env(db));
    expect(run.code, run.stderr).toBe(0);
    const { results } = json(run.stdout);
    for (const result of results) {
      expect(result.syncMode).toBe('incremental');
      expect(result.counts.created + result.counts.updated).toBe(0);
      expect(result.metrics.requests).toBeLessThanOrEqual(2);
    }
    expect(emulator.stats.requests).toBeLessThanOrEqual(2 * results.length);
  });

  test('changes made through @hubspot/api-client arrive with exact values in the next incremental run', async () => {
    const client = new Client({ accessToken: emulator.token, basePath: emulator.url });
    const [a, b] = emulator.store.all('contacts');
    await client.crm.contacts.batchApi.update({
      inputs: [
        { id: a.id, properties: { firstname: 'Grace', jobtitle: 'Rear Admiral' } },
        { id: b.id, properties: { phone: '+44 20 7946 0958' } },
      ],
    });
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'Margaret.Hamilton@Example.org', firstname: 'Margaret', lastname: 'Hamilton' }, associations: [] });
    const deal = emulator.store.all('deals')[3];
    await client.crm.deals.basicApi.update(deal.id, { properties: { amount: '98765.43', dealstage: 'closedwon' } });

    const run = await crmsync(['sync-all', '--json'], env(db));
    expect(run.code, run.stderr).toBe(0);
    const counts = Object.fromEntries(json(run.stdout).results.map((result) => [result.object, [result.counts.created, result.counts.updated]]));
    expect(counts).toMatchObject({ contacts: [1, 2], companies: [0, 0], deals: [0, 1], tickets: [0, 0] });

    const contact = (id: string) => queryOne(db, 'SELECT firstname, lastname, jobtitle, phone, email FROM hubspot_contacts WHERE id = ?', id);
    expect(contact(a.id)).toMatchObject({ firstname: 'Grace', jobtitle: 'Rear Admiral' });
    expect(contact(b.id)).toMatchObject({ phone: '+442079460958' });
    expect(contact(created.id)).toEqual({ firstname: 'Margaret', lastname: 'Hamilton', jobtitle: null, phone: null, email: 'margaret.hamilton@example.org' });
    expect(queryOne(db, 'SELECT amount, dealstage FROM hubspot_deals WHERE id = ?', deal.id)).toEqual({ amount: 98765.43, dealstage: 'closedwon' });
    expect(expectComplete(compareWithSource(db, emulator.store, objectByName(config, 'contacts')))).toEqual(COMPLETE);
  });

  test('--dry-run leaves the database file byte-for-byte unchanged and says what it would write', async () => {
    emulator.store.update('contacts', emulator.store.all('contacts')[10].id, { city: 'Lisbon' });
    const before = fileHash(db);
    const rowsBefore = history(db).length;
    const run = await crmsync(['sync-contacts', '--dry-run', '--full'], env(db));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/dry run, nothing written; would have: 1201 processed, 0 created, 1 updated, 1200 unchanged/);
    expect(fileHash(db)).toBe(before);
    expect(history(db).length).toBe(rowsBefore);
  });

  test('--dry-run on a database that does not exist creates nothing', async () => {
    const fresh = join(dir, 'never.db');
    const run = await crmsync(['sync-deals', '--dry-run'], env(fresh));
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(fresh)).toBe(false);
  });

  test('--force-overwrite rewrites every row', async () => {
    const run = await crmsync(['sync-companies', '--force-overwrite', '--json'], env(db));
    expect(run.code, run.stderr).toBe(0);
    const [result] = json(run.stdout).results;
    expect(result).toMatchObject({ syncMode: 'force_overwrite', counts: { processed: SEED.companies, updated: SEED.companies, created: 0 } });
  });

  test('--max-records stops after that many records', async () => {
    const run = await crmsync(['sync-contacts', '--full', '--max-records', '250', '--batch-size', '100', '--json'], env(join(dir, 'limited.db')));
    expect(run.code, run.stderr).toBe(0);
    const [result] = json(run.stdout).results;
    expect(result.counts.processed).toBe(250);
    expect(result.metrics.pages).toBe(3);
  });

  test('--since reads only records modified since then', async () => {
    const since = '2025-10-01';
    const expected = emulator.store.all('deals').filter((deal) => Date.parse(deal.properties.hs_lastmodifieddate!) >= Date.parse(since)).length;
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(emulator.store.count('deals'));
    const sinceDb = join(dir, 'since.db');
    const run = await crmsync(['sync-deals', '--since', since, '--json'], env(sinceDb));
    expect(run.code, run.stderr).toBe(0);
    const [result] = json(run.stdout).results;
    expect(result).toMatchObject({ syncMode: 'since', counts: { processed: expected, created: expected } });
    // Starting after any watermark, it must not let the next run skip older changes.
    const next = await crmsync(['sync-deals', '--json'], env(sinceDb));
    expect(json(next.stdout).results[0].syncMode).toBe('full');
  });

  test('crmsync history lists the runs', async () => {
    const run = await crmsync(['history', '--object', 'contacts', '--limit', '2'], env(db));
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^run\s+entity\s+source\s+mode\s+status/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/contacts\s+hubspot\s+incremental\s+success/);
    const asJson = JSON.parse((await crmsync(['history', '--json'], env(db))).stdout) as { status: string; performanceMetrics: { requests: number } }[];
    expect(asJson.length).toBeGreaterThanOrEqual(10);
    expect(asJson.every((row) => row.status === 'success' && row.performanceMetrics.requests > 0)).toBe(true);
  });
});

describe('rejected records', () => {
  test('an invalid email is rejected with its reason; the run ends partial with exit 3', async () => {
    const local = await startHubSpotEmulator({ seed: { contacts: 50 }, seedValue: 3 });
    try {
      const victim = local.store.all('contacts')[5];
      local.store.put('contacts', { ...victim, properties: { ...victim.properties, email: 'not-an-email' } });
      const db = join(dir, 'rejected.db');
      const run = await crmsync(['sync-contacts', '--json'], hubspotEnvOf(local, db));
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`contacts ${victim.id} rejected: email: not a valid email address (value "not-an-email")`);
      const [result] = json(run.stdout).results;
      expect(result).toMatchObject({ status: 'partial', counts: { processed: 50, created: 49, failed: 1 } });
      const rejected = query<{ source_id: string; reasons: string }>(db, 'SELECT source_id, reasons FROM rejected_records');
      expect(rejected).toHaveLength(1);
      expect(rejected[0].source_id).toBe(victim.id);
      expect(JSON.parse(rejected[0].reasons)).toEqual([{ column: 'email', property: 'email', value: 'not-an-email', reason: 'not a valid email address' }]);
      expect(history(db, 'status')).toEqual([{ status: 'partial' }]);
    } finally {
      await local.close();
    }
  });
});

describe('a rejected token', () => {
  test('fails the run with exit 1, a message naming the setting, and no token anywhere', async () => {
    const db = join(dir, 'auth.db');
    const wrong = 'pat-na1-00000000-wrong-token';
    const run = await crmsync(['sync-contacts'], env(db, { HUBSPOT_ACCESS_TOKEN: wrong }));
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain('HubSpot rejected HUBSPOT_ACCESS_TOKEN (401');
    expect(run.stdout + run.stderr).not.toContain(wrong);
    const rows = history(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failed' });
    expect(String(rows[0].error_message)).toContain('HUBSPOT_ACCESS_TOKEN');
    expect(JSON.stringify(rows)).not.toContain(wrong);
  });
});

describe('sync-all when one object fails', () => {
  test('the other objects are still synced and the exit code is the worst one', async () => {
    const local = await startHubSpotEmulator({ seed: { contacts: 120, companies: 30, deals: 40 }, seedValue: 9, forbiddenObjects: ['deals'] });
    try {
      const db = join(dir, 'one-fails.db');
      const run = await crmsync(['sync-all', '--json', '--concurrency', '2'], hubspotEnvOf(local, db));
      expect(run.code).toBe(1);
      const { exitCode, results } = json(run.stdout);
      expect(exitCode).toBe(1);
      expect(results.map((result) => [result.object, result.status])).toEqual([
        ['contacts', 'success'],
        ['companies', 'success'],
        ['deals', 'failed'],
        ['tickets', 'success'],
        ['contacts:companies', 'success'],
        ['deals:contacts', 'success'],
        ['deals:companies', 'success'],
      ]);
      expect(results.slice(0, 2).map((result) => result.counts.created)).toEqual([120, 30]);
      expect(results[2].error).toMatch(/403 MISSING_SCOPES.*crm\.objects\.deals\.read/);
    } finally {
      await local.close();
    }
  });
});
