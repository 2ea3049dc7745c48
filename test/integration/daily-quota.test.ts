/**
 * HubSpot's daily quota, shared by every app of the portal: a run stops at a page boundary
 * before the request that would leave less than its reserve (or at a 429 DAILY, never
 * retried), ends partial with the reason, and the run after the quota resets continues
 * from the last page saved. The emulator's daily quota runs on its clock, so a day passes
 * in a moment.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { DailyReserve } from '../../src/clients/crm.js';
import { objectByName } from '../../src/config/load.js';
import type { SyncOptions } from '../../src/engines/run-lifecycle.js';
import { tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { history } from '../helpers/db.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { config, recordingLogger, runEngine } from '../helpers/engine.js';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';

const contacts = objectByName(config, 'contacts');
const dir = tempDir();
const startEmulator = emulatorPerTest();
const RETRY = { retries: 3, minDelayMs: 5, maxDelayMs: 20, timeoutMs: 10_000, rateLimitWaitMs: 20 };
const DAY = 86_400_000;

/** A clock that runs with real time and jumps a day on demand: the emulator's daily quota resets at its midnight. */
function dayClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, nextDay: () => (offset += DAY) };
}

/** The daily quota the only limit that matters: the ten-second window and the search limit wide open. */
const quota = (daily: number) => ({ perInterval: 100_000, searchPerSecond: 1_000, daily });

function sync(emulator: HubSpotEmulator, db: string, dailyReserve: DailyReserve | undefined, options: Partial<SyncOptions> = {}) {
  const { lines, log } = recordingLogger('info');
  // Requests are counted one by one here: full reads walk the list alone (from both ends, searches would share the quota).
  const result = runEngine(contacts, db, { hubspot: { ...settingsOf(emulator), fullRead: 'list' }, log, retry: RETRY, dailyReserve }, { batchSize: 50, ...options });
  return result.then((run) => ({ ...run, lines }));
}

interface Row {
  id: number;
  status: string;
  error_message: string | null;
  checkpoint: string | null;
  watermark: string | null;
  performance_metrics: string;
}

describe("a run that reaches the reserve of HubSpot's daily quota", () => {
  test('stops at a page boundary with the reason, ends partial (exit 3), and the next day continues where it stopped, completeness intact', async () => {
    const clock = dayClock();
    const emulator = await startEmulator({ seed: { contacts: 2_000 }, seedValue: 31, now: clock.now, rateLimit: quota(30) });
    const db = join(dir, 'reserve.db');

    const first = await sync(emulator, db, { percent: 10 });
    expect(first).toMatchObject({ status: 'partial', exitCode: 3, syncMode: 'full' });
    expect(first.error).toMatch(
      /^stopped at HubSpot's daily quota reserve: 3 of 30 requests left today, 3 kept for the portal's other apps \(--daily-reserve 10%\); HubSpot resets it at midnight in the portal's time zone .*, and the next run continues from the last page saved$/,
    );
    expect(first.lines.some((line) => line.includes(`contacts: ${first.error}`))).toBe(true);
    // Never below the reserve, never a 429: 27 requests of 30, the last page saved whole.
    expect(emulator.stats.requests).toBe(27);
    expect(emulator.stats.rateLimited).toBe(0);
    expect(first.counts.processed % 50).toBe(0);
    expect(first.counts.processed).toBeGreaterThanOrEqual(24 * 50);
    expect(first.metrics).toMatchObject({ stoppedAtDailyReserve: true, hubspotDailyRemaining: 3, hubspotDailyLimit: 30 });
    const [stopped] = history<Row>(db);
    expect(stopped).toMatchObject({ status: 'partial', error_message: first.error, watermark: null });
    expect(JSON.parse(stopped.checkpoint!)).toMatchObject({ phase: 'records' });

    // The same day, a second run learns from its first answer (whose page it saves) that the reserve is reached, and stops.
    const sameDay = await sync(emulator, db, { percent: 10 });
    expect(sameDay).toMatchObject({ status: 'partial', exitCode: 3, resumedFrom: stopped.id, counts: { processed: 50 } });
    expect(emulator.stats.requests).toBe(28);

    // Meanwhile a record is created beyond the ones read, and one already read is changed.
    const [early] = emulator.store.all('contacts');
    clock.nextDay();
    emulator.store.update('contacts', early.id, { jobtitle: 'Changed while the quota was spent' });
    emulator.store.create('contacts', { email: 'late.arrival@example.com', firstname: 'Late' });

    const before = emulator.stats.requests;
    const next = await sync(emulator, db, { percent: 10 });
    expect(next).toMatchObject({ status: 'success', exitCode: 0, resumedFrom: sameDay.runId });
    expect(next.lines.some((line) => line.includes(`resuming run ${sameDay.runId} from its last committed page`))).toBe(true);
    // Only the rest was read: no page of the first day again.
    expect(next.counts.processed).toBe(2_001 - first.counts.processed - 50);
    expect(emulator.stats.requests - before).toBeLessThan(Math.ceil(2_001 / 50) - 20);

    // The change made to a record read the first day is the next incremental run's.
    const incremental = await sync(emulator, db, { percent: 10 });
    expect(incremental).toMatchObject({ status: 'success', syncMode: 'incremental' });
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
  });

  test('a 429 of the DAILY policy is not retried: the run stops the same way, and continues after the reset', async () => {
    const clock = dayClock();
    const emulator = await startEmulator({ seed: { contacts: 600 }, seedValue: 32, now: clock.now, rateLimit: quota(5) });
    const db = join(dir, 'spent.db');

    const first = await sync(emulator, db, { requests: 0 });
    expect(first).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(first.error).toMatch(/^HubSpot refused a request: the portal's daily quota of 5 requests is used up \(429 DAILY\); .*HubSpot asks to wait .*, and the next run continues from the last page saved$/);
    expect(emulator.stats.rateLimited).toBe(1);
    expect(first.metrics).toMatchObject({ retries: 0, rateLimited: 1, stoppedAtDailyReserve: true });

    clock.nextDay();
    const next = await sync(emulator, db, { requests: 0 }, {});
    expect(next).toMatchObject({ status: 'partial', resumedFrom: first.runId });
    clock.nextDay();
    const last = await sync(emulator, db, { requests: 0 });
    expect(last.status).toBe('success');
    expect(expectComplete(compareWithSource(db, emulator.store, contacts))).toEqual(COMPLETE);
    expect(first.counts.processed + next.counts.processed + last.counts.processed).toBe(600);
  });

  test('--daily-reserve 0 keeps nothing back: the run may spend the quota to the last request', async () => {
    // 300 contacts in pages of 50: the search for the latest modification, 6 pages, the archived list.
    const emulator = await startEmulator({ seed: { contacts: 300 }, seedValue: 33, rateLimit: quota(8) });
    const result = await sync(emulator, join(dir, 'none.db'), { requests: 0 });
    expect(result).toMatchObject({ status: 'success', exitCode: 0, metrics: { requests: 8, hubspotDailyRemaining: 0 } });
    expect(result.metrics.stoppedAtDailyReserve).toBeUndefined();
  });
});
