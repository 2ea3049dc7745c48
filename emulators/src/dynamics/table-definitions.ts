/**
 * Tables (entity sets) and their columns. A definition names the entity set as it
 * appears in URLs (`contacts`), the table's logical name (`contact`, used in error
 * messages and EntityDefinitions), its GUID primary key and its columns by Web API
 * property name. Lookups are exposed by the Web API as `_<logicalname>_value` GUID
 * properties and written through navigation properties
 * (`parentcustomerid_account@odata.bind`). The standard contact and account tables are
 * in catalogue.ts.
 */
export type AttributeType =
  | 'string'
  | 'memo'
  | 'email'
  | 'phone'
  | 'url'
  | 'integer'
  | 'decimal'
  | 'double'
  | 'money'
  | 'boolean'
  | 'datetime'
  | 'date'
  | 'picklist'
  | 'lookup'
  | 'customer'
  | 'owner'
  | 'guid';

export const ATTRIBUTE_TYPES: readonly AttributeType[] = [
  'string', 'memo', 'email', 'phone', 'url', 'integer', 'decimal', 'double', 'money', 'boolean', 'datetime', 'date', 'picklist', 'lookup', 'customer', 'owner', 'guid',
];

/** A column with more to say than its type. */
export interface AttributeDefinition {
  type: AttributeType;
  /** Text: the longest value a write may set (default 4000; 2000 for memo). */
  maxLength?: number;
  /**
   * Not valid for create or update (AttributeMetadata.IsValidForCreate and
   * IsValidForUpdate false): the platform sets it, and a write of it is ignored.
   */
  readOnly?: boolean;
  /** Choices: the option values; default those of a new choice column, 100000000 to 100000004. */
  options?: readonly number[];
  /**
   * Lookups: the logical names of the tables it points at (LookupAttributeMetadata.Targets).
   * Default: the table whose logical name the column's name contains; customer: account
   * and contact; owner: systemuser and team.
   */
  targets?: readonly string[];
}

export interface EntitySetDefinition {
  /** URL name, e.g. 'contacts'. */
  entitySet: string;
  /** Logical name, e.g. 'contact' (error messages, EntityDefinitions, `Microsoft.Dynamics.CRM.<logicalName>`). */
  logicalName: string;
  /** GUID primary key, e.g. 'contactid'. */
  primaryKey: string;
  /** EntityMetadata.ChangeTrackingEnabled: whether `Prefer: odata.track-changes` works. */
  changeTracking: boolean;
  /**
   * Columns besides the primary key and the system columns every row has (SYSTEM_COLUMNS),
   * by Web API name: a type, or a type with its facts.
   */
  attributes: Record<string, AttributeType | AttributeDefinition>;
  /** EntityMetadata.PrimaryNameAttribute (always set on seeded rows); default: 'name', 'fullname' or the first string column. */
  primaryNameAttribute?: string;
  /**
   * The entity set each lookup column points at, e.g. { _new_projectid_value: 'new_projects' },
   * for definitions that give lookups by type alone (see AttributeDefinition.targets).
   */
  lookupTargets?: Record<string, string>;
}

/** How values of a column are held, compared and written as JSON. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'datetime' | 'date' | 'guid';

/** A property of a row (or of a metadata object), as $select/$filter/$orderby see it. */
export interface Field {
  name: string;
  /** Position in the row's value array. */
  index: number;
  kind: ValueKind;
  /** The OData type, for error messages ('Edm.String', 'Edm.Int32', ...). */
  edm: string;
  /** Integers only (Int32 range) for integer/picklist/state columns. */
  integer?: boolean;
}

/** A type $select/$filter/$orderby work on: a table or a metadata type. */
export interface Shape {
  /** 'Microsoft.Dynamics.CRM.contact', 'Microsoft.Dynamics.CRM.EntityMetadata'. */
  typeName: string;
  fields: readonly Field[];
  byName: ReadonlyMap<string, Field>;
  /** The key property, always returned. */
  key: Field;
}

