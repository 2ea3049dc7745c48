/**
 * Deterministic seed data. A seeded record is a pure function of
 * `(seedValue, object type, index)`: the store keeps only two timestamp columns per
 * seeded record and regenerates the rest whenever the record is read, so a million
 * seeded contacts cost ~16 MB and start in milliseconds.
 */
import { Rng, hashString, mix, mixSeed } from '../shared/prng.js';
import { INDUSTRIES, type ObjectTypeDefinition } from './object-types.js';
import { toIso, toIsoDate } from '../shared/iso-time.js';

export type PropertyValues = Record<string, string | null>;

/** Seeded ids are sequential per object type, starting here. */
export const SEED_FIRST_ID = 1001;

/** Fixed bounds (never the wall clock) so runs are identical. */
export const SEED_CREATED_FROM = Date.UTC(2023, 0, 1);
export const SEED_CREATED_TO = Date.UTC(2025, 5, 30, 23, 59, 59, 999);
export const SEED_MODIFIED_TO = Date.UTC(2025, 11, 31, 23, 59, 59, 999);

/** Share of optional properties left unset (null). */
const UNSET_RATE = 0.1;

/** The words of seeded values (the shared seed, shared/shared-seed.ts, draws on them too). */
export const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara',
  'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Daniel', 'Lisa', 'Matthew', 'Nancy',
  'Anthony', 'Sandra', 'Mark', 'Ashley', 'Steven', 'Emily', 'Andrew', 'Michelle', 'Joshua', 'Amanda', 'Kevin', 'Melissa',
  'Brian', 'Laura', 'George', 'Rebecca', 'Lucas', 'Sofia', 'Mateo', 'Camila', 'Noah', 'Emma', 'Liam', 'Olivia', 'Hugo',
  'Chloe', 'Louis', 'Lea', 'Jonas', 'Mia', 'Felix', 'Hannah', 'Arjun', 'Priya', 'Wei', 'Mei', 'Hiroshi', 'Yuki', 'Omar',
  'Fatima', 'Ivan', 'Olga', 'Mohammed', 'Aisha', 'Pedro', 'Ana',
];
export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez',
  'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson',
  'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright',
  'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell',
  'Mitchell', 'Carter', 'Roberts', 'Muller', 'Schmidt', 'Dubois', 'Moreau', 'Rossi', 'Bianchi', 'Silva', 'Santos',
  'Kowalski', 'Novak', 'Jensen', 'Larsen', 'Patel', 'Sharma', 'Chen', 'Wang', 'Tanaka', 'Sato', 'Kim', 'Park', 'Ivanov',
  'Haddad',
];
/** [city, country/region, dialling code, area codes]. */
export const LOCATIONS: [string, string, string, string[]][] = [
  ['Boston', 'United States', '+1', ['617', '857']],
  ['New York', 'United States', '+1', ['212', '646', '917']],
  ['San Francisco', 'United States', '+1', ['415', '628']],
  ['Chicago', 'United States', '+1', ['312', '773']],
  ['Austin', 'United States', '+1', ['512', '737']],
  ['Seattle', 'United States', '+1', ['206']],
  ['Denver', 'United States', '+1', ['303', '720']],
  ['Atlanta', 'United States', '+1', ['404', '678']],
  ['Toronto', 'Canada', '+1', ['416', '647']],
  ['Vancouver', 'Canada', '+1', ['604']],
  ['London', 'United Kingdom', '+44', ['20']],
  ['Manchester', 'United Kingdom', '+44', ['161']],
  ['Dublin', 'Ireland', '+353', ['1']],
  ['Paris', 'France', '+33', ['1']],
  ['Lyon', 'France', '+33', ['4']],
  ['Berlin', 'Germany', '+49', ['30']],
  ['Munich', 'Germany', '+49', ['89']],
  ['Amsterdam', 'Netherlands', '+31', ['20']],
  ['Madrid', 'Spain', '+34', ['91']],
  ['Barcelona', 'Spain', '+34', ['93']],
  ['Milan', 'Italy', '+39', ['02']],
  ['Stockholm', 'Sweden', '+46', ['8']],
  ['Copenhagen', 'Denmark', '+45', ['3']],
  ['Warsaw', 'Poland', '+48', ['22']],
  ['Zurich', 'Switzerland', '+41', ['44']],
  ['Sydney', 'Australia', '+61', ['2']],
  ['Melbourne', 'Australia', '+61', ['3']],
  ['Singapore', 'Singapore', '+65', ['6']],
  ['Tokyo', 'Japan', '+81', ['3']],
  ['Bangalore', 'India', '+91', ['80']],
  ['Sao Paulo', 'Brazil', '+55', ['11']],
  ['Mexico City', 'Mexico', '+52', ['55']],
];
export const JOB_TITLES = [
  'CEO', 'CTO', 'CFO', 'COO', 'VP of Sales', 'VP of Marketing', 'Head of Operations', 'Sales Manager', 'Account Executive',
  'Marketing Manager', 'Product Manager', 'Software Engineer', 'Senior Software Engineer', 'Data Analyst', 'Customer Success Manager',
  'Office Manager', 'Procurement Specialist', 'HR Director', 'Finance Manager', 'IT Manager', 'Consultant', 'Founder',
  'Business Development Representative', 'Operations Analyst',
];
export const COMPANY_FIRST = [
  'Blue', 'Bright', 'North', 'Silver', 'Green', 'Summit', 'Atlas', 'Pioneer', 'Harbor', 'Golden', 'Iron', 'Cedar', 'Nova',
  'Apex', 'Crimson', 'Evergreen', 'Granite', 'Lumen', 'Orbit', 'Quantum', 'Redwood', 'Sterling', 'Vertex', 'Willow',
];
export const COMPANY_SECOND = [
  'River', 'Peak', 'Stone', 'Bridge', 'Field', 'Wave', 'Forge', 'Path', 'Light', 'Point', 'Works', 'Labs', 'Systems',
  'Dynamics', 'Partners', 'Ventures', 'Logistics', 'Analytics', 'Networks', 'Solutions', 'Health', 'Foods', 'Energy', 'Media',
];
export const COMPANY_SUFFIX = ['Inc.', 'LLC', 'Ltd', 'GmbH', 'Group', 'Co.', 'SA', 'BV', 'Corp.', ''];
const EMAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'hotmail.com', 'gmx.de', 'example.com'];
export const LIFECYCLE = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];
/** Weights of LIFECYCLE: most contacts are early in the funnel. */
const LIFECYCLE_WEIGHTS = [20, 30, 15, 10, 8, 14, 2, 1];
const LEAD_STATUS = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'];
const DEAL_STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'];
const DEAL_PRODUCTS = ['Annual subscription', 'Enterprise licence', 'Onboarding package', 'Support renewal', 'Pilot project', 'Seat expansion', 'Consulting retainer', 'Hardware bundle'];
const PRIORITIES = ['low', 'medium', 'high'];
const TICKET_SUBJECTS = [
  'Cannot log in', 'Invoice shows the wrong amount', 'Export to CSV fails', 'Request for a refund', 'Feature request: dark mode',
  'Password reset email not received', 'Integration stopped syncing', 'Question about pricing tiers', 'Slow dashboard loading',
  'Add more seats to our plan', 'API returns 500 errors', 'Change billing address',
];
const TICKET_OPENINGS = ['Hi team,', 'Hello,', 'Good morning,', 'Hi support,', 'Hey there,'];
const TICKET_BODIES = [
  'since this morning we keep seeing this problem and it blocks our sales team.',
  'could you have a look? It started after the last update.',
  'we need this fixed before the end of the month for our audit.',
  'a colleague reported the same issue last week as well.',
  'please let me know if you need screenshots or log files.',
];
const TICKET_STAGES = ['1', '2', '3', '4'];
const TICKET_PRIORITIES = ['LOW', 'MEDIUM', 'HIGH', 'URGENT'];
const TICKET_CATEGORIES = ['PRODUCT_ISSUE', 'BILLING_ISSUE', 'FEATURE_REQUEST', 'GENERAL_INQUIRY'];
const LINE_ITEM_TERMS = ['12 months', '24 months', '36 months', 'one-off', 'per seat per month', 'per user per year'];

