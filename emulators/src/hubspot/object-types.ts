/**
 * The object types the emulator serves and their property definitions, shaped like
 * `GET /crm/v3/properties/{objectType}` answers (the `Property` schema of HubSpot's
 * properties-v3 OpenAPI document).
 */

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';

export interface PropertyOption {
  label: string;
  value: string;
  description: string;
  displayOrder: number;
  hidden: boolean;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  calculated: boolean;
  externalOptions: boolean;
  formField: boolean;
  hubspotDefined: boolean;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
  dataSensitivity: 'non_sensitive';
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean; readOnlyOptions?: boolean };
}

export interface ObjectTypeDefinition {
  /** Plural API name: 'contacts' (a custom object's `name`: 'appointments'). */
  name: string;
  /** Type id: '0-1' ('2-1234567' for a custom object). */
  objectTypeId: string;
  /** Upper-case singular used in some HubSpot messages: 'CONTACT'. */
  singular: string;
  /** The property holding the creation time: 'createdate' ('hs_createdate' on custom objects). */
  creationProperty: string;
  /** The property HubSpot bumps on every write and that incremental syncs filter on. */
  modificationProperty: string;
  /** Properties returned when a request names none (objects-v3.json, "Supported Object Types"). */
  defaultProperties: string[];
  /** Properties the search `query` string is matched against. */
  searchableProperties: string[];
  properties: PropertyDefinition[];
  /** Index by name of `properties`. */
  byName: Map<string, PropertyDefinition>;
  /** Set on custom objects only: what the schemas API shows (see custom-objects.ts). */
  custom?: CustomObjectInfo;
}

/** The schema facts of a custom object beyond its properties. */
export interface CustomObjectInfo {
  fullyQualifiedName: string;
  labels: { singular: string; plural: string };
  primaryDisplayProperty: string;
  secondaryDisplayProperties: string[];
  requiredProperties: string[];
  /** Object type names (standard or custom) it can be associated with. */
  associatedObjects: string[];
  portalId: number;
}

/** Definitions carry fixed timestamps so two emulators answer byte-identical property lists. */
const DEFINED_AT = '2019-08-06T02:41:09.072Z';

/** An option as a property definition may give it: label and value, the rest defaulted. */
export interface OptionInput {
  label: string;
  value: string;
  description?: string;
  displayOrder?: number;
  hidden?: boolean;
}

export interface PropertySpec {
  type?: PropertyType;
  fieldType?: string;
  description?: string;
  options?: (string | [value: string, label: string] | OptionInput)[];
  unique?: boolean;
  readOnly?: boolean;
  calculated?: boolean;
  formField?: boolean;
  /** Defined by the portal (custom object properties), not by HubSpot. */
  userDefined?: boolean;
}

export function defaultFieldType(type: PropertyType): string {
  switch (type) {
    case 'number':
      return 'number';
    case 'date':
    case 'datetime':
      return 'date';
    case 'enumeration':
      return 'select';
    case 'bool':
      return 'booleancheckbox';
    case 'phone_number':
      return 'phonenumber';
    default:
      return 'text';
  }
}

