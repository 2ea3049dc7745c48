import type { TwoWayField } from '../config/two-way.js';
import type { Direction } from '../config/two-way-schema.js';
import { CRM_NAMES, type SourceName, otherSource } from '../config/sources.js';
import { fieldParser, type FieldValue } from './field-types.js';

/** A value as one CRM takes it: HubSpot's are strings ("" clears), Dataverse's JSON values (null clears). */
export type CrmValue = string | number | boolean | null;

export interface SideValue {
  /** As the CRM sent it or as it is stored locally. */
  value: unknown;
  /** When the field last changed on this side: ISO-8601 or epoch milliseconds; unknown when absent. */
  changedAt?: string | number | null;
}

export interface MergeInput {
  /** The value last agreed on (field state); absent for a first pairing. null: agreed empty. */
  base?: FieldValue;
  hubspot: SideValue;
  dynamics: SideValue;
}

export interface FieldWrite {
  to: SourceName;
  /** The property (HubSpot) or attribute (Dataverse) to write. */
  property: string;
  value: CrmValue;
}

/** Why a changed value was not written: the direction forbids it, or fill_if_missing met a value. */
export type HoldReason = 'direction' | 'fill_if_missing';

/** Why the winner of a conflict won: the policy names it, its change is later, or the times do not tell (see TIE_WINNER). */
export type WinReason = 'source_of_truth' | 'changed_later' | 'same_time' | 'time_unknown';

export type MergeDecision =
  /** The sides hold the same value: nothing to write; `agreed` is the field state to keep. */
  | { kind: 'agreed'; agreed: FieldValue }
  /** One side changed (or, at a first pairing, the other is empty): its value is written to the other; `agreed` once that succeeds. */
  | { kind: 'copy'; from: SourceName; write: FieldWrite; agreed: FieldValue }
  /** The sides differ but nothing may be written; the field state stays as it is. */
  | { kind: 'held'; changed: SourceName | 'both'; reason: HoldReason }
  /** Both sides changed to different values and the policy chose a winner. */
  | SettledConflict
  /** Both sides changed to different values and a person decides: nothing written, a conflict to open. Each side's value in its own terms. */
  | { kind: 'manual'; base: FieldValue | undefined; hubspot: FieldValue; dynamics: FieldValue }
  /** A value that cannot be read as its type, or cannot be written to the other CRM: nothing written. */
  | { kind: 'error'; side: SourceName; message: string };

export type SettledConflict = { kind: 'settled'; winner: SourceName; because: WinReason } & (
  | { write: FieldWrite; agreed: FieldValue }
  | { write: null; held: HoldReason }
);

/**
 * Equal change times: HubSpot wins. Dataverse keeps no change time per column (short of
 * auditing), so a Dynamics 365 time is its row's modifiedon, which the field's own change can
 * only precede. Unknown times settle the same way, so that every run decides alike.
 */
export const TIE_WINNER: SourceName = 'hubspot';

const WRITES_TO: Record<Direction, readonly SourceName[]> = {
  both: ['hubspot', 'dynamics'],
  hubspot_to_dynamics: ['dynamics'],
  dynamics_to_hubspot: ['hubspot'],
  none: [],
};

/** A Dataverse option value that the field's value map does not name: it equals no HubSpot value. */
interface Unmapped {
  unmapped: FieldValue;
}
type Shared = FieldValue | Unmapped;
type Sides<T> = Record<SourceName, T>;
interface Reading {
  base: FieldValue | undefined;
  /** Each side's value in its own terms. */
  own: Sides<FieldValue>;
  /** Each side's value in the terms both are compared in. */
  shared: Sides<Shared>;
}
type Failure = Extract<MergeDecision, { kind: 'error' }>;

const other = otherSource;
const isUnmapped = (value: Shared): value is Unmapped => value !== null && typeof value === 'object';
const same = (a: Shared, b: Shared) => !isUnmapped(a) && !isUnmapped(b) && a === b;
const failure = (side: SourceName, message: string): Failure => ({ kind: 'error', side, message });

/**
 * The three-way merge of one field of a linked pair: the value both CRMs last agreed on (the
 * base), HubSpot's value and Dynamics 365's. Pure, no I/O. Values are compared in the form
 * the field's types give them (src/processors/field-types.ts), so formatting alone is never
 * a change: " Ada@X.com" is "ada@x.com", "1.0" is 1, "" is no value. A value-mapped field is
 * compared, and agreed on, in HubSpot's terms: its option names.
 */
export function mergeField(field: TwoWayField, input: MergeInput): MergeDecision {
  const reading = read(field, input);
  if ('kind' in reading) return reading;
  const { shared } = reading;
  if (same(shared.hubspot, shared.dynamics)) return { kind: 'agreed', agreed: shared.hubspot as FieldValue };
  const changed = changedSide(reading);
  if (field.direction === 'none') return { kind: 'held', changed, reason: 'direction' };
  if (changed !== 'both') {
    const held = holdReason(field, changed, shared);
    if (held) return { kind: 'held', changed, reason: held };
    const written = writeTo(field, other(changed), shared[changed]);
    return 'kind' in written ? written : { kind: 'copy', from: changed, ...written };
  }
  if (field.conflict === 'manual') return { kind: 'manual', base: reading.base, ...reading.own };
  const { winner, because } = conflictWinner(field.conflict, input);
  const held = holdReason(field, winner, shared);
  if (held) return { kind: 'settled', winner, because, write: null, held };
  const written = writeTo(field, other(winner), shared[winner]);
  return 'kind' in written ? written : { kind: 'settled', winner, because, ...written };
}

