import { HubSpotClient, type PropertyDefinition } from '../clients/hubspot.js';
import type { HubSpotSettings } from '../config/env.js';
import type { Config, ObjectConfig } from '../config/load.js';
import { ApiError } from '../errors.js';
import { fits } from '../processors/property-types.js';

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
      properties = await client.properties(object.objectType);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
        problems.push(`objects.${object.name}.object_type: HubSpot has no object type "${object.objectType}"`);
        continue;
      }
      throw error;
    }
    problems.push(...objectProblems(object, new Map(properties.map((property) => [property.name, property]))));
  }
  return problems;
}

function objectProblems(object: ObjectConfig, properties: Map<string, PropertyDefinition>): string[] {
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