/** A table column. */
export interface Column extends Field {
  type: AttributeType | 'primarykey' | 'bigint' | 'state' | 'status';
  system: boolean;
  /** Not valid for create or update: writes of it are ignored. */
  readOnly: boolean;
  /** Text columns: the longest value a write may set. */
  maxLength: number;
  /** Choice, state and status columns: the values a write may set. */
  options: readonly number[] | undefined;
  /** Lookups: the logical names of the tables it may point at. */
  targets: readonly string[];
  /** `"name":`, the start of the column's JSON member. */
  jsonKey: string;
}

type ColumnType = Column['type'];

const KIND: Record<ColumnType, { kind: ValueKind; edm: string; integer?: boolean }> = {
  string: { kind: 'string', edm: 'Edm.String' },
  memo: { kind: 'string', edm: 'Edm.String' },
  email: { kind: 'string', edm: 'Edm.String' },
  phone: { kind: 'string', edm: 'Edm.String' },
  url: { kind: 'string', edm: 'Edm.String' },
  integer: { kind: 'number', edm: 'Edm.Int32', integer: true },
  decimal: { kind: 'number', edm: 'Edm.Decimal' },
  double: { kind: 'number', edm: 'Edm.Double' },
  money: { kind: 'number', edm: 'Edm.Decimal' },
  boolean: { kind: 'boolean', edm: 'Edm.Boolean' },
  datetime: { kind: 'datetime', edm: 'Edm.DateTimeOffset' },
  date: { kind: 'date', edm: 'Edm.Date' },
  picklist: { kind: 'number', edm: 'Edm.Int32', integer: true },
  lookup: { kind: 'guid', edm: 'Edm.Guid' },
  customer: { kind: 'guid', edm: 'Edm.Guid' },
  owner: { kind: 'guid', edm: 'Edm.Guid' },
  guid: { kind: 'guid', edm: 'Edm.Guid' },
  primarykey: { kind: 'guid', edm: 'Edm.Guid' },
  bigint: { kind: 'number', edm: 'Edm.Int64', integer: true },
  state: { kind: 'number', edm: 'Edm.Int32', integer: true },
  status: { kind: 'number', edm: 'Edm.Int32', integer: true },
};

/** AttributeMetadata.AttributeType of each column type. */
const METADATA_TYPES: Record<ColumnType, string> = {
  string: 'String',
  memo: 'Memo',
  email: 'String',
  phone: 'String',
  url: 'String',
  integer: 'Integer',
  decimal: 'Decimal',
  double: 'Double',
  money: 'Money',
  boolean: 'Boolean',
  datetime: 'DateTime',
  date: 'DateTime',
  picklist: 'Picklist',
  lookup: 'Lookup',
  customer: 'Customer',
  owner: 'Owner',
  guid: 'Uniqueidentifier',
  primarykey: 'Uniqueidentifier',
  bigint: 'BigInt',
  state: 'State',
  status: 'Status',
};

export function metadataAttributeType(column: Column): string {
  return METADATA_TYPES[column.type];
}

/** Lookup, customer and owner columns: a related row's GUID, written through a navigation property. */
export function isLookup(column: Column): boolean {
  return column.type === 'lookup' || column.type === 'customer' || column.type === 'owner';
}

/**
 * Columns every table has, set by the platform: who created and last changed a row and
 * when, its row version, its state (0 active, 1 inactive) and status reason.
 */
export const SYSTEM_COLUMNS = ['createdon', '_createdby_value', 'modifiedon', '_modifiedby_value', 'versionnumber', 'statecode', 'statuscode'] as const;

/** Status reasons: the default one of each state (1 Active, 2 Inactive, as on most tables). */
export const STATUS_OF_STATE: readonly number[] = [1, 2];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOOKUP_NAME = /^_([A-Za-z0-9_]+)_value$/;
const DEFAULT_MAX_LENGTH = 4000;
const DEFAULT_MEMO_LENGTH = 2000;
/** A new choice column's options start at the default publisher's prefix value. */
const CUSTOM_OPTIONS = [100000000, 100000001, 100000002, 100000003, 100000004];
const DEFAULT_TARGETS: Partial<Record<AttributeType, readonly string[]>> = { customer: ['account', 'contact'], owner: ['systemuser', 'team'] };

