import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { DEFAULT_OVERLAP_MS, mappingsSchema, type FieldConfig, type MappingsFile } from './mappings-schema.js';
import { DEFAULT_SOURCE, type SourceName } from './sources.js';
import { resolveTwoWay, type TwoWayMapping } from './two-way.js';
import { defaultViewName, viewNameProblems } from './view-names.js';

export const DEFAULT_CONFIG_PATH = 'mappings.yaml';

/** One mapped field: which property of the CRM fills which local column, with its type. */
export interface FieldMapping extends Omit<FieldConfig, 'property'> {
  column: string;
  property: string;
}

/** One CRM's mapping of an object in mappings.yaml, with every default filled in. */
export interface ObjectMapping {
  /** The entry's name under objects: (contacts), the same for every CRM. */
  name: string;
  source: SourceName;
  /** Where the mapping sits in mappings.yaml, for messages: objects.contacts, objects.contacts.dynamics. */
  path: string;
  enabled: boolean;
  /** The object as the CRM's API names it: a HubSpot object type (contacts, 2-1234567) or a Dataverse entity set (accounts). */
  remoteName: string;
  primaryKey: string;
  modifiedProperty: string;
  validation: 'strict' | 'lenient';
  /** Whether versions of the mapped fields are kept (record_versions, the <table>_history view). */
  keepsHistory: boolean;
  table: string;
  overlapMs: number;
  fields: FieldMapping[];
  /** Every property requested from the API: mapped ones, extras, the key and the modification time. */
  properties: string[];
  /** Whether the CRM tracks changes of this object, so incremental runs read delta links (Dataverse tables; HubSpot never). */
  changeTracking: boolean;
}

/** One entry under objects: in mappings.yaml, with the mapping of each CRM that has the object, and how they are kept alike. */
export type ObjectEntry = { name: string; enabled: boolean; twoWay?: TwoWayMapping } & { [S in SourceName]?: ObjectMapping };

export interface AssociationPair {
  from: ObjectMapping;
  to: ObjectMapping;
  /** How sync_history names the pair's runs (its sync_type), e.g. "contacts:companies". */
  name: string;
}

export interface Config {
  path: string;
  objects: Map<string, ObjectEntry>;
  associations: AssociationPair[];
}

/** Reads and validates mappings.yaml; every error names the file and the path inside it. */
export function loadConfig(path = DEFAULT_CONFIG_PATH): Config {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new UsageError(`${path}: ${reason} (pass --config <mappings.yaml>)`);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, path: string): Config {
  let document: unknown;
  try {
    document = yaml.load(text, { filename: path });
  } catch (error) {
    const reason = (error as yaml.YAMLException).reason ?? (error as Error).message;
    const mark = (error as yaml.YAMLException).mark;
    const where = mark ? ` (line ${mark.line + 1}, column ${mark.column + 1})` : '';
    throw new UsageError(`${path}: not valid YAML: ${reason}${where}`);
  }
  const parsed = mappingsSchema.safeParse(document);
  if (!parsed.success) throw new UsageError(`${path}: ${describeIssues(parsed.error.issues)}`);
  const objects = resolveObjects(parsed.data);
  const viewProblems = viewNameProblems(objects.values());
  if (viewProblems.length > 0) throw new UsageError(`${path}: ${viewProblems[0]}${andMore(viewProblems.length - 1)}`);
  // The schema has checked that both ends of every pair have a HubSpot side.
  const associations = parsed.data.associations.map(({ from, to }) => ({ from: objects.get(from)!.hubspot!, to: objects.get(to)!.hubspot!, name: `${from}:${to}` }));
  return { path, objects, associations };
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  const [first] = issues;
  const where = first.path.length ? first.path.join('.') : '(top level)';
  // A bad record key wraps the real reason ("must be lower_snake_case") one level down.
  const message = first.code === 'invalid_key' && first.issues.length ? first.issues[0].message : first.message;
  return `${where}: ${message}${andMore(issues.length - 1)}`;
}

/** " (and 2 more problems)": the first problem is the one shown, on one line. */
function andMore(count: number): string {
  return count > 0 ? ` (and ${count} more problem${count > 1 ? 's' : ''})` : '';
}

