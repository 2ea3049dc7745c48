import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, summary, tempDir } from '../helpers/cli.js';
import { query } from '../helpers/db.js';
import { FULL_READS } from '../helpers/emulator.js';
import { readOnlyFolder } from '../helpers/read-only-folder.js';

// What users saw as success while the store was wrong: each case here once passed silently.

const SEED = { contacts: 60 };
let emulator: HubSpotEmulator;
const dir = tempDir();
const baseEnv = (db: string, extra: Record<string, string> = {}) => ({ HUBSPOT_BASE_URL: emulator.url, HUBSPOT_ACCESS_TOKEN: emulator.token, CRMSYNC_DB: db, ...extra });
const env = baseEnv;
const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const results = (stdout: string) => summary(stdout).results;

/** A mappings file with one object, contacts, mapping the given field lines. */
function contactsYaml(name: string, fields: string[], extra: string[] = []): string {
  const path = join(dir, `${name}.yaml`);
  const lines = ['version: 1', 'objects:', '  contacts:', '    object_type: contacts', '    modified_property: lastmodifieddate', ...extra.map((line) => `    ${line}`), '    fields:'];
  writeFileSync(path, [...lines, ...fields.map((field) => `      ${field}`), ''].join('\n'));
  return path;
}

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ seed: SEED, seedValue: 11 });
});
afterAll(() => emulator?.close());

/**
 * An emulator of the describe block's own, so its runs do not depend on the records other
 * tests add to the shared one; returns the environment for a database.
 */
function ownEmulator(): (db: string) => Record<string, string> {
  let own: HubSpotEmulator;
  beforeAll(async () => {
    own = await startHubSpotEmulator({ seed: SEED, seedValue: 12 });
  });
  afterAll(() => own?.close());
  return (db) => ({ HUBSPOT_BASE_URL: own.url, HUBSPOT_ACCESS_TOKEN: own.token, CRMSYNC_DB: db });
}

