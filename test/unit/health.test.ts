import { describe, expect, test } from 'vitest';
import type { EntityState, RunFacts } from '../../src/db/health.js';
import { allowedAge, formatDuration, judgeHealth, parseMaxAge, usualIntervalMs } from '../../src/processors/health.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
/** An ISO time `minutes` before NOW. */
const ago = (minutes: number) => new Date(NOW - minutes * MINUTE).toISOString();
const run = (id: number, status: RunFacts['status'], startedMinutesAgo: number, extra: Partial<RunFacts> = {}): RunFacts => ({
  id,
  status,
  startTime: ago(startedMinutesAgo),
  endTime: status === 'running' ? null : ago(startedMinutesAgo - 0.5),
  recordsFailed: 0,
  errorMessage: null,
  ...extra,
});

/** An object run every 5 minutes, the last run finished 30 s ago: healthy unless told otherwise. */
function entity(overrides: Partial<EntityState> = {}): EntityState {
  const finished = [1, 6, 11, 16].map((minutes, index) => run(20 - index, 'success', minutes));
  return {
    object: 'contacts',
    source: 'hubspot',
    firstStartedAt: ago(600),
    lastRun: finished[0],
    lastEnded: finished[0],
    lastFinished: finished[0],
    stoppedAtReserve: null,
    recentFinishedStarts: finished.map((row) => row.startTime),
    failuresSinceFinished: 0,
    lastFailed: null,
    liveRuns: 0,
    abandoned: [],
    rejectionsOutstanding: 0,
    twoWay: null,
    ...overrides,
  };
}
const judge = (entities: EntityState[], maxAgeMs?: number) => judgeHealth({ entities, hubspotQuota: null }, { now: NOW, maxAgeMs });

describe('--max-age', () => {
  test.each([
    ['90s', 90_000],
    ['30m', 30 * MINUTE],
    ['2h', 120 * MINUTE],
    ['1d', 24 * 60 * MINUTE],
    [' 45m ', 45 * MINUTE],
  ])('%s is %i ms', (text, ms) => {
    expect(parseMaxAge(text)).toBe(ms);
  });

  test.each(['', '30', 'm', '5x', '1.5h', '-1h', '0m', '0s', '500ms', '2 h', '1w'])('"%s" is refused with a line saying what to give', (text) => {
    expect(() => parseMaxAge(text)).toThrow(`--max-age "${text}" is not a duration: use a whole number above 0 and a unit (s, m, h or d), such as 90s, 30m, 2h or 1d`);
  });
});