function resolveObjects(file: MappingsFile): Map<string, ObjectEntry> {
  const objects = new Map<string, ObjectEntry>();
  const defaultOverlap = file.defaults.incremental?.overlap ?? DEFAULT_OVERLAP_MS;
  for (const [name, object] of Object.entries(file.objects)) {
    const entry: ObjectEntry = { name, enabled: object.enabled };
    // The schema requires modified_property and fields wherever object_type is given.
    if (object.object_type !== undefined && object.modified_property !== undefined && object.fields !== undefined) {
      entry.hubspot = {
        name,
        source: 'hubspot',
        path: `objects.${name}`,
        enabled: object.enabled,
        remoteName: object.object_type,
        primaryKey: object.primary_key,
        modifiedProperty: object.modified_property,
        validation: object.validation,
        keepsHistory: object.history,
        table: object.table ?? defaultViewName('hubspot', name),
        overlapMs: object.incremental?.overlap ?? defaultOverlap,
        changeTracking: false,
        // hs_object_id is the record's own id, sent with every record outside its properties.
        ...fieldsAndProperties(object.fields, object.properties, object.modified_property, object.primary_key === 'hs_object_id' ? [] : [object.primary_key]),
      };
    }
    const dynamics = object.dynamics;
    if (dynamics) {
      entry.dynamics = {
        name,
        source: 'dynamics',
        path: `objects.${name}.dynamics`,
        enabled: object.enabled,
        remoteName: dynamics.entity_set,
        primaryKey: dynamics.primary_key,
        modifiedProperty: dynamics.modified_property,
        validation: dynamics.validation ?? object.validation,
        keepsHistory: object.history,
        table: dynamics.table ?? defaultViewName('dynamics', name),
        overlapMs: dynamics.incremental?.overlap ?? object.incremental?.overlap ?? defaultOverlap,
        changeTracking: dynamics.change_tracking,
        // Dataverse returns the primary key with every row, asked for or not.
        ...fieldsAndProperties(dynamics.fields, dynamics.properties, dynamics.modified_property, [dynamics.primary_key]),
      };
    }
    const twoWay = resolveTwoWay(object, `objects.${name}.two_way`);
    if (twoWay) entry.twoWay = twoWay;
    objects.set(name, entry);
  }
  return objects;
}

function fieldsAndProperties(
  configured: Record<string, FieldConfig>,
  extra: string[],
  modifiedProperty: string,
  key: string[],
): Pick<ObjectMapping, 'fields' | 'properties'> {
  const fields = Object.entries(configured).map(([column, field]) => ({ ...field, column, property: field.property ?? column }));
  const properties = [...new Set([...fields.map((field) => field.property), ...extra, modifiedProperty, ...key])];
  return { fields, properties };
}

/** The enabled objects that one source has, as that source holds them (what a plain sync-all runs). */
export function enabledObjects(config: Config, source: SourceName): ObjectMapping[] {
  return [...config.objects.values()].flatMap((object) => (object.enabled && object[source] ? [object[source]] : []));
}

/**
 * The objects to keep alike both ways: those named (each must have a two_way: block), or
 * every enabled object that has one.
 */
export function twoWayObjects(config: Config, names?: string[]): ObjectEntry[] {
  if (!names) {
    const entries = [...config.objects.values()].filter((entry) => entry.enabled && entry.twoWay);
    if (entries.length === 0) throw new UsageError(`no object in ${config.path} has a two_way: block; add one to an object mapped for both CRMs`);
    return entries;
  }
  return names.map((name) => {
    objectByName(config, name, config.objects.get(name)?.hubspot ? 'hubspot' : 'dynamics');
    const entry = config.objects.get(name)!;
    if (!entry.twoWay) throw new UsageError(`object "${name}" has no two_way: block in ${config.path}; add one (match, create, fields) to sync it both ways`);
    return entry;
  });
}

/** An object as one source holds it, by name; or which names exist, or what to add to mappings.yaml. */
export function objectByName(config: Config, name: string, source: SourceName = DEFAULT_SOURCE): ObjectMapping {
  const object = objectEntry(config, name);
  const mapping = object[source];
  if (mapping) return mapping;
  if (source === 'dynamics') {
    throw new UsageError(`object "${name}" has no dynamics: block in ${config.path}; add one (entity_set, primary_key, fields) to sync it from Dynamics 365`);
  }
  throw new UsageError(`object "${name}" lives only in Dynamics 365 in ${config.path} (no object_type); sync it with --source dynamics, or add object_type, modified_property and fields`);
}

/** An entry under objects:, by name, whichever CRMs map it; or which names exist. */
export function objectEntry(config: Config, name: string): ObjectEntry {
  const object = config.objects.get(name);
  if (!object) throw new UsageError(`unknown object "${name}"; ${config.path} defines: ${[...config.objects.keys()].join(', ')}`);
  return object;
}
