import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { describe, expect, test } from 'vitest';
import { openStore } from '../../src/db/database.js';
import { CRMSYNC_APPLICATION_ID, MIGRATIONS_FOLDER } from '../../src/db/identity.js';
import { crmsync, tempDir } from '../helpers/cli.js';
import { history, query, queryOne } from '../helpers/db.js';
import { dynamicsEmulatorPerTest, dynamicsEnvOf, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, hubspotEnvOf, settingsOf } from '../helpers/emulator.js';
import { syncFromDynamics, syncObject } from '../helpers/engine.js';
import { expectSoundTimelines, versionsOf } from '../helpers/versions.js';

const dir = tempDir();
const startEmulator = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();

/** The columns and indexes of sync_history the architecture documents: anyone may query them by these names. */
const DOCUMENTED_COLUMNS = [
  'crm_source', 'sync_type', 'status', 'start_time', 'end_time', 'records_processed', 'records_created', 'records_updated',
  'records_failed', 'error_message', 'performance_metrics', 'configuration',
];
const DOCUMENTED_INDEXES = [
  [['crm_source', 0], ['sync_type', 0], ['start_time', 1]],
  [['status', 0], ['start_time', 1]],
  [['end_time', 1]],
];

/** Migrations of the release before sync_history took its documented shape (0000-0004). */
const RELEASE_MIGRATIONS = 5;

/** An empty database exactly as that release created it: its migrations applied, crmsync's mark set. */
function releaseDatabase(path: string): Database.Database {
  const folder = join(tempDir(), 'release-migrations');
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, RELEASE_MIGRATIONS) }));
  const sqlite = new Database(path);
  sqlite.pragma(`application_id = ${CRMSYNC_APPLICATION_ID}`);
  sqlite.pragma('journal_mode = WAL');
  migrate(drizzle(sqlite), { migrationsFolder: folder });
  return sqlite;
}

/**
 * Writes what that release wrote for these runs and records: the entity in object_type, the
 * read in sync_type (also inside the stored strategy), associations named "from->to".
 */
function writeAsRelease(sqlite: Database.Database, current: string, { withAssociationRun = false } = {}): void {
  const runs = query<Record<string, unknown>>(current, 'SELECT * FROM sync_history ORDER BY id');
  const insertRun = sqlite.prepare(
    `INSERT INTO sync_history (id, object_type, crm_source, sync_type, status, start_time, end_time, records_processed, records_created,
       records_updated, records_unchanged, records_deleted, records_failed, error_message, performance_metrics, configuration, watermark,
       checkpoint, delta_link, host, pid, heartbeat_at)
     VALUES (@id, @entity, @crm_source, @mode, @status, @start_time, @end_time, @records_processed, @records_created, @records_updated,
       @records_unchanged, @records_deleted, @records_failed, @error_message, @performance_metrics, @configuration, @watermark, @checkpoint,
       @delta_link, @host, @pid, @heartbeat_at)`,
  );
  for (const run of runs) {
    const configuration = JSON.parse(String(run.configuration)) as { strategy: Record<string, unknown> };
    const { syncMode, ...strategy } = configuration.strategy;
    // That release called a read after a delta link incremental.
    const mode = syncMode === 'changes' ? 'incremental' : syncMode;
    insertRun.run({ ...run, entity: run.sync_type, mode, configuration: JSON.stringify({ ...configuration, strategy: { syncType: mode, ...strategy } }) });
  }
  if (withAssociationRun) insertRun.run({
    ...runs[0], id: runs.length + 1, entity: 'contacts->companies', mode: 'full', watermark: null, configuration: JSON.stringify({ full: false, strategy: { syncType: 'full', mode: 'full' } }),
  });
  const insertRecord = sqlite.prepare(
    `INSERT INTO records (source, object_type, source_id, raw_json, fields_json, content_hash, source_modified_at, is_deleted, deleted_at, first_run_id, last_run_id, rejected_at)
     VALUES (@source, @object_type, @source_id, @raw_json, @fields_json, @content_hash, @source_modified_at, @is_deleted, @deleted_at, @first_run_id, @last_run_id, @rejected_at)`,
  );
  for (const record of query(current, 'SELECT * FROM records')) insertRecord.run(record);
}

describe('sync_history in its documented shape', () => {
  test('has the documented columns and indexes, with crmsync’s own columns beside them', () => {
    const store = openStore(':memory:');
    const columns = (store.sqlite.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('sync_history') as string[]);
    expect(columns).toEqual(expect.arrayContaining([...DOCUMENTED_COLUMNS, 'sync_mode', 'records_unchanged', 'records_deleted', 'watermark', 'checkpoint', 'delta_link', 'heartbeat_at']));
    expect(columns).not.toContain('object_type');
    const indexes = (store.sqlite.prepare("SELECT name FROM pragma_index_list('sync_history')").pluck().all() as string[]).map((name) =>
      (store.sqlite.prepare('SELECT name, "desc" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno').raw().all(name) as [string, number][]),
    );
    for (const documented of DOCUMENTED_INDEXES) expect(indexes).toContainEqual(documented);
    store.close();
  });
});

