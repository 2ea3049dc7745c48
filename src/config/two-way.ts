import type { FieldType } from './mappings-schema.js';
import type { SourceName } from './sources.js';
import {
  crmSetColumn,
  pairedColumns,
  propertyOf,
  readsProperty,
  sidesOf,
  type ConflictPolicy,
  type CreateTarget,
  type DeleteRule,
  type Direction,
  type MatchNormalization,
  type MergeRule,
  type PairedObjectConfig,
  type SideConfig,
} from './two-way-schema.js';

/** A field as one CRM holds it. */
export interface SideField {
  property: string;
  type: FieldType;
}

/** HubSpot option ↔ Dataverse option value, both ways (the file has checked that neither side repeats). */
export interface ValueMap {
  toDynamics: ReadonlyMap<string, number>;
  toHubspot: ReadonlyMap<number, string>;
}

/** One field kept alike on both sides, with its rule. A resolved mapping lists no field with direction none. */
export interface TwoWayField {
  column: string;
  /** Where the field's rule sits in mappings.yaml, for messages: objects.companies.two_way.fields.industry. */
  path: string;
  hubspot: SideField;
  dynamics: SideField;
  direction: Direction;
  merge: MergeRule;
  conflict: ConflictPolicy;
  values?: ValueMap;
}

/** The property a side matches records on, and the local column that holds it when it is a mapped field. */
export interface MatchKey {
  property: string;
  column?: string;
  /**
   * The CRM holds at most one record per value and finds a record by it on create: HubSpot
   * contacts' email, the idProperty of a batch upsert. Records sharing such a value get no
   * twin there (they would all be written to one record), and a twin created there cannot
   * be made twice.
   */
  unique: boolean;
}

/** An object's two_way: block with every default filled in and every name resolved. */
export interface TwoWayMapping {
  path: string;
  match: { [S in SourceName]: MatchKey } & { normalize: MatchNormalization };
  create: CreateTarget;
  onDelete: DeleteRule;
  fields: TwoWayField[];
}

/** The typed two-way mapping of an object whose two_way: block the schema has accepted. */
export function resolveTwoWay(object: PairedObjectConfig, path: string): TwoWayMapping | undefined {
  const twoWay = object.two_way;
  const sides = sidesOf(object);
  if (!twoWay || !sides) return undefined;
  const fields: TwoWayField[] = [];
  for (const column of pairedColumns(sides.hubspot, sides.dynamics)) {
    const rule = { ...twoWay.defaults, ...twoWay.fields[column] };
    const { direction } = rule;
    if (direction === 'none' || crmSetColumn(column, sides)) continue;
    fields.push({
      column,
      path: `${path}.fields.${column}`,
      hubspot: sideField(sides.hubspot, column),
      dynamics: sideField(sides.dynamics, column),
      direction,
      merge: rule.merge,
      conflict: rule.conflict,
      ...(rule.values && { values: valueMap(rule.values) }),
    });
  }
  const hubspot = resolveMatchKey(sides.hubspot, twoWay.match.hubspot, (property) => object.object_type === 'contacts' && property === 'email');
  const dynamics = resolveMatchKey(sides.dynamics, twoWay.match.dynamics, () => false);
  const emails = isEmail(sides.hubspot, hubspot) && isEmail(sides.dynamics, dynamics);
  const normalize = twoWay.match.normalize ?? (emails ? 'lowercase' : 'trim');
  return { path, match: { hubspot, dynamics, normalize }, create: twoWay.create, onDelete: twoWay.on_delete, fields };
}

function isEmail(side: SideConfig, key: MatchKey): boolean {
  return key.column !== undefined && side.fields[key.column].type === 'email';
}

function sideField(side: SideConfig, column: string): SideField {
  const field = side.fields[column];
  return { property: propertyOf(column, field), type: field.type };
}

function valueMap(values: Record<string, number>): ValueMap {
  const entries = Object.entries(values);
  return { toDynamics: new Map(entries), toHubspot: new Map(entries.map(([option, value]) => [value, option])) };
}

/** A property name is taken as it is; a column name stands for its field's property. */
function resolveMatchKey(side: SideConfig, name: string, unique: (property: string) => boolean): MatchKey {
  const columns = Object.keys(side.fields);
  if (readsProperty(side, name)) {
    const column = columns.find((candidate) => propertyOf(candidate, side.fields[candidate]) === name);
    return column === undefined ? { property: name, unique: unique(name) } : { property: name, column, unique: unique(name) };
  }
  const property = propertyOf(name, side.fields[name]);
  return { property, column: name, unique: unique(property) };
}
