import { describe, expect, test } from 'vitest';
import { chooseStrategy, describeStrategy, READ_BY_ID, resumableRun, usableState, type CurrentTarget, type StoredState, type Strategy } from '../../src/engines/strategy.js';
import type { SyncHistoryRow } from '../../src/db/sync-history.js';

const watermark = '2025-06-01T12:00:00.000Z';
const overlap = 600_000;
const none = { full: false, forceOverwrite: false };
const FULL: Strategy = { syncMode: 'full', mode: 'full', advancesWatermark: true };

describe('strategy priority: --since > --force-overwrite > --full > watermark > full', () => {
  test.each([
    ['first run', none, null, { syncMode: 'full', mode: 'full', advancesWatermark: true }],
    ['watermark minus overlap', none, watermark, { syncMode: 'incremental', mode: 'incremental', since: '2025-06-01T11:50:00.000Z', advancesWatermark: true }],
    ['--full', { ...none, full: true }, watermark, { syncMode: 'full', mode: 'full', advancesWatermark: true }],
    ['--force-overwrite beats --full', { full: true, forceOverwrite: true }, watermark, { syncMode: 'force_overwrite', mode: 'full', advancesWatermark: true }],
    [
      '--since beats everything; before the watermark it may move it',
      { full: true, forceOverwrite: true, since: new Date('2025-01-01T00:00:00Z') },
      watermark,
      { syncMode: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: true },
    ],
    [
      '--since after the watermark leaves a gap and must not move it',
      { ...none, since: new Date('2025-07-01T00:00:00Z') },
      watermark,
      { syncMode: 'since', mode: 'incremental', since: '2025-07-01T00:00:00.000Z', advancesWatermark: false },
    ],
    ['--since without any watermark', { ...none, since: new Date('2025-01-01T00:00:00Z') }, null, { syncMode: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: false }],
  ])('%s', (_, options, last, expected) => {
    expect(chooseStrategy(options, { watermark: last, deltaLink: null, tracksChanges: false }, overlap)).toEqual(expected);
  });
});

describe('a source with change tracking reads from its delta link', () => {
  const deltaLink = 'https://org.example/api/data/v9.2/contacts?$deltatoken=9!01/01/2025';
  test.each([
    ['the last delta link', none, deltaLink, { syncMode: 'changes', mode: 'changes', deltaLink, advancesWatermark: true }],
    ['no delta link yet: a full read gets one', none, null, { syncMode: 'full', mode: 'full', advancesWatermark: true }],
    ['--full still reads everything', { ...none, full: true }, deltaLink, { syncMode: 'full', mode: 'full', advancesWatermark: true }],
    [
      '--since filters on the modification time instead',
      { ...none, since: new Date('2025-01-01T00:00:00Z') },
      deltaLink,
      { syncMode: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: true },
    ],
  ])('%s', (_, options, link, expected) => {
    expect(chooseStrategy(options, { watermark, deltaLink: link, tracksChanges: true }, overlap)).toEqual(expected);
  });
});

describe('each kind of read says what it does', () => {
  test.each<[Strategy, string]>([
    [{ syncMode: 'full', mode: 'full', advancesWatermark: true }, 'full read'],
    [{ syncMode: 'force_overwrite', mode: 'full', advancesWatermark: true }, 'full read, overwriting every local row'],
    [{ syncMode: 'incremental', mode: 'incremental', since: watermark, advancesWatermark: true }, `incremental read of changes since ${watermark}`],
    [{ syncMode: 'since', mode: 'incremental', since: watermark, advancesWatermark: false }, `reading changes since ${watermark}`],
    [{ syncMode: 'changes', mode: 'changes', deltaLink: 'https://org.example/x', advancesWatermark: true }, 'reading changes since the last run (change tracking)'],
  ])('%o', (strategy, text) => {
    expect(describeStrategy(strategy)).toBe(text);
  });
});

const current: CurrentTarget = { origin: 'https://new.example', originName: 'organisation', object: 'contacts', mapping: 'm2' };

