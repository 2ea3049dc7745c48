import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { dynamics as dynamicsConnector } from '../../src/clients/dynamics/index.js';
import { objectByName } from '../../src/config/load.js';
import { CONTACTS, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithDynamics, expectComplete } from '../helpers/completeness.js';
import { history, localRow } from '../helpers/db.js';
import { dynamicsEmulatorPerTest, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { config, DEFAULT_OPTIONS, recordingLogger, runEngine, syncFromDynamics } from '../helpers/engine.js';

const contacts = objectByName(config, 'contacts', 'dynamics');
const companies = objectByName(config, 'companies', 'dynamics');
const dir = tempDir();
const start = dynamicsEmulatorPerTest();
const RETRY = { retries: 5, minDelayMs: 5, maxDelayMs: 40, timeoutMs: 10_000, rateLimitWaitMs: 50 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const historyOf = (db: string) =>
  history<{ id: number; crm_source: string; sync_mode: string; status: string; error_message: string | null; delta_link: string | null; watermark: string | null }>(
    db,
    'id, crm_source, sync_mode, status, error_message, delta_link, watermark',
  );

const idOf = (row: Record<string, unknown>, key = 'contactid') => String(row[key]);

/** Edits the way users do in Dynamics 365: returns what changed. */
function makeChanges(emulator: DynamicsEmulator, counts: { update: number; create: number; remove: number }) {
  const rows = emulator.store.all('contacts');
  const updated = rows.slice(0, counts.update).map((row) => idOf(emulator.store.update('contacts', idOf(row), { jobtitle: 'Chief Revenue Officer' })));
  const created = Array.from({ length: counts.create }, (_, index) =>
    idOf(emulator.store.create('contacts', { firstname: 'New', lastname: `Contact ${index}`, emailaddress1: `new.${index}@example.com` })),
  );
  const removed = rows.slice(counts.update, counts.update + counts.remove).map((row) => idOf(row));
  for (const id of removed) emulator.store.delete('contacts', id);
  return { updated, created, removed };
}

describe('a full read from Dynamics 365', () => {
  test('pages with odata.maxpagesize and nextLink: every row once, the delta link kept in sync_history, the view filled', async () => {
    const emulator = await start({ seed: { contacts: 2_300 }, seedValue: 5 });
    const db = join(dir, 'full.db');
    const result = await syncFromDynamics('contacts', db, dynamicsSettingsOf(emulator), { batchSize: 500 });
    expect(result).toMatchObject({ status: 'success', syncMode: 'full', source: 'dynamics', exitCode: 0 });
    expect(result.counts).toMatchObject({ processed: 2_300, created: 2_300, deleted: 0, failed: 0 });
    // The latest modification time (the watermark), then five pages of at most 500.
    expect(result.metrics.requests).toBe(1 + 5);
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
    const [run] = historyOf(db);
    expect(run).toMatchObject({ crm_source: 'dynamics', sync_mode: 'full', status: 'success' });
    expect(run.delta_link).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\/contacts\?.*\$deltatoken=/);

    const [sample] = emulator.store.all('contacts');
    const local = localRow(db, 'dynamics_contacts', idOf(sample));
    expect(local).toMatchObject({ firstname: sample.firstname, lastname: sample.lastname, is_deleted: 0 });
    expect(local!.modified_at).toBe(new Date(String(sample.modifiedon)).toISOString());
  });

  test('accounts fill the companies view, with numbers and money as numbers', async () => {
    const emulator = await start({ seed: { accounts: 120 }, seedValue: 6 });
    const db = join(dir, 'accounts.db');
    const result = await syncFromDynamics('companies', db, dynamicsSettingsOf(emulator));
    expect(result.counts).toMatchObject({ processed: 120, created: 120 });
    expect(expectComplete(compareWithDynamics(db, emulator.store, companies))).toEqual(COMPLETE);
    const account = emulator.store.all('accounts').find((row) => typeof row.revenue === 'number')!;
    expect(localRow(db, 'dynamics_companies', idOf(account, 'accountid'))).toMatchObject({ name: account.name, annualrevenue: account.revenue });
  });
});

describe('incremental reads through change tracking', () => {
  test('a delta read brings creates, updates and deletes in one request; the next run is a no-op', async () => {
    const emulator = await start({ seed: { contacts: 500 }, seedValue: 7 });
    const db = join(dir, 'delta.db');
    const settings = dynamicsSettingsOf(emulator);
    await syncFromDynamics('contacts', db, settings);
    const { removed } = makeChanges(emulator, { update: 3, create: 2, remove: 2 });

    const second = await syncFromDynamics('contacts', db, settings);
    expect(second).toMatchObject({ status: 'success', syncMode: 'changes' });
    expect(second.counts).toMatchObject({ processed: 5, created: 2, updated: 3, deleted: 2, unchanged: 0 });
    expect(second.metrics.requests).toBe(1);
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
    for (const id of removed) expect(localRow(db, 'dynamics_contacts', id)).toMatchObject({ is_deleted: 1, deleted_at: expect.any(String) });

    const third = await syncFromDynamics('contacts', db, settings);
    expect(third.counts).toMatchObject({ processed: 0, created: 0, updated: 0, deleted: 0 });
    expect(third.metrics.requests).toBe(1);
    const runs = historyOf(db);
    expect(new Set(runs.map((run) => run.delta_link)).size).toBe(3);
  });

  test('more changes than a page come in pages, and the delta link is replayable until a run completes', async () => {
    const emulator = await start({ seed: { contacts: 1_500 }, seedValue: 8 });
    const db = join(dir, 'delta-pages.db');
    const settings = dynamicsSettingsOf(emulator);
    await syncFromDynamics('contacts', db, settings, { batchSize: 500 });
    makeChanges(emulator, { update: 1_200, create: 0, remove: 0 });

    // Stopped after 600 records: the delta link is not advanced, so nothing is lost.
    const partial = await syncFromDynamics('contacts', db, settings, { batchSize: 500, maxRecords: 600 });
    expect(partial.counts.processed).toBe(600);
    const rest = await syncFromDynamics('contacts', db, settings, { batchSize: 500 });
    expect(rest.syncMode).toBe('changes');
    expect(rest.counts).toMatchObject({ processed: 1_200, updated: 600, unchanged: 600 });
    expect(rest.metrics.requests).toBe(3);
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
  });

  test('an expired delta link turns the run into a full read, with a warning; rows deleted meanwhile are marked deleted', async () => {
    const emulator = await start({ seed: { contacts: 300 }, seedValue: 9 });
    const db = join(dir, 'expired.db');
    const settings = dynamicsSettingsOf(emulator);
    await syncFromDynamics('contacts', db, settings);
    const { removed } = makeChanges(emulator, { update: 4, create: 1, remove: 5 });
    emulator.expireDeltaTokens();

    const { lines, log } = recordingLogger();
    const fallback = await syncFromDynamics('contacts', db, settings, {}, log);
    expect(lines.join('')).toMatch(/contacts \(dynamics\): Dynamics 365 no longer has the changes since the last run \(.*full sync.*\); reading everything instead/);
    expect(fallback).toMatchObject({ status: 'success', syncMode: 'full' });
    expect(fallback.counts).toMatchObject({ processed: 296, created: 1, updated: 4, unchanged: 291, deleted: 5 });
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
    for (const id of removed) expect(localRow(db, 'dynamics_contacts', id)).toMatchObject({ is_deleted: 1 });
    expect(historyOf(db).at(-1)).toMatchObject({ sync_mode: 'full', status: 'success', delta_link: expect.stringContaining('$deltatoken=') });

    // The full read's new delta link works again.
    makeChanges(emulator, { update: 1, create: 0, remove: 0 });
    const next = await syncFromDynamics('contacts', db, settings);
    expect(next).toMatchObject({ syncMode: 'changes' });
    expect(next.counts).toMatchObject({ processed: 1, updated: 1 });
  });

  test('a table without change tracking: incremental runs filter on modifiedon, and full runs find deletions', async () => {
    const emulator = await start({ seed: { contacts: 400 }, seedValue: 10, entitySets: [{ ...CONTACTS, changeTracking: false }] });
    const mapping = { ...contacts, changeTracking: false };
    const db = join(dir, 'untracked.db');
    const run = (options = {}) => runEngine(mapping, db, { dynamics: dynamicsSettingsOf(emulator), log: silentLogger }, { ...DEFAULT_OPTIONS, ...options });

    const first = await run();
    expect(first.counts.created).toBe(400);
    expect(historyOf(db)[0].delta_link).toBeNull();
    makeChanges(emulator, { update: 3, create: 2, remove: 2 });

    const second = await run();
    expect(second.syncMode).toBe('incremental');
    // Changed rows come again; deletions are invisible to a modifiedon filter.
    expect(second.counts).toMatchObject({ created: 2, updated: 3, deleted: 0 });
    const third = await run({ full: true });
    expect(third.counts).toMatchObject({ deleted: 2, created: 0, updated: 0 });
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
  });

  test('tracking requested for a table without it fails with what to change', async () => {
    const emulator = await start({ seed: { contacts: 10 }, seedValue: 11, entitySets: [{ ...CONTACTS, changeTracking: false }] });
    const result = await syncFromDynamics('contacts', join(dir, 'not-tracked.db'), dynamicsSettingsOf(emulator));
    expect(result).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(result.error).toMatch(/change_tracking: false/);
  });

  test('a delta link that leads anywhere but the organisation\'s Web API is never fetched', async () => {
    const emulator = await start({ seed: { contacts: 3 }, seedValue: 11 });
    const connection = await dynamicsConnector.connect(dynamicsSettingsOf(emulator));
    const reader = connection.reader(contacts);
    for (const deltaLink of ['https://127.0.0.1:1/api/data/v9.2/contacts?$deltatoken=1', `${emulator.url}/api/data/v9.2/../../elsewhere?$deltatoken=1`, 'not a link']) {
      await expect(reader.pages({ mode: 'changes', deltaLink }).next()).rejects.toThrow(/refusing to send the access token .* it is not under the organisation's Web API/);
    }
    expect(connection.metrics.requests).toBe(0);
    expect(emulator.stats.requests).toBe(0);
  });
});

describe('sign-in with client credentials (MSAL)', () => {
  test('one token serves many requests; a token refused mid-run is replaced once and the run goes on', async () => {
    const emulator = await start({ seed: { contacts: 1_000 }, seedValue: 12 });
    const db = join(dir, 'token.db');
    const settings = dynamicsSettingsOf(emulator);
    const first = await syncFromDynamics('contacts', db, settings, { batchSize: 100 });
    expect(first.metrics.requests).toBe(11);
    expect(emulator.stats.tokenRequests).toBe(1);

    emulator.revokeTokens();
    makeChanges(emulator, { update: 2, create: 0, remove: 0 });
    const second = await syncFromDynamics('contacts', db, settings);
    expect(second).toMatchObject({ status: 'success' });
    expect(second.counts.updated).toBe(2);
    expect(emulator.stats.tokenRequests).toBe(2);
  });

  test('a token near its expiry is renewed before use', async () => {
    // MSAL renews a cached token once fewer than 300 s of it remain.
    const emulator = await start({ seed: { contacts: 50 }, seedValue: 13, tokenLifetimeSeconds: 301 });
    const db = join(dir, 'renew.db');
    const settings = dynamicsSettingsOf(emulator);
    await syncFromDynamics('contacts', db, settings);
    expect(emulator.stats.tokenRequests).toBe(1);
    await sleep(2_200);
    const second = await syncFromDynamics('contacts', db, settings);
    expect(second.status).toBe('success');
    expect(emulator.stats.tokenRequests).toBe(2);
  });

  test('a wrong client secret fails the run (exit 1, sync_history failed) naming the setting, never the secret', async () => {
    const emulator = await start({ seed: { contacts: 10 }, seedValue: 14 });
    const db = join(dir, 'wrong-secret.db');
    const secret = 'Wr0ng~Secret.Value_1234567890';
    const result = await syncFromDynamics('contacts', db, dynamicsSettingsOf(emulator, { clientSecret: secret }));
    expect(result).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(result.error).toMatch(/D365_CLIENT_SECRET/);
    expect(result.error).not.toContain(secret);
    const [run] = historyOf(db);
    expect(run).toMatchObject({ status: 'failed', crm_source: 'dynamics' });
    expect(run.error_message).toMatch(/D365_CLIENT_SECRET/);
    expect(JSON.stringify(historyOf(db))).not.toContain(secret);
  });

  test.each([
    ['an unknown tenant', { tenantId: '00000000-0000-0000-0000-00000000dead' }, /D365_TENANT_ID/],
    ['an unknown application', { clientId: '00000000-0000-0000-0000-00000000beef' }, /D365_CLIENT_ID/],
    ['an organisation the tenant does not have', { resourceUrl: 'https://elsewhere.crm4.dynamics.com' }, /D365_RESOURCE_URL/],
  ])('%s fails the run naming the setting to check', async (_, override, setting) => {
    const emulator = await start({ seed: { contacts: 5 }, seedValue: 15 });
    const db = join(dir, `sign-in-${Math.random().toString(36).slice(2)}.db`);
    const result = await syncFromDynamics('contacts', db, dynamicsSettingsOf(emulator, override));
    expect(result).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(result.error).toMatch(setting);
    expect(result.error).not.toContain(emulator.clientSecret);
  });
});

describe('service protection', () => {
  test('a storm of 429s is waited out as Retry-After says; the result is the same as a calm run', async () => {
    const emulator = await start({ seed: { contacts: 600 }, seedValue: 15 });
    const db = join(dir, 'storm.db');
    emulator.throttleNext(3, 1);
    const result = await syncFromDynamics('contacts', db, dynamicsSettingsOf(emulator), { batchSize: 200 }, undefined, RETRY);
    expect(result.status).toBe('success');
    expect(result.metrics).toMatchObject({ rateLimited: 3, retries: 3 });
    // Retry-After: 1 (seconds) each time, whatever the shorter backoff of the policy.
    expect(result.metrics.durationMs).toBeGreaterThanOrEqual(3_000);
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
  });

  test('throttling and server errors mixed through a delta read leave nothing out', async () => {
    const emulator = await start({ seed: { contacts: 800 }, seedValue: 16 });
    const db = join(dir, 'faults.db');
    const settings = dynamicsSettingsOf(emulator);
    await syncFromDynamics('contacts', db, settings, { batchSize: 100 }, undefined, RETRY);
    makeChanges(emulator, { update: 300, create: 20, remove: 10 });
    emulator.setFaults({ throttle: 0.15, serverError: 0.1, reset: 0.05, retryAfterSeconds: 1, seed: 3 });
    const result = await syncFromDynamics('contacts', db, settings, { batchSize: 50 }, undefined, { ...RETRY, retries: 10 });
    emulator.setFaults(undefined);
    expect(result.status).toBe('success');
    expect(result.metrics.retries).toBeGreaterThan(0);
    expect(result.counts).toMatchObject({ created: 20, updated: 300, deleted: 10 });
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);
  });
});

describe('reading rows by id', () => {
  test('returns the rows asked for, in queries of 50 ids, leaving out deleted and unknown ones', async () => {
    const emulator = await start({ seed: { contacts: 120 }, seedValue: 20 });
    const connection = await dynamicsConnector.connect(dynamicsSettingsOf(emulator));
    const wanted = emulator.store.all('contacts').slice(0, 60).map((row) => idOf(row));
    const deleted = wanted[5];
    emulator.store.delete('contacts', deleted);
    const rows = (await connection.reader(contacts).readByIds([...wanted, '00000000-0000-0000-0000-00000000dead', 'not-a-guid'])) as Record<string, unknown>[];
    expect(rows.map((row) => idOf(row)).sort()).toEqual(wanted.filter((id) => id !== deleted).sort());
    expect(Object.keys(rows[0]).filter((key) => !key.startsWith('@'))).toEqual(expect.arrayContaining(contacts.properties));
    expect(connection.metrics.requests).toBe(2);
  });
});
