import type { TwoWayField, TwoWayMapping } from '../config/two-way.js';
import type { SourceName } from '../config/sources.js';
import type { FieldValue } from './field-types.js';
import { carryOver, mergeField, writeValue, type CrmValue, type MergeDecision } from './merge.js';

/** One side of a pair as the local store holds it: its mapped fields by local column. */
export interface SideRecord {
  id: string;
  fields: Record<string, unknown>;
  /** The source's modification time (ISO-8601): a Dataverse row's time for every one of its columns. */
  modifiedAt: string | null;
}

/** A person's choice for a field (`crmsync conflicts resolve`), not yet written. */
export interface Resolution {
  conflictId: number;
  use: SourceName | 'value';
  /** For `value`: the value in HubSpot's terms. */
  value?: unknown;
}

export interface PairInput {
  hubspot: SideRecord;
  dynamics: SideRecord;
  /** The field state: the value each field last agreed on, in HubSpot's terms. */
  base: ReadonlyMap<string, FieldValue>;
  /** When each HubSpot property last changed, where known (only asked for when a conflict needs it). */
  hubspotTimes?: Readonly<Record<string, string>>;
  resolutions?: ReadonlyMap<string, Resolution>;
  /** Fields with a conflict open: closed when the sides agree again. */
  openConflicts?: ReadonlySet<string>;
  /** --force-overwrite: every field merged as at a first pairing, the field state aside. */
  ignoreBase?: boolean;
}

/** What one write to one CRM carries: property → value, and what each field is agreed on once it is done. */
export interface PlannedWrite {
  properties: Record<string, CrmValue>;
  /** column → value in HubSpot's terms: the field state once the write is done. */
  agreed: Record<string, FieldValue>;
  /** property → the value the record held before, as the audit log shows it. */
  previous: Record<string, unknown>;
}

export interface ManualConflict {
  field: string;
  base: FieldValue | undefined;
  hubspot: FieldValue;
  dynamics: FieldValue;
  hubspotChangedAt: string | null;
  dynamicsChangedAt: string | null;
}

export interface PairPlan {
  writes: Partial<Record<SourceName, PlannedWrite>>;
  /** Fields the sides agree on now where the field state holds something else (or nothing): column → value to store. */
  agreed: Record<string, FieldValue>;
  opened: ManualConflict[];
  /** Open conflicts whose sides agree now. */
  settled: string[];
  /** Resolutions planned (or found already in place): their conflicts close. */
  applied: number[];
  errors: string[];
  /** A most_recent conflict was decided, or a manual one opened, without HubSpot's change time: plan again with hubspotTimes. */
  needsTimes: boolean;
}

/** The writes, field states and conflicts one linked pair calls for. Pure. */
export function planPair(mapping: TwoWayMapping, input: PairInput): PairPlan {
  const plan: PairPlan = { writes: {}, agreed: {}, opened: [], settled: [], applied: [], errors: [], needsTimes: false };
  for (const field of mapping.fields) {
    const decision = mergeField(field, {
      base: input.ignoreBase ? undefined : input.base.get(field.column),
      hubspot: { value: input.hubspot.fields[field.column] ?? null, changedAt: input.hubspotTimes?.[field.hubspot.property] },
      dynamics: { value: input.dynamics.fields[field.column] ?? null, changedAt: input.dynamics.modifiedAt },
    });
    const resolution = input.resolutions?.get(field.column);
    if (resolution) {
      applyResolution(plan, field, input, resolution, decision);
      continue;
    }
    apply(plan, field, input, decision);
  }
  return plan;
}

