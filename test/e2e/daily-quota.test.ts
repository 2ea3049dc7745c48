/**
 * --daily-reserve through the command line: bad values are one line and exit 2; a sync that
 * reaches the reserve says why in one line, exits 3 and is recorded partial; after the quota
 * resets the next sync continues where it stopped. `crmsync emulator --rate-limit-daily`
 * sets the emulator's daily quota.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { crmsync, startCrmsync, summary, tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { history } from '../helpers/db.js';
import { emulatorPerTest, hubspotEnvOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';

const dir = tempDir();
const startEmulator = emulatorPerTest();
const contacts = config.objects.get('contacts')!.hubspot!;
const STOPPED = /stopped at HubSpot's daily quota reserve: \d+ of 30 requests left today, 3 kept for the portal's other apps \(--daily-reserve 10%\); HubSpot resets it at midnight in the portal's time zone/;

describe('--daily-reserve: bad values', () => {
  const env = (db: string) => ({ HUBSPOT_BASE_URL: 'http://127.0.0.1:9', HUBSPOT_ACCESS_TOKEN: 'pat-test', CRMSYNC_DB: db });
  test.each([
    ['a word', ['sync-contacts', '--daily-reserve', 'lots'], {}, /^crmsync: --daily-reserve must be a number of requests \(such as 25000\) or a share of HubSpot's daily limit below 100% \(such as 10%\), 0 for no reserve; got "lots"$/],
    ['a share of 100%', ['sync-all', '--daily-reserve', '100%'], {}, /^crmsync: --daily-reserve must be .* got "100%"$/],
    ['a negative count', ['sync-object', 'contacts', '--daily-reserve=-5'], {}, /^crmsync: --daily-reserve must be .* got "-5"$/],
    ['a bad CRMSYNC_DAILY_RESERVE', ['sync-contacts'], { CRMSYNC_DAILY_RESERVE: 'half' }, /^crmsync: CRMSYNC_DAILY_RESERVE must be a number of requests .* got "half"$/],
    ['an emulator --rate-limit-daily of 0', ['emulator', '--port', '0', '--dynamics-port', '0', '--rate-limit', '--rate-limit-daily', '0'], {}, /^crmsync: --rate-limit-daily must be a whole number of 1 or more, got "0"$/],
  ])('%s: one line, exit 2, nothing written', async (_, args, extra, message) => {
    const db = join(dir, `${Math.random()}.db`);
    const run = await crmsync(args, { ...env(db), ...extra });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr.trim()).toMatch(message);
    expect(existsSync(db)).toBe(false);
  });
});

describe('a sync that reaches the reserve', () => {
  test('says why in one line, exits 3, is recorded partial; the next day it continues from the last page saved, and health tells', async () => {
    let offset = 0;
    const emulator = await startEmulator({ seed: { contacts: 2_000 }, seedValue: 41, now: () => Date.now() + offset, rateLimit: { perInterval: 100_000, searchPerSecond: 1_000, daily: 30 } });
    const db = join(dir, 'stopped.db');
    const env = hubspotEnvOf(emulator, db);

    const first = await crmsync(['sync-contacts', '--batch-size', '50'], env);
    expect(first.code).toBe(3);
    const stdout = first.stdout.split('\n');
    expect(stdout[0]).toMatch(/^contacts\s+partial\s+full\s+\d+ processed/);
    expect(stdout[1]).toMatch(STOPPED);
    expect(stdout[1]).toMatch(/, and the next run continues from the last page saved$/);
    // The log says it once, as a warning, in one line.
    expect(first.stderr.split('\n').filter((line) => STOPPED.test(line))).toHaveLength(1);
    const [stopped] = history<{ id: number; status: string; error_message: string }>(db);
    expect(stopped).toMatchObject({ status: 'partial', error_message: expect.stringMatching(STOPPED) });

    const health = await crmsync(['health'], env);
    expect(health.stdout).toContain('HubSpot daily quota: 3 of 30 requests left, as of run 1');
    // A stopped read is not a finished one: the object has no last success yet, and says which run stopped.
    const report = JSON.parse((await crmsync(['health', '--json'], env)).stdout) as { objects: Record<string, unknown>[] };
    expect(report.objects[0]).toMatchObject({ lastStatus: 'partial', lastSuccessAt: null, stoppedAtDailyReserveRunId: stopped.id, consecutiveFailures: 0 });
    const metrics = (await crmsync(['metrics'], env)).stdout;
    expect(metrics).toMatch(/crmsync_last_run_status\{[^}]*object="contacts"[^}]*status="partial"[^}]*\} 1/);
    expect(metrics).not.toMatch(/crmsync_last_success_timestamp_seconds\{[^}]*object="contacts"/);

    offset += 86_400_000;
    const next = await crmsync(['sync-contacts', '--batch-size', '50', '--json'], env);
    expect(next.code).toBe(0);
    expect(summary(next.stdout).results[0]).toMatchObject({ status: 'success', resumedFrom: stopped.id });
    expect(next.stderr).toContain(`resuming run ${stopped.id} from its last committed page`);
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
  });

  test('CRMSYNC_DAILY_RESERVE sets the reserve, and --daily-reserve 0 turns it off', async () => {
    const emulator = await startEmulator({ seed: { contacts: 400 }, seedValue: 42, rateLimit: { perInterval: 100_000, searchPerSecond: 1_000, daily: 30 } });
    const db = join(dir, 'env.db');
    const stopped = await crmsync(['sync-contacts', '--batch-size', '50'], { ...hubspotEnvOf(emulator, db), CRMSYNC_DAILY_RESERVE: '25' });
    expect(stopped.code).toBe(3);
    expect(stopped.stdout).toMatch(/stopped at HubSpot's daily quota reserve: 25 of 30 requests left today, 25 kept for the portal's other apps \(--daily-reserve 25\)/);
    const off = await crmsync(['sync-contacts', '--batch-size', '50', '--daily-reserve', '0'], { ...hubspotEnvOf(emulator, db), CRMSYNC_DAILY_RESERVE: '25' });
    expect(off.code).toBe(0);
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
  });
});

test('crmsync emulator --rate-limit-daily: the daily quota it states and enforces', async () => {
  const emulator = startCrmsync(['emulator', '--port', '0', '--dynamics-port', '0', '--seed', 'contacts=3', '--dynamics-seed', 'contacts=1', '--rate-limit', '--rate-limit-daily', '2']);
  try {
    await emulator.printed('Press Ctrl-C');
    const exported = Object.fromEntries([...emulator.stdout().matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1]!, match[2]!]));
    const get = () => fetch(`${exported.HUBSPOT_BASE_URL}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${exported.HUBSPOT_ACCESS_TOKEN}` } });
    const answers = [await get(), await get(), await get()];
    expect(answers.map((answer) => [answer.status, answer.headers.get('x-hubspot-ratelimit-daily'), answer.headers.get('x-hubspot-ratelimit-daily-remaining')])).toEqual([
      [200, '2', '1'],
      [200, '2', '0'],
      [429, '2', '0'],
    ]);
    expect(await answers[2]!.json()).toMatchObject({ policyName: 'DAILY' });
  } finally {
    emulator.child.kill('SIGINT');
    await emulator.done;
  }
});
