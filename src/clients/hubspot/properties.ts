import type { ObjectMapping } from '../../config/load.js';
import type { FieldType } from '../../config/mappings-schema.js';
import type { ObjectDescription, PropertyDescription } from '../crm.js';
import { UnknownObjectError } from '../../errors.js';
import type { HubSpotClient, PropertyDefinition } from './client.js';

/** Every HubSpot record's own id, sent outside its properties as the record's `id`. */
export const RECORD_ID_PROPERTY = 'hs_object_id';

/** The crmsync field type that best fits a HubSpot property. */
export function fieldTypeFor(property: PropertyDefinition): FieldType {
  if (property.fieldType === 'booleancheckbox' || property.type === 'bool') return 'boolean';
  switch (property.type) {
    case 'number':
      return 'decimal';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'enumeration':
      return 'enumeration';
    case 'phone_number':
      return 'phone';
  }
  if (property.fieldType === 'phonenumber') return 'phone';
  if (property.name === 'email' || property.name.endsWith('_email')) return 'email';
  if (property.name === 'website' || property.name.endsWith('_url')) return 'url';
  return 'string';
}

/**
 * Which crmsync field types can read a HubSpot property type. Every value arrives as a
 * string, so `string` reads anything; the others need the matching kind of property.
 */
const COMPATIBLE: Record<FieldType, (property: PropertyDefinition) => boolean> = {
  string: () => true,
  email: (property) => property.type === 'string',
  phone: (property) => property.type === 'string' || property.type === 'phone_number',
  url: (property) => property.type === 'string',
  date: (property) => property.type === 'date' || property.type === 'datetime',
  datetime: (property) => property.type === 'datetime' || property.type === 'date',
  decimal: (property) => property.type === 'number',
  integer: (property) => property.type === 'number',
  boolean: (property) => property.type === 'bool' || property.fieldType === 'booleancheckbox',
  enumeration: (property) => property.type === 'enumeration' || property.type === 'bool' || property.type === 'string',
};

export function fits(type: FieldType, property: PropertyDefinition): boolean {
  return COMPATIBLE[type](property);
}

/** An object's properties from the Properties API; an unknown object type fails the request (UnknownObjectError). */
export async function describeObject(client: HubSpotClient, objectType: string): Promise<ObjectDescription> {
  return objectDescription(objectType, await client.properties(objectType));
}

export function objectDescription(objectType: string, properties: PropertyDefinition[]): ObjectDescription {
  return {
    remoteName: objectType,
    primaryKey: RECORD_ID_PROPERTY,
    changeTracking: false,
    properties: properties.map(describeProperty),
    listing: [['name', 'label', 'type', 'field type'], ...properties.map((property) => [property.name, property.label ?? '', property.type, property.fieldType])],
    definition: properties,
  };
}

function describeProperty(property: PropertyDefinition): PropertyDescription {
  return {
    name: property.name,
    label: property.label,
    type: property.type,
    fieldType: fieldTypeFor(property),
    readOnly: Boolean(property.calculated || property.modificationMetadata?.readOnlyValue),
    unique: Boolean(property.hasUniqueValue),
    hidden: Boolean(property.hidden),
    values: property.options?.filter((option) => !option.hidden).map((option) => option.value),
  };
}

/**
 * Checks one mapping against the portal, one line per problem: an unknown object type,
 * unknown properties, field types that cannot read the property, a key that is not unique,
 * a modification property that is not a date-time.
 */
export async function checkMapping(client: HubSpotClient, mapping: ObjectMapping): Promise<string[]> {
  let properties: PropertyDefinition[];
  try {
    properties = await client.properties(mapping.remoteName);
  } catch (error) {
    if (error instanceof UnknownObjectError) {
      return [`${mapping.path}.object_type: HubSpot has no object type "${mapping.remoteName}"`];
    }
    throw error;
  }
  return mappingProblems(mapping, new Map(properties.map((property) => [property.name, property])));
}

function mappingProblems(mapping: ObjectMapping, properties: Map<string, PropertyDefinition>): string[] {
  const at = mapping.path;
  const problems: string[] = [];
  for (const field of mapping.fields) {
    const property = properties.get(field.property);
    if (!property) problems.push(`${at}.fields.${field.column}: HubSpot has no property "${field.property}"`);
    else if (!fits(field.type, property)) problems.push(`${at}.fields.${field.column}: type ${field.type} cannot read HubSpot's ${property.type} property "${field.property}"`);
  }
  const modified = properties.get(mapping.modifiedProperty);
  if (!modified) problems.push(`${at}.modified_property: HubSpot has no property "${mapping.modifiedProperty}"`);
  else if (modified.type !== 'datetime') problems.push(`${at}.modified_property: "${mapping.modifiedProperty}" is a ${modified.type} property, not a datetime`);
  if (mapping.primaryKey !== RECORD_ID_PROPERTY) {
    const key = properties.get(mapping.primaryKey);
    if (!key) problems.push(`${at}.primary_key: HubSpot has no property "${mapping.primaryKey}"`);
    else if (!key.hasUniqueValue) problems.push(`${at}.primary_key: "${mapping.primaryKey}" does not hold unique values in HubSpot; use hs_object_id or a unique property`);
  }
  for (const extra of mapping.properties.filter((name) => !properties.has(name) && !mapping.fields.some((field) => field.property === name))) {
    problems.push(`${at}.properties: HubSpot has no property "${extra}"`);
  }
  return [...new Set(problems)];
}
