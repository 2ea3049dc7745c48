import { describe, expect, test } from 'vitest';
import type { TwoWayField } from '../../src/config/two-way.js';
import { CONFLICT_POLICIES, DIRECTIONS, MERGE_RULES, type ConflictPolicy, type Direction, type MergeRule } from '../../src/config/two-way-schema.js';
import type { FieldType } from '../../src/config/mappings-schema.js';
import type { FieldValue } from '../../src/processors/field-types.js';
import { mergeField, type CrmValue, type MergeDecision, type MergeInput } from '../../src/processors/merge.js';

type Side = 'hubspot' | 'dynamics';
type Value = 'empty' | 'A' | 'B';
type Base = Value | 'absent';
type Rule = { direction: Direction; merge: MergeRule; conflict: ConflictPolicy };
type Forms<T = unknown> = Record<Value, T>;

/**
 * A kind of field and how its values A, B and "empty" look: as each CRM sends them (with
 * formatting that is no change), as each is written back, and as both sides agree on them.
 */
interface Kind {
  name: string;
  types: Record<Side, FieldType>;
  values?: Record<string, number>;
  sent: Record<Side, Forms>;
  written: Record<Side, Forms<CrmValue>>;
  agreed: Forms<FieldValue>;
  /** Each side's value in its own terms, where that is not the agreed form. */
  own?: Partial<Record<Side, Forms<FieldValue>>>;
}

const KINDS: Kind[] = [
  {
    name: 'text ("" is no value)',
    types: { hubspot: 'string', dynamics: 'string' },
    sent: { hubspot: { A: 'Ada', B: 'Grace', empty: '' }, dynamics: { A: 'Ada', B: 'Grace', empty: null } },
    written: { hubspot: { A: 'Ada', B: 'Grace', empty: '' }, dynamics: { A: 'Ada', B: 'Grace', empty: null } },
    agreed: { A: 'Ada', B: 'Grace', empty: null },
  },
  {
    name: 'email (case and spaces are formatting)',
    types: { hubspot: 'email', dynamics: 'email' },
    sent: { hubspot: { A: ' Ada@Example.com', B: 'grace@example.com', empty: undefined }, dynamics: { A: 'ADA@example.com', B: 'Grace@Example.COM ', empty: '' } },
    written: { hubspot: { A: 'ada@example.com', B: 'grace@example.com', empty: '' }, dynamics: { A: 'ada@example.com', B: 'grace@example.com', empty: null } },
    agreed: { A: 'ada@example.com', B: 'grace@example.com', empty: null },
  },
  {
    name: 'a whole number in HubSpot, a decimal in Dataverse ("1.0" is 1)',
    types: { hubspot: 'integer', dynamics: 'decimal' },
    sent: { hubspot: { A: '1.0', B: '2', empty: '' }, dynamics: { A: 1, B: '2.00', empty: null } },
    written: { hubspot: { A: '1', B: '2', empty: '' }, dynamics: { A: 1, B: 2, empty: null } },
    agreed: { A: 1, B: 2, empty: null },
  },
  {
    name: 'an enumeration mapped onto a Dataverse choice',
    types: { hubspot: 'enumeration', dynamics: 'integer' },
    values: { ACCOUNTING: 1, BANKING: 3 },
    sent: { hubspot: { A: 'ACCOUNTING', B: 'BANKING', empty: '' }, dynamics: { A: 1, B: 3, empty: null } },
    written: { hubspot: { A: 'ACCOUNTING', B: 'BANKING', empty: '' }, dynamics: { A: 1, B: 3, empty: null } },
    agreed: { A: 'ACCOUNTING', B: 'BANKING', empty: null },
    own: { dynamics: { A: 1, B: 3, empty: null } },
  },
  {
    name: 'a date-time (offsets and epoch milliseconds are formatting)',
    types: { hubspot: 'datetime', dynamics: 'datetime' },
    sent: { hubspot: { A: '1741083072345', B: '2025-06-01T08:00:00.000Z', empty: '' }, dynamics: { A: '2025-03-04T12:11:12.345+02:00', B: '2025-06-01T08:00:00Z', empty: null } },
    written: { hubspot: { A: '2025-03-04T10:11:12.345Z', B: '2025-06-01T08:00:00.000Z', empty: '' }, dynamics: { A: '2025-03-04T10:11:12.345Z', B: '2025-06-01T08:00:00.000Z', empty: null } },
    agreed: { A: '2025-03-04T10:11:12.345Z', B: '2025-06-01T08:00:00.000Z', empty: null },
  },
  {
    name: 'a date (HubSpot takes midnight UTC in milliseconds)',
    types: { hubspot: 'date', dynamics: 'date' },
    sent: { hubspot: { A: '1741046400000', B: '2025-06-01', empty: '' }, dynamics: { A: '2025-03-04', B: '2025-06-01', empty: null } },
    written: { hubspot: { A: '1741046400000', B: '1748736000000', empty: '' }, dynamics: { A: '2025-03-04', B: '2025-06-01', empty: null } },
    agreed: { A: '2025-03-04', B: '2025-06-01', empty: null },
  },
  {
    name: 'a boolean (false is a value)',
    types: { hubspot: 'boolean', dynamics: 'boolean' },
    sent: { hubspot: { A: 'TRUE', B: 'false', empty: '' }, dynamics: { A: true, B: false, empty: null } },
    written: { hubspot: { A: 'true', B: 'false', empty: '' }, dynamics: { A: true, B: false, empty: null } },
    agreed: { A: true, B: false, empty: null },
  },
];

