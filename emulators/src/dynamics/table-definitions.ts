/**
 * Tables (entity sets) and their columns. A definition names the entity set as it
 * appears in URLs (`contacts`), the table's logical name (`contact`, used in
 * `@odata.context`-adjacent places, error messages and EntityDefinitions), its GUID
 * primary key and its columns by Web API property name. Lookups are exposed by the Web
 * API as `_<logicalname>_value` GUID properties and written through navigation
 * properties (`parentcustomerid_account@odata.bind`).
 */
export type AttributeType =
  | 'string'
  | 'email'
  | 'phone'
  | 'url'
  | 'integer'
  | 'decimal'
  | 'money'
  | 'boolean'
  | 'datetime'
  | 'date'
  | 'picklist'
  | 'lookup'
  | 'guid';

export const ATTRIBUTE_TYPES: readonly AttributeType[] = [
  'string', 'email', 'phone', 'url', 'integer', 'decimal', 'money', 'boolean', 'datetime', 'date', 'picklist', 'lookup', 'guid',
];

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
   * Columns besides the primary key and the system ones every row has: createdon,
   * modifiedon (datetime), versionnumber (integer), statecode (integer 0 active / 1 inactive).
   */
  attributes: Record<string, AttributeType>;
  /** EntityMetadata.PrimaryNameAttribute (always set on seeded rows); default: 'name', 'fullname' or the first string column. */
  primaryNameAttribute?: string;
  /**
   * The entity set each lookup column points at, e.g. { _parentcustomerid_value: 'accounts' }.
   * Without an entry the target is guessed from the column name (`_accountid_value`,
   * `_parentaccountid_value` → the table whose logical name appears in it).
   */
  lookupTargets?: Record<string, string>;
}

export const CONTACTS: EntitySetDefinition = {
  entitySet: 'contacts',
  logicalName: 'contact',
  primaryKey: 'contactid',
  changeTracking: true,
  primaryNameAttribute: 'fullname',
  attributes: {
    firstname: 'string',
    lastname: 'string',
    fullname: 'string',
    emailaddress1: 'email',
    telephone1: 'phone',
    jobtitle: 'string',
    address1_city: 'string',
    address1_country: 'string',
    birthdate: 'date',
    donotbulkemail: 'boolean',
    _parentcustomerid_value: 'lookup',
  },
  // parentcustomerid is a Customer lookup (account or contact); seeded rows point at accounts.
  lookupTargets: { _parentcustomerid_value: 'accounts' },
};

export const ACCOUNTS: EntitySetDefinition = {
  entitySet: 'accounts',
  logicalName: 'account',
  primaryKey: 'accountid',
  changeTracking: true,
  primaryNameAttribute: 'name',
  attributes: {
    name: 'string',
    websiteurl: 'url',
    telephone1: 'phone',
    address1_city: 'string',
    address1_country: 'string',
    numberofemployees: 'integer',
    revenue: 'money',
    industrycode: 'picklist',
    emailaddress1: 'email',
  },
};

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
  type: AttributeType | 'primarykey' | 'bigint' | 'state';
  system: boolean;
  /** `"name":`, the start of the column's JSON member. */
  jsonKey: string;
}

const KIND: Record<AttributeType, { kind: ValueKind; edm: string; integer?: boolean }> = {
  string: { kind: 'string', edm: 'Edm.String' },
  email: { kind: 'string', edm: 'Edm.String' },
  phone: { kind: 'string', edm: 'Edm.String' },
  url: { kind: 'string', edm: 'Edm.String' },
  integer: { kind: 'number', edm: 'Edm.Int32', integer: true },
  decimal: { kind: 'number', edm: 'Edm.Decimal' },
  money: { kind: 'number', edm: 'Edm.Decimal' },
  boolean: { kind: 'boolean', edm: 'Edm.Boolean' },
  datetime: { kind: 'datetime', edm: 'Edm.DateTimeOffset' },
  date: { kind: 'date', edm: 'Edm.Date' },
  picklist: { kind: 'number', edm: 'Edm.Int32', integer: true },
  lookup: { kind: 'guid', edm: 'Edm.Guid' },
  guid: { kind: 'guid', edm: 'Edm.Guid' },
};

/** AttributeMetadata.AttributeType of each column type. */
export function metadataAttributeType(column: Column): string {
  switch (column.type) {
    case 'primarykey':
    case 'guid':
      return 'Uniqueidentifier';
    case 'bigint':
      return 'BigInt';
    case 'state':
      return 'State';
    case 'integer':
      return 'Integer';
    case 'decimal':
      return 'Decimal';
    case 'money':
      return 'Money';
    case 'boolean':
      return 'Boolean';
    case 'datetime':
    case 'date':
      return 'DateTime';
    case 'picklist':
      return 'Picklist';
    case 'lookup':
      return 'Lookup';
    default:
      return 'String';
  }
}

export const SYSTEM_COLUMNS = ['createdon', 'modifiedon', 'versionnumber', 'statecode'] as const;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOOKUP_NAME = /^_([A-Za-z0-9_]+)_value$/;

/**
 * Default maximum lengths of well-known text columns (Dataverse validates them on
 * write); other text columns take up to 4000 characters.
 */
