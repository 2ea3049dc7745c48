import { describe, expect, test } from 'vitest';
import { futureSinceWarning, parseSeed, parseSince, parseSyncFlags } from '../../src/commands/options.js';
import { UsageError } from '../../src/errors.js';

const defaults = { maxRecords: '0' };

describe('--since', () => {
  test.each([
    ['2025-01-01', '2025-01-01T00:00:00.000Z'],
    ['2025-01-31T12:00:00Z', '2025-01-31T12:00:00.000Z'],
    ['2025-01-31T12:00', '2025-01-31T12:00:00.000Z'],
    ['2025-01-31T14:00:00+02:00', '2025-01-31T12:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseSince(text).toISOString()).toBe(iso);
  });

  test.each(['2025-13-45', '2025-02-29', '2025-01-01T25:00:00Z', 'yesterday', '01/02/2025', ''])('%j is refused with one clear line', (text) => {
    expect(() => parseSince(text)).toThrow(UsageError);
    expect(() => parseSince(text)).toThrow(/--since ".*" is not a valid date: use YYYY-MM-DD or an ISO-8601 date-time/);
  });
});

test('a --since after now is run, with a warning', () => {
  const now = new Date('2025-06-01T12:00:00Z');
  expect(futureSinceWarning(parseSince('2999-01-01'), now)).toBe('--since 2999-01-01T00:00:00.000Z is in the future: nothing can have changed since then');
  expect(futureSinceWarning(parseSince('2025-06-01T12:00:01Z'), now)).toMatch(/is in the future/);
  expect(futureSinceWarning(parseSince('2025-06-01T12:00:00Z'), now)).toBeUndefined();
  expect(futureSinceWarning(undefined, now)).toBeUndefined();
});

describe('sync flags', () => {
  test('Dynamics 365 pages go up to 5,000 records', async () => {
    expect(await parseSyncFlags({ ...defaults, source: 'dynamics', batchSize: '5000' })).toMatchObject({ source: 'dynamics', batchSize: 5000 });
  });

  test('defaults', async () => {
    expect(await parseSyncFlags(defaults, {})).toEqual({
      source: 'hubspot',
      full: false,
      dryRun: false,
      forceOverwrite: false,
      twoWay: false,
      debug: false,
      batchSize: undefined,
      maxRecords: 0,
      since: undefined,
      concurrency: undefined,
      dailyReserve: { percent: 10 },
    });
  });

  test.each([
    [{ batchSize: '0' }, '--batch-size must be a whole number from 1 to 200, got "0"'],
    [{ batchSize: '-5' }, '--batch-size must be a whole number from 1 to 200, got "-5"'],
    [{ batchSize: '201' }, '--batch-size must be a whole number from 1 to 200, got "201"'],
    [{ batchSize: 'ten' }, '--batch-size must be a whole number from 1 to 200, got "ten"'],
    [{ maxRecords: '-1' }, '--max-records must be a whole number of 0 or more, got "-1"'],
    [{ source: 'dynamics', batchSize: '5001' }, '--batch-size must be a whole number from 1 to 5000, got "5001"'],
  ])('%j → %s', async (flags, message) => {
    await expect(parseSyncFlags({ ...defaults, ...flags })).rejects.toThrow(message);
  });
});

test('seed lists', () => {
  expect(parseSeed('contacts=5000,companies=500,deals=2000')).toEqual({ contacts: 5000, companies: 500, deals: 2000 });
  expect(() => parseSeed('contacts:5')).toThrow(UsageError);
  expect(() => parseSeed('accounts:5', '--dynamics-seed')).toThrow(/^--dynamics-seed "accounts:5" is not a list/);
});

describe('--daily-reserve', () => {
  test.each([
    ['10%', { percent: 10 }],
    ['2.5%', { percent: 2.5 }],
    [' 25000 ', { requests: 25_000 }],
    ['0', { requests: 0 }],
    ['0%', { percent: 0 }],
  ])('%j → %j', async (text, reserve) => {
    expect((await parseSyncFlags({ ...defaults, dailyReserve: text }, {})).dailyReserve).toEqual(reserve);
  });

  test('CRMSYNC_DAILY_RESERVE when the flag is not given; the flag wins over it', async () => {
    expect((await parseSyncFlags(defaults, { CRMSYNC_DAILY_RESERVE: '5000' })).dailyReserve).toEqual({ requests: 5_000 });
    expect((await parseSyncFlags({ ...defaults, dailyReserve: '20%' }, { CRMSYNC_DAILY_RESERVE: 'nonsense' })).dailyReserve).toEqual({ percent: 20 });
    expect((await parseSyncFlags(defaults, { CRMSYNC_DAILY_RESERVE: ' ' })).dailyReserve).toEqual({ percent: 10 });
  });

  test.each(['ten', '-5', '100%', '150%', '10 percent', '%', '1e5', ''])('%j is refused in one line naming the flag', async (text) => {
    await expect(parseSyncFlags({ ...defaults, dailyReserve: text }, {})).rejects.toThrow(
      `--daily-reserve must be a number of requests (such as 25000) or a share of HubSpot's daily limit below 100% (such as 10%), 0 for no reserve; got "${text}"`,
    );
  });

  test('a bad CRMSYNC_DAILY_RESERVE is named as such', async () => {
    await expect(parseSyncFlags(defaults, { CRMSYNC_DAILY_RESERVE: '12 %%' })).rejects.toThrow(/^CRMSYNC_DAILY_RESERVE must be a number of requests/);
  });
});