function attributeDefinition(spec: AttributeType | AttributeDefinition): AttributeDefinition {
  return typeof spec === 'string' ? { type: spec } : spec;
}

/** A table: its definition plus the derived column layout. */
export class EntityModel implements Shape {
  readonly typeName: string;
  readonly fields: readonly Column[];
  readonly byName: ReadonlyMap<string, Column>;
  readonly key: Column;
  readonly createdon: Column;
  readonly createdby: Column;
  readonly modifiedon: Column;
  readonly modifiedby: Column;
  readonly versionnumber: Column;
  readonly statecode: Column;
  readonly statuscode: Column;
  readonly primaryName: string | undefined;
  /** firstname/lastname/fullname indexes when the table has all three (fullname is computed). */
  readonly fullName: { first: number; last: number; full: number } | undefined;

  constructor(readonly def: EntitySetDefinition) {
    validateDefinition(def);
    const fields: Column[] = [];
    const add = (name: string, type: ColumnType, system: boolean, facts: Omit<AttributeDefinition, 'type'> = {}): Column => {
      const column: Column = {
        name,
        index: fields.length,
        type,
        system,
        readOnly: facts.readOnly ?? false,
        maxLength: facts.maxLength ?? (type === 'memo' ? DEFAULT_MEMO_LENGTH : DEFAULT_MAX_LENGTH),
        options: facts.options ?? (type === 'picklist' ? CUSTOM_OPTIONS : undefined),
        targets: facts.targets ?? DEFAULT_TARGETS[type as AttributeType] ?? [],
        jsonKey: `${JSON.stringify(name)}:`,
        ...KIND[type],
      };
      fields.push(column);
      return column;
    };
    this.key = add(def.primaryKey, 'primarykey', true);
    for (const [name, spec] of Object.entries(def.attributes)) {
      const { type, ...facts } = attributeDefinition(spec);
      add(name, type, false, facts);
    }
    this.createdon = add('createdon', 'datetime', true, { readOnly: true });
    this.createdby = add('_createdby_value', 'lookup', true, { readOnly: true, targets: ['systemuser'] });
    this.modifiedon = add('modifiedon', 'datetime', true, { readOnly: true });
    this.modifiedby = add('_modifiedby_value', 'lookup', true, { readOnly: true, targets: ['systemuser'] });
    this.versionnumber = add('versionnumber', 'bigint', true, { readOnly: true });
    this.statecode = add('statecode', 'state', true, { options: [0, 1] });
    this.statuscode = add('statuscode', 'status', true, { options: STATUS_OF_STATE });
    this.fields = fields;
    this.byName = new Map(fields.map((field) => [field.name, field]));
    this.typeName = `Microsoft.Dynamics.CRM.${def.logicalName}`;
    const strings = fields.filter((field) => !field.system && field.kind === 'string');
    this.primaryName =
      def.primaryNameAttribute ?? (['name', 'fullname'].find((name) => this.byName.get(name)?.kind === 'string') ?? strings[0]?.name);
    const first = this.byName.get('firstname');
    const last = this.byName.get('lastname');
    const full = this.byName.get('fullname');
    this.fullName =
      first?.kind === 'string' && last?.kind === 'string' && full?.kind === 'string' ? { first: first.index, last: last.index, full: full.index } : undefined;
  }

  get entitySet(): string {
    return this.def.entitySet;
  }

  get logicalName(): string {
    return this.def.logicalName;
  }

  /** The columns a row shows without $select: everything but the key, which comes last. */
  get defaultSelection(): readonly Column[] {
    return this.fields.filter((field) => field !== this.key);
  }

