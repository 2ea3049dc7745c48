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
  /** Plural API name: 'contacts'. */
  name: string;
  /** Type id: '0-1'. */
  objectTypeId: string;
  /** Upper-case singular used in some HubSpot messages: 'CONTACT'. */
  singular: string;
  /** The property HubSpot bumps on every write and that incremental syncs filter on. */
  modificationProperty: string;
  /** Properties returned when a request names none (objects-v3.json, "Supported Object Types"). */
  defaultProperties: string[];
  /** Properties the search `query` string is matched against. */
  searchableProperties: string[];
  properties: PropertyDefinition[];
  /** Index by name of `properties`. */
  byName: Map<string, PropertyDefinition>;
}

/** Definitions carry fixed timestamps so two emulators answer byte-identical property lists. */
const DEFINED_AT = '2019-08-06T02:41:09.072Z';

interface PropertySpec {
  type?: PropertyType;
  fieldType?: string;
  description?: string;
  options?: (string | [value: string, label: string])[];
  unique?: boolean;
  readOnly?: boolean;
  calculated?: boolean;
  formField?: boolean;
}

function defaultFieldType(type: PropertyType): string {
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

function defineProperties(groupName: string, specs: [name: string, label: string, spec?: PropertySpec][]): PropertyDefinition[] {
  return specs.map(([name, label, spec = {}], index) => {
    const type = spec.type ?? 'string';
    let options: PropertyOption[] = (spec.options ?? []).map((option, order) => {
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
      hubspotDefined: true,
      archived: false,
      createdAt: DEFINED_AT,
      updatedAt: DEFINED_AT,
      dataSensitivity: 'non_sensitive',
      modificationMetadata: {
        archivable: false,
        readOnlyDefinition: true,
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
function systemProperties(modificationProperty: string): [string, string, PropertySpec][] {
  return [
    ['hs_object_id', 'Record ID', { type: 'number', readOnly: true, description: 'The unique ID for this record. This value is set automatically by HubSpot.' }],
    ['createdate', 'Create Date', { type: 'datetime', formField: false, description: 'The date the record was created.' }],
    [modificationProperty, 'Last Modified Date', { type: 'datetime', readOnly: true, calculated: true, description: 'Most recent timestamp of any property update for this record.' }],
  ];
}

function defineObject(
  base: Omit<ObjectTypeDefinition, 'properties' | 'byName'>,
  groupName: string,
  specs: [string, string, PropertySpec?][],
): ObjectTypeDefinition {
  const properties = defineProperties(groupName, [...specs, ...systemProperties(base.modificationProperty)]);
  properties.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...base, properties, byName: new Map(properties.map((property) => [property.name, property])) };
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

export const OBJECT_TYPES: readonly ObjectTypeDefinition[] = [CONTACTS, COMPANIES, DEALS, TICKETS];

const LOOKUP = new Map<string, ObjectTypeDefinition>();
for (const type of OBJECT_TYPES) {
  LOOKUP.set(type.name, type);
  LOOKUP.set(type.objectTypeId, type);
  LOOKUP.set(type.singular.toLowerCase(), type);
}

/**
 * Resolves an object type the way HubSpot's paths do: by plural name ('contacts'), by
 * singular name ('contact') or by type id ('0-1'); names are case-insensitive.
 */
export function findObjectType(type: string): ObjectTypeDefinition | undefined {
  return LOOKUP.get(type.toLowerCase());
}

/** The properties every response carries whatever was requested. */
export function alwaysReturned(type: ObjectTypeDefinition): string[] {
  return ['createdate', 'hs_object_id', type.modificationProperty];
}
