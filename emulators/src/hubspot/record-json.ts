/**
 * How records are written as JSON: HubSpot's SimplePublicObject envelope, and output
 * plans, with which a seeded record's requested properties are generated straight into
 * JSON text (list pages are written this way, without building objects).
 */
import { toIso } from '../shared/iso-time.js';
import type { Snapshot } from './object-table.js';
import type { FieldGenerator, SeedContext } from './seed.js';
import type { EmulatedRecord } from './store.js';

/** A record as the API sends it: the same envelope as EmulatedRecord, with only the requested properties. */
export type ApiObject = EmulatedRecord;

/** Where a seeded record's value of an output property comes from (OutputPlan.sources). */
const FROM_FIELD = 0;
const FROM_ID = 1;
const FROM_CREATED = 2;
const FROM_MODIFIED = 3;
const FROM_NOWHERE = 4;

/**
 * How records are written as JSON for one list of output property names (compiled once
 * per list and table, see ObjectTable.outputPlan).
 */
export interface OutputPlan {
  /** The names comma-joined: identifies the plan. */
  readonly key: string;
  /** The property names, as outputProperties returns them (sorted). */
  readonly names: readonly string[];
  /**
   * The JSON text between values, four variants per name at [4k + 2·(previous value is
   * a string) + (this value is a string)]: the previous value's closing quote, the
   * separator, the name and either this value's opening quote or `null`.
   */
  readonly joints: readonly string[];
  /** Per name, where a seeded record's value comes from (FROM_*). */
  readonly sources: readonly number[];
  /** Per name, the seed generator (FROM_FIELD only). */
  readonly generators: readonly (FieldGenerator | null)[];
}

/**
 * The plan for output property names `names` of a type whose seeded values come from
 * `fields` (and whose id and timestamps are the system properties).
 */
export function compileOutputPlan(
  names: readonly string[],
  fields: Readonly<Record<string, FieldGenerator>>,
  creationProperty: string,
  modificationProperty: string,
): OutputPlan {
  // The precedence of seededProps: the system properties over the generated ones.
  const sources = names.map((name) => {
    if (name === 'hs_object_id') return FROM_ID;
    if (name === creationProperty) return FROM_CREATED;
    if (name === modificationProperty) return FROM_MODIFIED;
    return Object.hasOwn(fields, name) ? FROM_FIELD : FROM_NOWHERE;
  });
  return {
    key: names.join(','),
    names: [...names],
    joints: names.flatMap((name, k) =>
      [false, true].flatMap((previousString) =>
        [false, true].map((string) => `${k === 0 ? '{' : previousString ? '",' : ','}${JSON.stringify(name)}:${string ? '"' : 'null'}`),
      ),
    ),
    sources,
    generators: names.map((name, k) => (sources[k] === FROM_FIELD ? (fields[name] as FieldGenerator) : null)),
  };
}

/**
 * The SimplePublicObject JSON of the unwritten seeded record at `context`, generated
 * straight into text: only the plan's properties are generated, no objects are built,
 * and the text is byte for byte JSON.stringify of its ApiObject with the plan's names.
 * With `jsonSafe` generated values are written without escaping.
 */
export function seededRecordJson(context: SeedContext, plan: OutputPlan, jsonSafe: boolean): string {
  const created = toIso(context.createdMs);
  const modified = toIso(context.modifiedMs);
  const { joints, sources, generators } = plan;
  const count = sources.length;
  let json = '{"id":"' + context.id + '","properties":';
  let previousString = 0;
  for (let k = 0; k < count; k++) {
    let value: string | null;
    switch (sources[k]) {
      case FROM_FIELD:
        value = (generators[k] as FieldGenerator)(context);
        break;
      case FROM_ID:
        value = String(context.id);
        break;
      case FROM_CREATED:
        value = created;
        break;
      case FROM_MODIFIED:
        value = modified;
        break;
      default:
        value = null;
    }
    // toApiObject shows '' as null; seeded words need no escaping (SEED_TEXT_JSON_SAFE).
    if (value === null || value === '') {
      json += joints[4 * k + 2 * previousString] as string;
      previousString = 0;
    } else {
      json += joints[4 * k + 2 * previousString + 1] as string;
      json += jsonSafe ? value : JSON.stringify(value).slice(1, -1);
      previousString = 1;
    }
  }
  json += count === 0 ? '{}' : previousString === 1 ? '"}' : '}';
  return json + ',"createdAt":"' + created + '","updatedAt":"' + modified + '","archived":false}';
}

/** id, properties, timestamps and archive state, as HubSpot's SimplePublicObject has them. */
export function envelope(snapshot: Snapshot, properties: Record<string, string | null>): EmulatedRecord {
  const record: EmulatedRecord = {
    id: String(snapshot.id),
    properties,
    createdAt: toIso(snapshot.createdAt),
    updatedAt: toIso(snapshot.updatedAt),
    archived: snapshot.archivedAt !== null,
  };
  if (snapshot.archivedAt !== null) record.archivedAt = toIso(snapshot.archivedAt);
  return record;
}
