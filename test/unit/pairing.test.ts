import { describe, expect, test } from 'vitest';
import { linkId } from '../../src/processors/link-id.js';
import type { CreateTarget } from '../../src/config/two-way-schema.js';
import { buildMatchIndex, createsFrom, pairRecords, type Unlinked } from '../../src/processors/pairing.js';

const twoWay = (create: CreateTarget) => ({
  create,
  match: { hubspot: { property: 'email', unique: false }, dynamics: { property: 'emailaddress1', unique: false }, normalize: 'lowercase' as const },
});
const none = { hubspot: new Set<string>(), dynamics: new Set<string>() };
const index = (hubspot: [string, string | null][], dynamics: [string, string | null][]) =>
  buildMatchIndex({ hubspot: hubspot.map(([id, key]) => ({ id, key })), dynamics: dynamics.map(([id, key]) => ({ id, key })) });

describe('pairing records without a link', () => {
  test('one candidate on each side: linked, whichever side the record is on', () => {
    const found = index([['h1', 'ada@x.com']], [['d1', 'ada@x.com']]);
    const unlinked: Unlinked[] = [
      { side: 'hubspot', id: 'h1', key: 'ada@x.com' },
      { side: 'dynamics', id: 'd1', key: 'ada@x.com' },
    ];
    // The second record is taken by the first one's link and not decided again.
    expect(pairRecords(unlinked, found, none, twoWay('both'))).toEqual([{ kind: 'link', hubspot: 'h1', dynamics: 'd1', key: 'ada@x.com' }]);
  });

  test('no candidate: a twin where create allows it, else unmatched with the reason', () => {
    const found = index([['h1', 'ada@x.com']], [['d1', 'grace@x.com']]);
    const unlinked: Unlinked[] = [
      { side: 'hubspot', id: 'h1', key: 'ada@x.com' },
      { side: 'dynamics', id: 'd1', key: 'grace@x.com' },
    ];
    expect(pairRecords(unlinked, found, none, twoWay('to_dynamics'))).toEqual([
      { kind: 'create', from: 'hubspot', id: 'h1', key: 'ada@x.com' },
      { kind: 'unmatched', side: 'dynamics', id: 'd1', reason: 'no HubSpot record has email "grace@x.com" (create: to_dynamics)' },
    ]);
  });

  test('several candidates on either side: never guessed, never twinned', () => {
    const found = index([['h1', 'ada@x.com']], [['d1', 'ada@x.com'], ['d2', 'ada@x.com']]);
    const unlinked: Unlinked[] = [
      { side: 'hubspot', id: 'h1', key: 'ada@x.com' },
      { side: 'dynamics', id: 'd1', key: 'ada@x.com' },
    ];
    const decisions = pairRecords(unlinked, found, none, twoWay('both'));
    expect(decisions.map((decision) => decision.kind)).toEqual(['unmatched', 'unmatched']);
    expect(decisions[0]).toMatchObject({ reason: expect.stringContaining('ambiguous: 2 Dynamics 365 records have emailaddress1 "ada@x.com"') });
    expect(decisions[1]).toMatchObject({ reason: 'ambiguous: 2 Dynamics 365 records have emailaddress1 "ada@x.com"' });
  });

  test('a candidate linked to another record is not taken; no match value is never paired', () => {
    const found = index([['h1', 'ada@x.com'], ['h2', null]], [['d1', 'ada@x.com']]);
    const decisions = pairRecords(
      [
        { side: 'hubspot', id: 'h1', key: 'ada@x.com' },
        { side: 'hubspot', id: 'h2', key: null },
      ],
      found,
      { hubspot: new Set(), dynamics: new Set(['d1']) },
      twoWay('both'),
    );
    expect(decisions).toEqual([
      { kind: 'unmatched', side: 'hubspot', id: 'h1', reason: 'Dynamics 365 record d1 with emailaddress1 "ada@x.com" is linked to another record' },
      { kind: 'unmatched', side: 'hubspot', id: 'h2', reason: 'no email to match on' },
    ]);
  });

  test('records sharing a key on one side get no twin where the other side holds one record per key', () => {
    const found = index([], [['d1', 'ada@x.com'], ['d2', 'ada@x.com'], ['d3', 'grace@x.com']]);
    const unique = { ...twoWay('both'), match: { ...twoWay('both').match, hubspot: { property: 'email', unique: true } } };
    const decisions = pairRecords(
      ['d1', 'd2', 'd3'].map((id) => ({ side: 'dynamics' as const, id, key: id === 'd3' ? 'grace@x.com' : 'ada@x.com' })),
      found,
      none,
      unique,
    );
    expect(decisions.map((decision) => decision.kind)).toEqual(['unmatched', 'unmatched', 'create']);
    expect(decisions[0]).toMatchObject({ reason: 'ambiguous: 2 Dynamics 365 records have emailaddress1 "ada@x.com", and HubSpot holds one record per email' });
  });

  test('create targets', () => {
    expect([createsFrom('both', 'hubspot'), createsFrom('both', 'dynamics')]).toEqual([true, true]);
    expect([createsFrom('to_hubspot', 'hubspot'), createsFrom('to_hubspot', 'dynamics')]).toEqual([false, true]);
    expect([createsFrom('none', 'hubspot'), createsFrom('none', 'dynamics')]).toEqual([false, false]);
  });
});

describe('link ids', () => {
  test('the same record gives the same id, shaped as a version 5 UUID; other records other ids', () => {
    const id = linkId('hubspot', 'contacts', '101');
    expect(id).toBe(linkId('hubspot', 'contacts', '101'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set([id, linkId('dynamics', 'contacts', '101'), linkId('hubspot', 'companies', '101'), linkId('hubspot', 'contacts', '102')]).size).toBe(4);
  });
});
