/**
 * Custom objects: their definitions (what a portal's custom object schema declares),
 * the two ready-made ones the emulator serves by default, and the schema JSON the
 * schemas API answers with (the `ObjectSchema` of HubSpot's schemas-v3 document).
 *
 * A custom object record carries, like on HubSpot, `hs_object_id`, `hs_createdate`
 * (its creation time; custom objects have no `createdate`) and `hs_lastmodifieddate`
 * (its modification property), plus the properties of its definition.
 */
import {
  defaultFieldType,
  defineProperties,
  findObjectType,
  indexProperties,
  systemProperties,
  type ObjectTypeDefinition,
  type OptionInput,
  type PropertyDefinition,
  type PropertySpec,
  type PropertyType,
} from './object-types.js';

/** One property of a custom object definition. */
export interface CustomPropertyDefinition {
  /** Internal name: lower-case letters, digits and underscores ('appointment_date'). */
  name: string;
  label: string;
  type: PropertyType;
  /** How HubSpot shows it: 'text', 'textarea', 'number', 'date', 'select', 'radio', 'checkbox', 'booleancheckbox', 'phonenumber'... */
  fieldType: string;
  /** Options of an enumeration (required for one): values, or {label, value}. */
  options?: (string | OptionInput)[];
  description?: string;
  /** Values must be unique (usable as `idProperty`); default false. */
  hasUniqueValue?: boolean;
}

/** A custom object type, as its schema declares it (see `startHubSpotEmulator`'s `customObjects`). */
export interface CustomObjectDefinition {
  /** Internal name, also accepted in paths: 'appointments'. */
  name: string;
  /** '2-<digits>': '2-1234567'. */
  objectTypeId: string;
  /** Display names; default from `name` ('Appointment' / 'Appointments'). */
  labels?: { singular: string; plural: string };
  /** The property naming a record; one of `properties`. Seeded records always have it. */
  primaryDisplayProperty: string;
  secondaryDisplayProperties?: string[];
  /** Properties a create must set (shown in the schema; the emulator does not enforce it). Default: the primary display property. */
  requiredProperties?: string[];
  /** Properties the search `query` string matches; default: the primary display property. */
  searchableProperties?: string[];
  /**
   * Object types (standard or custom; names or type ids) its records can be associated
   * with; default contacts, companies, deals and tickets.
   */
  associatedObjects?: string[];
  properties: CustomPropertyDefinition[];
}

/** The portal id of the emulated account: part of custom objects' fully qualified names. */
export const DEFAULT_PORTAL_ID = 12345678;

/** Custom object schemas carry fixed timestamps so two emulators answer identically. */
export const SCHEMA_DEFINED_AT = '2024-03-04T09:30:00.000Z';

const DEFAULT_ASSOCIATED_OBJECTS = ['contacts', 'companies', 'deals', 'tickets'];

/** Appointments ('2-1234567'): name, date, location, status and duration. */
export const APPOINTMENTS: CustomObjectDefinition = {
  name: 'appointments',
  objectTypeId: '2-1234567',
  labels: { singular: 'Appointment', plural: 'Appointments' },
  primaryDisplayProperty: 'appointment_name',
  secondaryDisplayProperties: ['appointment_date', 'status'],
  searchableProperties: ['appointment_name', 'location'],
  associatedObjects: ['contacts', 'companies', 'deals'],
  properties: [
    { name: 'appointment_name', label: 'Appointment name', type: 'string', fieldType: 'text' },
    { name: 'appointment_date', label: 'Appointment date', type: 'datetime', fieldType: 'date' },
    { name: 'location', label: 'Location', type: 'string', fieldType: 'text' },
    { name: 'status', label: 'Status', type: 'enumeration', fieldType: 'select', options: ['scheduled', 'completed', 'cancelled'] },
    { name: 'duration_minutes', label: 'Duration (minutes)', type: 'number', fieldType: 'number' },
  ],
};