const MAX_LENGTHS: Record<string, number> = {
  firstname: 50,
  lastname: 50,
  middlename: 50,
  fullname: 160,
  name: 160,
  jobtitle: 100,
  emailaddress1: 100,
  emailaddress2: 100,
  emailaddress3: 100,
  telephone1: 50,
  telephone2: 50,
  telephone3: 50,
  mobilephone: 50,
  fax: 50,
  websiteurl: 200,
  address1_city: 80,
  address1_country: 80,
  address1_line1: 250,
  address1_postalcode: 20,
  accountnumber: 20,
};
const DEFAULT_MAX_LENGTH = 4000;

/** A table: its definition plus the derived column layout. */
export class EntityModel implements Shape {
  readonly typeName: string;
  readonly fields: readonly Column[];
  readonly byName: ReadonlyMap<string, Column>;
  readonly key: Column;
  readonly createdon: Column;
  readonly modifiedon: Column;
  readonly versionnumber: Column;
  readonly statecode: Column;
  readonly primaryName: string | undefined;
  /** firstname/lastname/fullname indexes when the table has all three (fullname is computed). */
  readonly fullName: { first: number; last: number; full: number } | undefined;

  constructor(readonly def: EntitySetDefinition) {
    validateDefinition(def);
    const fields: Column[] = [];
    const add = (name: string, type: Column['type'], system: boolean): Column => {
      const base =
        type === 'primarykey'
          ? { kind: 'guid' as const, edm: 'Edm.Guid' }
          : type === 'bigint'
            ? { kind: 'number' as const, edm: 'Edm.Int64', integer: true }
            : type === 'state'
              ? { kind: 'number' as const, edm: 'Edm.Int32', integer: true }
              : KIND[type];
      const column: Column = { name, index: fields.length, type, system, jsonKey: `${JSON.stringify(name)}:`, ...base };
      fields.push(column);
      return column;
    };
    this.key = add(def.primaryKey, 'primarykey', true);
    for (const [name, type] of Object.entries(def.attributes)) add(name, type, false);
    this.createdon = add('createdon', 'datetime', true);
    this.modifiedon = add('modifiedon', 'datetime', true);
    this.versionnumber = add('versionnumber', 'bigint', true);
    this.statecode = add('statecode', 'state', true);
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

  maxLength(column: Column): number {
    return MAX_LENGTHS[column.name] ?? DEFAULT_MAX_LENGTH;
  }

  /** The columns a row shows without $select: everything but the key, which comes last. */
  get defaultSelection(): readonly Column[] {
    return this.fields.filter((field) => field !== this.key);
  }

  /** The navigation property names that bind a lookup column: `parentcustomerid`, `parentcustomerid_account`, ... */
  lookupForNavigation(navigation: string): Column | undefined {
    const direct = this.byName.get(`_${navigation}_value`);
    if (direct?.type === 'lookup') return direct;
    // Polymorphic (customer, owner, regarding) lookups have one navigation property per
    // target type: <lookup>_<target logical name>.
    for (let cut = navigation.lastIndexOf('_'); cut > 0; cut = navigation.lastIndexOf('_', cut - 1)) {
      const column = this.byName.get(`_${navigation.slice(0, cut)}_value`);
      if (column?.type === 'lookup') return column;
    }
    return undefined;
  }
}

function validateDefinition(def: EntitySetDefinition): void {
  const where = `entity set definition "${def.entitySet}"`;
  if (!NAME.test(def.entitySet ?? '')) throw new Error(`${where}: entitySet must be an identifier`);
  if (!NAME.test(def.logicalName ?? '')) throw new Error(`${where}: logicalName must be an identifier`);
  if (!NAME.test(def.primaryKey ?? '')) throw new Error(`${where}: primaryKey must be an identifier`);
  if ((SYSTEM_COLUMNS as readonly string[]).includes(def.primaryKey)) throw new Error(`${where}: primaryKey "${def.primaryKey}" is a system column`);
  for (const [name, type] of Object.entries(def.attributes ?? {})) {
    if (!NAME.test(name)) throw new Error(`${where}: attribute "${name}" is not an identifier`);
    if (!ATTRIBUTE_TYPES.includes(type)) throw new Error(`${where}: attribute "${name}" has unknown type "${String(type)}"`);
    if (name === def.primaryKey || (SYSTEM_COLUMNS as readonly string[]).includes(name)) throw new Error(`${where}: attribute "${name}" is a system column`);
    if (type === 'lookup' && !LOOKUP_NAME.test(name)) throw new Error(`${where}: lookup attribute "${name}" must be named _<name>_value, as the Web API names lookups`);
  }
  if (def.primaryNameAttribute !== undefined && def.attributes[def.primaryNameAttribute] === undefined) {
    throw new Error(`${where}: primaryNameAttribute "${def.primaryNameAttribute}" is not one of its attributes`);
  }
  for (const [name] of Object.entries(def.lookupTargets ?? {})) {
    if (def.attributes[name] !== 'lookup') throw new Error(`${where}: lookupTargets names "${name}", which is not a lookup attribute`);
  }
}

/** The logical name of a lookup column: `_parentcustomerid_value` → `parentcustomerid`. */
export function lookupLogicalName(name: string): string {
  return LOOKUP_NAME.exec(name)?.[1] ?? name;
}
