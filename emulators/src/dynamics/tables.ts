/**
 * Which tables an emulated organisation serves: the standard contact and account tables
 * of the catalogue, plus the tables and custom columns given explicitly, from code or
 * from a JSON file (`crmsync emulator --dynamics-tables`).
 */
import { CATALOGUE } from './catalogue.js';
import { DynamicsStore } from './store.js';
import type { AttributeDefinition, AttributeType, EntitySetDefinition } from './table-definitions.js';

export interface DynamicsTables {
  /** Further tables; one with the entitySet of a catalogue table replaces it. */
  entitySets?: EntitySetDefinition[];
  /**
   * Custom columns added to a table by entity set, e.g. `{ contacts: { new_loyaltytier: 'picklist' } }`.
   * Named as Dataverse names custom columns, with a publisher prefix (`new_`, `cr1a2_`;
   * lookups `_new_regionid_value`).
   */
  extraColumns?: Record<string, Record<string, AttributeType | AttributeDefinition>>;
}

/** A customization prefix: 2 to 8 letters and digits, starting with a letter, then `_`. */
const CUSTOM_NAME = /^_?[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]+$/;

/** The catalogue with `entitySets` replacing or added to it and `extraColumns` added; throws an Error naming what is wrong. */
export function servedTables(tables: DynamicsTables = {}): EntitySetDefinition[] {
  const byName = new Map(CATALOGUE.map((definition) => [definition.entitySet, definition]));
  for (const definition of tables.entitySets ?? []) byName.set(definition.entitySet, definition);
  for (const [entitySet, columns] of Object.entries(tables.extraColumns ?? {})) {
    const definition = byName.get(entitySet);
    if (definition === undefined) throw new Error(`extraColumns: there is no entity set "${entitySet}" (served: ${[...byName.keys()].join(', ')})`);
    if (columns === null || typeof columns !== 'object' || Array.isArray(columns)) throw new Error(`extraColumns.${entitySet} must map column names to types`);
    for (const name of Object.keys(columns)) {
      if (Object.hasOwn(definition.attributes ?? {}, name) || name === definition.primaryKey) throw new Error(`extraColumns.${entitySet}.${name}: the ${definition.logicalName} table has this column already`);
      if (!CUSTOM_NAME.test(name)) throw new Error(`extraColumns.${entitySet}.${name}: custom columns carry a publisher prefix, e.g. new_${name.replace(/^_/, '')}`);
    }
    byName.set(entitySet, { ...definition, attributes: { ...definition.attributes, ...columns } });
  }
  return [...byName.values()];
}

/**
 * Reads a tables file: JSON `{"entitySets": [EntitySetDefinition, ...], "extraColumns":
 * {"contacts": {"new_loyaltytier": "picklist"}}}`, both optional. Throws an Error with a
 * one-line message when the file is not such an object or describes tables the emulator
 * cannot serve.
 */
export function parseDynamicsTables(text: string): DynamicsTables {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object with "entitySets" and/or "extraColumns"');
  const { entitySets, extraColumns, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`unknown key "${unknown[0]}" (known: entitySets, extraColumns)`);
  if (entitySets !== undefined && !Array.isArray(entitySets)) throw new Error('"entitySets" must be a list of table definitions');
  if (extraColumns !== undefined && (extraColumns === null || typeof extraColumns !== 'object' || Array.isArray(extraColumns))) {
    throw new Error('"extraColumns" must map entity sets to their custom columns');
  }
  const tables = { entitySets, extraColumns } as DynamicsTables;
  for (const [index, definition] of (tables.entitySets ?? []).entries()) {
    if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw new Error(`entitySets[${index}] must be a table definition object`);
  }
  // A store without rows checks every definition, lookup target and logical name.
  new DynamicsStore({ entitySets: servedTables(tables) });
  return tables;
}