function read(field: TwoWayField, input: MergeInput): Reading | Failure {
  const own = {} as Sides<FieldValue>;
  for (const side of ['hubspot', 'dynamics'] as const) {
    const { property, type } = field[side];
    const { value } = input[side];
    const parsed = fieldParser({ type }, true)(value);
    if (!parsed.ok) return failure(side, `${CRM_NAMES[side]} ${property}: ${parsed.reason} (value ${JSON.stringify(value)})`);
    own[side] = parsed.value;
  }
  // A base the field's type no longer reads (its mapping changed) is no agreement: a first pairing.
  const base = input.base === undefined ? undefined : fieldParser({ type: field.hubspot.type }, true)(input.base);
  return { base: base?.ok ? base.value : undefined, own, shared: { hubspot: own.hubspot, dynamics: inHubspotTerms(field, own.dynamics) } };
}

function inHubspotTerms(field: TwoWayField, value: FieldValue): Shared {
  if (!field.values || value === null) return value;
  return field.values.toHubspot.get(Number(value)) ?? { unmapped: value };
}

/** Which side changed since the base; at a first pairing, the side that has a value where the other has none. */
function changedSide({ base, shared }: Reading): SourceName | 'both' {
  if (base === undefined) return shared.hubspot === null ? 'dynamics' : shared.dynamics === null ? 'hubspot' : 'both';
  const hubspot = !same(shared.hubspot, base);
  const dynamics = !same(shared.dynamics, base);
  return hubspot && dynamics ? 'both' : hubspot ? 'hubspot' : 'dynamics';
}

/** Why `from`'s value may not be written to the other side, if it may not. */
function holdReason(field: TwoWayField, from: SourceName, shared: Sides<Shared>): HoldReason | undefined {
  const to = other(from);
  if (!WRITES_TO[field.direction].includes(to)) return 'direction';
  return field.merge === 'fill_if_missing' && shared[to] !== null ? 'fill_if_missing' : undefined;
}

function conflictWinner(policy: 'hubspot' | 'dynamics' | 'most_recent', input: MergeInput): { winner: SourceName; because: WinReason } {
  if (policy !== 'most_recent') return { winner: policy, because: 'source_of_truth' };
  const hubspot = millis(input.hubspot.changedAt);
  const dynamics = millis(input.dynamics.changedAt);
  if (hubspot === undefined || dynamics === undefined) return { winner: TIE_WINNER, because: 'time_unknown' };
  if (hubspot === dynamics) return { winner: TIE_WINNER, because: 'same_time' };
  return { winner: hubspot > dynamics ? 'hubspot' : 'dynamics', because: 'changed_later' };
}

const readTime = fieldParser({ type: 'datetime' }, true);
function millis(time: SideValue['changedAt']): number | undefined {
  const parsed = readTime(time);
  return parsed.ok && typeof parsed.value === 'string' ? Date.parse(parsed.value) : undefined;
}

/** The write that gives `to` this value in its own form, with the value agreed once it succeeds. */
function writeTo(field: TwoWayField, to: SourceName, value: Shared): { write: FieldWrite; agreed: FieldValue } | Failure {
  const { property, type } = field[to];
  const where = `${CRM_NAMES[to]} ${property}`;
  if (isUnmapped(value)) return failure(to, `${where}: Dataverse value ${value.unmapped} has no HubSpot option; add one under ${field.path}.values`);
  if (to === 'dynamics' && field.values && value !== null) {
    const choice = field.values.toDynamics.get(String(value));
    if (choice === undefined) return failure(to, `${where}: HubSpot option "${value}" has no Dataverse value; add one under ${field.path}.values`);
    return { write: { to, property, value: choice }, agreed: value };
  }
  const parsed = fieldParser({ type }, true)(value);
  if (!parsed.ok) return failure(to, `${where}: ${parsed.reason} (value ${JSON.stringify(value)})`);
  const written = to === 'hubspot' ? hubspotForm(parsed.value, type) : parsed.value;
  return { write: { to, property, value: written }, agreed: value };
}

/** HubSpot takes every value as a string, a date as epoch milliseconds at midnight UTC, and "" to clear one. */
function hubspotForm(value: FieldValue, type: TwoWayField['hubspot']['type']): string {
  if (value === null) return '';
  return type === 'date' ? String(Date.parse(`${value}T00:00:00.000Z`)) : String(value);
}

/**
 * The write that gives the other side `from`'s value, whatever the field's rules say: a
 * person's choice of a conflict's winner (`crmsync conflicts resolve --use`), or a twin
 * being created. `value` is in `from`'s own terms.
 */
export function carryOver(field: TwoWayField, from: SourceName, value: unknown): Extract<MergeDecision, { kind: 'copy' | 'error' }> {
  const { property, type } = field[from];
  const parsed = fieldParser({ type }, true)(value);
  if (!parsed.ok) return failure(from, `${CRM_NAMES[from]} ${property}: ${parsed.reason} (value ${JSON.stringify(value)})`);
  const shared = from === 'dynamics' ? inHubspotTerms(field, parsed.value) : parsed.value;
  const written = writeTo(field, other(from), shared);
  return 'kind' in written ? written : { kind: 'copy', from, ...written };
}

/** The write that gives `to` a value in HubSpot's terms (`crmsync conflicts resolve --value`). */
export function writeValue(field: TwoWayField, to: SourceName, value: unknown): Extract<MergeDecision, { kind: 'copy' | 'error' }> {
  const parsed = fieldParser({ type: field.hubspot.type }, true)(value);
  if (!parsed.ok) return failure(to, `${field.path}: ${parsed.reason} (value ${JSON.stringify(value)})`);
  const written = writeTo(field, to, parsed.value);
  return 'kind' in written ? written : { kind: 'copy', from: other(to), ...written };
}
