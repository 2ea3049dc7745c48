/**
 * One record's versions of its mapped fields (SCD Type 2), oldest first: each from
 * `validFrom` to `validTo` (null while current), never overlapping, never sharing a start.
 */
export interface Version {
  validFrom: string;
  validTo: string | null;
  hash: string;
  fieldsJson: string;
  runId: number;
}

/** A copy of the record as read: its mapped content at a time (the source's modification time). */
export interface Observation {
  at: string;
  hash: string;
  fieldsJson: string;
  runId: number;
}

/**
 * Fits a copy of the record into its timeline wherever its time falls, also before versions
 * already known (an out-of-order read: a late-indexed or stale copy). The version covering
 * that time ends there and the copy's content takes over until that version's end; a copy at
 * a version's very start re-describes that version; a copy in a gap (before the first
 * version, or while the record was deleted) fills it until the next version. Neighbouring
 * versions left with equal content become one.
 */
export function placeObservation(timeline: readonly Version[], copy: Observation): Version[] {
  // A version that lasted no time at this instant (deleted as it changed) gives way to the copy.
  const versions = timeline.filter((version) => version.validFrom !== copy.at || version.validTo !== copy.at).map((version) => ({ ...version }));
  const covering = versions.findIndex((version) => version.validFrom <= copy.at && (version.validTo === null || copy.at < version.validTo));
  const content = { hash: copy.hash, fieldsJson: copy.fieldsJson, runId: copy.runId };
  if (covering >= 0) {
    const version = versions[covering];
    if (version.hash === copy.hash) return versions;
    if (version.validFrom === copy.at) {
      versions[covering] = { ...version, ...content };
    } else {
      versions.splice(covering + 1, 0, { validFrom: copy.at, validTo: version.validTo, ...content });
      version.validTo = copy.at;
    }
  } else {
    const next = versions.findIndex((version) => version.validFrom > copy.at);
    const validTo = next >= 0 ? versions[next].validFrom : null;
    versions.splice(next >= 0 ? next : versions.length, 0, { validFrom: copy.at, validTo, ...content });
  }
  return mergeEqualNeighbours(versions);
}

function mergeEqualNeighbours(versions: Version[]): Version[] {
  const merged: Version[] = [];
  for (const version of versions) {
    const previous = merged.at(-1);
    if (previous && previous.validTo === version.validFrom && previous.hash === version.hash) previous.validTo = version.validTo;
    else merged.push(version);
  }
  return merged;
}