const PROPERTIES = { hubspot: 'hs_prop', dynamics: 'new_prop' };
const fieldOf = (kind: Pick<Kind, 'types' | 'values'>, rule: Rule): TwoWayField => ({
  column: 'prop',
  path: 'objects.things.two_way.fields.prop',
  hubspot: { property: PROPERTIES.hubspot, type: kind.types.hubspot },
  dynamics: { property: PROPERTIES.dynamics, type: kind.types.dynamics },
  ...rule,
  ...(kind.values && { values: { toDynamics: new Map(Object.entries(kind.values)), toHubspot: new Map(Object.entries(kind.values).map(([option, value]) => [value, option])) } }),
});

// ---- The oracle: the rules, written out on their own, over the abstract values A, B and empty.

type Expected =
  | { kind: 'agreed'; value: Value }
  | { kind: 'copy'; from: Side; value: Value }
  | { kind: 'held'; changed: Side | 'both'; reason: 'direction' | 'fill_if_missing' }
  | { kind: 'settled'; winner: Side; because: 'source_of_truth' | 'changed_later'; value: Value; held?: 'direction' | 'fill_if_missing' }
  | { kind: 'manual' };

interface Case extends Rule {
  base: Base;
  hubspot: Value;
  dynamics: Value;
  later: Side;
}

const otherSide = (side: Side): Side => (side === 'hubspot' ? 'dynamics' : 'hubspot');

function oracle(c: Case): Expected {
  const value = { hubspot: c.hubspot, dynamics: c.dynamics };
  // Equal values need nothing, whatever changed.
  if (c.hubspot === c.dynamics) return { kind: 'agreed', value: c.hubspot };
  // Changed: differs from the base. No base: a value facing an empty side fills it; two values conflict.
  let changed: Side | 'both';
  if (c.base === 'absent') changed = c.hubspot === 'empty' ? 'dynamics' : c.dynamics === 'empty' ? 'hubspot' : 'both';
  else if (c.hubspot !== c.base && c.dynamics !== c.base) changed = 'both';
  else changed = c.hubspot !== c.base ? 'hubspot' : 'dynamics';
  // A value goes from one side to the other only where the direction points, and with fill_if_missing only into an empty one.
  const blocked = (from: Side) => {
    const to = otherSide(from);
    if (c.direction !== 'both' && c.direction !== `${from}_to_${to}`) return 'direction';
    if (c.merge === 'fill_if_missing' && value[to] !== 'empty') return 'fill_if_missing';
    return undefined;
  };
  if (c.direction === 'none') return { kind: 'held', changed, reason: 'direction' };
  if (changed !== 'both') {
    const reason = blocked(changed);
    return reason ? { kind: 'held', changed, reason } : { kind: 'copy', from: changed, value: value[changed] };
  }
  if (c.conflict === 'manual') return { kind: 'manual' };
  const winner = c.conflict === 'most_recent' ? c.later : c.conflict;
  const because = c.conflict === 'most_recent' ? 'changed_later' : 'source_of_truth';
  const reason = blocked(winner);
  return reason ? { kind: 'settled', winner, because, value: value[winner], held: reason } : { kind: 'settled', winner, because, value: value[winner] };
}

