import type { LatestRejection, RecordDetails, RunInfo, StoredVersion } from '../db/record-view.js';

/** A field whose value differs from the version before. */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface VersionView extends StoredVersion {
  current: boolean;
  /** The record was deleted when the version ended (and, if a later version follows, restored afterwards). */
  endedByDeletion: boolean;
  /** Null for the first version, which has nothing to differ from. */
  changes: FieldChange[] | null;
}

/** One record as `crmsync show` presents it. */
export interface RecordView {
  object: string;
  source: string;
  id: string;
  sourceModifiedAt: string | null;
  deleted: boolean;
  deletedAt: string | null;
  lastRun: RunInfo;
  firstRun: RunInfo;
  /** The mapped fields, in the order of mappings.yaml; null where the record has no value. */
  fields: Record<string, unknown>;
  rejection: (LatestRejection & { outstanding: boolean }) | null;
  associations: Record<string, number>;
  versions?: VersionView[];
}

/** The stored record arranged by its mapping: `columns` are the mapping's fields, in order. */
export function recordView(mapping: { name: string; source: string; columns: string[] }, details: RecordDetails): RecordView {
  const { record, rejection } = details;
  return {
    object: mapping.name,
    source: mapping.source,
    id: record.sourceId,
    sourceModifiedAt: record.sourceModifiedAt,
    deleted: record.isDeleted,
    deletedAt: record.deletedAt,
    lastRun: record.lastRun,
    firstRun: record.firstRun,
    fields: Object.fromEntries(mapping.columns.map((column) => [column, record.fields[column] ?? null])),
    rejection: rejection && { ...rejection, outstanding: rejection.resolvedAt === null },
    associations: details.associations,
    ...(details.versions ? { versions: describeVersions(details.versions, mapping.columns) } : {}),
  };
}

/**
 * Each version with what changed since the one before. A version closes when the next one
 * opens; one that closed earlier, or the last one when it is closed, ended with a deletion.
 */
export function describeVersions(versions: StoredVersion[], columns: string[]): VersionView[] {
  return versions.map((version, index) => {
    const previous = versions[index - 1];
    const next = versions[index + 1];
    return {
      ...version,
      current: version.validTo === null,
      endedByDeletion: version.validTo !== null && (next === undefined || version.validTo !== next.validFrom),
      changes: previous ? changedFields(previous.fields, version.fields, columns) : null,
    };
  });
}

/** Fields whose values differ: the mapped columns in order, then fields only one of them holds (a mapping changed in between). */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>, columns: string[]): FieldChange[] {
  const names = [...new Set([...columns, ...Object.keys(before), ...Object.keys(after)])];
  const value = (fields: Record<string, unknown>, name: string) => fields[name] ?? null;
  return names
    .filter((name) => JSON.stringify(value(before, name)) !== JSON.stringify(value(after, name)))
    .map((name) => ({ field: name, from: value(before, name), to: value(after, name) }));
}