describe('the usual interval and the age allowed', () => {
  test('the median gap between the start times of the finished runs, in any order', () => {
    expect(usualIntervalMs([ago(0), ago(5), ago(10)])).toBe(5 * MINUTE);
    // A nightly full run among five-minute runs, and a run started by hand: the median keeps 5 minutes.
    expect(usualIntervalMs([ago(10), ago(0), ago(300), ago(5), ago(7), ago(15)])).toBe(5 * MINUTE);
    // An even number of gaps: the middle two, averaged.
    expect(usualIntervalMs([ago(0), ago(4), ago(10), ago(20), ago(30)])).toBe(8 * MINUTE);
  });

  test('fewer than 3 finished runs tell nothing: the default of an hour', () => {
    expect(usualIntervalMs([ago(0), ago(5)])).toBeNull();
    expect(usualIntervalMs([])).toBeNull();
    expect(allowedAge([ago(0), ago(5)])).toEqual({ ms: 60 * MINUTE, basis: 'default', intervalMs: null });
  });

  test('twice the usual interval; never under a minute; --max-age wins over both', () => {
    expect(allowedAge([ago(0), ago(5), ago(10)])).toEqual({ ms: 10 * MINUTE, basis: 'usual_interval', intervalMs: 5 * MINUTE });
    expect(allowedAge([ago(0), ago(0.1), ago(0.2)])).toEqual({ ms: MINUTE, basis: 'usual_interval', intervalMs: 6_000 });
    expect(allowedAge([ago(0), ago(5), ago(10)], 2 * MINUTE)).toEqual({ ms: 2 * MINUTE, basis: 'max_age_flag', intervalMs: 5 * MINUTE });
  });

  test.each([
    [0, '0s'],
    [45_000, '45s'],
    [90_000, '1m 30s'],
    [10 * MINUTE, '10m'],
    [125 * MINUTE + 59_000, '2h 5m'],
    [3 * 24 * 60 * MINUTE + 30_000, '3d'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('the verdict', () => {
  test('an object that runs on time and last finished is healthy; its facts are reported', () => {
    const report = judge([entity()]);
    expect(report).toMatchObject({ healthy: true, reasons: [], checkedAt: '2026-03-01T12:00:00.000Z' });
    expect(report.objects).toEqual([
      expect.objectContaining({
        object: 'contacts',
        source: 'hubspot',
        healthy: true,
        lastStatus: 'success',
        lastRunId: 20,
        lastSuccessAt: ago(0.5),
        lastSuccessStatus: 'success',
        lastSuccessAgeSeconds: 30,
        maxAgeSeconds: 600,
        maxAgeBasis: 'usual_interval',
        usualIntervalSeconds: 300,
        consecutiveFailures: 0,
        rejectedByLastRun: 0,
        writesDead: null,
      }),
    ]);
  });

  test('older than twice its usual interval: stale, saying by how much and why that much', () => {
    const finished = [25, 30, 35].map((minutes, index) => run(9 - index, 'success', minutes));
    const report = judge([entity({ lastRun: finished[0], lastEnded: finished[0], lastFinished: finished[0], recentFinishedStarts: finished.map((row) => row.startTime) })]);
    expect(report.healthy).toBe(false);
    expect(report.reasons).toEqual([
      {
        object: 'contacts',
        source: 'hubspot',
        reason: 'stale',
        message: `contacts (hubspot): last finished run (run 9) ended 24m 30s ago (${ago(24.5)}), longer than the 10m allowed (twice its usual interval of 5m)`,
      },
    ]);
    expect(judge([entity()], 20_000).reasons[0].message).toMatch(/ended 30s ago .*, longer than the 20s allowed \(--max-age\)$/);
    // At the limit, to the second, is not older than it.
    expect(judge([entity()], 30_000).healthy).toBe(true);
  });

  test("a run stopped at HubSpot's daily quota reserve is no finished read: the object ages from the last one, and a stale reason names the stop", () => {
    const stopped = run(21, 'partial', 0.8, { errorMessage: "stopped at HubSpot's daily quota reserve: 3 of 30 requests left today" });
    const fresh = judge([entity({ lastRun: stopped, lastEnded: stopped, stoppedAtReserve: stopped })]);
    expect(fresh.healthy).toBe(true);
    expect(fresh.objects[0]).toMatchObject({ lastStatus: 'partial', stoppedAtDailyReserveRunId: 21, consecutiveFailures: 0 });
    const finished = [25, 30, 35].map((minutes, index) => run(9 - index, 'success', minutes));
    const stale = judge([entity({ lastRun: stopped, lastEnded: stopped, stoppedAtReserve: stopped, lastFinished: finished[0], recentFinishedStarts: finished.map((row) => row.startTime) })]);
    expect(stale.reasons.map((reason) => reason.message)).toEqual([
      `contacts (hubspot): last finished run (run 9) ended 24m 30s ago (${ago(24.5)}), longer than the 10m allowed (twice its usual interval of 5m); run 21 stopped at HubSpot's daily quota reserve and the next run continues it`,
    ]);
  });

  test('a partial run finished: it counts as the last success, its rejections reported', () => {
    const partial = run(21, 'partial', 0.8, { recordsFailed: 3 });
    const report = judge([entity({ lastRun: partial, lastEnded: partial, lastFinished: partial, rejectionsOutstanding: 5 })]);
    expect(report.healthy).toBe(true);
    expect(report.objects[0]).toMatchObject({ lastSuccessStatus: 'partial', lastSuccessAt: partial.endTime, rejectedByLastRun: 3, rejectionsOutstanding: 5 });
  });

  test('failed runs since the last finished one: failing, with the latest error', () => {
    const failed = run(23, 'failed', 0.4, { errorMessage: 'HubSpot rejected HUBSPOT_ACCESS_TOKEN (401 INVALID_AUTHENTICATION)\nmore detail' });
    const report = judge([entity({ lastRun: failed, lastEnded: failed, lastFailed: failed, failuresSinceFinished: 3 })]);
    expect(report.reasons.map((reason) => [reason.reason, reason.message])).toEqual([
      ['failing', `contacts (hubspot): the last 3 runs failed (run 23, ${failed.endTime}): HubSpot rejected HUBSPOT_ACCESS_TOKEN (401 INVALID_AUTHENTICATION)`],
    ]);
    expect(report.objects[0]).toMatchObject({ consecutiveFailures: 3, lastStatus: 'failed', lastError: failed.errorMessage });
    expect(judge([entity({ lastFailed: failed, failuresSinceFinished: 1 })]).reasons[0].message).toContain('contacts (hubspot): the last run failed (run 23, ');
    // A failure before the last finished run is over.
    expect(judge([entity({ lastFailed: failed, failuresSinceFinished: 0 })]).objects[0]).toMatchObject({ healthy: true, lastError: null });
  });

  test('a running row whose process is gone: one reason per run; a live run is no reason', () => {
    const abandoned = { runId: 24, pid: 999_999, host: 'host-a', startedAt: ago(3), heartbeatAt: ago(2) };
    const report = judge([entity({ abandoned: [abandoned], liveRuns: 1 })]);
    expect(report.reasons).toEqual([
      {
        object: 'contacts',
        source: 'hubspot',
        reason: 'abandoned_run',
        message: `contacts (hubspot): run 24 is still marked running but its process is gone (pid 999999 on host-a, last heartbeat ${ago(2)}); the next run of contacts closes it as failed`,
      },
    ]);
    expect(judge([entity({ liveRuns: 1 })]).healthy).toBe(true);
  });

  test('with no finished run, the age counts from the first start: a first long read is healthy for the allowed hour', () => {
    const first = run(1, 'running', 20);
    const reading = entity({ firstStartedAt: first.startTime, lastRun: first, lastEnded: null, lastFinished: null, recentFinishedStarts: [], liveRuns: 1 });
    expect(judge([reading])).toMatchObject({ healthy: true, objects: [{ lastSuccessAt: null, lastSuccessAgeSeconds: null, maxAgeBasis: 'default', rejectedByLastRun: null }] });
    const late = { ...reading, firstStartedAt: ago(61) };
    expect(judge([late]).reasons[0].message).toBe(
      `contacts (hubspot): no run has finished since the first started 1h 1m ago (${ago(61)}), longer than the 1h allowed (fewer than 3 finished runs to tell its usual interval from; --max-age sets another)`,
    );
  });

  test('two-way: writes dead-lettered and not written since make it unhealthy; conflicts and waiting writes are reported only', () => {
    const backlog = { openConflicts: 2, writesWaiting: 4, writesDead: 3, writesDeadOutstanding: 0 };
    const twoWay = entity({ source: 'two_way', rejectionsOutstanding: null, twoWay: backlog });
    const settled = judge([twoWay]);
    expect(settled.healthy).toBe(true);
    expect(settled.objects[0]).toMatchObject({ openConflicts: 2, writesWaiting: 4, writesDead: 3, writesDeadOutstanding: 0, rejectedByLastRun: null });
    const dead = judge([{ ...twoWay, twoWay: { ...backlog, writesDeadOutstanding: 1 } }]);
    expect(dead.reasons.map((reason) => [reason.source, reason.reason, reason.message])).toEqual([
      ['two_way', 'dead_letters', 'contacts (two-way): 1 write refused by the CRM and dead-lettered, the record not written there since (crmsync history lists them)'],
    ]);
  });

  test('every reason of every object, in order; one unhealthy object makes the whole unhealthy', () => {
    const failed = run(30, 'failed', 0.2, { errorMessage: 'interrupted' });
    const report = judge([entity({ object: 'companies', failuresSinceFinished: 1, lastFailed: failed }), entity(), entity({ object: 'deals', source: 'dynamics' })], 10_000);
    expect(report.reasons.map((reason) => `${reason.object} ${reason.source} ${reason.reason}`)).toEqual([
      'companies hubspot stale',
      'companies hubspot failing',
      'contacts hubspot stale',
      'deals dynamics stale',
    ]);
    expect(report.objects.map((object) => object.healthy)).toEqual([false, false, false]);
  });
});
