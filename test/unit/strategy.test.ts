import { describe, expect, test } from 'vitest';
import { chooseStrategy, describeStrategy, resumableRun, type Strategy } from '../../src/engines/strategy.js';
import type { SyncHistoryRow } from '../../src/db/sync-history.js';

const watermark = '2025-06-01T12:00:00.000Z';
const overlap = 600_000;
const none = { full: false, forceOverwrite: false };

describe('strategy priority: --since > --force-overwrite > --full > watermark > full', () => {
  test.each([
    ['first run', none, null, { syncType: 'full', mode: 'full', advancesWatermark: true }],
    ['watermark minus overlap', none, watermark, { syncType: 'incremental', mode: 'incremental', since: '2025-06-01T11:50:00.000Z', advancesWatermark: true }],
    ['--full', { ...none, full: true }, watermark, { syncType: 'full', mode: 'full', advancesWatermark: true }],
    ['--force-overwrite beats --full', { full: true, forceOverwrite: true }, watermark, { syncType: 'force_overwrite', mode: 'full', advancesWatermark: true }],
    [
      '--since beats everything; before the watermark it may move it',
      { full: true, forceOverwrite: true, since: new Date('2025-01-01T00:00:00Z') },
      watermark,
      { syncType: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: true },
    ],
    [
      '--since after the watermark leaves a gap and must not move it',
      { ...none, since: new Date('2025-07-01T00:00:00Z') },
      watermark,
      { syncType: 'since', mode: 'incremental', since: '2025-07-01T00:00:00.000Z', advancesWatermark: false },
    ],
    ['--since without any watermark', { ...none, since: new Date('2025-01-01T00:00:00Z') }, null, { syncType: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: false }],
  ])('%s', (_, options, last, expected) => {
    expect(chooseStrategy(options, { watermark: last, deltaLink: null, tracksChanges: false }, overlap)).toEqual(expected);
  });
});

describe('a source with change tracking reads from its delta link', () => {
  const deltaLink = 'https://org.example/api/data/v9.2/contacts?$deltatoken=9!01/01/2025';
  test.each([
    ['the last delta link', none, deltaLink, { syncType: 'incremental', mode: 'changes', deltaLink, advancesWatermark: true }],
    ['no delta link yet: a full read gets one', none, null, { syncType: 'full', mode: 'full', advancesWatermark: true }],
    ['--full still reads everything', { ...none, full: true }, deltaLink, { syncType: 'full', mode: 'full', advancesWatermark: true }],
    [
      '--since filters on the modification time instead',
      { ...none, since: new Date('2025-01-01T00:00:00Z') },
      deltaLink,
      { syncType: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: true },
    ],
  ])('%s', (_, options, link, expected) => {
    expect(chooseStrategy(options, { watermark, deltaLink: link, tracksChanges: true }, overlap)).toEqual(expected);
  });
});

describe('each kind of read says what it does', () => {
  test.each<[Strategy, string]>([
    [{ syncType: 'full', mode: 'full', advancesWatermark: true }, 'full read'],
    [{ syncType: 'force_overwrite', mode: 'full', advancesWatermark: true }, 'full read, overwriting every local row'],
    [{ syncType: 'incremental', mode: 'incremental', since: watermark, advancesWatermark: true }, `incremental read of changes since ${watermark}`],
    [{ syncType: 'since', mode: 'incremental', since: watermark, advancesWatermark: false }, `reading changes since ${watermark}`],
    [{ syncType: 'incremental', mode: 'changes', deltaLink: 'https://org.example/x', advancesWatermark: true }, 'reading changes since the last run (change tracking)'],
  ])('%o', (strategy, text) => {
    expect(describeStrategy(strategy)).toBe(text);
  });
});

describe('which failed run the next one continues', () => {
  const strategy: Strategy = { syncType: 'full', mode: 'full', advancesWatermark: true };
  const row = (changes: Partial<SyncHistoryRow>) =>
    ({ id: 7, status: 'failed', checkpoint: '{"cursor":"abc"}', configuration: JSON.stringify({ full: false, forceOverwrite: false, strategy }), ...changes }) as SyncHistoryRow;

  test.each([
    ['a failed run with a checkpoint, asked nothing else', row({}), none, true],
    ['the same flags again', row({ configuration: JSON.stringify({ full: true, forceOverwrite: false, strategy }) }), { ...none, full: true }, true],
    ['other flags', row({}), { ...none, full: true }, false],
    ['a run that finished', row({ status: 'success' }), none, false],
    ['a run that committed nothing', row({ checkpoint: null }), none, false],
  ])('%s: %#', (_, previous, options, resumes) => {
    const resumed = resumableRun(previous, options);
    expect(resumed !== undefined).toBe(resumes);
    if (resumed) expect(resumed).toMatchObject({ strategy, checkpoint: { cursor: 'abc' } });
  });
});
