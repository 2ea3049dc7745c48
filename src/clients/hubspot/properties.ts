import type { PropertyDefinition } from './client.js';
import { RESERVED_COLUMNS, type FieldType } from '../../config/mappings-schema.js';

/** A HubSpot property as the Properties API describes it (the client's type). */
export type PortalProperty = PropertyDefinition;

/** The crmsync field type that best fits a HubSpot property (for `crmsync properties --yaml`). */
export function fieldTypeFor(property: PortalProperty): FieldType {
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
const COMPATIBLE: Record<FieldType, (property: PortalProperty) => boolean> = {
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

export function fits(type: FieldType, property: PortalProperty): boolean {
  return COMPATIBLE[type](property);
}

const RESERVED = new Set<string>(RESERVED_COLUMNS);
/** Properties every record has and crmsync keeps anyway (the id is the view's `id`). */
const SKIPPED = new Set(['hs_object_id']);

/**
 * A mappings.yaml entry for an object, ready to paste under `objects:` (two-space indent):
 * every visible property, typed with fieldTypeFor, enumerations with their values.
 */
export function mappingBlock(name: string, objectType: string, properties: PortalProperty[]): string {
  const names = new Set(properties.map((property) => property.name));
  const modified = names.has('hs_lastmodifieddate') ? 'hs_lastmodifieddate' : names.has('lastmodifieddate') ? 'lastmodifieddate' : undefined;
  const lines = [`  ${name}:`, `    object_type: ${JSON.stringify(objectType)}`];
  lines.push(modified ? `    modified_property: ${modified}` : '    modified_property: hs_lastmodifieddate  # not found among the properties: check');
  lines.push('    fields:');
  const used = new Set<string>();
  for (const property of [...properties].sort((a, b) => a.name.localeCompare(b.name))) {
    if (property.hidden || SKIPPED.has(property.name)) continue;
    const column = columnFor(property.name, used);
    const type = fieldTypeFor(property);
    const parts = [...(column === property.name ? [] : [`property: ${JSON.stringify(property.name)}`]), `type: ${type}`];
    const values = type === 'enumeration' ? (property.options ?? []).filter((option) => !option.hidden).map((option) => option.value) : [];
    if (values.length > 0) parts.push(`values: [${values.map((value) => JSON.stringify(value)).join(', ')}]`);
    if (property.name === modified) parts.push('required: true');
    lines.push(`      ${column}: { ${parts.join(', ')} }${property.label ? `  # ${property.label.replace(/\s+/g, ' ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A lower_snake_case column name for a property, unique within the object; a reserved name gets the prefix. */
export function columnFor(property: string, used: Set<string>, reservedPrefix = 'hs_'): string {
  let column = property.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^(\d)/, '_$1');
  if (RESERVED.has(column)) column = `${reservedPrefix}${column}`;
  while (used.has(column)) column = `${column}_`;
  used.add(column);
  return column;
}
