import { describe, expect, test } from 'vitest';
import type { TwoWayMapping } from '../../src/config/two-way.js';
import type { SideRecord } from '../../src/processors/pair-plan.js';
import { compareVersions, driftedFields, isNewer, pairsPerField, type StoredVersion } from '../../src/processors/reconcile.js';
import { mappingsVariant } from '../helpers/two-way.js';

const at = (day: number) => `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
const stored = (id: string, day: number | null, deleted = false): StoredVersion => ({ id, modifiedAt: day === null ? null : at(day), deleted });

describe('comparing the listing with the store', () => {
  test('each kind: missing (absent or marked deleted here), gone (not listed), stale (listed later than stored); the rest agree', () => {
    const listed = [
      { id: '1', modifiedAt: at(5) },
      { id: '2', modifiedAt: at(5) },
      { id: '3', modifiedAt: at(9) },
      { id: '4', modifiedAt: at(5) },
      { id: '6', modifiedAt: at(4) },
    ];
    const local = [stored('1', 5), stored('3', 5), stored('4', 5, true), stored('5', 2), stored('6', 5), stored('7', 1, true)];
    expect(compareVersions(listed, local, new Set())).toEqual({
      missing: ['2', '4'],
      gone: ['5'],
      stale: ['3'],
      sourceRecords: 5,
      localRecords: 4,
      rejected: 0,
    });
  });

  test('a record whose latest version was rejected is neither missing nor stale, and is counted apart; gone it is gone', () => {
    const listed = [
      { id: 'a', modifiedAt: at(9) },
      { id: 'b', modifiedAt: at(9) },
    ];
    const result = compareVersions(listed, [stored('a', 1), stored('c', 1)], new Set(['a', 'b', 'c']));
    expect(result).toMatchObject({ missing: [], stale: [], gone: ['c'], rejected: 2 });
  });

  test('an id listed twice counts once; formatting of times does not matter, only the instant', () => {
    const listed = [
      { id: '1', modifiedAt: '2026-01-05T01:00:00+01:00' },
      { id: '1', modifiedAt: '2026-01-05T01:00:00+01:00' },
    ];
    expect(compareVersions(listed, [stored('1', 5)], new Set())).toMatchObject({ stale: [], missing: [], gone: [], sourceRecords: 1 });
  });

  test.each([
    [at(2), at(1), true],
    [at(1), at(1), false],
    [at(1), at(2), false],
    [null, at(1), false],
    [at(1), null, true],
  ])('isNewer(%s, %s) is %s', (source, local, newer) => {
    expect(isNewer(source, local)).toBe(newer);
  });
});

// The shipped contacts, with a city left to a person and a phone only filled where empty.
const twoWay = mappingsVariant([
  '        created_at: { direction: none }\n\n  companies:',
  '        created_at: { direction: none }\n        city: { conflict: manual }\n        phone: { merge: fill_if_missing }\n\n  companies:',
]).objects.get('contacts')!.twoWay as TwoWayMapping;
const side = (id: string, fields: Record<string, unknown>): SideRecord => ({ id, fields, modifiedAt: at(2) });
const base = (values: Record<string, unknown>) => new Map(Object.entries(values)) as Map<string, never>;

describe('comparing a linked pair', () => {
  test('fields a merge would write either way, and those left to a person, in mapping order; formatting alone is no drift', () => {
    const drift = driftedFields(twoWay, {
      hubspot: side('h1', { email: 'Ada@X.com ', jobtitle: 'CTO', city: 'Paris', email_optout: true }),
      dynamics: side('d1', { email: 'ada@x.com', jobtitle: 'Engineer', city: 'Lyon', email_optout: false }),
      base: base({ email: 'ada@x.com', jobtitle: 'Engineer', city: 'Nice', email_optout: false }),
    });
    expect(drift).toEqual({ fields: ['jobtitle', 'city', 'email_optout'], manual: ['city'] });
  });

  test('differences the rules leave alone are not drift: a direction that does not write it, fill_if_missing over a value', () => {
    const drift = driftedFields(twoWay, {
      hubspot: side('h1', { email: 'ada@x.com', phone: '+33 1 23 45 67 89', email_optout: false, created_at: at(1) }),
      dynamics: side('d1', { email: 'ada@x.com', phone: '+44 20 7946 0958', email_optout: true, created_at: at(3) }),
      base: base({ email: 'ada@x.com', email_optout: false }),
    });
    expect(drift).toEqual({ fields: [], manual: [] });
  });

  test('a pair that agrees has no drift, whatever its field state says', () => {
    const record = { email: 'ada@x.com', jobtitle: 'CTO' };
    expect(driftedFields(twoWay, { hubspot: side('h1', record), dynamics: side('d1', record), base: base({ jobtitle: 'Engineer' }) }).fields).toEqual([]);
  });

  test('pairs per field', () => {
    const drifts = [
      { linkId: 'l1', hubspotId: '1', dynamicsId: 'a', fields: ['jobtitle', 'city'], manual: ['city'] },
      { linkId: 'l2', hubspotId: '2', dynamicsId: 'b', fields: ['jobtitle'], manual: [] },
    ];
    expect(pairsPerField(drifts)).toEqual({ jobtitle: 2, city: 1 });
  });
});
