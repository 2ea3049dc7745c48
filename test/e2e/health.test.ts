/**
 * `crmsync health` through the real command line: healthy, stale, failing, a run left
 * behind by a killed process, and writes dead-lettered by real two-way runs; exit 0 or 5
 * with one line per reason on stderr, and 2 for bad usage.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, startCrmsync, tempDir, type CliResult } from '../helpers/cli.js';
import { history, waitForRecords } from '../helpers/db.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { tableAfter } from '../helpers/table.js';

const HEADER = ['object', 'source', 'status', 'last success', 'age', 'max age', 'failures', 'rejected', 'outstanding', 'abandoned', 'conflicts', 'waiting', 'dead-lettered'];
/** HubSpot's daily quota of a free or Starter private app, as the emulator enforces it with its rate limits on. */
const DAILY = 250_000;

const dir = tempDir();
let hubspot: HubSpotEmulator;
const env = (db: string, extra: Record<string, string> = {}) => ({ ...hubspotEnvOf(hubspot, db), ...extra });

async function run(args: string[], db: string, expectedCode: number, extra: Record<string, string> = {}): Promise<CliResult> {
  const result = await crmsync(args, env(db, extra));
  expect(result.code, `crmsync ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(expectedCode);
  return result;
}
/** The reasons health printed on stderr, one a line. */
const reasonLines = (result: CliResult) => result.stderr.split('\n').filter(Boolean);
const report = (result: CliResult) => JSON.parse(result.stdout) as { healthy: boolean; objects: Record<string, unknown>[]; reasons: Record<string, string>[]; hubspotDailyQuota: Record<string, unknown> | null };

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ seed: { contacts: 300 }, seedValue: 5, rateLimit: {} });
});
afterAll(() => hubspot?.close());

describe('a healthy object', () => {
  const db = join(dir, 'healthy.db');

  test('exit 0 and a short table: last success, its age, the age allowed; the HubSpot daily quota as last seen', async () => {
    await run(['sync-contacts', '--quiet'], db, 0);
    await run(['sync-contacts', '--quiet'], db, 0);
    const requests = hubspot.stats.requests;
    const healthy = await run(['health'], db, 0);
    expect(healthy.stderr).toBe('');
    const [contacts] = tableAfter(healthy.stdout, HEADER);
    const [lastRun] = history<{ end_time: string }>(db, 'end_time').slice(-1);
    expect(contacts).toEqual(['contacts', 'hubspot', 'success', lastRun.end_time.slice(0, 19).replace('T', ' '), expect.stringMatching(/^\d+s$/), '1h', '0', '0', '0', '0', '-', '-', '-']);
    const lines = healthy.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toBe(`HubSpot daily quota: ${(DAILY - requests).toLocaleString('en-US')} of 250,000 requests left, as of run 2 (${lastRun.end_time.slice(0, 19).replace('T', ' ')})`);
    expect(lines.at(-1)).toBe('healthy');
  });

  test('--json: {healthy, objects, reasons}, each object with its facts, and the quota', async () => {
    const json = report(await run(['health', '--json'], db, 0));
    expect(Object.keys(json)).toEqual(['healthy', 'checkedAt', 'objects', 'reasons', 'hubspotDailyQuota']);
    expect(json).toMatchObject({ healthy: true, reasons: [], hubspotDailyQuota: { runId: 2, limit: DAILY, remaining: expect.any(Number) } });
    expect(json.objects).toEqual([
      {
        object: 'contacts',
        source: 'hubspot',
        healthy: true,
        lastStatus: 'success',
        lastRunId: 2,
        lastSuccessAt: history<{ end_time: string }>(db, 'end_time')[1].end_time,
        lastSuccessStatus: 'success',
        lastSuccessAgeSeconds: expect.any(Number),
        maxAgeSeconds: 3600,
        maxAgeBasis: 'default',
        usualIntervalSeconds: null,
        consecutiveFailures: 0,
        stoppedAtDailyReserveRunId: null,
        lastError: null,
        rejectedByLastRun: 0,
        rejectionsOutstanding: 0,
        running: 0,
        abandonedRuns: [],
        openConflicts: null,
        writesWaiting: null,
        writesDead: null,
        writesDeadOutstanding: null,
      },
    ]);
    // What health read is what the run recorded from HubSpot's last answer.
    const [metrics] = history<{ performance_metrics: string }>(db, 'performance_metrics').slice(-1);
    expect(JSON.parse(metrics.performance_metrics)).toMatchObject({ hubspotDailyRemaining: json.hubspotDailyQuota!.remaining, hubspotDailyLimit: DAILY });
  });
});

describe('stale', () => {
  const db = join(dir, 'stale.db');

  test('older than --max-age: exit 5 with the reason on stderr', async () => {
    await run(['sync-contacts', '--quiet'], db, 0);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const stale = await run(['health', '--max-age', '1s'], db, 5);
    expect(reasonLines(stale)).toEqual([expect.stringMatching(/^unhealthy: contacts \(hubspot\): last finished run \(run 1\) ended [2-9]s ago \(\S+\), longer than the 1s allowed \(--max-age\)$/)]);
    expect(stale.stdout.trimEnd().split('\n').at(-1)).toBe('unhealthy: 1 reason (on stderr)');
    const json = report(await run(['health', '--max-age', '1s', '--json'], db, 5));
    expect(json.reasons).toEqual([{ object: 'contacts', source: 'hubspot', reason: 'stale', message: expect.stringContaining('contacts (hubspot): last finished run (run 1) ended') }]);
    expect(json.objects[0]).toMatchObject({ healthy: false, maxAgeSeconds: 1, maxAgeBasis: 'max_age_flag' });
    await run(['health', '--max-age', '1h'], db, 0);
  });

  test('by default, older than twice the usual interval of its runs; the next run makes it healthy again', async () => {
    await run(['sync-contacts', '--quiet'], db, 0);
    await run(['sync-contacts', '--quiet'], db, 0);
    // The three runs as cron would have made them: 5 minutes apart, the last ended 20 minutes ago.
    const sqlite = new Database(db);
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    for (const [id, minutes] of [[1, 30], [2, 25], [3, 20]]) {
      sqlite.prepare('UPDATE sync_history SET start_time = ?, end_time = ? WHERE id = ?').run(minutesAgo(minutes + 0.5), minutesAgo(minutes), id);
    }
    sqlite.close();
    const stale = await run(['health'], db, 5);
    expect(reasonLines(stale)).toEqual([
      expect.stringMatching(/^unhealthy: contacts \(hubspot\): last finished run \(run 3\) ended 20m( \d+s)? ago \(\S+\), longer than the 10m allowed \(twice its usual interval of 5m\)$/),
    ]);
    expect(tableAfter(stale.stdout, HEADER)[0].slice(4, 6)).toEqual([expect.stringMatching(/^20m/), '10m']);
    await run(['sync-contacts', '--quiet'], db, 0);
    await run(['health'], db, 0);
  });
});

describe('failing', () => {
  const db = join(dir, 'failing.db');

  test('a last run that failed: exit 5 with its error; a run that finishes clears it', async () => {
    await run(['sync-contacts', '--quiet'], db, 0);
    await run(['sync-contacts', '--quiet'], db, 1, { HUBSPOT_ACCESS_TOKEN: 'pat-na1-not-the-token' });
    await run(['sync-contacts', '--quiet'], db, 1, { HUBSPOT_ACCESS_TOKEN: 'pat-na1-not-the-token' });
    const failing = await run(['health'], db, 5);
    expect(reasonLines(failing)).toEqual([
      expect.stringMatching(/^unhealthy: contacts \(hubspot\): the last 2 runs failed \(run 3, \S+\): HubSpot rejected HUBSPOT_ACCESS_TOKEN \(401 INVALID_AUTHENTICATION\): check that the token is current/),
    ]);
    expect(tableAfter(failing.stdout, HEADER)[0].slice(2, 7)).toEqual(['failed', expect.any(String), expect.any(String), '1h', '2']);
    expect(report(await run(['health', '--json'], db, 5)).objects[0]).toMatchObject({ lastStatus: 'failed', consecutiveFailures: 2, lastError: expect.stringContaining('401') });

    await run(['sync-contacts', '--quiet'], db, 0);
    expect(report(await run(['health', '--json'], db, 0)).objects[0]).toMatchObject({ lastStatus: 'success', consecutiveFailures: 0, lastError: null });
  });
});

describe('a run left running by a dead process', () => {
  const db = join(dir, 'killed.db');
  let slow: HubSpotEmulator;
  beforeAll(async () => {
    // Latency makes the read take a few seconds, long enough to look at it and kill it.
    slow = await startHubSpotEmulator({ seed: { contacts: 5_000 }, seedValue: 9, latencyMs: 25 });
  });
  afterAll(() => slow?.close());

  test('alive, it is no reason; after kill -9, exit 5 naming the run and its pid; the next run closes it', async () => {
    const slowEnv = hubspotEnvOf(slow, db);
    const sync = startCrmsync(['sync-contacts', '--quiet'], slowEnv);
    await waitForRecords(db, 100, "object_type = 'contacts'");
    const during = await crmsync(['health'], slowEnv);
    expect(during.code, during.stderr).toBe(0);
    expect(tableAfter(during.stdout, HEADER)[0].slice(0, 4)).toEqual(['contacts', 'hubspot', 'running', '-']);

    sync.child.kill('SIGKILL');
    expect((await sync.done).signal).toBe('SIGKILL');
    const dead = await crmsync(['health'], slowEnv);
    expect(dead.code).toBe(5);
    expect(reasonLines(dead)).toEqual([
      expect.stringMatching(
        new RegExp(`^unhealthy: contacts \\(hubspot\\): run 1 is still marked running but its process is gone \\(pid ${sync.child.pid} on ${hostname()}, last heartbeat \\S+\\); the next run of contacts closes it as failed$`),
      ),
    ]);
    expect(tableAfter(dead.stdout, HEADER)[0][9]).toBe('1');
    const json = JSON.parse((await crmsync(['health', '--json'], slowEnv)).stdout);
    expect(json.objects[0].abandonedRuns).toEqual([{ runId: 1, pid: sync.child.pid, host: hostname(), startedAt: expect.any(String), heartbeatAt: expect.any(String) }]);

    const next = await crmsync(['sync-contacts', '--quiet'], slowEnv);
    expect(next.code, next.stderr).toBe(0);
    expect(history<{ status: string }>(db, 'status').map((row) => row.status)).toEqual(['failed', 'success']);
    const after = await crmsync(['health'], slowEnv);
    expect(after.code, after.stderr).toBe(0);
  });
});

describe('writes dead-lettered by two-way runs', () => {
  const db = join(dir, 'two-way.db');
  const SHARED = { contacts: 6, companies: 0 };
  /** Dataverse's contact.jobtitle holds 100 characters; HubSpot takes far longer text. */
  const TOO_LONG = `Regional Vice President of ${'Customer Success and Partnerships, '.repeat(3)}EMEA`;
  let shared: HubSpotEmulator;
  let dynamics: DynamicsEmulator;
  const twoWayEnv = () => ({ ...hubspotEnvOf(shared, db), ...dynamicsEnvOf(dynamics) });
  beforeAll(async () => {
    shared = await startHubSpotEmulator({ seed: { contacts: 3 }, sharedSeed: SHARED, seedValue: 23 });
    dynamics = await startDynamicsEmulator({ seed: { contacts: 3, accounts: 0 }, sharedSeed: SHARED, seedValue: 23 });
  });
  afterAll(() => Promise.all([shared?.close(), dynamics?.close()]));

  test('a refused write: exit 5 until a later write of the record reaches that CRM; --object shows every source of the object', async () => {
    const sync = async (code: number) => expect((await crmsync(['sync-contacts', '--two-way', '--quiet'], twoWayEnv())).code).toBe(code);
    await sync(0);
    const [pair] = (() => {
      const sqlite = new Database(db, { readonly: true });
      try {
        return sqlite.prepare("SELECT hubspot_id AS hubspotId, dynamics_id AS dynamicsId FROM entity_links WHERE matched_by = 'match_key' ORDER BY hubspot_id LIMIT 1").all() as { hubspotId: string; dynamicsId: string }[];
      } finally {
        sqlite.close();
      }
    })();
    shared.store.update('contacts', pair.hubspotId, { jobtitle: TOO_LONG });
    await sync(3);

    const dead = await crmsync(['health', '--object', 'contacts'], twoWayEnv());
    expect(dead.code, dead.stdout + dead.stderr).toBe(5);
    expect(reasonLines(dead)).toEqual([
      'unhealthy: contacts (two-way): 1 write refused by the CRM and dead-lettered, the record not written there since (crmsync history lists them)',
    ]);
    const rows = tableAfter(dead.stdout, HEADER);
    expect(rows.map((row) => [row[0], row[1], row[2], row[10], row[11], row[12]])).toEqual([
      ['contacts', 'dynamics', 'success', '-', '-', '-'],
      ['contacts', 'hubspot', 'success', '-', '-', '-'],
      ['contacts', 'two_way', 'partial', '0', '0', '1'],
    ]);
    expect(rows[2][3]).toMatch(/ \(partial\)$/);

    shared.store.update('contacts', pair.hubspotId, { jobtitle: 'Regional VP, EMEA' });
    await sync(0);
    const written = await crmsync(['health', '--object', 'contacts', '--json'], twoWayEnv());
    expect(written.code, written.stderr).toBe(0);
    expect(report(written).objects.find((object) => object.source === 'two_way')).toMatchObject({ writesDead: 1, writesDeadOutstanding: 0, openConflicts: 0, writesWaiting: 0 });
  });
});

describe('bad usage', () => {
  test.each([['5x'], ['0m'], ['1.5h'], ['']])('--max-age "%s": one line, exit 2, before the database is read', async (value) => {
    const result = await run(['health', '--max-age', value], join(dir, 'none.db'), 2);
    expect(result.stderr).toBe(`crmsync: --max-age "${value}" is not a duration: use a whole number above 0 and a unit (s, m, h or d), such as 90s, 30m, 2h or 1d\n`);
    expect(result.stdout).toBe('');
  });

  test('no database, or no runs of the object named: one line, exit 2; --json says so on stdout', async () => {
    const missing = join(dir, 'missing.db');
    const none = await run(['health'], missing, 2);
    expect(none.stderr).toBe(`crmsync: no database at ${missing}: run a sync first, or pass --db <path>\n`);
    expect(JSON.parse((await run(['health', '--json'], missing, 2)).stdout)).toEqual({ exitCode: 2, error: `no database at ${missing}: run a sync first, or pass --db <path>` });

    const db = join(dir, 'healthy.db');
    const unknown = await run(['health', '--object', 'contcts'], db, 2);
    expect(unknown.stderr).toBe(`crmsync: no runs of contcts recorded in ${db}: check the name (crmsync history lists the runs), or run its sync first\n`);
  });
});