/** The oracle's verdict in the kind's concrete values. */
function expectedDecision(kind: Kind, c: Case): MergeDecision {
  const expected = oracle(c);
  const write = (to: Side, value: Value) => ({ to, property: PROPERTIES[to], value: kind.written[to][value] });
  const agreed = (value: Value) => kind.agreed[value];
  const own = (side: Side, value: Value) => (kind.own?.[side] ?? kind.agreed)[value];
  switch (expected.kind) {
    case 'agreed':
      return { kind: 'agreed', agreed: agreed(expected.value) };
    case 'copy':
      return { kind: 'copy', from: expected.from, write: write(otherSide(expected.from), expected.value), agreed: agreed(expected.value) };
    case 'held':
      return expected;
    case 'manual':
      return { kind: 'manual', base: c.base === 'absent' ? undefined : agreed(c.base), hubspot: own('hubspot', c.hubspot), dynamics: own('dynamics', c.dynamics) };
    case 'settled': {
      const { winner, because } = expected;
      if (expected.held) return { kind: 'settled', winner, because, write: null, held: expected.held };
      return { kind: 'settled', winner, because, write: write(otherSide(winner), expected.value), agreed: agreed(expected.value) };
    }
  }
}

// HubSpot's time as epoch milliseconds, Dataverse's as ISO-8601: one second apart.
const TIMES = {
  hubspot: { hubspot: Date.parse('2025-05-01T10:00:01.000Z'), dynamics: '2025-05-01T10:00:00Z' },
  dynamics: { hubspot: Date.parse('2025-05-01T10:00:00.000Z'), dynamics: '2025-05-01T10:00:01Z' },
} as const;

const VALUES: Value[] = ['empty', 'A', 'B'];
const BASES: Base[] = ['absent', 'empty', 'A', 'B'];
const SIDES: Side[] = ['hubspot', 'dynamics'];
const RULES = DIRECTIONS.flatMap((direction) => MERGE_RULES.flatMap((merge) => CONFLICT_POLICIES.map((conflict) => ({ direction, merge, conflict }))));

describe.each(KINDS)('the merge table: $name', (kind) => {
  test.each(RULES)('direction $direction, merge $merge, conflict $conflict', (rule) => {
    const field = fieldOf(kind, rule);
    const actual: Record<string, MergeDecision> = {};
    const expected: Record<string, MergeDecision> = {};
    for (const base of BASES) {
      for (const hubspot of VALUES) {
        for (const dynamics of VALUES) {
          for (const later of SIDES) {
            const c: Case = { ...rule, base, hubspot, dynamics, later };
            const input: MergeInput = {
              ...(base !== 'absent' && { base: kind.agreed[base] }),
              hubspot: { value: kind.sent.hubspot[hubspot], changedAt: TIMES[later].hubspot },
              dynamics: { value: kind.sent.dynamics[dynamics], changedAt: TIMES[later].dynamics },
            };
            const name = `base ${base}, HubSpot ${hubspot}, Dynamics 365 ${dynamics}, ${later} later`;
            actual[name] = mergeField(field, input);
            expected[name] = expectedDecision(kind, c);
          }
        }
      }
    }
    expect(Object.keys(actual)).toHaveLength(72);
    expect(actual).toEqual(expected);
  });
});

// ---- Targeted cases, one rule at a time.

const RULE: Rule = { direction: 'both', merge: 'overwrite', conflict: 'most_recent' };
const field = (types: FieldType | Record<Side, FieldType>, rule: Partial<Rule> = {}, values?: Record<string, number>) =>
  fieldOf({ types: typeof types === 'string' ? { hubspot: types, dynamics: types } : types, values }, { ...RULE, ...rule });
const merge = (of: TwoWayField, base: FieldValue | undefined, hubspot: unknown, dynamics: unknown, times: Partial<Record<Side, string | number>> = {}) =>
  mergeField(of, { ...(base !== undefined && { base }), hubspot: { value: hubspot, changedAt: times.hubspot }, dynamics: { value: dynamics, changedAt: times.dynamics } });

