import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { countRows, queryOne } from '../helpers/db.js';
import { FULL_READS } from '../helpers/emulator.js';
import { config, syncObject } from '../helpers/engine.js';

const contacts = objectByName(config, 'contacts');
let emulator: HubSpotEmulator;
let dir: string;
const hubspot = () => ({ baseUrl: emulator.url, accessToken: emulator.token });

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ seed: { contacts: 600, deals: 120 }, seedValue: 11 });
  dir = tempDir();
});
afterAll(() => emulator?.close());

describe('the object sync engine against the emulator', () => {
  test.each(FULL_READS)('given several pages when read in full (%s) then every record is stored once', async (fullRead) => {
    const db = join(dir, `pages-${fullRead}.db`);
    const result = await syncObject('contacts', db, { ...hubspot(), fullRead }, { batchSize: 50 });
    expect(result).toMatchObject({ status: 'success', syncMode: 'full', counts: { processed: 600, created: 600 }, exitCode: 0 });
    if (fullRead === 'list') {
      // 12 list pages, one search for the source's latest modification time, one page of archived records.
      expect(result.metrics).toMatchObject({ pages: 13, requests: 14, retries: 0, searches: 1 });
    } else {
      // 12 or 13 pages of 50 between the two walks (where they meet, one side's page may end in the other's ids), up to
      // two that the meeting leaves unused (one on its way, the list's page above the ceiling); one search for the
      // latest modification time and one for where the search walk starts; one page of archived records.
      expect(result.metrics.requests).toBeGreaterThanOrEqual(15);
      expect(result.metrics.requests).toBeLessThanOrEqual(18);
      expect(result.metrics.searches).toBeGreaterThanOrEqual(3);
    }
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
  });

  test('the watermark is the latest modification committed, and a re-run is a no-op', async () => {
    const db = join(dir, 'watermark.db');
    const first = await syncObject('contacts', db, hubspot());
    const latest = emulator.store.all('contacts').map((record) => record.properties.lastmodifieddate!).sort().at(-1);
    expect(first.watermark).toBe(new Date(latest!).toISOString());
    const second = await syncObject('contacts', db, hubspot());
    expect(second).toMatchObject({ syncMode: 'incremental', counts: { created: 0, updated: 0 } });
    // One search for changes, one list of archived records.
    expect(second.metrics.requests).toBe(2);
    expect(second.watermark).toBe(first.watermark);
  });

  test('more records sharing one modification time than fit a page are all read once', async () => {
    const db = join(dir, 'ties.db');
    const first = await syncObject('contacts', db, hubspot());
    const tie = '2026-01-15T08:00:00.000Z';
    const changed = emulator.store.all('contacts').slice(0, 350);
    for (const record of changed) {
      emulator.store.put('contacts', { ...record, updatedAt: tie, properties: { ...record.properties, lastmodifieddate: tie, city: 'Tie Town' } });
    }
    const result = await syncObject('contacts', db, hubspot(), { batchSize: 100 });
    // Each record in the window is read exactly once: the ties plus the overlap's re-reads.
    const windowStart = Date.parse(first.watermark!) - contacts.overlapMs;
    const inWindow = emulator.store.all('contacts').filter((record) => Date.parse(record.properties.lastmodifieddate!) >= windowStart).length;
    expect(result).toMatchObject({ syncMode: 'incremental', counts: { processed: inWindow, updated: 350, created: 0, unchanged: inWindow - 350 } });
    expect(result.watermark).toBe(tie);
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    expect(countRows(db, 'hubspot_contacts', "city = 'Tie Town'")).toEqual(350);
  });

  test('a record modified during a full read is picked up by the next incremental run', async () => {
    const db = join(dir, 'during.db');
    const early = emulator.store.all('deals')[0];
    let modified = false;
    const log = {
      debug: (message: string) => {
        // After the first page is saved, edit a record that page already held.
        if (!modified && message.includes('page 1')) {
          emulator.store.update('deals', early.id, { dealname: 'Renamed mid-run' });
          modified = true;
        }
      },
      info() {},
      warn() {},
      error() {},
    };
    await syncObject('deals', db, hubspot(), { batchSize: 20 }, log);
    expect(modified).toBe(true);
    const next = await syncObject('deals', db, hubspot());
    expect(next.counts.updated).toBeGreaterThanOrEqual(1);
    expect(queryOne(db, 'SELECT dealname FROM hubspot_deals WHERE id = ?', early.id)).toEqual({ dealname: 'Renamed mid-run' });
  });

  test('a dry run reports what it would write and stores nothing', async () => {
    const db = join(dir, 'dry.db');
    const result = await syncObject('deals', db, hubspot(), { dryRun: true });
    expect(result).toMatchObject({ dryRun: true, status: 'success', counts: { created: emulator.store.count('deals') } });
    const again = await syncObject('deals', db, hubspot(), { dryRun: true });
    expect(again.syncMode).toBe('full');
  });
});