describe('stored state is used only by runs of the same origin and mapping', () => {
  const deltaLink = 'https://old.example/api/data/v9.2/contacts?$deltatoken=1';
  const moved = 'organisation changed (was https://old.example, now https://new.example): reading everything';
  const remapped = 'mapping of contacts changed since the last run; reading everything so every row follows it';
  const stored = (target: { origin?: string; mapping?: string }, lastRun?: { origin?: string; mapping?: string }): StoredState => ({
    watermark: { value: watermark, target },
    deltaLink: { value: deltaLink, target },
    lastRun: lastRun ?? target,
  });
  test.each<[string, StoredState, { watermark: string | null; deltaLink: string | null; setAside?: string }]>([
    ['same origin and mapping', stored({ origin: 'https://new.example', mapping: 'm2' }), { watermark, deltaLink }],
    ['recorded before targets were stored: taken as the current one', stored({}), { watermark, deltaLink }],
    ['another origin', stored({ origin: 'https://old.example', mapping: 'm2' }), { watermark: null, deltaLink: null, setAside: moved }],
    ['another mapping', stored({ origin: 'https://new.example', mapping: 'm1' }), { watermark: null, deltaLink: null, setAside: remapped }],
    ['both: the origin is named', stored({ origin: 'https://old.example', mapping: 'm1' }), { watermark: null, deltaLink: null, setAside: moved }],
    [
      'only the last run (one that left nothing) read another origin',
      { lastRun: { origin: 'https://old.example' } },
      { watermark: null, deltaLink: null, setAside: moved },
    ],
    [
      'the last run read another origin, the watermark is this one\'s: kept',
      stored({ origin: 'https://new.example', mapping: 'm2' }, { origin: 'https://old.example' }),
      { watermark, deltaLink, setAside: moved },
    ],
  ])('%s', (_, state, expected) => {
    expect(usableState(state, current, true)).toEqual({ tracksChanges: true, ...expected });
  });

  test('association runs have no mapping: only the origin counts', () => {
    expect(usableState(stored({ origin: 'https://new.example', mapping: 'm1' }), { ...current, mapping: undefined }, false)).toEqual({ watermark, deltaLink: null, tracksChanges: false });
  });

  test.each([
    ['a plain run reads everything and says why', none, { ...FULL, reason: remapped }],
    ['--full reads everything anyway', { ...none, full: true }, FULL],
    ['--since keeps its window but cannot move a watermark', { ...none, since: new Date('2025-01-01T00:00:00Z') }, { syncMode: 'since', mode: 'incremental', since: '2025-01-01T00:00:00.000Z', advancesWatermark: false }],
  ])('set aside: %s', (_, options, expected) => {
    const state = usableState(stored({ origin: 'https://new.example', mapping: 'm1' }), current, false);
    expect(chooseStrategy(options, state, overlap)).toEqual(expected);
  });
});

describe('which failed run the next one continues', () => {
  const strategy: Strategy = { syncMode: 'full', mode: 'full', advancesWatermark: true };
  const target = { origin: 'https://new.example', mapping: 'm2' };
  const row = (changes: Partial<SyncHistoryRow>, stored: object = target) =>
    ({ id: 7, status: 'failed', checkpoint: '{"cursor":"abc"}', configuration: JSON.stringify({ full: false, forceOverwrite: false, strategy, ...stored }), ...changes }) as SyncHistoryRow;

  test.each([
    ['a failed run with a checkpoint, asked nothing else', row({}), none, true],
    ['the same flags again', row({ configuration: JSON.stringify({ full: true, forceOverwrite: false, strategy }) }), { ...none, full: true }, true],
    ['other flags', row({}), { ...none, full: true }, false],
    ['a run that finished', row({ status: 'success' }), none, false],
    ['a run that committed nothing', row({ checkpoint: null }), none, false],
    ['a live run (running): another process is still reading', row({ status: 'running' }), none, false],
    ['a run of another origin: its cursor is another host\'s', row({}, { ...target, origin: 'https://old.example' }), none, false],
    ['a run with another mapping: its rows follow that one', row({}, { ...target, mapping: 'm1' }), none, false],
    ['a run recorded before targets were stored', row({}, {}), none, true],
  ])('%s: %#', (_, previous, options, resumes) => {
    const resumed = resumableRun(previous, options, current);
    expect(resumed !== undefined).toBe(resumes);
    if (resumed) expect(resumed).toMatchObject({ strategy, checkpoint: { cursor: 'abc' } });
  });

  test('a failed read by id (reconcile --fix) is never continued: the next reconciliation finds what it left', () => {
    const byId = row({ configuration: JSON.stringify({ full: false, forceOverwrite: false, strategy: READ_BY_ID, ...target }) });
    expect(resumableRun(byId, none, current)).toBeUndefined();
    expect(describeStrategy(READ_BY_ID)).toBe('reading by id the records a reconciliation found out of step');
  });
});
