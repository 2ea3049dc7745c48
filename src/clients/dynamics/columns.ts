import type { ObjectMapping } from '../../config/load.js';
import type { FieldType } from '../../config/mappings-schema.js';
import { UsageError } from '../../errors.js';
import type { ObjectDescription } from '../crm.js';
import type { AttributeDefinition, DynamicsClient, TableDefinition } from './client.js';

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

/** The crmsync field type that best fits a Dataverse column. */
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
function isReadable(attribute: AttributeDefinition): boolean {
  return !UNREADABLE.has(attribute.type);
}

/** A table's readable columns; an entity set the organisation does not have is a usage error. */
export async function describeTable(client: DynamicsClient, entitySet: string): Promise<ObjectDescription> {
  const table = await client.tableDefinition(entitySet);
  if (!table) throw new UsageError(`Dynamics 365 has no entity set "${entitySet}"; entity sets are plural logical names such as contacts, accounts, incidents`);
  const choices = table.attributes.some((column) => column.type === 'Picklist') ? await client.choiceOptions(table.logicalName) : new Map<string, number[]>();
  return tableDescription(table, choices);
}

/** A table's description; `choices` holds the option values of its choice columns, which `values` then lists. */
export function tableDescription(table: TableDefinition, choices: ReadonlyMap<string, number[]> = new Map()): ObjectDescription {
  const readable = table.attributes.filter(isReadable);
  return {
    remoteName: table.entitySet,
    primaryKey: table.primaryKey,
    changeTracking: table.changeTracking,
    properties: readable.map((column) => ({
      name: column.name,
      type: column.type,
      fieldType: fieldTypeForAttribute(column),
      readOnly: !column.updatable,
      unique: column.name === table.primaryKey,
      hidden: false,
      ...(choices.has(column.name) && { values: choices.get(column.name)!.map(String) }),
    })),
    listing: [['name', 'type', 'crmsync type'], ...readable.map((column) => [column.name, column.type, fieldTypeForAttribute(column)])],
    // The table as Dataverse defines it: every column's name and type.
    definition: { ...table, attributes: table.attributes.map(({ name, type }) => ({ name, type })) },
  };
}

/**
 * Checks one dynamics: block against the organisation, one line per problem: an unknown
 * entity set or column, field types that cannot read a column, a primary key that is not
 * the table's, change tracking the table does not have. Dataverse refuses a whole query
 * that selects one unknown column, so these would otherwise fail the run.
 */
export async function checkMapping(client: DynamicsClient, mapping: ObjectMapping): Promise<string[]> {
  const table = await client.tableDefinition(mapping.remoteName);
  if (!table) return [`${mapping.path}.entity_set: Dynamics 365 has no entity set "${mapping.remoteName}"`];
  const at = mapping.path;
  const columns = new Map(table.attributes.filter(isReadable).map((attribute) => [attribute.name, attribute]));
  const unknown = (name: string) => `Dynamics 365's ${table.logicalName} table has no column "${name}"${lookupHint(name, columns)}`;
  const problems: string[] = [];
  for (const field of mapping.fields) {
    const column = columns.get(field.property);
    if (!column) problems.push(`${at}.fields.${field.column}: ${unknown(field.property)}`);
    else if (!attributeFits(field.type, column)) problems.push(`${at}.fields.${field.column}: type ${field.type} cannot read the ${column.type} column "${field.property}"`);
  }
  const modified = columns.get(mapping.modifiedProperty);
  if (!modified) problems.push(`${at}.modified_property: ${unknown(mapping.modifiedProperty)}`);
  else if (modified.type !== 'DateTime') problems.push(`${at}.modified_property: "${mapping.modifiedProperty}" is a ${modified.type} column, not a DateTime`);
  if (mapping.primaryKey !== table.primaryKey) problems.push(`${at}.primary_key: the ${table.logicalName} table's key is "${table.primaryKey}", not "${mapping.primaryKey}"`);
  if (mapping.changeTracking && !table.changeTracking) {
    problems.push(`${at}.change_tracking: the ${table.logicalName} table has "Track changes" off; turn it on in the table's settings, or set change_tracking: false`);
  }
  const named = (name: string) => name === mapping.modifiedProperty || name === mapping.primaryKey || mapping.fields.some((field) => field.property === name);
  for (const extra of mapping.properties.filter((name) => !columns.has(name) && !named(name))) {
    problems.push(`${at}.properties: ${unknown(extra)}`);
  }
  return [...new Set(problems)];
}

/** A lookup is read as _<name>_value, its plain name is refused by $select: say which form exists. */
function lookupHint(name: string, columns: Map<string, AttributeDefinition>): string {
  const asLookup = `_${name}_value`;
  return columns.has(asLookup) ? ` (it is a lookup: use ${asLookup})` : '';
}
