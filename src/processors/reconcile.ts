import type { TwoWayMapping } from '../config/two-way.js';
import type { RecordVersion } from '../records.js';
import { planPair, type PairInput } from './pair-plan.js';

/** A row of the local store, as a reconciliation compares it with the CRM's listing. */
export interface StoredVersion {
  id: string;
  /** The CRM's modification time of the stored copy (ISO-8601). */
  modifiedAt: string | null;
  deleted: boolean;
}

/** How the local copy of an object differs from its CRM: ids of each kind, in listing order. */
export interface RecordDrift {
  /** In the CRM, but not stored, or stored as deleted. */
  missing: string[];
  /** Stored (not marked deleted), but no longer in the CRM. */
  gone: string[];
  /** In both, modified in the CRM after the stored copy. */
  stale: string[];
}

export const DRIFT_KINDS = ['missing', 'gone', 'stale'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface VersionComparison extends RecordDrift {
  sourceRecords: number;
  /** Stored rows not marked deleted. */
  localRecords: number;
  /** Records left out because their latest version was rejected (`crmsync history` lists them). */
  rejected: number;
}

/**
 * Compares what the CRM lists with what the store holds. A record whose latest version was
 * rejected is neither missing nor stale: it is known and listed as rejected until a valid
 * version arrives. Pure.
 */
export function compareVersions(source: Iterable<RecordVersion>, stored: Iterable<StoredVersion>, rejectedIds: ReadonlySet<string>): VersionComparison {
  const local = new Map<string, StoredVersion>();
  for (const row of stored) local.set(row.id, row);
  const comparison: VersionComparison = { missing: [], gone: [], stale: [], sourceRecords: 0, localRecords: 0, rejected: 0 };
  const listed = new Set<string>();
  for (const version of source) {
    if (listed.has(version.id)) continue;
    listed.add(version.id);
    comparison.sourceRecords++;
    if (rejectedIds.has(version.id)) {
      comparison.rejected++;
      continue;
    }
    const row = local.get(version.id);
    if (!row || row.deleted) comparison.missing.push(version.id);
    else if (isNewer(version.modifiedAt, row.modifiedAt)) comparison.stale.push(version.id);
  }
  for (const row of local.values()) {
    if (row.deleted) continue;
    comparison.localRecords++;
    if (!listed.has(row.id)) comparison.gone.push(row.id);
  }
  return comparison;
}

/** Whether the CRM's modification time is later than the stored copy's; a stored copy without one is taken as older. */
export function isNewer(source: string | null, stored: string | null): boolean {
  if (source === null) return false;
  if (stored === null) return true;
  return Date.parse(source) > Date.parse(stored);
}

/** The fields in which a linked pair differs; `manual` those of them the rules leave to a person. */
export interface DriftedFields {
  fields: string[];
  manual: string[];
}

/**
 * The fields of a linked pair on which the CRMs disagree in a way the rules act on: those a
 * merge would write to either side, and those it would leave to a person (conflict:
 * manual). Values are compared after normalisation, as a two-way run compares them, so
 * formatting alone is never drift; a difference the rules leave alone (a direction that
 * does not write it, fill_if_missing over a value) is not drift either. In the order of
 * the mapping's fields. Pure.
 */
export function driftedFields(mapping: TwoWayMapping, pair: PairInput): DriftedFields {
  const plan = planPair(mapping, pair);
  const manual = new Set(plan.opened.map((conflict) => conflict.field));
  const written = new Set(Object.values(plan.writes).flatMap((write) => Object.keys(write.agreed)));
  const columns = mapping.fields.map((field) => field.column);
  return { fields: columns.filter((column) => manual.has(column) || written.has(column)), manual: columns.filter((column) => manual.has(column)) };
}

/** A linked pair that differs, and in which fields. */
export interface PairDrift extends DriftedFields {
  linkId: string;
  hubspotId: string;
  dynamicsId: string;
}

/** How many pairs differ in each field, fields in the order they first differ. */
export function pairsPerField(drifts: readonly PairDrift[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const drift of drifts) for (const field of drift.fields) counts[field] = (counts[field] ?? 0) + 1;
  return counts;
}
