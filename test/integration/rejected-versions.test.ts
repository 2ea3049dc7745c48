import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openStore, type Store } from '../../src/db/database.js';
import { RecordRepository, toRecordRow } from '../../src/db/record-repository.js';
import { outstandingRejections } from '../../src/db/rejections.js';
import { SyncHistoryRepository } from '../../src/db/sync-history.js';
import type { MappedRecord, RejectedRecord } from '../../src/records.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { query } from '../helpers/db.js';

// A rejected version is kept once, marks the local row, and stays outstanding until a valid version or a deletion.

const dir = tempDir();
let db: string;
let store: Store;
let records: RecordRepository;
let runId = 0;
beforeEach(() => {
  runId = 0;
  db = join(dir, `${Math.random().toString(36).slice(2)}.db`);
  store = openStore(db);
  records = new RecordRepository(store, new SyncHistoryRepository(store), 'hubspot', 'contacts');
});
afterEach(() => store.close());

const version = (id: string, phone: string, modifiedAt = '2025-06-01T00:00:00.000Z') => ({ id, properties: { phone, lastmodifieddate: modifiedAt } });
const valid = (id: string, phone: string, modifiedAt?: string): MappedRecord => {
  const raw = version(id, phone, modifiedAt);
  return { sourceId: id, modifiedAt: raw.properties.lastmodifieddate, fields: { phone }, raw, warnings: [] };
};
const invalid = (id: string | null, phone: string): RejectedRecord => ({
  sourceId: id,
  raw: version(id ?? '', phone),
  reasons: [{ column: 'phone', property: 'phone', value: phone, reason: 'not a valid phone number' }],
});
const save = (page: { records?: MappedRecord[]; rejected?: RejectedRecord[]; markSeen?: boolean }) =>
  records.savePage({ runId: ++runId, records: (page.records ?? []).map(toRecordRow), rejected: page.rejected ?? [], markSeen: page.markSeen, checkpoint: null, watermark: null, forceOverwrite: false });
const rejectedRows = () => query<{ source_id: string | null; run_id: number; resolved_at: string | null }>(db, 'SELECT source_id, run_id, resolved_at FROM rejected_records ORDER BY id');
const rowRejectedAt = (id: string) => query<{ rejected_at: string | null }>(db, 'SELECT rejected_at FROM records WHERE source_id = ?', id)[0]?.rejected_at;

describe('rejected versions', () => {
  test('one row per version; the row keeps its valid version, marked, until a valid version arrives', () => {
    save({ records: [valid('1', '+4420794600')] });
    for (let read = 0; read < 3; read++) save({ rejected: [invalid('1', 'call me')] });
    expect(rejectedRows()).toEqual([{ source_id: '1', run_id: 2, resolved_at: null }]);
    const [{ rejected_at: when }] = query<{ rejected_at: string }>(db, 'SELECT rejected_at FROM rejected_records');
    expect(rowRejectedAt('1')).toBe(when);
    expect(records.rejectedOutstanding).toBe(1);

    save({ rejected: [invalid('1', 'call me later')] });
    expect(rejectedRows()).toHaveLength(2);
    expect(records.rejectedOutstanding).toBe(1);

    save({ records: [valid('1', '+4420794601', '2025-06-02T00:00:00.000Z')] });
    expect(rejectedRows().every((row) => row.resolved_at !== null)).toBe(true);
    expect(rowRejectedAt('1')).toBeNull();
    expect(records.rejectedOutstanding).toBe(0);
  });

  test('the source going back to the version the row holds resolves it, though nothing is rewritten', () => {
    save({ records: [valid('1', '+4420794600')] });
    save({ rejected: [invalid('1', 'call me')] });
    expect(save({ records: [valid('1', '+4420794600')] })).toMatchObject({ unchanged: 1 });
    expect(rowRejectedAt('1')).toBeNull();
    expect(records.rejectedOutstanding).toBe(0);
  });

  test('a version rejected again after it was resolved is outstanding again, in the same row', () => {
    save({ rejected: [invalid('1', 'call me')] });
    records.saveDeletions({ runId: ++runId, deletions: [{ sourceId: '1', deletedAt: '2025-06-03T00:00:00.000Z' }], checkpoint: null, watermark: null });
    expect(records.rejectedOutstanding).toBe(0);
    save({ rejected: [invalid('1', 'call me')] });
    expect(rejectedRows()).toEqual([{ source_id: '1', run_id: 1, resolved_at: null }]);
    expect(records.rejectedOutstanding).toBe(1);
  });

  test('a record never accepted has no row but counts until it is deleted in the source; one without an id never counts', () => {
    save({ rejected: [invalid('2', 'nope'), invalid(null, 'nope')] });
    save({ rejected: [invalid(null, 'nope')] });
    expect(query(db, 'SELECT * FROM records')).toEqual([]);
    expect(rejectedRows()).toHaveLength(2);
    expect(records.rejectedOutstanding).toBe(1);
    expect(outstandingRejections(store, { limit: 10 })).toMatchObject({ total: 1, rows: [{ objectType: 'contacts', source: 'hubspot', sourceId: '2', reasons: [{ reason: 'not a valid phone number' }] }] });
    records.saveDeletions({ runId: ++runId, deletions: [{ sourceId: '2', deletedAt: '2025-06-03T00:00:00.000Z' }], checkpoint: null, watermark: null });
    expect(records.rejectedOutstanding).toBe(0);
    expect(outstandingRejections(store, { limit: 10 }).total).toBe(0);
  });

  test('a complete full read that no longer sees a rejected record resolves it (a deletion in a source without a list of them)', () => {
    save({ records: [valid('1', '+4420794600')] });
    save({ rejected: [invalid('1', 'call me'), invalid('2', 'nope')] });
    records.startFullRead();
    save({ rejected: [invalid('1', 'call me')], markSeen: true });
    records.sweepUnseen({ runId: ++runId, checkpoint: null, watermark: null, deletedAt: '2025-06-03T00:00:00.000Z' });
    expect(outstandingRejections(store, { limit: 10 }).rows.map((row) => row.sourceId)).toEqual(['1']);
    expect(records.rejectedOutstanding).toBe(1);
  });
});