describe('upgrading a database the previous release wrote', () => {
  test('keeps every run, names entities and reads apart, continues from the watermark, and gives each record its first version', async () => {
    const emulator = await startEmulator({ seed: { contacts: 150 }, seedValue: 81 });
    // What the release saved: the runs and records of a full sync (taken from one made now), then one record deleted.
    const current = join(dir, 'current.db');
    const first = await syncObject('contacts', current, settingsOf(emulator));
    const path = join(dir, 'release.db');
    const release = releaseDatabase(path);
    writeAsRelease(release, current, { withAssociationRun: true });
    const [gone, kept] = emulator.store.all('contacts');
    emulator.store.archive('contacts', gone.id);
    release.prepare("UPDATE records SET is_deleted = 1, deleted_at = '2026-01-05T00:00:00.000Z' WHERE source_id = ?").run(gone.id);
    release.close();

    const next = await crmsync(['sync-contacts', '--json'], hubspotEnvOf(emulator, path));
    expect(next.code, next.stderr).toBe(0);
    const [result] = (JSON.parse(next.stdout) as { results: { syncMode: string; counts: { processed: number; created: number } }[] }).results;
    expect(result.syncMode).toBe('incremental');
    expect(result.counts.created).toBe(0);
    expect(result.counts.processed).toBeLessThan(150);

    expect(history(path, 'id, crm_source, sync_type, sync_mode, status, watermark')).toEqual([
      { id: 1, crm_source: 'hubspot', sync_type: 'contacts', sync_mode: 'full', status: 'success', watermark: first.watermark },
      { id: 2, crm_source: 'hubspot', sync_type: 'contacts:companies', sync_mode: 'full', status: 'success', watermark: null },
      { id: 3, crm_source: 'hubspot', sync_type: 'contacts', sync_mode: 'incremental', status: 'success', watermark: first.watermark },
    ]);
    const upgraded = JSON.parse(queryOne<{ configuration: string }>(path, 'SELECT configuration FROM sync_history WHERE id = 1')!.configuration) as { strategy: Record<string, unknown> };
    expect(upgraded.strategy).toMatchObject({ syncMode: 'full', mode: 'full' });
    expect(upgraded.strategy).not.toHaveProperty('syncType');

    const keptRow = queryOne<{ source_modified_at: string; fields_json: string }>(path, 'SELECT source_modified_at, fields_json FROM records WHERE source_id = ?', kept.id)!;
    expect(versionsOf(path, kept.id)).toEqual([expect.objectContaining({ valid_from: keptRow.source_modified_at, valid_to: null, is_current: 1, fields_json: keptRow.fields_json, run_id: 1 })]);
    expect(versionsOf(path, gone.id)).toEqual([expect.objectContaining({ valid_to: '2026-01-05T00:00:00.000Z', is_current: 0 })]);
    expect(queryOne(path, 'SELECT count(*) AS n FROM hubspot_contacts_history')).toEqual({ n: 150 });
    expectSoundTimelines(path);

    const runs = await crmsync(['history', '--object', 'contacts:companies'], hubspotEnvOf(emulator, path));
    expect(runs.stdout.trim().split('\n')[1]).toMatch(/^2\s+contacts:companies\s+hubspot\s+full\s+success/);
  });

  test('a Dynamics 365 database continues from its delta link: the next run reads only the changes', async () => {
    const emulator = await startDynamics({ seed: { contacts: 80 }, seedValue: 82 });
    const current = join(dir, 'current-dynamics.db');
    await syncFromDynamics('contacts', current, dynamicsSettingsOf(emulator));
    const [first, second] = emulator.store.all('contacts').map((row) => String(row.contactid));
    emulator.store.update('contacts', first, { jobtitle: 'Read by delta link' });
    expect((await syncFromDynamics('contacts', current, dynamicsSettingsOf(emulator))).syncMode).toBe('changes');
    const path = join(dir, 'release-dynamics.db');
    const release = releaseDatabase(path);
    writeAsRelease(release, current);
    release.close();

    emulator.store.update('contacts', second, { jobtitle: 'Read after the upgrade' });
    const next = await crmsync(['sync-contacts', '--source', 'dynamics', '--json'], { ...dynamicsEnvOf(emulator), CRMSYNC_DB: path });
    expect(next.code, next.stderr).toBe(0);
    const [result] = (JSON.parse(next.stdout) as { results: { syncMode: string; counts: object; metrics: { requests: number } }[] }).results;
    expect(result).toMatchObject({ syncMode: 'changes', counts: { processed: 1, updated: 1, created: 0 }, metrics: { requests: 1 } });
    expect(history(path, 'sync_type, sync_mode')).toEqual([
      { sync_type: 'contacts', sync_mode: 'full' },
      { sync_type: 'contacts', sync_mode: 'changes' },
      { sync_type: 'contacts', sync_mode: 'changes' },
    ]);
    const versions = versionsOf(path, second, 'dynamics');
    expect(versions).toHaveLength(2);
    expect(JSON.parse(versions[1].fields_json)).toMatchObject({ jobtitle: 'Read after the upgrade' });
    expectSoundTimelines(path);
  });
});