const DAY_MS = 86_400_000;

/**
 * Lower-case copies of the lists that end up in emails (index for index): lower-casing
 * the parts gives the same text as lower-casing the whole.
 */
const lower = (values: readonly string[]): string[] => values.map((value) => value.toLowerCase());
const FIRST_NAMES_LOWER = lower(FIRST_NAMES);
const LAST_NAMES_LOWER = lower(LAST_NAMES);
const EMAIL_DOMAINS_LOWER = lower(EMAIL_DOMAINS);
/** Company slugs by [first word][second word] (see companySlug). */
const COMPANY_SLUGS = COMPANY_FIRST.map((first) => COMPANY_SECOND.map((second) => `${first} ${second}`.replace(' ', '').toLowerCase()));
/** "0000".."9999". */
const DIGITS4 = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));

/**
 * True when no word a seeded value is built from needs escaping in JSON (no quote,
 * backslash, control character or surrogate): seeded values can then be written into
 * JSON text between plain quotes (see ObjectTable.seededJson). Every list above must be
 * listed here; everything else in a seeded value is digits, ids and ISO dates.
 */
export const SEED_TEXT_JSON_SAFE = [
  FIRST_NAMES, LAST_NAMES, LOCATIONS.flat(2), JOB_TITLES, COMPANY_FIRST, COMPANY_SECOND, COMPANY_SUFFIX, EMAIL_DOMAINS, LIFECYCLE,
  LEAD_STATUS, DEAL_STAGES, DEAL_PRODUCTS, PRIORITIES, TICKET_SUBJECTS, TICKET_OPENINGS, TICKET_BODIES, TICKET_STAGES, TICKET_PRIORITIES,
  TICKET_CATEGORIES, INDUSTRIES, LINE_ITEM_TERMS,
].every((list) => list.every((word) => typeof word === 'string' && JSON.stringify(word) === `"${word}"`));

