import { join } from 'node:path';
import { Client } from '@hubspot/api-client';
import { describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import { crmsync, tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { countRows, query, queryOne } from '../helpers/db.js';
import { FULL_READS, emulatorPerTest, fullReadSettings, settingsOf } from '../helpers/emulator.js';
import { config, syncObject } from '../helpers/engine.js';

const contacts = objectByName(config, 'contacts');
const dir = tempDir();
const startEmulator = emulatorPerTest();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("beyond the search API's 10,000-result cap", () => {
  test('more than 10,000 changes in one window are all read once, in about one request per page', async () => {
    const emulator = await startEmulator({ seed: { contacts: 10_450 }, seedValue: 21 });
    const db = join(dir, 'cap.db');
    const result = await syncObject('contacts', db, settingsOf(emulator), { since: new Date('2020-01-01T00:00:00Z'), batchSize: 200 });
    expect(result.status).toBe('success');
    expect(result.counts).toMatchObject({ processed: 10_450, created: 10_450 });
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    // 53 pages of 200 (each restarts at the last timestamp, leaving out the records already
    // read there) + 1 archived list: the minimum.
    expect(result.metrics.requests).toBe(Math.ceil(10_450 / 200) + 1);
  });

  test('more than 10,000 records with the very same modification time are all read once', async () => {
    const emulator = await startEmulator({ seed: { contacts: 10_300 }, seedValue: 22 });
    const same = '2026-02-02T02:02:02.000Z';
    for (const record of emulator.store.all('contacts')) {
      emulator.store.put('contacts', { ...record, updatedAt: same, properties: { ...record.properties, lastmodifieddate: same } });
    }
    const db = join(dir, 'ties.db');
    const result = await syncObject('contacts', db, settingsOf(emulator), { since: new Date('2026-01-01T00:00:00Z'), batchSize: 200 });
    expect(result.counts).toMatchObject({ processed: 10_300, created: 10_300 });
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    // Two pages before a page full of one timestamp shows the tie, 52 pages walking the
    // ties by id, one query past them, one archived list.
    expect(result.metrics.requests).toBeLessThanOrEqual(Math.ceil(10_300 / 200) + 4);
  });
});

describe.each(FULL_READS)('full reads: %s', (fullRead) => {
  const { settingsOf, hubspotEnvOf, dir } = fullReadSettings(fullRead);

  describe('deletions', () => {
    test('archived records are marked deleted with their time, never erased; restored ones come back', async () => {
      const emulator = await startEmulator({ seed: { contacts: 300 }, seedValue: 23 });
      const client = new Client({ accessToken: emulator.token, basePath: emulator.url });
      const db = join(dir, 'archive.db');
      await syncObject('contacts', db, settingsOf(emulator));
      const [a, b, c] = emulator.store.all('contacts');
      const modifiedBefore = a.properties.lastmodifieddate;
      await client.crm.contacts.batchApi.archive({ inputs: [{ id: a.id }, { id: b.id }, { id: c.id }] });
      expect(emulator.store.get('contacts', a.id)?.properties.lastmodifieddate).toBe(modifiedBefore);

      const afterArchive = await syncObject('contacts', db, settingsOf(emulator));
      expect(afterArchive.counts).toMatchObject({ deleted: 3, created: 0, updated: 0 });
      const row = (id: string) => queryOne<{ is_deleted: number; deleted_at: string; email: string }>(db, 'SELECT is_deleted, deleted_at, email FROM hubspot_contacts WHERE id = ?', id)!;
      expect(row(a.id)).toMatchObject({ is_deleted: 1, deleted_at: new Date(emulator.store.get('contacts', a.id)!.archivedAt!).toISOString(), email: a.properties.email?.toLowerCase() ?? null });
      expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);

      // Once more: nothing new to mark.
      expect((await syncObject('contacts', db, settingsOf(emulator))).counts).toMatchObject({ deleted: 0, updated: 0 });

      // Restored through the store (bumps the modification time) and behind its back (does not).
      emulator.store.restore('contacts', a.id);
      const archivedB = emulator.store.get('contacts', b.id)!;
      emulator.store.put('contacts', { ...archivedB, archived: false, archivedAt: undefined });
      const afterRestore = await syncObject('contacts', db, settingsOf(emulator));
      expect(afterRestore.counts.updated).toBe(2);
      expect(row(a.id).is_deleted).toBe(0);
      expect(row(b.id).is_deleted).toBe(0);
      expect(row(c.id).is_deleted).toBe(1);
      expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    });
  });

  describe('writes while a sync runs, with search-index lag', () => {
    const lagMs = 1_500;
    /** A portal whose search index lags writes by lagMs, and a client that writes to it. */
    const laggingPortal = async (contacts: number, seedValue: number) => {
      const emulator = await startEmulator({ seed: { contacts }, seedValue, searchLagMs: lagMs, latencyMs: 3 });
      return { emulator, client: new Client({ accessToken: emulator.token, basePath: emulator.url }) };
    };

    test('creates, updates and archives made during a run arrive by the next run, field by field', async () => {
      const { emulator, client } = await laggingPortal(4_000, 24);
      const db = join(dir, 'lag.db');
      const env = hubspotEnvOf(emulator, db);
      expect((await crmsync(['sync-contacts', '--quiet'], env)).code).toBe(0);

      const ids = emulator.store.all('contacts').map((record) => record.id);
      let writing = true;
      let writes = 0;
      const writer = (async () => {
        for (let round = 0; writing || round < 5; round++) {
          const id = ids[(round * 37) % ids.length];
          await client.crm.contacts.basicApi.update(id, { properties: { jobtitle: `Title ${round}`, city: `City ${round}` } });
          await client.crm.contacts.basicApi.create({ properties: { email: `written.${round}@example.net`, firstname: `W${round}` }, associations: [] });
          if (round % 4 === 0) await client.crm.contacts.basicApi.archive(ids[(round * 53 + 11) % ids.length]);
          writes += 3;
          await sleep(20);
        }
      })();
      // A full read runs while the writer works, then an incremental one.
      const during = await crmsync(['sync-contacts', '--full', '--quiet'], env);
      const incremental = await crmsync(['sync-contacts', '--quiet'], env);
      writing = false;
      await writer;
      expect(during.code).toBe(0);
      expect(incremental.code).toBe(0);
      expect(writes).toBeGreaterThan(15);

      await sleep(lagMs + 100);
      const last = await crmsync(['sync-contacts', '--quiet'], env);
      expect(last.code).toBe(0);
      expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
      expect(countRows(db, 'records', 'is_deleted = 1')).toBe(emulator.store.count('contacts', { archived: true }));
    });

    test('a full read reads every record there before it began once, searchable yet or not; what changes during it arrives by the next run', async () => {
      const { emulator, client } = await laggingPortal(3_000, 26);
      const db = join(dir, 'writes-during-full.db');
      const seeded = emulator.store.all('contacts').map((record) => record.id);
      // Made just before the read, so not searchable when it begins: the highest ids.
      const early: string[] = [];
      for (let n = 0; n < 10; n++) early.push((await client.crm.contacts.basicApi.create({ properties: { email: `early.${n}@example.net` }, associations: [] })).id);
      for (const id of seeded.slice(-10)) await client.crm.contacts.basicApi.update(id, { properties: { jobtitle: 'changed before' } });
      emulator.stats.reset();

      let writing = true;
      const writer = (async () => {
        for (let round = 0; writing; round++) {
          await client.crm.contacts.basicApi.create({ properties: { email: `during.${round}@example.net` }, associations: [] });
          await client.crm.contacts.basicApi.update(seeded[(round * 101) % seeded.length], { properties: { jobtitle: `during ${round}` } });
          await sleep(5);
        }
      })();
      const full = await syncObject('contacts', db, settingsOf(emulator), { full: true });
      writing = false;
      await writer;
      expect(full.status, full.error).toBe('success');

      const stored = new Set(query<{ source_id: string }>(db, 'SELECT source_id FROM records').map((row) => row.source_id));
      expect([...seeded, ...early].filter((id) => !stored.has(id))).toEqual([]);
      // Read once each: as many created as stored, none counted twice.
      expect(full.counts).toMatchObject({ processed: stored.size, created: stored.size });
      const searches = Object.entries(emulator.stats.byRoute).reduce((total, [route, count]) => total + (route.includes('search') ? count : 0), 0);
      if (fullRead === 'both') expect(searches).toBeGreaterThan(3);
      else expect(searches).toBe(1);

      await sleep(lagMs + 100);
      const next = await syncObject('contacts', db, settingsOf(emulator));
      expect(next.status, next.error).toBe('success');
      expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    });
  });

  describe('idempotence', () => {
    test('running a sync twice leaves the records identical, with nothing created or updated', async () => {
      const emulator = await startEmulator({ seed: { contacts: 500, deals: 200 }, seedValue: 25 });
      const db = join(dir, 'twice.db');
      const dump = () => query(db, 'SELECT * FROM records ORDER BY source, object_type, source_id');
      for (const options of [{ full: true }, {}, { since: new Date('2025-01-01T00:00:00Z') }]) {
        await syncObject('contacts', db, settingsOf(emulator), options);
        await syncObject('deals', db, settingsOf(emulator), options);
        const before = dump();
        const contactsAgain = await syncObject('contacts', db, settingsOf(emulator), options);
        const dealsAgain = await syncObject('deals', db, settingsOf(emulator), options);
        for (const again of [contactsAgain, dealsAgain]) expect(again.counts).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
        expect(dump()).toEqual(before);
      }
    });
  });
});