describe.each(FULL_READS)('full reads: %s', (fullRead) => {
  // Databases of their own: a run of one way never finds the other's.
  const dir = tempDir();
  const env = (db: string, extra: Record<string, string> = {}) => baseEnv(db, { HUBSPOT_FULL_READ: fullRead, ...extra });

  describe('a changed mapping reaches every existing row', () => {
    const base = ['email: { type: email }', 'firstname: { type: string }', 'modified_at: { property: lastmodifieddate, type: datetime, required: true }'];

    test('--full after mapping a property already fetched fills it on every row, and a second --full finds them unchanged', async () => {
      const db = join(dir, 'mapping-added.db');
      // jobtitle is fetched and kept in the raw record before it is mapped: the raw JSON does not change.
      expect((await crmsync(['--config', contactsYaml('before', base, ['properties: [jobtitle]']), 'sync-contacts', '--json'], env(db))).code).toBe(0);

      const withJobTitle = contactsYaml('added', [...base, 'jobtitle: { type: string }'], ['properties: [jobtitle]']);
      const full = await crmsync(['--config', withJobTitle, 'sync-contacts', '--full', '--json'], env(db));
      expect(full.code, full.stderr).toBe(0);
      expect(results(full.stdout)[0].counts).toMatchObject({ processed: SEED.contacts, updated: SEED.contacts, unchanged: 0 });
      const withTitle = emulator.store.all('contacts').filter((record) => record.properties.jobtitle).length;
      expect(withTitle).toBeGreaterThan(0);
      expect(query<{ n: number }>(db, 'SELECT count(*) AS n FROM hubspot_contacts WHERE jobtitle IS NOT NULL')[0].n).toBe(withTitle);

      const again = await crmsync(['--config', withJobTitle, 'sync-contacts', '--full', '--json'], env(db));
      expect(results(again.stdout)[0].counts).toMatchObject({ updated: 0, unchanged: SEED.contacts });
    });

    test('a renamed column is filled by --full', async () => {
      const db = join(dir, 'mapping-renamed.db');
      expect((await crmsync(['--config', contactsYaml('named', base), 'sync-contacts', '--json'], env(db))).code).toBe(0);
      const renamed = contactsYaml('renamed', [base[0], 'given_name: { property: firstname, type: string }', base[2]]);
      const full = await crmsync(['--config', renamed, 'sync-contacts', '--full', '--json'], env(db));
      expect(results(full.stdout)[0].counts.updated).toBe(SEED.contacts);
      const withName = emulator.store.all('contacts').filter((record) => record.properties.firstname).length;
      expect(query<{ n: number }>(db, 'SELECT count(*) AS n FROM hubspot_contacts WHERE given_name IS NOT NULL')[0].n).toBe(withName);
    });

    test('an incremental run after the mapping changed says so and reads everything, so no row keeps the old mapping', async () => {
      const db = join(dir, 'mapping-incremental.db');
      expect((await crmsync(['--config', contactsYaml('plain', base), 'sync-contacts'], env(db))).code).toBe(0);
      const withCity = contactsYaml('city', [...base, 'city: { type: string }']);
      const next = await crmsync(['--config', withCity, 'sync-contacts', '--json'], env(db));
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/mapping of contacts changed/i);
      expect(results(next.stdout)[0]).toMatchObject({ syncMode: 'full', counts: { updated: SEED.contacts } });
      const withCityCount = emulator.store.all('contacts').filter((record) => record.properties.city).length;
      expect(query<{ n: number }>(db, 'SELECT count(*) AS n FROM hubspot_contacts WHERE city IS NOT NULL')[0].n).toBe(withCityCount);
      // Settled: the next incremental run is incremental again.
      expect(results((await crmsync(['--config', withCity, 'sync-contacts', '--json'], env(db))).stdout)[0].syncMode).toBe('incremental');
    });
  });

  describe('a record whose latest version is rejected stays marked and reported until it is resolved', () => {
    // HubSpot checks emails itself; a phone property takes any text, which crmsync's phone type refuses.
    const fields = ['email: { type: email }', 'phone: { type: phone }', 'modified_at: { property: lastmodifieddate, type: datetime, required: true }'];

    test('marked in the view, partial (exit 3) on every run, listed by history, stored once per version, cleared by a valid version', async () => {
      const db = join(dir, 'rejected.db');
      const config = contactsYaml('strict', fields);
      expect((await crmsync(['--config', config, 'sync-contacts'], env(db))).code).toBe(0);
      const [victim] = emulator.store.all('contacts');
      emulator.store.update('contacts', victim.id, { phone: 'call me maybe' });

      const first = await crmsync(['--config', config, 'sync-contacts', '--json'], env(db));
      expect(first.code).toBe(3);
      const marked = () => query<{ rejected_at: string | null; phone: string | null }>(db, 'SELECT rejected_at, phone FROM hubspot_contacts WHERE id = ?', victim.id)[0];
      expect(marked().rejected_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);

      // Later runs see nothing new, yet the store still differs from the source: still partial.
      for (const args of [['sync-contacts'], ['sync-contacts', '--full'], ['sync-contacts', '--full']]) {
        const again = await crmsync(['--config', config, ...args, '--json'], env(db));
        expect(again.code).toBe(3);
        expect(results(again.stdout)[0].status).toBe('partial');
      }
      expect(query<{ n: number }>(db, 'SELECT count(*) AS n FROM rejected_records WHERE source_id = ?', victim.id)[0].n).toBe(1);

      const listed = await crmsync(['history'], env(db));
      expect(listed.stdout).toContain(victim.id);
      expect(listed.stdout).toMatch(/not a valid phone number/);

      emulator.store.update('contacts', victim.id, { phone: '+44 20 7946 0000' });
      const fixed = await crmsync(['--config', config, 'sync-contacts', '--json'], env(db));
      expect(fixed.code, fixed.stdout).toBe(0);
      expect(marked()).toEqual({ rejected_at: null, phone: '+442079460000' });
    });

    test('relaxing the mapping (validation: lenient) resolves it on the next run', async () => {
      const db = join(dir, 'rejected-lenient.db');
      const strict = contactsYaml('strict2', fields);
      const [, victim] = emulator.store.all('contacts');
      emulator.store.update('contacts', victim.id, { phone: 'no phone here' });
      expect((await crmsync(['--config', strict, 'sync-contacts'], env(db))).code).toBe(3);
      const lenient = contactsYaml('lenient', fields, ['validation: lenient']);
      const next = await crmsync(['--config', lenient, 'sync-contacts', '--json'], env(db));
      expect(next.code, next.stdout).toBe(0);
      expect(query<{ rejected_at: string | null }>(db, 'SELECT rejected_at FROM hubspot_contacts WHERE id = ?', victim.id)[0].rejected_at).toBeNull();
      // Later tests share the emulator and the shipped mappings.yaml, which types phone strictly.
      emulator.store.update('contacts', victim.id, { phone: '+44 20 7946 0001' });
    });
  });

  test('a NUL byte and a lone surrogate reach the view as valid text, as the README documents', async () => {
    const db = join(dir, 'text.db');
    const [record] = emulator.store.all('contacts');
    emulator.store.update('contacts', record.id, { firstname: 'a\u0000b', lastname: 'x\ud800y' });
    expect((await crmsync(['sync-contacts'], env(db))).code).toBe(0);
    const [row] = query<{ firstname: string; lastname: string; first_hex: string; last_hex: string }>(
      db,
      'SELECT firstname, lastname, hex(firstname) AS first_hex, hex(lastname) AS last_hex FROM hubspot_contacts WHERE id = ?',
      record.id,
    );
    expect(row.firstname).toBe('a\ufffdb');
    expect(row.lastname).toBe('x\ufffdy');
    // The bytes SQLite holds are UTF-8 that any reader can decode.
    for (const hex of [row.first_hex, row.last_hex]) {
      const bytes = Buffer.from(hex, 'hex');
      expect(Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)).toBe(true);
    }
    // The raw JSON keeps exactly what the source sent.
    const [raw] = query<{ raw_json: string }>(db, "SELECT raw_json FROM records WHERE source = 'hubspot' AND source_id = ?", record.id);
    expect(JSON.parse(raw.raw_json).properties.firstname).toBe('a\u0000b');
  });
});

