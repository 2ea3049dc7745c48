import { describe, expect, test } from 'vitest';
import { chooseStrategy } from '../../src/engines/strategy.js';

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
