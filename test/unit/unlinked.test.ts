import { describe, expect, test } from 'vitest';
import type { SourceName } from '../../src/config/sources.js';
import type { CreateTarget } from '../../src/config/two-way-schema.js';
import { buildMatchIndex, explainUnlinked, keyedRecords, type UnlinkedRecord } from '../../src/processors/pairing.js';

const MATCH = { hubspot: { property: 'email', unique: false }, dynamics: { property: 'emailaddress1', unique: false }, normalize: 'lowercase' as const };

/** Records of each side by id with their match keys; every id of `linked` has a link. */
function explain(
  records: Record<SourceName, Record<string, string | null>>,
  options: { linked?: Partial<Record<SourceName, string[]>>; create?: CreateTarget; waiting?: Record<SourceName, string[]> } = {},
): Pick<UnlinkedRecord, 'side' | 'id' | 'outcome' | 'reason'>[] {
  const keys = { hubspot: new Map(Object.entries(records.hubspot)), dynamics: new Map(Object.entries(records.dynamics)) };
  const index = buildMatchIndex({ hubspot: [...keys.hubspot].map(([id, key]) => ({ id, key })), dynamics: [...keys.dynamics].map(([id, key]) => ({ id, key })) });
  const linked = { hubspot: new Set(options.linked?.hubspot ?? []), dynamics: new Set(options.linked?.dynamics ?? []) };
  const unlinked = keyedRecords(keys, { hubspot: [...keys.hubspot.keys()].filter((id) => !linked.hubspot.has(id)), dynamics: [...keys.dynamics.keys()].filter((id) => !linked.dynamics.has(id)) });
  const waiting = options.waiting ?? { hubspot: [...keys.hubspot.keys()], dynamics: [...keys.dynamics.keys()] };
  const explained = explainUnlinked(unlinked, index, linked, { match: MATCH, create: options.create ?? 'none' }, { hubspot: new Set(waiting.hubspot), dynamics: new Set(waiting.dynamics) });
  return explained.map(({ side, id, outcome, reason }) => ({ side, id, outcome, reason }));
}

describe('why a record has no link, as pairing decides it', () => {
  test('no match value', () => {
    expect(explain({ hubspot: { '1': null }, dynamics: {} })).toEqual([{ side: 'hubspot', id: '1', outcome: 'unmatched', reason: 'no email to match on' }]);
  });

  test('two rows of one email: every record of the key is ambiguous, each saying which side repeats it', () => {
    expect(explain({ hubspot: { '1': 'ada@example.com' }, dynamics: { a: 'ada@example.com', b: 'ada@example.com' } })).toEqual([
      { side: 'hubspot', id: '1', outcome: 'unmatched', reason: 'ambiguous: 2 Dynamics 365 records have emailaddress1 "ada@example.com" (a, b)' },
      { side: 'dynamics', id: 'a', outcome: 'unmatched', reason: 'ambiguous: 2 Dynamics 365 records have emailaddress1 "ada@example.com"' },
      { side: 'dynamics', id: 'b', outcome: 'unmatched', reason: 'ambiguous: 2 Dynamics 365 records have emailaddress1 "ada@example.com"' },
    ]);
  });

  test('no record of the other side has the key, and create does not allow a twin', () => {
    expect(explain({ hubspot: { '1': 'ada@example.com' }, dynamics: { a: 'bob@example.com' } }, { create: 'to_hubspot' })).toEqual([
      { side: 'hubspot', id: '1', outcome: 'unmatched', reason: 'no Dynamics 365 record has emailaddress1 "ada@example.com" (create: to_hubspot)' },
      { side: 'dynamics', id: 'a', outcome: 'create', reason: 'not yet paired: the next two-way run creates its twin in HubSpot' },
    ]);
  });

  test('the only candidate is linked to another record already', () => {
    expect(explain({ hubspot: { '1': 'ada@example.com', '2': 'ada.l@example.com' }, dynamics: { a: 'ada@example.com' } }, { linked: { hubspot: ['2'], dynamics: ['a'] } })).toEqual([
      { side: 'hubspot', id: '1', outcome: 'unmatched', reason: 'Dynamics 365 record a with emailaddress1 "ada@example.com" is linked to another record' },
    ]);
  });

  test('a pair the next run links is listed from both sides', () => {
    expect(explain({ hubspot: { '1': 'ada@example.com' }, dynamics: { a: 'ada@example.com' } }, { waiting: { hubspot: [], dynamics: ['a'] } })).toEqual([
      { side: 'hubspot', id: '1', outcome: 'link', reason: 'not yet paired: the next two-way run links it to Dynamics 365 record a' },
      { side: 'dynamics', id: 'a', outcome: 'link', reason: 'not yet paired: the next two-way run links it to HubSpot record 1' },
    ]);
  });

  test('records that did not change since the last two-way run are paired only by a run with --full', () => {
    const waiting = { hubspot: [], dynamics: [] };
    expect(explain({ hubspot: { '1': 'ada@example.com', '2': 'bob@example.com' }, dynamics: { a: 'ada@example.com' } }, { waiting, create: 'both' }).map((record) => record.reason)).toEqual([
      'not yet paired: a two-way run with --full links it to Dynamics 365 record a (unchanged since the last two-way run, which pairs only changed records)',
      'not yet paired: a two-way run with --full creates its twin in Dynamics 365 (unchanged since the last two-way run, which pairs only changed records)',
      'not yet paired: a two-way run with --full links it to HubSpot record 1 (unchanged since the last two-way run, which pairs only changed records)',
    ]);
  });
});
