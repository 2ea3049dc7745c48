/**
 * Table definitions as the Web API serves them: `EntityDefinitions` (EntityMetadata) and
 * `EntityDefinitions(LogicalName='contact')/Attributes` (AttributeMetadata), plus the
 * WhoAmI function. Only the scalar properties a sync tool reads are modelled; $select,
 * $filter, $orderby and $top work on them as on rows.
 */
import { DataverseError, ERROR_CODES, odataError } from './errors.js';
import { parseFilter } from './odata-filter.js';
import { parseOrderBy, parseSelect, parseTop, compareRows, totalOrder, type Comparable } from './query.js';
import { stableGuid as metadataId, type Organisation } from './principals.js';
import { isLookup, lookupLogicalName, metadataAttributeType, type Column, type EntityModel, type Field, type Shape, type ValueKind } from './table-definitions.js';
import { comparable } from './values.js';

type PropertyKind = Exclude<ValueKind, 'datetime' | 'date'>;

class MetaShape implements Shape {
  readonly fields: Field[];
  readonly byName: Map<string, Field>;
  readonly key: Field;

  constructor(
    readonly typeName: string,
    properties: [string, PropertyKind][],
  ) {
    const edm: Record<PropertyKind, string> = { string: 'Edm.String', number: 'Edm.Int32', boolean: 'Edm.Boolean', guid: 'Edm.Guid' };
    this.fields = properties.map(([name, kind], index) => ({ name, index, kind, edm: edm[kind], integer: kind === 'number' }));
    this.byName = new Map(this.fields.map((field) => [field.name, field]));
    this.key = this.byName.get('MetadataId') as Field;
  }
}

class MetaRow implements Comparable {
  constructor(
    readonly values: unknown[],
    readonly odataType?: string,
  ) {}

  comparable(field: Field): unknown {
    return comparable(field.kind, this.values[field.index]);
  }
}

const ENTITY_SHAPE = new MetaShape('Microsoft.Dynamics.CRM.EntityMetadata', [
  ['MetadataId', 'guid'],
  ['LogicalName', 'string'],
  ['SchemaName', 'string'],
  ['EntitySetName', 'string'],
  ['LogicalCollectionName', 'string'],
  ['CollectionSchemaName', 'string'],
  ['PrimaryIdAttribute', 'string'],
  ['PrimaryNameAttribute', 'string'],
  ['ObjectTypeCode', 'number'],
  ['ChangeTrackingEnabled', 'boolean'],
  ['IsCustomEntity', 'boolean'],
  ['IsActivity', 'boolean'],
  ['IsIntersect', 'boolean'],
  ['IsOptimisticConcurrencyEnabled', 'boolean'],
  ['IsValidForAdvancedFind', 'boolean'],
  ['TableType', 'string'],
]);

const ATTRIBUTE_SHAPE = new MetaShape('Microsoft.Dynamics.CRM.AttributeMetadata', [
  ['MetadataId', 'guid'],
  ['LogicalName', 'string'],
  ['SchemaName', 'string'],
  ['EntityLogicalName', 'string'],
  ['AttributeType', 'string'],
  ['AttributeOf', 'string'],
  ['ColumnNumber', 'number'],
  ['IsPrimaryId', 'boolean'],
  ['IsPrimaryName', 'boolean'],
  ['IsCustomAttribute', 'boolean'],
  ['IsValidForRead', 'boolean'],
  ['IsValidForCreate', 'boolean'],
  ['IsValidForUpdate', 'boolean'],
]);

/** Well-known object type codes; custom tables get 10000 and up. */
const OBJECT_TYPE_CODES: Record<string, number> = { account: 1, contact: 2, opportunity: 3, lead: 4, systemuser: 8, incident: 112 };

/** The Derived AttributeMetadata type Dataverse sends as @odata.type. */
const ODATA_TYPES: Record<string, string> = {
  String: 'StringAttributeMetadata',
  Memo: 'MemoAttributeMetadata',
  Integer: 'IntegerAttributeMetadata',
  BigInt: 'BigIntAttributeMetadata',
  Decimal: 'DecimalAttributeMetadata',
  Money: 'MoneyAttributeMetadata',
  Double: 'DoubleAttributeMetadata',
  Boolean: 'BooleanAttributeMetadata',
  DateTime: 'DateTimeAttributeMetadata',
  Picklist: 'PicklistAttributeMetadata',
  Lookup: 'LookupAttributeMetadata',
  Customer: 'LookupAttributeMetadata',
  Owner: 'LookupAttributeMetadata',
  Status: 'StatusAttributeMetadata',
  Uniqueidentifier: 'UniqueIdentifierAttributeMetadata',
  State: 'StateAttributeMetadata',
};

