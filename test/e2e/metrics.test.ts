/**
 * `crmsync metrics` and the syncs' --metrics-textfile, through the command line, after real
 * runs against both emulators: one-way runs that succeed and fail, and two-way runs that
 * open a conflict, dead-letter a write Dataverse refuses and leave one waiting. The output
 * is read with a parser of the Prometheus text format and compared with the database.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, ROOT, tempDir, type CliResult } from '../helpers/cli.js';
import { query, queryOne } from '../helpers/db.js';
import { expectedMetrics, parseExposition, samplesOf, seriesKey } from '../helpers/prometheus.js';
import { pollFile } from '../helpers/textfile.js';
import { twoWayEnvOf, type EmulatorPair } from '../helpers/two-way-checks.js';
import { openStore } from '../../src/db/database.js';
import { WebhookEvents } from '../../src/db/webhook-events.js';
import type { IncomingEvent } from '../../src/processors/webhook-events.js';
import { mappingsVariant, runTwoWay, TWO_WAY_RETRY, withWriter } from '../helpers/two-way.js';

const SHARED = { contacts: 12, companies: 0 };
/** Dataverse's contact.jobtitle holds 100 characters; HubSpot takes far longer text. */
const TOO_LONG = `Regional Vice President of ${'Customer Success and Partnerships, '.repeat(3)}EMEA`;
const MANUAL_JOB_TITLE: [string, string] = [
  '        email_optout: { direction: hubspot_to_dynamics }\n',
  '        email_optout: { direction: hubspot_to_dynamics }\n        jobtitle: { conflict: manual }\n',
];
const METRICS = {
  gauges: ['crmsync_last_success_timestamp_seconds', 'crmsync_last_run_duration_seconds', 'crmsync_last_run_status', 'crmsync_conflicts_open', 'crmsync_outbox_depth', 'crmsync_webhook_events_waiting'],
  counters: ['crmsync_records_total', 'crmsync_requests_total', 'crmsync_rate_limited_total', 'crmsync_retries_total', 'crmsync_outbox_dead_total', 'crmsync_webhook_events_total'],
};

const dir = tempDir();
const db = join(dir, 'crmsync.db');
const textfiles = join(dir, 'textfiles');
const config = join(dir, 'mappings.yaml');
const pair = {} as EmulatorPair;

beforeAll(async () => {
  mkdirSync(textfiles);
  const [from, to] = MANUAL_JOB_TITLE;
  writeFileSync(config, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8').replace(from, to));
  pair.hubspot = await startHubSpotEmulator({ seed: { contacts: 4, companies: 3 }, sharedSeed: SHARED, seedValue: 29 });
  pair.dynamics = await startDynamicsEmulator({ seed: { contacts: 4, accounts: 0 }, sharedSeed: SHARED, seedValue: 29 });
});
afterAll(() => Promise.all([pair.hubspot?.close(), pair.dynamics?.close()]));

async function run(args: string[], expectedCode: number, env: Record<string, string> = {}): Promise<CliResult> {
  const result = await crmsync(['--config', config, ...args], { ...twoWayEnvOf(pair, db), ...env });
  expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expectedCode);
  return result;
}

const metricsText = async () => (await run(['metrics'], 0)).stdout;
const value = (text: string, name: string, labels: Record<string, string>) => parseExposition(text).get(name)?.samples.get(seriesKey(labels));
const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Linked contact pairs with no open conflict, by HubSpot id. */
const quietPairs = () =>
  query<{ hubspotId: string; dynamicsId: string }>(
    db,
    `SELECT hubspot_id AS hubspotId, dynamics_id AS dynamicsId FROM entity_links
     WHERE object_type = 'contacts' AND matched_by = 'match_key' AND id NOT IN (SELECT link_id FROM conflicts WHERE resolved_at IS NULL)
     ORDER BY hubspot_id`,
  );