function apply(plan: PairPlan, field: TwoWayField, input: PairInput, decision: MergeDecision): void {
  switch (decision.kind) {
    case 'agreed':
      if (!input.base.has(field.column) || input.base.get(field.column) !== decision.agreed) plan.agreed[field.column] = decision.agreed;
      if (input.openConflicts?.has(field.column)) plan.settled.push(field.column);
      return;
    case 'copy':
      addWrite(plan, field, input, decision);
      return;
    case 'settled':
      if (decision.because === 'time_unknown' && field.conflict === 'most_recent' && !input.hubspotTimes) plan.needsTimes = true;
      if (decision.write) addWrite(plan, field, input, { write: decision.write, agreed: decision.agreed });
      return;
    case 'manual':
      if (!input.hubspotTimes) plan.needsTimes = true;
      plan.opened.push({
        field: field.column,
        base: decision.base,
        hubspot: decision.hubspot,
        dynamics: decision.dynamics,
        hubspotChangedAt: input.hubspotTimes?.[field.hubspot.property] ?? null,
        dynamicsChangedAt: input.dynamics.modifiedAt,
      });
      return;
    case 'error':
      plan.errors.push(decision.message);
      return;
    case 'held':
      return;
  }
}

/** A person chose: the chosen value goes to each side that lacks it. */
function applyResolution(plan: PairPlan, field: TwoWayField, input: PairInput, resolution: Resolution, decision: MergeDecision): void {
  plan.applied.push(resolution.conflictId);
  if (decision.kind === 'agreed' && resolution.use !== 'value') {
    plan.agreed[field.column] = decision.agreed;
    return;
  }
  const writes =
    resolution.use === 'value'
      ? (['hubspot', 'dynamics'] as const).map((to) => writeValue(field, to, resolution.value))
      : [carryOver(field, resolution.use, input[resolution.use].fields[field.column] ?? null)];
  for (const write of writes) {
    if (write.kind === 'error') plan.errors.push(write.message);
    else if (!alreadyHeld(field, input, write.write.to, write.agreed)) addWrite(plan, field, input, write);
    else plan.agreed[field.column] = write.agreed;
  }
}

/** Whether a side already holds the value a write would give it, compared in HubSpot's terms. */
function alreadyHeld(field: TwoWayField, input: PairInput, side: SourceName, agreed: FieldValue): boolean {
  const held = carryOver(field, side, input[side].fields[field.column] ?? null);
  return held.kind === 'copy' && held.agreed === agreed;
}

function addWrite(plan: PairPlan, field: TwoWayField, input: PairInput, decision: Pick<Extract<MergeDecision, { kind: 'copy' }>, 'write' | 'agreed'>): void {
  const { to, property, value } = decision.write;
  const write = (plan.writes[to] ??= { properties: {}, agreed: {}, previous: {} });
  write.properties[property] = value;
  write.agreed[field.column] = decision.agreed;
  write.previous[property] = input[to].fields[field.column] ?? null;
}

/**
 * What a twin created from `record` gets: each field the rules let travel from its side,
 * with the value agreed once the create is done. Fields empty on `record` are agreed empty.
 */
export function planCreate(mapping: TwoWayMapping, from: SourceName, record: SideRecord): { write: PlannedWrite; errors: string[] } {
  const to: SourceName = from === 'hubspot' ? 'dynamics' : 'hubspot';
  const empty: SideRecord = { id: '', fields: {}, modifiedAt: null };
  const sides = from === 'hubspot' ? { hubspot: record, dynamics: empty } : { hubspot: empty, dynamics: record };
  const plan = planPair(mapping, { ...sides, base: new Map() });
  const write = plan.writes[to] ?? { properties: {}, agreed: {}, previous: {} };
  return { write: { ...write, agreed: { ...plan.agreed, ...write.agreed }, previous: {} }, errors: plan.errors };
}

/**
 * Whether one side's record holds a value, for any field the pair has agreed on, other than
 * the agreed one: it was edited since (what keeps it from a propagated deletion).
 */
export function editedSinceAgreed(mapping: TwoWayMapping, side: SourceName, record: SideRecord, base: ReadonlyMap<string, FieldValue>): boolean {
  return mapping.fields.some((field) => {
    if (!base.has(field.column)) return false;
    const held = carryOver(field, side, record.fields[field.column] ?? null);
    return held.kind !== 'copy' || held.agreed !== base.get(field.column);
  });
}