/**
 * Per-record source of randomness. Every choice made for a record is keyed: the draw
 * for key K of record i is a hash of (seedValue, type, i, K). Properties can therefore be
 * generated one at a time, in any order, and always come out the same - search filters
 * on one property of a million seeded records generate only that property.
 */
export class SeedContext {
  index = 0;
  id = 0;
  createdMs = 0;
  modifiedMs = 0;
  /** Hash of (seedValue, type, index): each draw mixes one key into it. */
  private base = 0;
  private readonly prefix: number;
  private readonly rng = new Rng();

  constructor(seedValue: number, salt: number) {
    this.prefix = mixSeed(seedValue, salt);
  }

  at(index: number, id: number, createdMs: number, modifiedMs: number): this {
    this.index = index;
    this.id = id;
    this.createdMs = createdMs;
    this.modifiedMs = modifiedMs;
    this.base = mix(this.prefix, index);
    return this;
  }

  /** Uniform in [0, 1), fixed for (record, key). */
  draw(key: number): number {
    return mix(this.base, key) / 4294967296;
  }

  pick<T>(values: readonly T[], key: number): T {
    return values[Math.floor(this.draw(key) * values.length)] as T;
  }

  /** The index `pick` would choose among `count` values. */
  choose(count: number, key: number): number {
    return Math.floor(this.draw(key) * count);
  }