function titleCase(value: string): string {
  return value
    .toLowerCase()
    .split(/[_\s]+/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

export function defineProperties(groupName: string, specs: [name: string, label: string, spec?: PropertySpec][]): PropertyDefinition[] {
  return specs.map(([name, label, spec = {}], index) => {
    const type = spec.type ?? 'string';
    let options: PropertyOption[] = (spec.options ?? []).map((option, order) => {
      if (typeof option === 'object' && !Array.isArray(option)) {
        return { label: option.label, value: option.value, description: option.description ?? '', displayOrder: option.displayOrder ?? order, hidden: option.hidden ?? false };
      }
      const [value, optionLabel] = typeof option === 'string' ? [option, titleCase(option)] : option;
      return { label: optionLabel, value, description: '', displayOrder: order, hidden: false };
    });
    if (type === 'bool' && options.length === 0) {
      // HubSpot lists the two accepted values of a checkbox property as options.
      options = [
        { label: 'Yes', value: 'true', description: '', displayOrder: 0, hidden: false },
        { label: 'No', value: 'false', description: '', displayOrder: 1, hidden: false },
      ];
    }
    return {
      name,
      label,
      type,
      fieldType: spec.fieldType ?? defaultFieldType(type),
      groupName,
      description: spec.description ?? '',
      options,
      displayOrder: spec.readOnly ? -1 : index,
      hasUniqueValue: spec.unique ?? false,
      hidden: false,
      calculated: spec.calculated ?? false,
      externalOptions: false,
      formField: spec.formField ?? !spec.readOnly,
      hubspotDefined: !spec.userDefined,
      archived: false,
      createdAt: DEFINED_AT,
      updatedAt: DEFINED_AT,
      dataSensitivity: 'non_sensitive',
      modificationMetadata: {
        archivable: spec.userDefined ?? false,
        readOnlyDefinition: !spec.userDefined,
        readOnlyValue: spec.readOnly ?? false,
        ...(type === 'enumeration' ? { readOnlyOptions: false } : {}),
      },
    };
  });
}

const LIFECYCLE_STAGES: PropertySpec['options'] = [
  ['subscriber', 'Subscriber'],
  ['lead', 'Lead'],
  ['marketingqualifiedlead', 'Marketing Qualified Lead'],
  ['salesqualifiedlead', 'Sales Qualified Lead'],
  ['opportunity', 'Opportunity'],
  ['customer', 'Customer'],
  ['evangelist', 'Evangelist'],
  ['other', 'Other'],
];

export const INDUSTRIES = [
  'ACCOUNTING',
  'AIRLINES_AVIATION',
  'AUTOMOTIVE',
  'BANKING',
  'BIOTECHNOLOGY',
  'COMPUTER_SOFTWARE',
  'CONSTRUCTION',
  'CONSUMER_GOODS',
  'EDUCATION_MANAGEMENT',
  'FINANCIAL_SERVICES',
  'FOOD_BEVERAGES',
  'HOSPITAL_HEALTH_CARE',
  'HOSPITALITY',
  'INFORMATION_TECHNOLOGY_AND_SERVICES',
  'INSURANCE',
  'LOGISTICS_AND_SUPPLY_CHAIN',
  'MANAGEMENT_CONSULTING',
  'MARKETING_AND_ADVERTISING',
  'REAL_ESTATE',
  'RETAIL',
  'TELECOMMUNICATIONS',
];

/** The automatic properties every record carries. */
export function systemProperties(creationProperty: string, modificationProperty: string): [string, string, PropertySpec][] {
  const custom = creationProperty !== 'createdate';
  return [
    ['hs_object_id', 'Record ID', { type: 'number', readOnly: true, description: 'The unique ID for this record. This value is set automatically by HubSpot.' }],
    [creationProperty, custom ? 'Object create date/time' : 'Create Date', { type: 'datetime', formField: false, description: 'The date the record was created.' }],
    [
      modificationProperty,
      custom ? 'Object last modified date/time' : 'Last Modified Date',
      { type: 'datetime', readOnly: true, calculated: true, description: 'Most recent timestamp of any property update for this record.' },
    ],
  ];
}

/** Properties sorted by name, and the index by name. */
export function indexProperties(properties: PropertyDefinition[]): Pick<ObjectTypeDefinition, 'properties' | 'byName'> {
  properties.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { properties, byName: new Map(properties.map((property) => [property.name, property])) };
}

function defineObject(
  base: Omit<ObjectTypeDefinition, 'properties' | 'byName' | 'creationProperty'>,
  groupName: string,
  specs: [string, string, PropertySpec?][],
): ObjectTypeDefinition {
  const properties = defineProperties(groupName, [...specs, ...systemProperties('createdate', base.modificationProperty)]);
  return { ...base, creationProperty: 'createdate', ...indexProperties(properties) };
}

const CONTACTS = defineObject(
  {
    name: 'contacts',
    objectTypeId: '0-1',
    singular: 'CONTACT',
    modificationProperty: 'lastmodifieddate',
    defaultProperties: ['firstname', 'lastname', 'email'],
    searchableProperties: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company', 'website'],
  },
  'contactinformation',
  [
    ['email', 'Email', { unique: true, description: "A contact's email address" }],
    ['firstname', 'First Name', { description: "A contact's first name" }],
    ['lastname', 'Last Name', { description: "A contact's last name" }],
    ['phone', 'Phone Number', { type: 'phone_number', description: "A contact's primary phone number" }],
    ['mobilephone', 'Mobile Phone Number', { type: 'phone_number', description: "A contact's mobile phone number" }],
    ['company', 'Company Name', { description: 'Name of the contact\'s company. This can be set independently from the name property on the contact\'s associated company.' }],
    ['website', 'Website URL', { description: "The contact's company website" }],
    ['jobtitle', 'Job Title', { description: "A contact's job title" }],
    ['city', 'City', { description: "A contact's city of residence" }],
    ['country', 'Country/Region', { description: "The contact's country/region of residence." }],
    ['lifecyclestage', 'Lifecycle Stage', { type: 'enumeration', fieldType: 'radio', options: LIFECYCLE_STAGES, description: 'The qualification of contacts to sales readiness.' }],
    [
      'hs_lead_status',
      'Lead Status',
      {
        type: 'enumeration',
        fieldType: 'radio',
        options: ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'],
        description: "The contact's sales, prospecting or outreach status",
      },
    ],
    ['date_of_birth', 'Date of birth', { type: 'date', description: "The contact's date of birth" }],
    ['hs_email_optout', 'Unsubscribed from all email', { type: 'bool', description: 'Indicates that the current email address has opted out of all email.' }],
  ],
);

const COMPANIES = defineObject(
  {
    name: 'companies',
    objectTypeId: '0-2',
    singular: 'COMPANY',
    modificationProperty: 'hs_lastmodifieddate',
    defaultProperties: ['name', 'domain'],
    searchableProperties: ['name', 'domain', 'website', 'phone'],
  },
  'companyinformation',
  [
    ['name', 'Company name', { description: 'The name of the company or organization.' }],
    ['domain', 'Company Domain Name', { description: 'The domain name of the company or organization' }],
    ['industry', 'Industry', { type: 'enumeration', options: INDUSTRIES, description: 'The type of business the company performs.' }],
    ['numberofemployees', 'Number of Employees', { type: 'number', description: 'The total number of employees who work for the company or organization' }],
    ['annualrevenue', 'Annual Revenue', { type: 'number', description: 'The actual or estimated annual revenue of the company' }],
    ['city', 'City', { description: 'City where the company is located.' }],
    ['country', 'Country/Region', { description: 'Country/region in which the company or organization is located.' }],
    ['phone', 'Phone Number', { type: 'phone_number', description: "A company's primary phone number." }],
    ['website', 'Website URL', { description: 'The main website of the company or organization.' }],
    ['lifecyclestage', 'Lifecycle Stage', { type: 'enumeration', fieldType: 'radio', options: LIFECYCLE_STAGES, description: 'The qualification of companies to sales readiness.' }],
  ],
);

const DEALS = defineObject(
  {
    name: 'deals',
    objectTypeId: '0-3',
    singular: 'DEAL',
    modificationProperty: 'hs_lastmodifieddate',
    defaultProperties: ['dealname', 'amount', 'closedate', 'pipeline', 'dealstage'],
    searchableProperties: ['dealname'],
  },
  'dealinformation',
  [
    ['dealname', 'Deal Name', { description: 'The name given to this deal.' }],
    ['amount', 'Amount', { type: 'number', description: 'The total amount of the deal' }],
    [
      'dealstage',
      'Deal Stage',
      {
        type: 'enumeration',
        fieldType: 'radio',
        options: [
          ['appointmentscheduled', 'Appointment Scheduled'],
          ['qualifiedtobuy', 'Qualified To Buy'],
          ['presentationscheduled', 'Presentation Scheduled'],
          ['decisionmakerboughtin', 'Decision Maker Bought-In'],
          ['contractsent', 'Contract Sent'],
          ['closedwon', 'Closed Won'],
          ['closedlost', 'Closed Lost'],
        ],
        description: 'The stage of the deal. Deal stages allow you to categorize and track the progress of the deals that you are working on.',
      },
    ],
    ['pipeline', 'Pipeline', { type: 'enumeration', options: [['default', 'Sales Pipeline']], description: 'The pipeline the deal is in. This determines which stages are options for the deal.' }],
    ['closedate', 'Close Date', { type: 'datetime', description: 'Date the deal was closed. Set automatically by HubSpot.' }],
    ['hs_priority', 'Priority', { type: 'enumeration', fieldType: 'radio', options: ['low', 'medium', 'high'], description: 'The priority of the deal' }],
    ['dealtype', 'Deal Type', { type: 'enumeration', fieldType: 'radio', options: [['newbusiness', 'New Business'], ['existingbusiness', 'Existing Business']], description: 'The type of deal.' }],
  ],
);

const TICKETS = defineObject(
  {
    name: 'tickets',
    objectTypeId: '0-5',
    singular: 'TICKET',
    modificationProperty: 'hs_lastmodifieddate',
    defaultProperties: ['content', 'hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_category', 'hs_ticket_priority', 'subject'],
    searchableProperties: ['subject', 'content'],
  },
  'ticketinformation',
  [
    ['subject', 'Ticket name', { description: 'Short summary of ticket' }],
    ['content', 'Ticket description', { fieldType: 'textarea', description: 'Text in body of the ticket' }],
    ['hs_pipeline', 'Pipeline', { type: 'enumeration', options: [['0', 'Support Pipeline']], description: 'The pipeline that contains this ticket' }],
    [
      'hs_pipeline_stage',
      'Ticket status',
      { type: 'enumeration', options: [['1', 'New'], ['2', 'Waiting on contact'], ['3', 'Waiting on us'], ['4', 'Closed']], description: 'The pipeline stage that contains this ticket' },
    ],
    ['hs_ticket_priority', 'Priority', { type: 'enumeration', options: [['LOW', 'Low'], ['MEDIUM', 'Medium'], ['HIGH', 'High'], ['URGENT', 'Urgent']], description: 'The level of attention needed on the ticket' }],
    [
      'hs_ticket_category',
      'Category',
      { type: 'enumeration', fieldType: 'checkbox', options: ['PRODUCT_ISSUE', 'BILLING_ISSUE', 'FEATURE_REQUEST', 'GENERAL_INQUIRY'], description: 'The main reason customer reached out for help' },
    ],
  ],
);

const LINE_ITEMS = defineObject(
  {
    name: 'line_items',
    objectTypeId: '0-8',
    singular: 'LINE_ITEM',
    modificationProperty: 'hs_lastmodifieddate',
    // Not listed in objects-v3.json; like products' (name, description, price) plus the quantities.
    defaultProperties: ['name', 'description', 'price', 'quantity', 'amount'],
    searchableProperties: ['name', 'description', 'hs_sku'],
  },
  'lineiteminformation',
  [
    ['name', 'Name', { description: 'Product name' }],
    ['description', 'Description', { fieldType: 'textarea', description: 'Full description of product' }],
    ['price', 'Unit price', { type: 'number', description: 'Cost of product' }],
    ['quantity', 'Quantity', { type: 'number', description: 'How many units of a product are in this line item' }],
    ['amount', 'Net price', { type: 'number', description: 'The price of the line item: unit price times quantity, less discounts' }],
    ['hs_sku', 'SKU', { description: 'Unique product identifier' }],
  ],
);

/** HubSpot's standard object types the emulator serves. */
export const OBJECT_TYPES: readonly ObjectTypeDefinition[] = [CONTACTS, COMPANIES, DEALS, TICKETS, LINE_ITEMS];

const LOOKUP = new Map<string, ObjectTypeDefinition>();
for (const type of OBJECT_TYPES) {
  LOOKUP.set(type.name, type);
  LOOKUP.set(type.objectTypeId, type);
  LOOKUP.set(type.singular.toLowerCase(), type);
}

/**
 * Resolves a standard object type the way HubSpot's paths do: by plural name
 * ('contacts'), by singular name ('contact') or by type id ('0-1'); names are
 * case-insensitive. Custom object types are per store: see ObjectTypeRegistry.
 */
export function findObjectType(type: string): ObjectTypeDefinition | undefined {
  return LOOKUP.get(type.toLowerCase());
}

/**
 * The object types of one emulated portal: the standard ones plus its custom objects,
 * found by name, type id or (custom objects) fully qualified name ('p12345678_appointments').
 */
export class ObjectTypeRegistry {
  readonly all: readonly ObjectTypeDefinition[];
  private readonly lookup = new Map<string, ObjectTypeDefinition>(LOOKUP);

  constructor(custom: readonly ObjectTypeDefinition[]) {
    for (const type of custom) {
      const info = type.custom as CustomObjectInfo;
      for (const key of [type.name, type.objectTypeId, info.fullyQualifiedName]) {
        const existing = this.lookup.get(key.toLowerCase());
        if (existing) throw new Error(`customObjects: "${key}" of ${type.name} is already taken by ${existing.name}`);
        this.lookup.set(key.toLowerCase(), type);
      }
    }
    this.all = [...OBJECT_TYPES, ...custom];
  }

  find(type: string): ObjectTypeDefinition | undefined {
    return this.lookup.get(type.toLowerCase());
  }

  get custom(): ObjectTypeDefinition[] {
    return this.all.filter((type) => type.custom !== undefined);
  }
}

/** The properties every response carries whatever was requested. */
export function alwaysReturned(type: ObjectTypeDefinition): string[] {
  return [type.creationProperty, 'hs_object_id', type.modificationProperty].sort();
}
