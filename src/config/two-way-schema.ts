import { z } from 'zod';
import type { FieldConfig, FieldType } from './mappings-schema.js';
import { CRM_NAMES, type SourceName } from './sources.js';

/** Which way a field's changes may travel between HubSpot and Dynamics 365. */
export const DIRECTIONS = ['both', 'hubspot_to_dynamics', 'dynamics_to_hubspot', 'none'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** overwrite: a change replaces the other side's value; fill_if_missing: it is written only where the other side is empty. */
export const MERGE_RULES = ['overwrite', 'fill_if_missing'] as const;
export type MergeRule = (typeof MERGE_RULES)[number];

/** Who wins when both sides changed a field to different values: a source of truth, the later change, or a person. */
export const CONFLICT_POLICIES = ['hubspot', 'dynamics', 'most_recent', 'manual'] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

/** Where a record without a twin gets one created: to_hubspot creates HubSpot records for Dynamics 365 rows. */
export const CREATE_TARGETS = ['both', 'to_hubspot', 'to_dynamics', 'none'] as const;
export type CreateTarget = (typeof CREATE_TARGETS)[number];

export const DELETE_RULES = ['ignore', 'propagate'] as const;
export type DeleteRule = (typeof DELETE_RULES)[number];

/** How match values are compared: lowercase also trims; none compares them exactly. */
export const MATCH_NORMALIZATIONS = ['lowercase', 'trim', 'none'] as const;
export type MatchNormalization = (typeof MATCH_NORMALIZATIONS)[number];

const fieldRuleSchema = z
  .object({
    direction: z.enum(DIRECTIONS).optional(),
    merge: z.enum(MERGE_RULES).optional(),
    conflict: z.enum(CONFLICT_POLICIES).optional(),
    /**
     * HubSpot option → Dataverse option value, for an enumeration on the HubSpot side held as
     * a choice (an integer) in Dataverse. An option missing here is never written to the other
     * side: the field is reported instead.
     */
    values: z
      .record(z.string().min(1), z.number().int())
      .refine((values) => Object.keys(values).length > 0, 'must map at least one option')
      .optional(),
  })
  .strict();

/**
 * Keeps an object's HubSpot records and Dynamics 365 rows alike, both ways. Fields are named
 * by their local column, the name under both `fields:` and `dynamics.fields:`. Every field
 * mapped on both sides takes part with `defaults:`; entries under `fields:` only override
 * those defaults for one field, and `direction: none` leaves a field out. Fields holding a
 * side's primary key or modification time never take part: each CRM sets those itself.
 */
export const twoWaySchema = z
  .object({
    /**
     * How records are paired the first time; after that the stored link is followed. Each side
     * names a CRM property (HubSpot property, Dataverse attribute) that the mapping reads (a
     * mapped field's, one under properties:, or the primary key), or a local column of that
     * side, which stands for its property; a name that is both is the property. `normalize`
     * defaults to lowercase when both sides are email fields, and to trim otherwise.
     */
    match: z
      .object({
        hubspot: z.string().min(1),
        dynamics: z.string().min(1),
        normalize: z.enum(MATCH_NORMALIZATIONS).optional(),
      })
      .strict(),
    /** Records without a twin get one created on the side(s) named here; none (the default) only links records that match. */
    create: z.enum(CREATE_TARGETS).default('none'),
    /** ignore: deleting a record leaves its twin alone; propagate: the twin is deleted too. */
    on_delete: z.enum(DELETE_RULES).default('ignore'),
    defaults: z
      .object({
        direction: z.enum(DIRECTIONS).default('both'),
        merge: z.enum(MERGE_RULES).default('overwrite'),
        conflict: z.enum(CONFLICT_POLICIES).default('most_recent'),
      })
      .strict()
      .prefault({}),
    fields: z.record(z.string().min(1), fieldRuleSchema).default({}),
  })
  .strict();

export type TwoWayConfig = z.infer<typeof twoWaySchema>;

/** One side of an object as mappings.yaml gives it: the top level for HubSpot, `dynamics:` for Dynamics 365. */
export interface SideConfig {
  fields: Record<string, FieldConfig>;
  properties: string[];
  primary_key: string;
  modified_property: string;
}

/** What the two-way checks read of an object entry. */
export interface PairedObjectConfig {
  object_type?: string;
  fields?: Record<string, FieldConfig>;
  properties: string[];
  primary_key: string;
  modified_property?: string;
  dynamics?: SideConfig;
  two_way?: TwoWayConfig;
}

type Issue = { path: (string | number)[]; message: string };

/** The property a field reads: its own name unless it says otherwise. */
export function propertyOf(column: string, field: FieldConfig): string {
  return field.property ?? column;
}

/** Whether a property is one the CRM sets itself on every record: its id or its modification time. */
function setByCrm(side: SideConfig, property: string): 'primary key' | 'modification time' | undefined {
  if (property === side.primary_key) return 'primary key';
  return property === side.modified_property ? 'modification time' : undefined;
}

/** The side on which a paired column holds a property the CRM sets itself, if any: such a column never takes part. */
export function crmSetColumn(column: string, sides: Record<SourceName, SideConfig>): { side: SourceName; property: string; held: string } | undefined {
  for (const side of ['hubspot', 'dynamics'] as const) {
    const property = propertyOf(column, sides[side].fields[column]);
    const held = setByCrm(sides[side], property);
    if (held) return { side, property, held };
  }
  return undefined;
}

/** Columns mapped on both sides, in the HubSpot mapping's order. */
export function pairedColumns(hubspot: SideConfig, dynamics: SideConfig): string[] {
  return Object.keys(hubspot.fields).filter((column) => column in dynamics.fields);
}

/** The two sides of an object, when it has both. */
export function sidesOf(object: PairedObjectConfig): { hubspot: SideConfig; dynamics: SideConfig } | undefined {
  const { fields, modified_property, dynamics } = object;
  if (object.object_type === undefined || fields === undefined || modified_property === undefined || !dynamics) return undefined;
  return { hubspot: { fields, properties: object.properties, primary_key: object.primary_key, modified_property }, dynamics };
}

/** Problems of an object's two_way: block that the file alone shows, each with its path inside the object. */
export function twoWayIssues(object: PairedObjectConfig): Issue[] {
  const twoWay = object.two_way;
  if (!twoWay) return [];
  const sides = sidesOf(object);
  if (!sides) {
    return [{ path: ['two_way'], message: 'pairs HubSpot records with Dynamics 365 rows, so the object needs both: object_type with its fields, and a dynamics: block' }];
  }
  const issues = [...matchIssues(twoWay, sides)];
  const paired = new Set(pairedColumns(sides.hubspot, sides.dynamics));
  for (const [column, rule] of Object.entries(twoWay.fields)) {
    const path = ['two_way', 'fields', column];
    if (!paired.has(column)) {
      issues.push({ path, message: unpairedMessage(column, sides) });
      continue;
    }
    const direction = directionOf(twoWay, column);
    if (direction !== 'none') issues.push(...crmSetIssues(column, sides, path));
    if (rule.values) issues.push(...valueMapIssues(column, rule.values, sides, [...path, 'values'], direction));
  }
  for (const column of paired) {
    if (directionOf(twoWay, column) === 'none' || twoWay.fields[column]?.values || crmSetColumn(column, sides)) continue;
    const problem = typePairProblem(column, sides.hubspot.fields[column].type, sides.dynamics.fields[column].type);
    if (problem) issues.push({ path: ['two_way', 'fields', column], message: problem });
  }
  return issues;
}

/** A field's direction: its own, or the default. */
function directionOf(twoWay: TwoWayConfig, column: string): Direction {
  return twoWay.fields[column]?.direction ?? twoWay.defaults.direction;
}

function matchIssues(twoWay: TwoWayConfig, sides: Record<SourceName, SideConfig>): Issue[] {
  return (['hubspot', 'dynamics'] as const).flatMap((side) => {
    const name = twoWay.match[side];
    if (readsProperty(sides[side], name) || name in sides[side].fields) return [];
    const where = side === 'hubspot' ? { properties: 'properties:', key: 'primary_key' } : { properties: 'dynamics.properties:', key: 'dynamics.primary_key' };
    return [{
      path: ['two_way', 'match', side],
      message: `"${name}" is neither a property nor a column of the ${CRM_NAMES[side]} mapping; name a mapped field, a property under ${where.properties}, or ${where.key}`,
    }];
  });
}

/** Whether a side reads a property: a mapped field's, an extra one, its primary key or its modification time. */
export function readsProperty(side: SideConfig, property: string): boolean {
  return (
    Object.entries(side.fields).some(([column, field]) => propertyOf(column, field) === property) ||
    side.properties.includes(property) ||
    setByCrm(side, property) !== undefined
  );
}

function unpairedMessage(column: string, sides: Record<SourceName, SideConfig>): string {
  const on = (['hubspot', 'dynamics'] as const).filter((side) => column in sides[side].fields);
  const mapped = on.length === 0 ? 'is mapped on neither side' : `is mapped only on the ${CRM_NAMES[on[0]]} side`;
  return `"${column}" ${mapped}; a two-way field needs a column of that name under both fields: and dynamics.fields:`;
}

function crmSetIssues(column: string, sides: Record<SourceName, SideConfig>, path: string[]): Issue[] {
  const found = crmSetColumn(column, sides);
  if (!found) return [];
  const message = `"${column}" holds ${found.property}, the ${found.held} on the ${CRM_NAMES[found.side]} side, which the CRM sets itself; remove it from two_way.fields`;
  return [{ path, message }];
}

function valueMapIssues(column: string, values: Record<string, number>, sides: Record<SourceName, SideConfig>, path: string[], direction: Direction): Issue[] {
  const hubspot = sides.hubspot.fields[column];
  const dynamics = sides.dynamics.fields[column];
  // An empty map is refused by the schema already.
  if (Object.keys(values).length === 0) return [];
  if (hubspot.type !== 'enumeration') {
    return [{ path, message: `maps HubSpot options to Dataverse values, but "${column}" has type ${hubspot.type} on the HubSpot side; values: needs type enumeration there` }];
  }
  const issues: Issue[] = [];
  if (dynamics.type !== 'integer' && dynamics.type !== 'enumeration') {
    issues.push({ path, message: `Dataverse option values are whole numbers, but "${column}" has type ${dynamics.type} on the Dynamics 365 side; map it with type integer there` });
  }
  const owners = new Map<number, string>();
  for (const [option, value] of Object.entries(values)) {
    const earlier = owners.get(value);
    if (earlier !== undefined) issues.push({ path, message: `Dataverse value ${value} is given to both ${earlier} and ${option}; each value can stand for one HubSpot option only` });
    else owners.set(value, option);
    if (hubspot.values && !hubspot.values.includes(option)) {
      issues.push({ path, message: `"${option}" is not one of the values of fields.${column} (${hubspot.values.join(', ')})` });
    }
    if (dynamics.values && !dynamics.values.includes(String(value))) {
      issues.push({ path, message: `Dataverse value ${value} is not one of the values of dynamics.fields.${column} (${dynamics.values.join(', ')})` });
    }
  }
  return [...issues, ...counterpartIssues(column, values, { hubspot, dynamics }, path, direction)];
}

/**
 * Every option a side lists that the field writes to the other side needs its counterpart
 * in the map: one without is never written, and the run reports it each time.
 */
function counterpartIssues(column: string, values: Record<string, number>, fields: Record<SourceName, FieldConfig>, path: string[], direction: Direction): Issue[] {
  const issues: Issue[] = [];
  const unmapped = (listed: string[] | undefined, mapped: string[]) => (listed ?? []).filter((value) => !mapped.includes(value));
  const options = direction === 'both' || direction === 'hubspot_to_dynamics' ? unmapped(fields.hubspot.values, Object.keys(values)) : [];
  if (options.length > 0) {
    const them = options.length === 1 ? 'it' : 'each';
    issues.push({ path, message: `fields.${column} lists ${options.join(', ')}, which values: does not map; give ${them} a Dataverse value, or set direction: dynamics_to_hubspot or none` });
  }
  const choices = direction === 'both' || direction === 'dynamics_to_hubspot' ? unmapped(fields.dynamics.values, Object.values(values).map(String)) : [];
  if (choices.length > 0) {
    const them = choices.length === 1 ? 'it' : 'each';
    issues.push({ path, message: `dynamics.fields.${column} lists ${choices.join(', ')}, which values: does not map; give ${them} a HubSpot option, or set direction: hubspot_to_dynamics or none` });
  }
  return issues;
}

const NUMBERS: readonly FieldType[] = ['integer', 'decimal'];

/** Whether values of the two types can be compared and copied; a value map pairs enumerations with integers (checked apart). */
function typePairProblem(column: string, hubspot: FieldType, dynamics: FieldType): string | undefined {
  if (hubspot === dynamics || (NUMBERS.includes(hubspot) && NUMBERS.includes(dynamics))) return undefined;
  const types = `"${column}" has type ${hubspot} on the HubSpot side and type ${dynamics} on the Dynamics 365 side`;
  if (hubspot === 'enumeration' && dynamics === 'integer') return `${types}; give it values: (HubSpot option: Dataverse value)`;
  return `${types}, which cannot be compared; map one type on both sides, or give it direction: none`;
}