describe('crmsync metrics after real runs', () => {
  test('a two-way sync with --metrics-textfile writes the file when it ends: what crmsync metrics prints, with its two_way series', async () => {
    const textfile = join(textfiles, 'two-way.prom');
    const synced = await run(['sync-contacts', '--two-way', '--metrics-textfile', textfile], 0);
    expect(synced.stderr).not.toMatch(/metrics textfile/);
    const text = readFileSync(textfile, 'utf8');
    expect(text).toBe(await metricsText());
    for (const source of ['hubspot', 'dynamics', 'two_way']) expect(value(text, 'crmsync_last_run_status', { object: 'contacts', source, status: 'success' })).toBe(1);
    expect(value(text, 'crmsync_conflicts_open', { object: 'contacts' })).toBe(0);
    expect(samplesOf(parseExposition(text))).toEqual(expectedMetrics(db));
    expect(readdirSync(textfiles)).toEqual(['two-way.prom']);
  });

  test('a failed sync refreshes the file too; CRMSYNC_METRICS_TEXTFILE names it, and the flag wins over it', async () => {
    const fromEnv = join(textfiles, 'env.prom');
    const env = { CRMSYNC_METRICS_TEXTFILE: fromEnv };
    await run(['sync-companies'], 0, env);
    const succeeded = queryOne<{ endTime: string }>(db, "SELECT end_time AS endTime FROM sync_history WHERE sync_type = 'companies' AND status = 'success'")!;
    pair.hubspot.setFaults({ permanent: 401 });
    try {
      await run(['sync-companies'], 1, env);
    } finally {
      pair.hubspot.setFaults(undefined);
    }
    const text = readFileSync(fromEnv, 'utf8');
    expect(text).toBe(await metricsText());
    const companies = { object: 'companies', source: 'hubspot' };
    expect(['success', 'partial', 'failed'].map((status) => value(text, 'crmsync_last_run_status', { ...companies, status }))).toEqual([0, 0, 1]);
    expect(value(text, 'crmsync_last_success_timestamp_seconds', companies)).toBe(Date.parse(succeeded.endTime) / 1000);

    const fromFlag = join(textfiles, 'flag.prom');
    await run(['sync-companies', '--metrics-textfile', fromFlag], 0, env);
    expect(readFileSync(fromEnv, 'utf8')).toBe(text);
    expect(value(readFileSync(fromFlag, 'utf8'), 'crmsync_last_run_status', { ...companies, status: 'success' })).toBe(1);
  });

  test('after a conflict, a refused write and a write left waiting, every series equals the database; the database is only read', async () => {
    const [conflicted, refused, waiting] = quietPairs();
    pair.hubspot.store.update('contacts', conflicted.hubspotId, { jobtitle: 'Head of Sales' });
    pair.dynamics.store.update('contacts', conflicted.dynamicsId, { jobtitle: 'Sales Director' });
    pair.hubspot.store.update('contacts', refused.hubspotId, { jobtitle: TOO_LONG });
    await run(['sync-contacts', '--two-way'], 3);

    // A run whose writes to Dataverse meet nothing but 429s: they wait in the outbox for a later run.
    pair.hubspot.store.update('contacts', waiting.hubspotId, { city: 'Tromsø' });
    const throttled = await runTwoWay('contacts', db, pair, {
      config: mappingsVariant(MANUAL_JOB_TITLE),
      retry: { ...TWO_WAY_RETRY, retries: 2 },
      adapt: (connections) => ({
        ...connections,
        dynamics: withWriter(connections.dynamics, (writer) => async (mapping, writes) => {
          pair.dynamics.setFaults({ throttle: 1, retryAfterSeconds: 0, seed: 3 });
          try {
            return await writer.write(mapping, writes);
          } finally {
            pair.dynamics.setFaults(undefined);
          }
        }),
      }),
    });
    expect(throttled.summary.writesWaiting).toBe(1);

    const before = fileHash(db);
    const text = await metricsText();
    expect(fileHash(db)).toBe(before);
    expect(samplesOf(parseExposition(text))).toEqual(expectedMetrics(db));

    const twoWay = { object: 'contacts', source: 'two_way' };
    expect(value(text, 'crmsync_last_run_status', { ...twoWay, status: 'partial' })).toBe(1);
    expect(value(text, 'crmsync_conflicts_open', { object: 'contacts' })).toBe(1);
    expect(value(text, 'crmsync_outbox_dead_total', { object: 'contacts', crm: 'dynamics' })).toBe(1);
    expect(value(text, 'crmsync_outbox_depth', { object: 'contacts', crm: 'dynamics' })).toBe(1);
    expect(value(text, 'crmsync_outbox_depth', { object: 'contacts', crm: 'hubspot' })).toBe(0);
    expect(value(text, 'crmsync_rate_limited_total', twoWay)).toBeGreaterThan(0);
    expect(value(text, 'crmsync_retries_total', twoWay)).toBeGreaterThan(0);
    expect(value(text, 'crmsync_records_total', { ...twoWay, operation: 'rejected' })).toBeGreaterThan(0);
  });

  test('the webhook backlog: events waiting and processed per CRM and outcome, both CRMs always present, as webhook_events holds them', async () => {
    const backlog = (text: string) => ({
      waiting: ['hubspot', 'dynamics'].map((source) => value(text, 'crmsync_webhook_events_waiting', { source })),
      applied: ['hubspot', 'dynamics'].map((source) => value(text, 'crmsync_webhook_events_total', { source, outcome: 'applied' })),
      ignored: ['hubspot', 'dynamics'].map((source) => value(text, 'crmsync_webhook_events_total', { source, outcome: 'ignored' })),
    });
    expect(backlog(await metricsText())).toEqual({ waiting: [0, 0], applied: [0, 0], ignored: [0, 0] });

    const event = (source: IncomingEvent['source'], n: number): IncomingEvent => ({
      source,
      eventId: `metrics-${n}`,
      kind: source === 'hubspot' ? 'contact.propertyChange' : 'Update',
      objectType: 'contact',
      objectId: String(n),
      occurredAt: new Date().toISOString(),
      payload: '{}',
    });
    const store = openStore(db);
    try {
      const events = new WebhookEvents(store);
      events.save([1, 2, 3, 4, 5, 6].map((n) => event('hubspot', n)));
      events.save([7, 8, 9].map((n) => event('dynamics', n)));
      const ids = store.sqlite.prepare('SELECT id FROM webhook_events ORDER BY id').pluck().all() as number[];
      events.markProcessed(ids.slice(0, 3), 'applied');
      events.markProcessed(ids.slice(3, 4), 'ignored');
      events.markFailed(ids.slice(4, 5), 'HubSpot unreachable');
      events.markProcessed(ids.slice(6, 7), 'ignored');
    } finally {
      store.close();
    }
    const text = await metricsText();
    expect(backlog(text)).toEqual({ waiting: [2, 2], applied: [3, 0], ignored: [1, 1] });
    expect(parseExposition(text).get('crmsync_webhook_events_total')?.type).toBe('COUNTER');
    expect(samplesOf(parseExposition(text))).toEqual(expectedMetrics(db));
  });

  test('every metric has HELP and TYPE lines and follows Prometheus naming: base units, _total on counters only', async () => {
    const text = await metricsText();
    const families = parseExposition(text);
    expect([...families.keys()].sort()).toEqual([...METRICS.gauges, ...METRICS.counters].sort());
    for (const [name, family] of families) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
      expect(family.help.length).toBeGreaterThan(10);
      expect(family.type).toBe(METRICS.counters.includes(name) ? 'COUNTER' : 'GAUGE');
      expect(name).toMatch(/^crmsync_[a-z]+(_[a-z]+)*$/);
      expect(name.endsWith('_total')).toBe(family.type === 'COUNTER');
      // Times in seconds, never milliseconds or minutes.
      expect(name).not.toMatch(/_(milliseconds|ms|minutes|hours)(_|$)/);
      if (/timestamp|duration/.test(name)) expect(name).toMatch(/_seconds$/);
      for (const key of family.samples.keys()) for (const label of Object.keys(JSON.parse(key) as object)) expect(['object', 'source', 'status', 'operation', 'crm', 'outcome']).toContain(label);
    }
  });

  test('--dry-run records no run, so it leaves the textfile alone', async () => {
    const textfile = join(textfiles, 'dry.prom');
    await run(['sync-companies', '--dry-run', '--metrics-textfile', textfile], 0);
    expect(existsSync(textfile)).toBe(false);
  });

  test('a textfile that cannot be written: the sync says so on stderr and still exits as its runs did', async () => {
    const textfile = join(dir, 'no-such-folder', 'crmsync.prom');
    const synced = await run(['sync-companies', '--metrics-textfile', textfile], 0);
    expect(synced.stderr.trimEnd().split('\n').filter((line) => line.includes('metrics textfile'))).toEqual([
      expect.stringMatching(new RegExp(`warn: metrics textfile not refreshed: cannot write ${textfile}: the folder ${join(dir, 'no-such-folder')} does not exist`)),
    ]);
    expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
  });
});