  /** A generator for values that need several draws (phone digits...), fixed for (record, key). */
  stream(key: number): Rng {
    return this.rng.reseed(mix(this.base, key));
  }

  /** True for the ~10% of optional properties left unset. */
  unset(key: number): boolean {
    return this.draw(key) < UNSET_RATE;
  }
}

/** Keys of the choices a record's properties share or make. */
const K = Object.fromEntries(
  [
    'first', 'last', 'location', 'companyFirst', 'companySecond', 'companySuffix', 'emailDomain', 'phone', 'mobile', 'job', 'lifecycle',
    'leadStatus', 'birth', 'optout', 'industry', 'employees', 'revenue', 'amount', 'stage', 'close', 'priority', 'dealtype', 'product',
    'subject', 'opening', 'body', 'ticketStage', 'ticketPriority', 'category', 'price', 'quantity', 'term', 'sku',
  ].map((name) => [name, hashString(name)]),
) as Record<string, number>;

/** Key deciding whether optional property `name` is unset. */
function unsetKey(name: string): number {
  return hashString(`unset:${name}`);
}

function weightedPick<T>(draw: number, values: readonly T[], weights: readonly number[]): T {
  let total = 0;
  for (const weight of weights) total += weight;
  let roll = draw * total;
  for (let i = 0; i < values.length; i++) {
    roll -= weights[i] as number;
    if (roll < 0) return values[i] as T;
  }
  return values[values.length - 1] as T;
}

/** Four random digits. */
function digits(rng: Rng): string {
  return DIGITS4[rng.int(10_000)] as string;
}

export type Location = [city: string, country: string, dial: string, areas: string[]];

export function phone(rng: Rng, location: Location): string {
  const [, , dial, areas] = location;
  const area = rng.pick(areas);
  return dial === '+1' ? `+1 ${area}-555-${digits(rng)}` : `${dial} ${area} ${digits(rng)} ${digits(rng)}`;
}

function companyBase(c: SeedContext): string {
  return `${c.pick(COMPANY_FIRST, K.companyFirst)} ${c.pick(COMPANY_SECOND, K.companySecond)}`;
}

function companyName(c: SeedContext): string {
  const suffix = c.pick(COMPANY_SUFFIX, K.companySuffix);
  return suffix ? `${companyBase(c)} ${suffix}` : companyBase(c);
}

/** `companyBase(c).replace(' ', '').toLowerCase()`, from a table. */
function companySlug(c: SeedContext): string {
  return (COMPANY_SLUGS[c.choose(COMPANY_FIRST.length, K.companyFirst)] as string[])[c.choose(COMPANY_SECOND.length, K.companySecond)] as string;
}