describe('formatting alone is never a change', () => {
  test.each([
    ['email', ' Ada@Example.COM ', 'ada@example.com', 'ada@example.com'],
    ['phone', '+1 (555) 010-2030', '+15550102030', '+15550102030'],
    ['decimal', '1', 1, 1],
    ['decimal', '1.0', '1', 1],
    ['integer', 250, '250.0', 250],
    ['datetime', '2025-03-04T12:11:12+02:00', 1741083072000, '2025-03-04T10:11:12.000Z'],
    ['date', '1741046400000', '2025-03-04', '2025-03-04'],
    ['boolean', 'TRUE', true, true],
    ['boolean', '0', false, false],
    ['string', '', null, null],
    ['string', undefined, '', null],
  ] as const)('%s: %j ≡ %j', (type, hubspot, dynamics, agreed) => {
    expect(merge(field(type), agreed, hubspot, dynamics)).toEqual({ kind: 'agreed', agreed });
    expect(merge(field(type), undefined, hubspot, dynamics)).toEqual({ kind: 'agreed', agreed });
  });

  test('a base stored in another form is still the base: only the side that differs from it changed', () => {
    expect(merge(field('decimal'), '1' as FieldValue, 1.0, 2)).toEqual({
      kind: 'copy',
      from: 'dynamics',
      write: { to: 'hubspot', property: 'hs_prop', value: '2' },
      agreed: 2,
    });
  });

  test('a base that the type no longer reads is no agreement: two different values are a conflict', () => {
    expect(merge(field('integer'), 'abc', '1', 2, { hubspot: '2025-05-01T10:00:00Z', dynamics: '2025-05-01T11:00:00Z' })).toMatchObject({
      kind: 'settled',
      winner: 'dynamics',
      because: 'changed_later',
      write: { to: 'hubspot', value: '2' },
    });
  });
});

describe('value maps: HubSpot options ↔ Dataverse option values', () => {
  const industry = (rule: Partial<Rule> = {}, dynamicsType: FieldType = 'integer') =>
    field({ hubspot: 'enumeration', dynamics: dynamicsType }, rule, { ACCOUNTING: 1, BANKING: 3 });
  const PATH = 'objects.things.two_way.fields.prop.values';

  test('a HubSpot change is written as its Dataverse value, and a Dataverse change as its HubSpot option', () => {
    expect(merge(industry(), 'ACCOUNTING', 'BANKING', 1)).toMatchObject({ kind: 'copy', write: { to: 'dynamics', property: 'new_prop', value: 3 }, agreed: 'BANKING' });
    expect(merge(industry(), 'ACCOUNTING', 'ACCOUNTING', 3)).toMatchObject({ kind: 'copy', write: { to: 'hubspot', property: 'hs_prop', value: 'BANKING' }, agreed: 'BANKING' });
  });

  test('a choice read as text maps the same', () => {
    expect(merge(industry({}, 'enumeration'), 'ACCOUNTING', 'ACCOUNTING', '3')).toMatchObject({ kind: 'copy', write: { to: 'hubspot', value: 'BANKING' } });
    expect(merge(industry({}, 'enumeration'), 'ACCOUNTING', 'BANKING', '1')).toMatchObject({ kind: 'copy', write: { to: 'dynamics', value: 3 } });
  });

  test('a Dataverse value with no HubSpot option is never written: the field is an error', () => {
    expect(merge(industry(), 'ACCOUNTING', 'ACCOUNTING', 99)).toEqual({
      kind: 'error',
      side: 'hubspot',
      message: `HubSpot hs_prop: Dataverse value 99 has no HubSpot option; add one under ${PATH}`,
    });
    expect(merge(industry(), undefined, '', 99)).toMatchObject({ kind: 'error', side: 'hubspot' });
  });

  test('a HubSpot option with no Dataverse value is never written: the field is an error', () => {
    expect(merge(industry(), 'ACCOUNTING', 'FARMING', 1)).toEqual({
      kind: 'error',
      side: 'dynamics',
      message: `Dynamics 365 new_prop: HubSpot option "FARMING" has no Dataverse value; add one under ${PATH}`,
    });
  });

  test('a Dataverse value with no option equals nothing: against a changed HubSpot value it is a conflict, which HubSpot can win', () => {
    expect(merge(industry({ conflict: 'hubspot' }), 'ACCOUNTING', 'BANKING', 99)).toEqual({
      kind: 'settled',
      winner: 'hubspot',
      because: 'source_of_truth',
      write: { to: 'dynamics', property: 'new_prop', value: 3 },
      agreed: 'BANKING',
    });
    expect(merge(industry({ conflict: 'manual' }), 'ACCOUNTING', 'BANKING', 99)).toEqual({ kind: 'manual', base: 'ACCOUNTING', hubspot: 'BANKING', dynamics: 99 });
  });
});