describe('crmsync metrics: bad input', () => {
  test('--textfile in a folder that does not exist: one line, exit 2, nothing written', async () => {
    const textfile = join(dir, 'absent', 'crmsync.prom');
    const result = await crmsync(['metrics', '--textfile', textfile], { CRMSYNC_DB: db });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`crmsync: cannot write ${textfile}: the folder ${join(dir, 'absent')} does not exist; create it, or name a file in another folder\n`);
    expect(existsSync(join(dir, 'absent'))).toBe(false);
  });

  test('an empty --textfile or --metrics-textfile is refused', async () => {
    const metrics = await crmsync(['metrics', '--textfile', ' '], { CRMSYNC_DB: db });
    expect([metrics.code, metrics.stderr]).toEqual([2, 'crmsync: --textfile needs a file path, such as /var/lib/node_exporter/textfile/crmsync.prom\n']);
    const sync = await crmsync(['sync-contacts', '--metrics-textfile', ''], { CRMSYNC_DB: db });
    expect([sync.code, sync.stderr]).toEqual([2, 'crmsync: --metrics-textfile needs a file path, such as /var/lib/node_exporter/textfile/crmsync.prom\n']);
  });

  test('no database: one line, exit 2, no file made', async () => {
    const missing = join(tempDir(), 'none.db');
    const result = await crmsync(['metrics'], { CRMSYNC_DB: missing });
    expect([result.code, result.stdout]).toEqual([2, '']);
    expect(result.stderr).toBe(`crmsync: no database at ${missing}: run a sync first, or pass --db <path>\n`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('crmsync metrics --textfile', () => {
  test('rewritten by many runs, some at once, while a reader polls it: always whole, never missing, no temporary file left', async () => {
    const textfile = join(textfiles, 'polled.prom');
    const expected = await metricsText();
    await run(['metrics', '--textfile', textfile], 0);
    const reader = await pollFile(textfile, [expected]);
    for (let round = 0; round < 4; round++) await Promise.all([0, 1, 2].map(() => run(['metrics', '--textfile', textfile], 0)));
    const report = await reader.stop();
    expect(report).toMatchObject({ partial: 0, vanished: 0 });
    expect(report.reads).toBeGreaterThan(12);
    expect(readFileSync(textfile, 'utf8')).toBe(expected);
    expect(readdirSync(textfiles).filter((name) => !name.endsWith('.prom'))).toEqual([]);
  });
});