/** Schema names are Pascal-cased logical names ('address1_city' → 'Address1_City'). */
function schemaName(logicalName: string): string {
  return logicalName
    .split('_')
    .map((part) => (part === '' ? part : part[0]?.toUpperCase() + part.slice(1)))
    .join('_');
}

function entityRow(model: EntityModel, customIndex: number): MetaRow {
  const logical = model.logicalName;
  const custom = logical.includes('_');
  const values = [
    metadataId('entity', logical),
    logical,
    schemaName(logical),
    model.entitySet,
    model.entitySet,
    schemaName(model.entitySet),
    model.key.name,
    model.primaryName ?? null,
    OBJECT_TYPE_CODES[logical] ?? 10000 + customIndex,
    model.def.changeTracking,
    custom,
    false,
    false,
    true,
    true,
    'Standard',
  ];
  return new MetaRow(values);
}

function attributeRows(model: EntityModel): MetaRow[] {
  return model.fields.map((column: Column, position) => {
    const type = metadataAttributeType(column);
    const logical = isLookup(column) ? lookupLogicalName(column.name) : column.name;
    const custom = !column.system && logical.includes('_') && !/^address\d_/.test(logical);
    const computed = column.readOnly || (model.fullName !== undefined && column.index === model.fullName.full);
    const values = [
      metadataId('attribute', model.logicalName, logical),
      logical,
      schemaName(logical),
      model.logicalName,
      type,
      null,
      position + 1,
      column === model.key,
      column.name === model.primaryName,
      custom,
      true,
      // A row's state is set by an update (SetState), not on create.
      !computed && column !== model.statecode,
      !computed && column !== model.key,
    ];
    return new MetaRow(values, `#Microsoft.Dynamics.CRM.${ODATA_TYPES[type] ?? 'AttributeMetadata'}`);
  });
}

function rowJson(shape: MetaShape, row: MetaRow, selection: readonly Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (row.odataType) out['@odata.type'] = row.odataType;
  for (const field of selection) out[field.name] = row.values[field.index] ?? null;
  out[shape.key.name] = row.values[shape.key.index];
  return out;
}

interface MetaQuery {
  select: string | null;
  filter: string | null;
  orderby: string | null;
  top: string | null;
  /** Only the choice columns' OptionSet can be expanded (see choiceColumns). */
  expand: string | null;
}

/** The cast that narrows a table's Attributes to its choice columns, whose OptionSet lists their options. */
const PICKLIST_CAST = 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata';
const OPTION_SET_EXPANSIONS = new Set(['OptionSet', 'OptionSet($select=Options)']);

/**
 * `Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet($select=Options)`:
 * the table's choice columns, each with its options. An option is its value and its label;
 * the emulator's choices have values only, so their labels are empty.
 */
function choiceColumns(model: EntityModel, query: MetaQuery, context: string): Record<string, unknown> {
  const expand = query.expand?.replace(/\s+/g, '');
  if (expand !== undefined && !OPTION_SET_EXPANSIONS.has(expand)) throw odataError(`Could not find a property named '${query.expand}' to expand on '${PICKLIST_CAST}'.`);
  const choices = model.fields.filter((column) => metadataAttributeType(column) === 'Picklist');
  const rows = attributeRows(model).filter((row) => choices.some((column) => column.name === row.values[1]));
  const body = collection(ATTRIBUTE_SHAPE, rows, { ...query, expand: null }, `${context}/${PICKLIST_CAST}`);
  if (expand === undefined) return body;
  const optionsOf = new Map(choices.map((column) => [column.name, column.options ?? []]));
  const nameOf = new Map(rows.map((row) => [row.values[0], String(row.values[1])]));
  for (const entry of body.value as Record<string, unknown>[]) {
    const name = nameOf.get(entry.MetadataId) ?? '';
    const options = optionsOf.get(name) ?? [];
    entry.OptionSet = {
      MetadataId: metadataId('optionset', model.logicalName, name),
      Options: options.map((value) => ({ Value: value, Label: { LocalizedLabels: [], UserLocalizedLabel: null } })),
    };
  }
  return body;
}

function selectionContext(shape: MetaShape, select: string | null): { fields: readonly Field[]; suffix: string } {
  const fields = parseSelect(shape, select);
  return { fields: fields ?? shape.fields.filter((field) => field !== shape.key), suffix: fields ? `(${fields.map((field) => field.name).join(',')})` : '' };
}

