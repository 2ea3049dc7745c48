import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { openStore } from '../../src/db/database.js';
import { countRows, history, query } from '../helpers/db.js';
import { emulatorPerTest, fullReadSettings } from '../helpers/emulator.js';
import { syncObject } from '../helpers/engine.js';

const startEmulator = emulatorPerTest();
// Pages of 100 in id order, so which page a record is on is known.
const { settingsOf, dir } = fullReadSettings('list');

/** Makes every write of the record `id` fail, as a full disk or a damaged page would, on any connection. */
function failWritesOf(db: string, id: string): () => void {
  const sqlite = new Database(db);
  sqlite.exec(`CREATE TRIGGER refuse_record BEFORE INSERT ON records WHEN NEW.source_id = '${id}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  sqlite.close();
  return () => {
    const again = new Database(db);
    again.exec('DROP TRIGGER refuse_record');
    again.close();
  };
}

describe('pages written on their own thread', () => {
  test('a page that cannot be committed fails the run, no later page is committed, and the next run reads exactly what is missing', async () => {
    const emulator = await startEmulator({ seed: { contacts: 3_000 }, seedValue: 51 });
    const db = join(dir, 'refused.db');
    openStore(db).close();
    const ids = emulator.store
      .all('contacts')
      .map((contact) => contact.id)
      .sort((a, b) => Number(a) - Number(b));
    // The first record of the 16th page: 15 pages (1,500 records) come before it.
    const restore = failWritesOf(db, ids[1_500]!);

    const failed = await syncObject('contacts', db, settingsOf(emulator));
    expect(failed).toMatchObject({ status: 'failed', exitCode: 1, counts: { created: 1_500 } });
    expect(failed.error).toMatch(/database or disk is full/);
    expect(countRows(db, 'records')).toBe(1_500);
    // Every record saved is one of the first 15 pages: nothing read after the refused page was committed.
    const saved = query<{ source_id: string }>(db, 'SELECT source_id FROM records').map((row) => row.source_id);
    expect(new Set(saved)).toEqual(new Set(ids.slice(0, 1_500)));
    expect(history<{ status: string; records_processed: number }>(db, 'status, records_processed')[0]).toEqual({ status: 'failed', records_processed: 1_500 });

    restore();
    const resumed = await syncObject('contacts', db, settingsOf(emulator));
    expect(resumed).toMatchObject({ status: 'success', resumedFrom: failed.runId, counts: { created: 1_500, processed: 1_500 } });
    expect(countRows(db, 'records')).toBe(3_000);
  });

  test('the counts of a run written on the thread are those its rows show, and a second run finds everything unchanged', async () => {
    const emulator = await startEmulator({ seed: { contacts: 2_500 }, seedValue: 52 });
    const db = join(dir, 'counts.db');
    const first = await syncObject('contacts', db, settingsOf(emulator), { batchSize: 50 });
    expect(first).toMatchObject({ status: 'success', counts: { processed: 2_500, created: 2_500 }, metrics: { pages: 51 } });
    expect(countRows(db, 'records')).toBe(2_500);
    expect(countRows(db, 'record_versions')).toBe(2_500);

    const second = await syncObject('contacts', db, settingsOf(emulator), { full: true, batchSize: 50 });
    expect(second).toMatchObject({ status: 'success', counts: { processed: 2_500, unchanged: 2_500, created: 0, updated: 0 } });
    expect(history<{ records_unchanged: number }>(db, 'records_unchanged').at(-1)).toEqual({ records_unchanged: 2_500 });
  });
});
