import { DynamicsClient, type AttributeDefinition, type TableDefinition } from '../clients/dynamics/client.js';
import { HubSpotClient, type PropertyDefinition } from '../clients/hubspot/client.js';
import type { DynamicsSettings, HubSpotSettings } from './env.js';
import type { Config, ObjectMapping } from './load.js';
import { ApiError } from '../errors.js';
import { attributeFits, isReadable } from '../clients/dynamics/columns.js';
import { fits } from '../clients/hubspot/properties.js';

/** Reads an object's properties from the Properties API. */
export async function portalProperties(settings: HubSpotSettings, objectType: string): Promise<PropertyDefinition[]> {
  return new HubSpotClient(settings).properties(objectType);
}

/**
 * Checks mappings.yaml against the portal, one line per problem: unknown object types,
 * unknown properties, field types that cannot read the property, keys that are not
 * unique, modification properties that are not date-times.
 */
export async function checkAgainstPortal(config: Config, settings: HubSpotSettings): Promise<string[]> {
  const client = new HubSpotClient(settings);
  const problems: string[] = [];
  for (const { hubspot: object } of config.objects.values()) {
    if (!object) continue;
    let properties: PropertyDefinition[];
    try {
      properties = await client.properties(object.remoteName);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
        problems.push(`objects.${object.name}.object_type: HubSpot has no object type "${object.remoteName}"`);
        continue;
      }
      throw error;
    }
    problems.push(...objectProblems(object, new Map(properties.map((property) => [property.name, property]))));
  }
  return problems;
}

function objectProblems(object: ObjectMapping, properties: Map<string, PropertyDefinition>): string[] {
  const at = `objects.${object.name}`;
  const problems: string[] = [];
  for (const field of object.fields) {
    const property = properties.get(field.property);
    if (!property) problems.push(`${at}.fields.${field.column}: HubSpot has no property "${field.property}"`);
    else if (!fits(field.type, property)) problems.push(`${at}.fields.${field.column}: type ${field.type} cannot read HubSpot's ${property.type} property "${field.property}"`);
  }
  const modified = properties.get(object.modifiedProperty);
  if (!modified) problems.push(`${at}.modified_property: HubSpot has no property "${object.modifiedProperty}"`);
  else if (modified.type !== 'datetime') problems.push(`${at}.modified_property: "${object.modifiedProperty}" is a ${modified.type} property, not a datetime`);
  if (object.primaryKey !== 'hs_object_id') {
    const key = properties.get(object.primaryKey);
    if (!key) problems.push(`${at}.primary_key: HubSpot has no property "${object.primaryKey}"`);
    else if (!key.hasUniqueValue) problems.push(`${at}.primary_key: "${object.primaryKey}" does not hold unique values in HubSpot; use hs_object_id or a unique property`);
  }
  for (const extra of object.properties.filter((name) => !properties.has(name) && !object.fields.some((field) => field.property === name))) {
    problems.push(`${at}.properties: HubSpot has no property "${extra}"`);
  }
  return [...new Set(problems)];
}

/** Reads a Dataverse table's definition and columns; null when the organisation has no such entity set. */
export async function organisationTable(settings: DynamicsSettings, entitySet: string): Promise<TableDefinition | null> {
  return new DynamicsClient(settings).tableDefinition(entitySet);
}

/**
 * Checks the dynamics: blocks of mappings.yaml against the Dynamics 365 organisation, one
 * line per problem: unknown entity sets and columns, field types that cannot read a
 * column, a primary key that is not the table's, change tracking the table does not have.
 * Dataverse refuses a whole query that selects one unknown column, so these would
 * otherwise fail the run.
 */
export async function checkAgainstOrganisation(config: Config, settings: DynamicsSettings): Promise<string[]> {
  const client = new DynamicsClient(settings);
  const problems: string[] = [];
  for (const { dynamics: object } of config.objects.values()) {
    if (!object) continue;
    const table = await client.tableDefinition(object.remoteName);
    if (!table) {
      problems.push(`objects.${object.name}.dynamics.entity_set: Dynamics 365 has no entity set "${object.remoteName}"`);
      continue;
    }
    problems.push(...tableProblems(object, table));
  }
  return problems;
}

function tableProblems(object: ObjectMapping, table: TableDefinition): string[] {
  const at = `objects.${object.name}.dynamics`;
  const columns = new Map(table.attributes.filter(isReadable).map((attribute) => [attribute.name, attribute]));
  const unknown = (name: string) => `Dynamics 365's ${table.logicalName} table has no column "${name}"${lookupHint(name, columns)}`;
  const problems: string[] = [];
  for (const field of object.fields) {
    const column = columns.get(field.property);
    if (!column) problems.push(`${at}.fields.${field.column}: ${unknown(field.property)}`);
    else if (!attributeFits(field.type, column)) problems.push(`${at}.fields.${field.column}: type ${field.type} cannot read the ${column.type} column "${field.property}"`);
  }
  const modified = columns.get(object.modifiedProperty);
  if (!modified) problems.push(`${at}.modified_property: ${unknown(object.modifiedProperty)}`);
  else if (modified.type !== 'DateTime') problems.push(`${at}.modified_property: "${object.modifiedProperty}" is a ${modified.type} column, not a DateTime`);
  if (object.primaryKey !== table.primaryKey) problems.push(`${at}.primary_key: the ${table.logicalName} table's key is "${table.primaryKey}", not "${object.primaryKey}"`);
  if (object.changeTracking && !table.changeTracking) {
    problems.push(`${at}.change_tracking: the ${table.logicalName} table has "Track changes" off; turn it on in the table's settings, or set change_tracking: false`);
  }
  for (const extra of object.properties.filter((name) => !columns.has(name) && name !== object.modifiedProperty && name !== object.primaryKey && !object.fields.some((field) => field.property === name))) {
    problems.push(`${at}.properties: ${unknown(extra)}`);
  }
  return [...new Set(problems)];
}

/** A lookup is read as _<name>_value, its plain name is refused by $select: say which form exists. */
function lookupHint(name: string, columns: Map<string, AttributeDefinition>): string {
  const asLookup = `_${name}_value`;
  return columns.has(asLookup) ? ` (it is a lookup: use ${asLookup})` : '';
}