/** Divisions ('2-7654321'): name, region, headcount and budget. */
export const DIVISIONS: CustomObjectDefinition = {
  name: 'divisions',
  objectTypeId: '2-7654321',
  labels: { singular: 'Division', plural: 'Divisions' },
  primaryDisplayProperty: 'division_name',
  searchableProperties: ['division_name'],
  associatedObjects: ['companies', 'contacts'],
  properties: [
    { name: 'division_name', label: 'Division name', type: 'string', fieldType: 'text' },
    {
      name: 'region',
      label: 'Region',
      type: 'enumeration',
      fieldType: 'select',
      options: [
        { value: 'north_america', label: 'North America' },
        { value: 'latin_america', label: 'Latin America' },
        { value: 'emea', label: 'EMEA' },
        { value: 'apac', label: 'APAC' },
      ],
    },
    { name: 'headcount', label: 'Headcount', type: 'number', fieldType: 'number' },
    { name: 'budget', label: 'Budget', type: 'number', fieldType: 'number' },
  ],
};

/** The custom objects an emulator has when its `customObjects` option is undefined. */
export const DEFAULT_CUSTOM_OBJECTS: readonly CustomObjectDefinition[] = [APPOINTMENTS, DIVISIONS];

const PROPERTY_TYPES: readonly PropertyType[] = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool', 'phone_number'];
const RESERVED = new Set(['hs_object_id', 'hs_createdate', 'hs_lastmodifieddate']);

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** 'appointments' -> 'appointment' (for default labels and association names). */
function singularOf(name: string): string {
  return name.endsWith('ies') ? `${name.slice(0, -3)}y` : name.endsWith('s') ? name.slice(0, -1) : name;
}

/** The lower-case singular key of an object type: 'contact', 'line_item', 'appointment'. */
export function singularKey(type: ObjectTypeDefinition): string {
  if (!type.custom) return type.singular.toLowerCase();
  return type.custom.labels.singular.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || singularOf(type.name);
}

/**
 * Checks a definition and turns it into the emulator's object type. Throws an Error
 * naming the problem (bad ids or names, unknown property types, an enumeration without
 * options, a primary display property that is not defined...).
 */