function collection(shape: MetaShape, rows: MetaRow[], query: MetaQuery, context: string): Record<string, unknown> {
  const { fields, suffix } = selectionContext(shape, query.select);
  const predicate = parseFilter(shape, query.filter);
  const order = totalOrder(parseOrderBy(shape, query.orderby), shape.byName.get('LogicalName') as Field);
  const top = parseTop(query.top);
  let result = predicate ? rows.filter((row) => predicate(row) === true) : [...rows];
  result.sort((a, b) => compareRows(order, a, b));
  if (top !== null) result = result.slice(0, top);
  return { '@odata.context': `${context}${suffix}`, value: result.map((row) => rowJson(shape, row, fields)) };
}

function single(shape: MetaShape, row: MetaRow, select: string | null, context: string): Record<string, unknown> {
  const { fields, suffix } = selectionContext(shape, select);
  return { '@odata.context': `${context}${suffix}/$entity`, ...rowJson(shape, row, fields) };
}

/** The EntityDefinitions endpoints: the collection, one definition, its Attributes (or one of them). */
export function entityDefinitions(
  models: readonly EntityModel[],
  base: string,
  key: string | undefined,
  sub: string[],
  query: MetaQuery,
): Record<string, unknown> {
  const rows = models.map((model, index) => ({ model, row: entityRow(model, index) }));
  if (query.expand !== null && sub.length === 0) throw odataError('$expand is not supported by this endpoint.');
  if (key === undefined) {
    if (sub.length > 0) throw odataError(`Bad Request - Error in query syntax.`);
    return collection(ENTITY_SHAPE, rows.map((entry) => entry.row), query, `${base}/$metadata#EntityDefinitions`);
  }
  const found = findEntity(rows, key);
  const id = found.row.values[0] as string;
  if (sub.length === 0) return single(ENTITY_SHAPE, found.row, query.select, `${base}/$metadata#EntityDefinitions`);
  const [segment, ...rest] = sub;
  const attributes = /^Attributes(?:\((.*)\))?$/.exec(segment as string);
  const context = `${base}/$metadata#EntityDefinitions(${id})/Attributes`;
  if (attributes && attributes[1] === undefined && rest.length === 1 && rest[0] === PICKLIST_CAST) return choiceColumns(found.model, query, context);
  if (!attributes || rest.length > 0) throw odataError(`Resource not found for the segment '${(rest[0] ?? segment) as string}'.`, 404);
  if (query.expand !== null) throw odataError('$expand is not supported by this endpoint.');
  const attributeRowsOfEntity = attributeRows(found.model);
  if (attributes[1] === undefined) return collection(ATTRIBUTE_SHAPE, attributeRowsOfEntity, query, context);
  const attributeKey = attributes[1];
  const byName = /^LogicalName='([^']*)'$/.exec(attributeKey);
  const match = attributeRowsOfEntity.find((row) => (byName ? row.values[1] === byName[1] : (row.values[0] as string) === attributeKey.toLowerCase()));
  if (!match) {
    throw new DataverseError(404, ERROR_CODES.objectDoesNotExist, `Could not find attribute ${byName?.[1] ?? attributeKey} for entity ${found.model.logicalName}.`);
  }
  return single(ATTRIBUTE_SHAPE, match, query.select, context);
}

function findEntity(rows: { model: EntityModel; row: MetaRow }[], key: string): { model: EntityModel; row: MetaRow } {
  const byName = /^LogicalName='([^']*)'$/.exec(key);
  const guid = /^[0-9a-fA-F-]{36}$/.test(key) ? key.toLowerCase() : undefined;
  if (!byName && guid === undefined) throw odataError(`Bad Request - Error in query syntax.`);
  const found = rows.find((entry) => (byName ? entry.model.logicalName === byName[1] : entry.row.values[0] === guid));
  if (!found) {
    const name = byName?.[1] ?? key;
    throw new DataverseError(404, ERROR_CODES.objectDoesNotExist, `Could not find entity with ${byName ? 'logical name' : 'id'} '${name}'.`);
  }
  return found;
}

/** WhoAmI(): the calling application user (of the app registration), its business unit and the organisation. */
export function whoAmI(base: string, organisation: Organisation): Record<string, unknown> {
  return {
    '@odata.context': `${base}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
    BusinessUnitId: organisation.businessUnitId,
    UserId: organisation.userId,
    OrganizationId: organisation.organizationId,
  };
}