test('a database from before keeps one row per version, and what is still outstanding', () => {
  // The migrations up to the one before rejected versions were told apart.
  const oldMigrations = join(dir, 'old-migrations');
  cpSync(join(ROOT, 'drizzle'), oldMigrations, { recursive: true });
  const journalPath = join(oldMigrations, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const newer = journal.entries.slice(journal.entries.findIndex((entry) => entry.tag.endsWith('_rejected_versions')));
  for (const entry of newer) rmSync(join(oldMigrations, `${entry.tag}.sql`));
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, journal.entries.length - newer.length) }));

  const path = join(dir, 'before.db');
  const old = new Database(path);
  migrate(drizzle(old), { migrationsFolder: oldMigrations });
  const row = old.prepare(
    "INSERT INTO records (source, object_type, source_id, raw_json, fields_json, content_hash, first_run_id, last_run_id, is_deleted) VALUES ('hubspot', 'contacts', ?, '{}', '{}', 'h', 1, ?, ?)",
  );
  const rejection = old.prepare("INSERT INTO rejected_records (run_id, source, object_type, source_id, raw_json, reasons) VALUES (?, 'hubspot', 'contacts', ?, ?, '[]')");
  // 1: rejected by runs 2-4, never saved since: outstanding. 2: rejected by run 2, saved by run 3: resolved.
  // 3: never accepted: outstanding. 4: rejected, then deleted: resolved.
  row.run('1', 1, 0);
  for (const run of [2, 3, 4]) rejection.run(run, '1', JSON.stringify(version('1', 'call me')));
  row.run('2', 3, 0);
  rejection.run(2, '2', JSON.stringify(version('2', 'x')));
  rejection.run(2, '3', JSON.stringify(version('3', 'x')));
  rejection.run(3, '3', JSON.stringify(version('3', 'x')));
  row.run('4', 1, 1);
  rejection.run(2, '4', JSON.stringify(version('4', 'x')));
  old.close();

  store.close();
  store = openStore(path);
  expect(query(path, 'SELECT source_id, run_id, resolved_at IS NULL AS outstanding FROM rejected_records ORDER BY id')).toEqual([
    { source_id: '1', run_id: 2, outstanding: 1 },
    { source_id: '2', run_id: 2, outstanding: 0 },
    { source_id: '3', run_id: 2, outstanding: 1 },
    { source_id: '4', run_id: 2, outstanding: 0 },
  ]);
  expect(query(path, 'SELECT source_id, rejected_at IS NOT NULL AS marked FROM records ORDER BY source_id')).toEqual([
    { source_id: '1', marked: 1 },
    { source_id: '2', marked: 0 },
    { source_id: '4', marked: 0 },
  ]);
  // The same version rejected again takes over the row kept from before.
  records = new RecordRepository(store, new SyncHistoryRepository(store), 'hubspot', 'contacts');
  save({ rejected: [invalid('1', 'call me')] });
  expect(query(path, "SELECT count(*) AS n FROM rejected_records WHERE source_id = '1'")).toEqual([{ n: 1 }]);
});