export function defineCustomObject(input: CustomObjectDefinition, portalId: number): ObjectTypeDefinition {
  const where = `customObjects: ${JSON.stringify(input?.name)}`;
  if (typeof input !== 'object' || input === null) throw new Error('customObjects: each entry must be an object');
  if (typeof input.name !== 'string' || !/^[a-z][a-z0-9_]*$/i.test(input.name)) throw new Error(`${where}: name must be letters, digits and underscores, starting with a letter`);
  if (typeof input.objectTypeId !== 'string' || !/^2-\d{1,12}$/.test(input.objectTypeId)) throw new Error(`${where}: objectTypeId must look like "2-1234567", got ${JSON.stringify(input.objectTypeId)}`);
  if (findObjectType(input.name)) throw new Error(`${where}: the name of a standard object type`);
  if (!Array.isArray(input.properties) || input.properties.length === 0) throw new Error(`${where}: properties must be a non-empty array`);
  const seen = new Set<string>();
  const specs: [string, string, PropertySpec][] = input.properties.map((property) => {
    if (typeof property?.name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(property.name)) {
      throw new Error(`${where}: property name ${JSON.stringify(property?.name)} must be lower-case letters, digits and underscores`);
    }
    if (RESERVED.has(property.name)) throw new Error(`${where}: property ${property.name} is a system property`);
    if (seen.has(property.name)) throw new Error(`${where}: property ${property.name} is defined twice`);
    seen.add(property.name);
    if (!PROPERTY_TYPES.includes(property.type)) throw new Error(`${where}: property ${property.name} has unknown type ${JSON.stringify(property.type)} (known: ${PROPERTY_TYPES.join(', ')})`);
    const options = property.options ?? [];
    if (property.type === 'enumeration' && options.length === 0) throw new Error(`${where}: enumeration property ${property.name} needs options`);
    for (const option of options) {
      const ok = typeof option === 'string' ? option !== '' : typeof option?.value === 'string' && option.value !== '' && typeof option.label === 'string';
      if (!ok) throw new Error(`${where}: property ${property.name} has an invalid option ${JSON.stringify(option)}`);
    }
    return [
      property.name,
      typeof property.label === 'string' && property.label !== '' ? property.label : property.name,
      {
        type: property.type,
        fieldType: typeof property.fieldType === 'string' && property.fieldType !== '' ? property.fieldType : defaultFieldType(property.type),
        description: property.description ?? '',
        options,
        unique: property.hasUniqueValue ?? false,
        userDefined: true,
      },
    ];
  });
  const names = (list: string[] | undefined, what: string, fallback: string[]): string[] => {
    const value = list ?? fallback;
    for (const name of value) if (!seen.has(name)) throw new Error(`${where}: ${what} names ${JSON.stringify(name)}, which is not one of its properties`);
    return [...value];
  };
  const primary = names([input.primaryDisplayProperty], 'primaryDisplayProperty', [])[0] as string;
  const labels = input.labels ?? { singular: capitalize(singularOf(input.name)), plural: capitalize(input.name) };
  if (typeof labels.singular !== 'string' || typeof labels.plural !== 'string' || labels.singular === '' || labels.plural === '') {
    throw new Error(`${where}: labels must have a singular and a plural`);
  }
  const group = `${singularOf(input.name).toLowerCase()}_information`;
  const properties = [...defineProperties(group, specs), ...defineProperties(group, systemProperties('hs_createdate', 'hs_lastmodifieddate'))];
  return {
    name: input.name,
    objectTypeId: input.objectTypeId,
    singular: labels.singular.toUpperCase().replace(/[^A-Z0-9]+/g, '_'),
    creationProperty: 'hs_createdate',
    modificationProperty: 'hs_lastmodifieddate',
    // HubSpot returns only the system properties of a custom object record unless asked for more.
    defaultProperties: [],
    searchableProperties: names(input.searchableProperties, 'searchableProperties', [primary]),
    ...indexProperties(properties),
    custom: {
      fullyQualifiedName: `p${portalId}_${input.name}`,
      labels: { singular: labels.singular, plural: labels.plural },
      primaryDisplayProperty: primary,
      secondaryDisplayProperties: names(input.secondaryDisplayProperties, 'secondaryDisplayProperties', []),
      requiredProperties: names(input.requiredProperties, 'requiredProperties', [primary]),
      associatedObjects: [...(input.associatedObjects ?? DEFAULT_ASSOCIATED_OBJECTS)],
      portalId,
    },
  };
}

/** An association definition as the schemas API lists it (`AssociationDefinition`). */
export interface SchemaAssociation {
  id: string;
  fromObjectTypeId: string;
  toObjectTypeId: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** The `ObjectSchema` JSON of a custom object. */
export function objectSchema(
  type: ObjectTypeDefinition,
  associations: SchemaAssociation[],
  include: { properties: boolean; associations: boolean; audit: boolean } = { properties: true, associations: true, audit: true },
): Record<string, unknown> {
  const info = type.custom;
  if (!info) throw new Error(`objectSchema: ${type.name} is not a custom object`);
  const schema: Record<string, unknown> = {
    id: type.objectTypeId.slice(2),
    name: type.name,
    labels: { ...info.labels },
    objectTypeId: type.objectTypeId,
    fullyQualifiedName: info.fullyQualifiedName,
    primaryDisplayProperty: info.primaryDisplayProperty,
    secondaryDisplayProperties: [...info.secondaryDisplayProperties],
    requiredProperties: [...info.requiredProperties],
    searchableProperties: [...type.searchableProperties],
    properties: include.properties ? type.properties.map((property: PropertyDefinition) => structuredClone(property)) : [],
    associations: include.associations ? associations.map((association) => ({ ...association })) : [],
    archived: false,
  };
  if (include.audit) {
    schema.createdAt = SCHEMA_DEFINED_AT;
    schema.updatedAt = SCHEMA_DEFINED_AT;
  }
  return schema;
}
