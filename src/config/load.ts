import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { mappingsSchema, type FieldConfig, type MappingsFile } from './schema.js';

export const SOURCES = ['hubspot', 'dynamics'] as const;
export type SourceName = (typeof SOURCES)[number];

export const DEFAULT_CONFIG_PATH = 'mappings.yaml';
const DEFAULT_OVERLAP_MS = 600_000;

export interface MappedField extends Omit<FieldConfig, 'property'> {
  column: string;
  property: string;
}

/** One object of mappings.yaml, as one source holds it, with every default filled in. */
export interface ObjectConfig {
  name: string;
  source: SourceName;
  enabled: boolean;
  /** HubSpot: the object type (contacts, 2-1234567); Dynamics 365: the entity set (accounts). */
  objectType: string;
  primaryKey: string;
  modifiedProperty: string;
  validation: 'strict' | 'lenient';
  table: string;
  overlapMs: number;
  fields: MappedField[];
  /** Every property requested from the API: mapped ones, extras, the key and the modification time. */
  properties: string[];
  /** Dynamics 365: whether the table has change tracking on (HubSpot: never). */
  changeTracking: boolean;
  /** The same object's mapping for Dynamics 365, when mappings.yaml gives one. */
  dynamics?: ObjectConfig;
}

export interface AssociationPair {
  from: ObjectConfig;
  to: ObjectConfig;
  /** How sync_history names the pair's runs, e.g. "contacts->companies". */
  name: string;
}

export interface Config {
  path: string;
  objects: Map<string, ObjectConfig>;
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
  const associations = parsed.data.associations.map(({ from, to }) => ({ from: objects.get(from)!, to: objects.get(to)!, name: `${from}->${to}` }));
  return { path, objects, associations };
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  const [first] = issues;
  const where = first.path.length ? first.path.join('.') : '(top level)';
  // A bad record key wraps the real reason ("must be lower_snake_case") one level down.
  const message = first.code === 'invalid_key' && first.issues.length ? first.issues[0].message : first.message;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return `${where}: ${message}${more}`;
}

function resolveObjects(file: MappingsFile): Map<string, ObjectConfig> {
  const objects = new Map<string, ObjectConfig>();
  const defaultOverlap = file.defaults.incremental?.overlap ?? DEFAULT_OVERLAP_MS;
  for (const [name, object] of Object.entries(file.objects)) {
    const hubspot: ObjectConfig = {
      name,
      source: 'hubspot',
      enabled: object.enabled,
      objectType: object.object_type,
      primaryKey: object.primary_key,
      modifiedProperty: object.modified_property,
      validation: object.validation,
      table: object.table ?? `hubspot_${name}`,
      overlapMs: object.incremental?.overlap ?? defaultOverlap,
      changeTracking: false,
      ...fieldsAndProperties(object.fields, object.properties, object.modified_property, object.primary_key === 'hs_object_id' ? [] : [object.primary_key]),
    };
    const dynamics = object.dynamics;
    if (dynamics) {
      hubspot.dynamics = {
        name,
        source: 'dynamics',
        enabled: object.enabled,
        objectType: dynamics.entity_set,
        primaryKey: dynamics.primary_key,
        modifiedProperty: dynamics.modified_property,
        validation: dynamics.validation ?? object.validation,
        table: dynamics.table ?? `dynamics_${name}`,
        overlapMs: dynamics.incremental?.overlap ?? object.incremental?.overlap ?? defaultOverlap,
        changeTracking: dynamics.change_tracking,
        // Dataverse returns the primary key with every row, asked for or not.
        ...fieldsAndProperties(dynamics.fields, dynamics.properties, dynamics.modified_property, [dynamics.primary_key]),
      };
    }
    objects.set(name, hubspot);
  }
  return objects;
}

function fieldsAndProperties(
  configured: Record<string, FieldConfig>,
  extra: string[],
  modifiedProperty: string,
  key: string[],
): Pick<ObjectConfig, 'fields' | 'properties'> {
  const fields = Object.entries(configured).map(([column, field]) => ({ ...field, column, property: field.property ?? column }));
  const properties = [...new Set([...fields.map((field) => field.property), ...extra, modifiedProperty, ...key])];
  return { fields, properties };
}

/** An object's mapping for one source, or what to add to mappings.yaml. */
export function mappingFor(object: ObjectConfig, source: SourceName, config: Pick<Config, 'path'>): ObjectConfig {
  if (source === 'hubspot') return object;
  if (!object.dynamics) {
    throw new UsageError(`object "${object.name}" has no dynamics: block in ${config.path}; add one (entity_set, primary_key, fields) to sync it from Dynamics 365`);
  }
  return object.dynamics;
}

/** Looks an object up by name, or explains which names exist. */
export function objectByName(config: Config, name: string): ObjectConfig {
  const object = config.objects.get(name);
  if (!object) {
    throw new UsageError(`unknown object "${name}"; ${config.path} defines: ${[...config.objects.keys()].join(', ')}`);
  }
  return object;
}