describe('most_recent: the later change wins; equal or unknown times go to HubSpot, and say so', () => {
  const CHANGED_BOTH = ['Ada', 'Grace', 'Lin'] as const;
  const conflict = (times: Partial<Record<Side, string | number>>, rule: Partial<Rule> = {}) => merge(field('string', rule), ...CHANGED_BOTH, times);

  test.each([
    ['one millisecond later in Dataverse', { hubspot: '2025-05-01T10:00:00.000Z', dynamics: '2025-05-01T10:00:00.001Z' }, 'dynamics', 'changed_later'],
    ['one millisecond later in HubSpot', { hubspot: 1746093600001, dynamics: '2025-05-01T10:00:00Z' }, 'hubspot', 'changed_later'],
    ['the same instant, written two ways', { hubspot: '2025-05-01T12:00:00+02:00', dynamics: 1746093600000 }, 'hubspot', 'same_time'],
    ['no Dataverse time', { hubspot: '2025-05-01T10:00:00Z' }, 'hubspot', 'time_unknown'],
    ['no HubSpot time, even with a Dataverse one', { dynamics: '2025-05-01T10:00:00Z' }, 'hubspot', 'time_unknown'],
    ['a time that is not one', { hubspot: 'yesterday', dynamics: '2025-05-01T10:00:00Z' }, 'hubspot', 'time_unknown'],
  ] as const)('%s', (_, times, winner, because) => {
    expect(conflict(times)).toMatchObject({ kind: 'settled', winner, because, write: { to: otherSide(winner) } });
  });

  test('a tie that HubSpot wins writes nothing where the direction only runs to HubSpot', () => {
    const times = { hubspot: '2025-05-01T10:00:00Z', dynamics: '2025-05-01T10:00:00Z' };
    expect(conflict(times, { direction: 'dynamics_to_hubspot' })).toEqual({ kind: 'settled', winner: 'hubspot', because: 'same_time', write: null, held: 'direction' });
  });
});

describe('fill_if_missing writes only into an empty side', () => {
  const fill = (rule: Partial<Rule> = {}) => field('string', { merge: 'fill_if_missing', ...rule });

  test('an empty twin is filled, at a first pairing or later', () => {
    expect(merge(fill(), undefined, 'Ada', null)).toMatchObject({ kind: 'copy', from: 'hubspot', write: { to: 'dynamics', value: 'Ada' } });
    expect(merge(fill(), null, null, 'Ada')).toMatchObject({ kind: 'copy', from: 'dynamics', write: { to: 'hubspot', value: 'Ada' } });
  });

  test('a value is not overwritten, and a cleared value does not clear the other side', () => {
    expect(merge(fill(), 'Ada', 'Grace', 'Ada')).toEqual({ kind: 'held', changed: 'hubspot', reason: 'fill_if_missing' });
    expect(merge(fill(), 'Ada', '', 'Ada')).toEqual({ kind: 'held', changed: 'hubspot', reason: 'fill_if_missing' });
  });

  test('a conflict winner fills the loser only where the loser is empty', () => {
    expect(merge(fill({ conflict: 'hubspot' }), 'Ada', 'Grace', '')).toMatchObject({ kind: 'settled', winner: 'hubspot', write: { to: 'dynamics', value: 'Grace' }, agreed: 'Grace' });
    expect(merge(fill({ conflict: 'dynamics' }), 'Ada', 'Grace', '')).toEqual({ kind: 'settled', winner: 'dynamics', because: 'source_of_truth', write: null, held: 'fill_if_missing' });
  });
});

describe('values that cannot be read or written are errors, never writes', () => {
  test.each([
    ['an invalid value stored leniently', field('email'), 'not-an-email', 'ada@example.com', 'hubspot', 'HubSpot hs_prop: not a valid email address (value "not-an-email")'],
    ['a value that is not a scalar', field('string'), 'Ada', { name: 'Ada' }, 'dynamics', 'Dynamics 365 new_prop: expected a string, number or boolean, got object (value {"name":"Ada"})'],
    ['a decimal copied into a whole-number column', field({ hubspot: 'decimal', dynamics: 'integer' }), '2.5', null, 'dynamics', 'Dynamics 365 new_prop: not a whole number (value 2.5)'],
  ] as const)('%s', (_, of, hubspot, dynamics, side, message) => {
    expect(merge(of, undefined, hubspot, dynamics)).toEqual({ kind: 'error', side, message });
  });
});
