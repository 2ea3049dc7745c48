import type { AttributeDefinition, TableDefinition } from './client.js';
import type { FieldType } from '../../config/mappings-schema.js';
import { columnFor } from '../hubspot/properties.js';

/**
 * Dataverse attribute types (AttributeMetadata.AttributeType) and crmsync's field types.
 * The Web API sends numbers, booleans and option-set values as JSON numbers and booleans,
 * dates and times as ISO-8601 strings, lookups as the related row's GUID.
 */
const FIELD_TYPE_BY_ATTRIBUTE: Record<string, FieldType> = {
  String: 'string',
  Memo: 'string',
  Uniqueidentifier: 'string',
  Lookup: 'string',
  Customer: 'string',
  Owner: 'string',
  EntityName: 'string',
  Integer: 'integer',
  BigInt: 'integer',
  // Choices (option sets), status and status reason come as their integer values.
  Picklist: 'integer',
  State: 'integer',
  Status: 'integer',
  Decimal: 'decimal',
  Double: 'decimal',
  Money: 'decimal',
  Boolean: 'boolean',
  DateTime: 'datetime',
};

/** Attribute types a sync has no use for: computed collections and internal columns. */
const UNREADABLE = new Set(['Virtual', 'PartyList', 'ManagedProperty', 'CalendarRules', 'File', 'Image']);

/** The crmsync field type that best fits a Dataverse column (for `crmsync properties --source dynamics --yaml`). */
export function fieldTypeForAttribute(attribute: AttributeDefinition): FieldType {
  const type = FIELD_TYPE_BY_ATTRIBUTE[attribute.type] ?? 'string';
  if (type !== 'string' || attribute.type !== 'String') return type;
  if (/^emailaddress\d$/.test(attribute.name)) return 'email';
  if (/^(telephone\d|mobilephone|fax|address\d_telephone\d)$/.test(attribute.name)) return 'phone';
  if (attribute.name === 'websiteurl') return 'url';
  return 'string';
}

/** Which crmsync field types can read a column of each attribute type. `string` reads anything. */
export function attributeFits(type: FieldType, attribute: AttributeDefinition): boolean {
  const natural = FIELD_TYPE_BY_ATTRIBUTE[attribute.type] ?? 'string';
  switch (type) {
    case 'string':
      return true;
    case 'email':
    case 'phone':
    case 'url':
      return natural === 'string';
    case 'date':
    case 'datetime':
      return natural === 'datetime';
    case 'decimal':
      return natural === 'decimal' || natural === 'integer';
    case 'enumeration':
      return natural === 'integer' || natural === 'string' || natural === 'boolean';
    default:
      return natural === type;
  }
}

/** Whether a column can be selected at all (and so mapped). */
export function isReadable(attribute: AttributeDefinition): boolean {
  return !UNREADABLE.has(attribute.type);
}

/**
 * A mappings.yaml entry for a Dataverse table, ready to paste under `objects:` (two-space
 * indent): an object that lives only in Dynamics 365, every readable column typed with
 * fieldTypeForAttribute. For an object already in mappings.yaml, its dynamics: block goes
 * under that object instead.
 */
export function dynamicsMappingBlock(name: string, table: TableDefinition): string {
  const modified = table.attributes.some((attribute) => attribute.name === 'modifiedon') ? 'modifiedon' : undefined;
  const lines = [`  ${name}:`, '    dynamics:', `      entity_set: ${table.entitySet}`, `      primary_key: ${table.primaryKey}`];
  if (!modified) lines.push('      modified_property: modifiedon  # not found among the columns: name the column Dataverse updates on every change');
  if (!table.changeTracking) lines.push('      change_tracking: false  # the table has "Track changes" off: incremental runs filter on modifiedon');
  lines.push('      fields:');
  const used = new Set<string>();
  const entries = table.attributes
    .filter((attribute) => isReadable(attribute) && attribute.name !== table.primaryKey)
    .map((attribute) => {
      // _parentcustomerid_value → parentcustomerid_id: the column holds the related row's id.
      const lookup = /^_(.+)_value$/.exec(attribute.name);
      return { attribute, column: columnFor(lookup ? `${lookup[1]}_id` : attribute.name, used, 'd365_') };
    })
    .sort((a, b) => a.column.localeCompare(b.column));
  for (const { attribute, column } of entries) {
    const parts = [...(column === attribute.name ? [] : [`property: ${attribute.name}`]), `type: ${fieldTypeForAttribute(attribute)}`];
    if (attribute.name === modified) parts.push('required: true');
    lines.push(`        ${column}: { ${parts.join(', ')} }`);
  }
  return `${lines.join('\n')}\n`;
}