  /**
   * The lookup a navigation property binds: `parentaccountid` for a plain lookup,
   * `ownerid` for an owner, `parentcustomerid_account` for a customer lookup (one
   * navigation property per target table), with the target it names.
   */
  lookupForNavigation(navigation: string): { column: Column; target?: string } | undefined {
    const direct = this.byName.get(`_${navigation}_value`);
    if (direct !== undefined && (direct.type === 'lookup' || direct.type === 'owner')) return { column: direct };
    const cut = navigation.lastIndexOf('_');
    const customer = cut > 0 ? this.byName.get(`_${navigation.slice(0, cut)}_value`) : undefined;
    if (customer?.type === 'customer') return { column: customer, target: navigation.slice(cut + 1) };
    return undefined;
  }
}

function validateDefinition(def: EntitySetDefinition): void {
  const where = `entity set definition "${def.entitySet}"`;
  if (!NAME.test(def.entitySet ?? '')) throw new Error(`${where}: entitySet must be an identifier`);
  if (!NAME.test(def.logicalName ?? '')) throw new Error(`${where}: logicalName must be an identifier`);
  if (!NAME.test(def.primaryKey ?? '')) throw new Error(`${where}: primaryKey must be an identifier`);
  if (typeof def.changeTracking !== 'boolean') throw new Error(`${where}: changeTracking must be true or false`);
  if ((SYSTEM_COLUMNS as readonly string[]).includes(def.primaryKey)) throw new Error(`${where}: primaryKey "${def.primaryKey}" is a system column`);
  if (def.attributes === null || typeof def.attributes !== 'object') throw new Error(`${where}: attributes must map column names to types`);
  for (const [name, spec] of Object.entries(def.attributes)) validateAttribute(where, def, name, spec);
  if (def.primaryNameAttribute !== undefined && def.attributes[def.primaryNameAttribute] === undefined) {
    throw new Error(`${where}: primaryNameAttribute "${def.primaryNameAttribute}" is not one of its attributes`);
  }
  for (const [name] of Object.entries(def.lookupTargets ?? {})) {
    if (attributeDefinition(def.attributes[name] ?? 'string').type !== 'lookup') throw new Error(`${where}: lookupTargets names "${name}", which is not a lookup attribute`);
  }
}

function validateAttribute(where: string, def: EntitySetDefinition, name: string, spec: AttributeType | AttributeDefinition | undefined): void {
  const attribute = spec === null || spec === undefined ? undefined : attributeDefinition(spec);
  const type = attribute?.type;
  if (!NAME.test(name)) throw new Error(`${where}: attribute "${name}" is not an identifier`);
  if (type === undefined || !ATTRIBUTE_TYPES.includes(type)) throw new Error(`${where}: attribute "${name}" has unknown type "${String(type)}"`);
  if (name === def.primaryKey || (SYSTEM_COLUMNS as readonly string[]).includes(name)) throw new Error(`${where}: attribute "${name}" is a system column`);
  if ((type === 'lookup' || type === 'customer' || type === 'owner') && !LOOKUP_NAME.test(name)) {
    throw new Error(`${where}: lookup attribute "${name}" must be named _<name>_value, as the Web API names lookups`);
  }
  const { maxLength, options, targets } = attribute as AttributeDefinition;
  if (maxLength !== undefined && (!Number.isSafeInteger(maxLength) || maxLength < 1)) throw new Error(`${where}: attribute "${name}": maxLength must be a positive integer`);
  if (options !== undefined && (!Array.isArray(options) || options.length === 0 || !options.every((value) => Number.isSafeInteger(value)))) {
    throw new Error(`${where}: attribute "${name}": options must be a non-empty list of integers`);
  }
  if (targets !== undefined && (!Array.isArray(targets) || targets.length === 0 || !targets.every((target) => NAME.test(String(target))))) {
    throw new Error(`${where}: attribute "${name}": targets must be a non-empty list of logical names`);
  }
}

/** The logical name of a lookup column: `_parentcustomerid_value` → `parentcustomerid`. */
export function lookupLogicalName(name: string): string {
  return LOOKUP_NAME.exec(name)?.[1] ?? name;
}