describe('--db names a file that is not a crmsync database, or cannot be one', () => {
  const ownEnv = ownEmulator();
  test("another application's SQLite file is refused untouched", async () => {
    const path = join(dir, 'other-app.db');
    const other = new Database(path);
    other.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')");
    other.close();
    const before = fileHash(path);
    const run = await crmsync(['sync-contacts', '--db', path], ownEnv(path));
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(path);
    expect(run.stderr).toMatch(/not a crmsync database.*customers/);
    expect(fileHash(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  test('a database written by a newer crmsync is refused with a clear message', async () => {
    const path = join(dir, 'newer.db');
    expect((await crmsync(['sync-contacts'], ownEnv(path))).code).toBe(0);
    const handle = new Database(path);
    handle.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('f'.repeat(64), 4_102_444_800_000);
    handle.close();
    const before = fileHash(path);
    const run = await crmsync(['sync-contacts'], ownEnv(path));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/newer (version of )?crmsync/);
    expect(fileHash(path)).toBe(before);
  });

  test.each([
    ['a directory', () => dir, /is a directory/],
    ['a path in a missing directory', () => join(dir, 'no', 'such', 'dir', 'x.db'), /directory .* does not exist/],
  ])('%s: exit 2 naming the path', async (_, path, reason) => {
    const run = await crmsync(['sync-contacts', '--db', path()], { HUBSPOT_ACCESS_TOKEN: 'pat-x', HUBSPOT_BASE_URL: 'http://127.0.0.1:9' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(path());
    expect(run.stderr).toMatch(reason);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('a configuration error found in mappings.yaml leaves no database file behind', async () => {
    const db = join(dir, 'never-created.db');
    const config = contactsYaml('reserved-view', ['email: { type: email }'], ['table: records']);
    const run = await crmsync(['--config', config, 'sync-contacts'], env(db));
    expect(run.code).toBe(2);
    expect(existsSync(db)).toBe(false);
  });
});

describe.each(FULL_READS)('full reads: %s', (fullRead) => {
  // Databases of their own: a run of one way never finds the other's.
  const dir = tempDir();

  test('a dry run started while a real run is live reads for itself and never adopts the live run', async () => {
    const slow = await startHubSpotEmulator({ seed: { contacts: 3_000 }, seedValue: 5, latencyMs: 120 });
    try {
      const db = join(dir, 'live.db');
      const slowEnv = { HUBSPOT_BASE_URL: slow.url, HUBSPOT_ACCESS_TOKEN: slow.token, CRMSYNC_DB: db, HUBSPOT_FULL_READ: fullRead };
      const live = crmsync(['sync-contacts', '--batch-size', '100'], slowEnv);
      // Wait until the live run has committed a page (the file exists a moment before its tables do).
      const committed = () => {
        try {
          return query<{ n: number }>(db, "SELECT count(*) AS n FROM sync_history WHERE status = 'running' AND checkpoint IS NOT NULL")[0].n > 0;
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !committed()) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(committed()).toBe(true);
      const dry = await crmsync(['sync-contacts', '--dry-run', '--json'], slowEnv);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).not.toMatch(/resuming/);
      expect(results(dry.stdout)[0].counts.processed).toBe(3_000);
      expect((await live).code).toBe(0);
    } finally {
      await slow.close();
    }
  });
});

describe('a database whose folder cannot be written (a read-only filesystem, or no write permission)', () => {
  const ownEnv = ownEmulator();
  test('history and a dry run read it, a sync says it cannot write there, and nothing is left next to it', async (context) => {
    const folder = join(dir, 'readonly');
    mkdirSync(folder);
    const readOnly = readOnlyFolder(folder);
    context.skip(!readOnly.available, readOnly.reason);
    const db = join(folder, 'crmsync.db');
    expect((await crmsync(['sync-contacts'], ownEnv(db))).code).toBe(0);
    const before = fileHash(db);

    const history = await readOnly.run(['history', '--json'], ownEnv(db));
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toMatchObject([{ syncType: 'contacts', syncMode: 'full', status: 'success', recordsCreated: SEED.contacts }]);
    const dry = await readOnly.run(['sync-contacts', '--dry-run', '--full', '--json'], ownEnv(db));
    expect(dry.code, dry.stderr).toBe(0);
    expect(results(dry.stdout)[0].counts).toMatchObject({ processed: SEED.contacts, unchanged: SEED.contacts });
    const sync = await readOnly.run(['sync-contacts'], ownEnv(db));
    expect(sync.code).toBe(2);
    expect(sync.stderr.trim().split('\n')).toHaveLength(1);
    expect(sync.stderr).toContain(`${db}: cannot write to ${folder}`);

    expect(fileHash(db)).toBe(before);
    expect(readdirSync(folder)).toEqual(['crmsync.db']);
  });

  test('a write-ahead log that needs a -shm file which cannot be created is refused saying so', async (context) => {
    const source = join(dir, 'wal-source.db');
    expect((await crmsync(['sync-contacts'], ownEnv(source))).code).toBe(0);
    const folder = join(dir, 'readonly-wal');
    mkdirSync(folder);
    const readOnly = readOnlyFolder(folder);
    context.skip(!readOnly.available, readOnly.reason);
    // A copy taken while a writer had committed to the log but not yet into the file, as
    // after a crash: the -wal file is there, its -shm index is not.
    const writer = new Database(source);
    writer.prepare("UPDATE sync_history SET status = 'failed'").run();
    copyFileSync(source, join(folder, 'crmsync.db'));
    copyFileSync(`${source}-wal`, join(folder, 'crmsync.db-wal'));
    writer.close();
    const db = join(folder, 'crmsync.db');

    const history = await readOnly.run(['history'], ownEnv(db));
    expect(history.code).toBe(2);
    expect(history.stderr.trim().split('\n')).toHaveLength(1);
    expect(history.stderr).toContain(`${db}-shm`);
    expect(history.stderr).toContain(folder);
    expect(readdirSync(folder).sort()).toEqual(['crmsync.db', 'crmsync.db-wal']);
    // Where the index can be created, the logged change is read.
    const writable = await crmsync(['history', '--json'], ownEnv(db));
    expect(writable.code, writable.stderr).toBe(0);
    expect(JSON.parse(writable.stdout)).toMatchObject([{ status: 'failed' }]);
  });
});