/** Decimal string the way HubSpot returns numbers: no trailing zeros ("12500.5"). */
function decimal(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function isoDate(ms: number): string {
  return toIsoDate(ms);
}

/** Generates one property of the record the context points at; null = unset. */
export type FieldGenerator = (c: SeedContext) => string | null;

export interface ObjectSeeder {
  /** Generators of the non-system properties (hs_object_id and the timestamps come from the store). */
  fields: Record<string, FieldGenerator>;
  /**
   * False when a generated value may need escaping in JSON (a custom object's option
   * values or labels are the portal's text); default true, see SEED_TEXT_JSON_SAFE.
   */
  jsonSafe?: boolean;
  /**
   * For unique properties whose seeded values embed the record id (contact emails): the
   * only id a value can belong to, so lookups need not scan every seeded record.
   */
  candidateId?(property: string, value: string): number | undefined;
}

/** Wraps a generator so the property is unset for ~10% of records. */
function optional(name: string, make: FieldGenerator): FieldGenerator {
  const key = unsetKey(name);
  return (c) => (c.unset(key) ? null : make(c));
}

const first = (c: SeedContext): string => c.pick(FIRST_NAMES, K.first);
const last = (c: SeedContext): string => c.pick(LAST_NAMES, K.last);
const location = (c: SeedContext): Location => c.pick(LOCATIONS, K.location);
const lifecycle = (c: SeedContext): string => weightedPick(c.draw(K.lifecycle), LIFECYCLE, LIFECYCLE_WEIGHTS);

const contactSeeder: ObjectSeeder = {
  fields: {
    // The id makes each seeded email unique (and lets candidateId find it again).
    // = `${first}.${last}${id}@${domain}`.toLowerCase(), from the lower-cased lists.
    email: (c) => `${c.pick(FIRST_NAMES_LOWER, K.first)}.${c.pick(LAST_NAMES_LOWER, K.last)}${c.id}@${c.pick(EMAIL_DOMAINS_LOWER, K.emailDomain)}`,
    firstname: optional('firstname', first),
    lastname: optional('lastname', last),
    phone: optional('phone', (c) => phone(c.stream(K.phone), location(c))),
    mobilephone: optional('mobilephone', (c) => phone(c.stream(K.mobile), location(c))),
    company: optional('company', companyName),
    website: optional('website', (c) => `https://www.${companySlug(c)}.com`),
    jobtitle: optional('jobtitle', (c) => c.pick(JOB_TITLES, K.job)),
    city: optional('city', (c) => location(c)[0]),
    country: optional('country', (c) => location(c)[1]),
    lifecyclestage: optional('lifecyclestage', lifecycle),
    hs_lead_status: optional('hs_lead_status', (c) => c.pick(LEAD_STATUS, K.leadStatus)),
    date_of_birth: optional('date_of_birth', (c) => isoDate(SEED_CREATED_FROM - (20 * 365 + Math.floor(c.draw(K.birth) * 45 * 365)) * DAY_MS)),
    hs_email_optout: optional('hs_email_optout', (c) => (c.draw(K.optout) < 0.08 ? 'true' : 'false')),
  },
  candidateId(property, value) {
    if (property !== 'email') return undefined;
    const match = /(\d+)@[^@]+$/.exec(value);
    return match ? Number(match[1]) : undefined;
  },
};

const employees = (c: SeedContext): number => Math.max(1, Math.round(Math.exp(c.draw(K.employees) * Math.log(20_000))));
const domain = (c: SeedContext): string => `${companySlug(c)}${c.id}.com`;

const companySeeder: ObjectSeeder = {
  fields: {
    name: companyName,
    domain,
    industry: optional('industry', (c) => c.pick(INDUSTRIES, K.industry)),
    numberofemployees: optional('numberofemployees', (c) => String(employees(c))),
    annualrevenue: optional('annualrevenue', (c) => {
      const rng = c.stream(K.revenue);
      return decimal(employees(c) * rng.between(40_000, 250_000) + rng.int(2) * 0.5);
    }),
    city: optional('city', (c) => location(c)[0]),
    country: optional('country', (c) => location(c)[1]),
    phone: optional('phone', (c) => phone(c.stream(K.phone), location(c))),
    website: optional('website', (c) => `https://www.${domain(c)}`),
    lifecyclestage: optional('lifecyclestage', lifecycle),
  },
};

const dealSeeder: ObjectSeeder = {
  fields: {
    dealname: (c) => `${companyBase(c)} - ${c.pick(DEAL_PRODUCTS, K.product)}`,
    amount: optional('amount', (c) => {
      const rng = c.stream(K.amount);
      return decimal(rng.between(500, 250_000) + rng.int(4) * 0.25);
    }),
    dealstage: (c) => c.pick(DEAL_STAGES, K.stage),
    pipeline: () => 'default',
    closedate: optional('closedate', (c) => {
      const rng = c.stream(K.close);
      return toIso(c.createdMs + rng.between(7, 180) * DAY_MS + rng.int(DAY_MS));
    }),
    hs_priority: optional('hs_priority', (c) => c.pick(PRIORITIES, K.priority)),
    dealtype: optional('dealtype', (c) => (c.draw(K.dealtype) < 0.7 ? 'newbusiness' : 'existingbusiness')),
  },
};

const ticketSeeder: ObjectSeeder = {
  fields: {
    subject: (c) => c.pick(TICKET_SUBJECTS, K.subject),
    content: optional('content', (c) => `${c.pick(TICKET_OPENINGS, K.opening)} ${c.pick(TICKET_BODIES, K.body)}`),
    hs_pipeline: () => '0',
    hs_pipeline_stage: (c) => c.pick(TICKET_STAGES, K.ticketStage),
    hs_ticket_priority: optional('hs_ticket_priority', (c) => c.pick(TICKET_PRIORITIES, K.ticketPriority)),
    hs_ticket_category: optional('hs_ticket_category', (c) => c.pick(TICKET_CATEGORIES, K.category)),
  },
};

/** A line item's unit price; amount = price x quantity. */
const unitPrice = (c: SeedContext): number => {
  const rng = c.stream(K.price);
  return rng.between(10, 4_000) + rng.int(4) * 0.25;
};
const quantity = (c: SeedContext): number => Math.max(1, Math.floor(Math.exp(c.draw(K.quantity) * Math.log(60))));

const lineItemSeeder: ObjectSeeder = {
  fields: {
    name: (c) => c.pick(DEAL_PRODUCTS, K.product),
    description: optional('description', (c) => `${c.pick(DEAL_PRODUCTS, K.product)}, ${c.pick(LINE_ITEM_TERMS, K.term)}`),
    price: (c) => decimal(unitPrice(c)),
    quantity: (c) => String(quantity(c)),
    amount: (c) => decimal(unitPrice(c) * quantity(c)),
    hs_sku: (c) => `SKU-${c.choose(DEAL_PRODUCTS.length, K.product) + 1}${digits(c.stream(K.sku))}`,
  },
};

const jsonSafe = (text: string): boolean => JSON.stringify(text) === `"${text}"`;
const DAY_QUARTERS = 96;

/**
 * Values for a custom object's properties, by type, with a few guesses from the property
 * name (a 'location' gets a city, a 'duration_minutes' a multiple of 15, a 'budget' a
 * sum of money). The primary display property and required properties are always set,
 * the others unset for ~10% of records; unique string values end in '-<id>'.
 */
function customSeeder(type: ObjectTypeDefinition): ObjectSeeder {
  const info = type.custom!;
  const required = new Set([info.primaryDisplayProperty, ...info.requiredProperties]);
  const fields: Record<string, FieldGenerator> = {};
  let safe = jsonSafe(info.labels.singular);
  for (const property of type.properties) {
    const name = property.name;
    if (name === 'hs_object_id' || name === type.creationProperty || name === type.modificationProperty) continue;
    const key = hashString(`custom:${name}`);
    let make: FieldGenerator;
    switch (property.type) {
      case 'number':
        if (/minute|duration/.test(name)) make = (c) => String(15 * (1 + c.choose(16, key)));
        else if (/count|quantity|employees|size|number|seats/.test(name)) make = (c) => String(Math.max(1, Math.round(Math.exp(c.draw(key) * Math.log(5_000)))));
        else if (/budget|amount|price|revenue|cost|value|total|spend/.test(name)) make = (c) => String(Math.round(Math.exp(Math.log(1_000) + c.draw(key) * Math.log(5_000)) / 100) * 100);
        else make = (c) => String(c.choose(1_001, key));
        break;
      case 'datetime':
        // From a month before creation to half a year after it, on a quarter hour.
        make = (c) => toIso(Math.max(0, Math.floor(c.createdMs / DAY_MS) - 30) * DAY_MS + c.choose(210 * DAY_QUARTERS, key) * (DAY_MS / DAY_QUARTERS));
        break;
      case 'date':
        make = (c) => isoDate(Math.max(0, Math.floor(c.createdMs / DAY_MS) - 30 + c.choose(210, key)) * DAY_MS);
        break;
      case 'enumeration': {
        const values = property.options.map((option) => option.value);
        safe &&= values.every(jsonSafe);
        make = (c) => c.pick(values, key);
        break;
      }
      case 'bool':
        make = (c) => (c.draw(key) < 0.5 ? 'true' : 'false');
        break;
      case 'phone_number':
        make = (c) => phone(c.stream(key), location(c));
        break;
      default:
        if (/location|city|office|site/.test(name)) make = (c) => location(c)[0];
        else if (/country/.test(name)) make = (c) => location(c)[1];
        else if (/email/.test(name)) make = (c) => `${c.pick(FIRST_NAMES_LOWER, K.first)}.${c.pick(LAST_NAMES_LOWER, K.last)}${c.id}@${c.pick(EMAIL_DOMAINS_LOWER, K.emailDomain)}`;
        else if (/url|website|domain/.test(name)) make = (c) => `https://www.${companySlug(c)}.com`;
        else if (name === info.primaryDisplayProperty) make = (c) => `${companyBase(c)} ${info.labels.singular}`;
        else make = (c) => `${c.pick(COMPANY_FIRST, key)} ${c.pick(COMPANY_SECOND, key ^ 1)}`;
    }
    if (property.hasUniqueValue) {
      // Unique values embed the record id (and candidateId finds the record from it).
      const base = make;
      if (property.type === 'number') make = (c) => String(c.id);
      else if (property.type === 'string') make = (c) => `${base(c)}-${c.id}`;
    }
    fields[name] = required.has(name) ? make : optional(name, make);
  }
  const unique = new Map(type.properties.filter((property) => property.hasUniqueValue).map((property) => [property.name, property.type]));
  return {
    fields,
    jsonSafe: safe,
    candidateId: (property, value) => {
      const kind = unique.get(property);
      const match = kind === 'number' ? /^(\d+)$/.exec(value) : kind === 'string' ? /-(\d+)$/.exec(value) : null;
      return match ? Number(match[1]) : undefined;
    },
  };
}

const SEEDERS: Record<string, ObjectSeeder> = {
  contacts: contactSeeder,
  companies: companySeeder,
  deals: dealSeeder,
  tickets: ticketSeeder,
  line_items: lineItemSeeder,
};

export function seederFor(type: ObjectTypeDefinition): ObjectSeeder {
  if (type.custom) return customSeeder(type);
  const seeder = SEEDERS[type.name];
  if (!seeder) throw new Error(`no seed generator for object type ${type.name}`);
  return seeder;
}

/** Salts that separate the random streams of different object types and purposes. */
export function typeSalt(type: ObjectTypeDefinition): number {
  return hashString(type.name);
}
const TIMES_STREAM = 0x74696d65; // 'time'

/**
 * The creation and modification times of `count` seeded records. Creation times rise
 * with the index (ids are handed out in creation order, as in HubSpot) and spread over
 * SEED_CREATED_FROM..SEED_CREATED_TO; each modification time lies between the record's
 * creation and SEED_MODIFIED_TO.
 */
export function seedTimestamps(seedValue: number, type: ObjectTypeDefinition, count: number): { created: Float64Array; modified: Float64Array } {
  const created = new Float64Array(count);
  const modified = new Float64Array(count);
  const rng = new Rng();
  const salt = typeSalt(type);
  const span = SEED_CREATED_TO - SEED_CREATED_FROM;
  for (let i = 0; i < count; i++) {
    rng.reseed(mixSeed(seedValue, salt, TIMES_STREAM, i));
    const createdMs = SEED_CREATED_FROM + Math.floor((span * (i + rng.next())) / count);
    created[i] = createdMs;
    modified[i] = createdMs + Math.floor(rng.next() * (SEED_MODIFIED_TO - createdMs));
  }
  return { created, modified };
}
