/**
 * Deterministic seed data. A seeded row is a pure function of (seedValue, entity set,
 * index): its GUID, values and timestamps come from a PRNG seeded with those three, so
 * the same options always give the same rows. Values follow the column type, with a few
 * guesses from the column name for realism (names, emails, phone numbers, cities,
 * employee counts, revenue, birth dates, industry codes).
 */
import { Rng, hashString, mix, mixSeed } from '../shared/prng.js';
import { STATUS_OF_STATE, type Column, type EntityModel } from './table-definitions.js';
import { fullNameOf, toSecond } from './values.js';

/** Seeded createdon/modifiedon lie in this fixed range (never the wall clock). */
export const SEED_FROM = Date.UTC(2023, 0, 1);
export const SEED_TO = Date.UTC(2025, 5, 30, 23, 59, 59);

/** Share of optional columns left null. */
const NULL_RATE = 0.1;
/** Share of seeded rows that are inactive (statecode 1). */
const INACTIVE_RATE = 0.08;

const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara',
  'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Daniel', 'Lisa', 'Matthew', 'Nancy', 'Lucas',
  'Sofia', 'Mateo', 'Camila', 'Noah', 'Emma', 'Liam', 'Olivia', 'Hugo', 'Chloé', 'Louis', 'Léa', 'Jonas', 'Mia', 'Felix', 'Hannah',
  'Arjun', 'Priya', 'Wei', 'Mei', 'Hiroshi', 'Yuki', 'Omar', 'Fatima', 'Ivan', 'Olga', 'Zoë', 'Søren', 'Ingrid', 'José', 'Ana',
];
const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernández', 'Lopez',
  'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Nguyen', 'Hill', 'Green', 'Adams', 'Baker', 'Müller', 'Schmidt', 'Dubois',
  'Moreau', 'Rossi', 'Bianchi', 'Silva', 'Santos', 'Kowalski', 'Novák', 'Jensen', 'Larsen', 'Patel', 'Sharma', 'Chen', 'Wang',
  'Tanaka', 'Sato', 'Kim', 'Park', 'Ivanov', "O'Brien", 'Haddad',
];
/** [city, country, dialling code, area codes]. */
const LOCATIONS: [string, string, string, string[]][] = [
  ['Seattle', 'United States', '+1', ['206', '425']],
  ['Redmond', 'United States', '+1', ['425']],
  ['New York', 'United States', '+1', ['212', '646']],
  ['Chicago', 'United States', '+1', ['312', '773']],
  ['Austin', 'United States', '+1', ['512']],
  ['Toronto', 'Canada', '+1', ['416', '647']],
  ['London', 'United Kingdom', '+44', ['20']],
  ['Manchester', 'United Kingdom', '+44', ['161']],
  ['Dublin', 'Ireland', '+353', ['1']],
  ['Paris', 'France', '+33', ['1']],
  ['Berlin', 'Germany', '+49', ['30']],
  ['München', 'Germany', '+49', ['89']],
  ['Zürich', 'Switzerland', '+41', ['44']],
  ['Amsterdam', 'Netherlands', '+31', ['20']],
  ['Madrid', 'Spain', '+34', ['91']],
  ['Milan', 'Italy', '+39', ['02']],
  ['Stockholm', 'Sweden', '+46', ['8']],
  ['Warsaw', 'Poland', '+48', ['22']],
  ['Sydney', 'Australia', '+61', ['2']],
  ['Singapore', 'Singapore', '+65', ['6']],
  ['Tokyo', 'Japan', '+81', ['3']],
  ['Bangalore', 'India', '+91', ['80']],
  ['São Paulo', 'Brazil', '+55', ['11']],
  ['Mexico City', 'Mexico', '+52', ['55']],
];
const JOB_TITLES = [
  'CEO', 'CTO', 'CFO', 'VP of Sales', 'VP of Marketing', 'Head of Operations', 'Sales Manager', 'Account Executive',
  'Marketing Manager', 'Product Manager', 'Software Engineer', 'Data Analyst', 'Customer Success Manager', 'Purchasing Manager',
  'HR Director', 'Finance Manager', 'IT Manager', 'Consultant', 'Founder', 'Operations Analyst',
];
const COMPANY_FIRST = ['Contoso', 'Fabrikam', 'Northwind', 'Adventure', 'Litware', 'Tailspin', 'Wingtip', 'Proseware', 'Coho', 'Alpine', 'Blue Yonder', 'Fourth', 'Trey', 'Woodgrove', 'Lucerne', 'Margie', 'Humongous', 'Wide World', 'Graphic', 'Southridge'];
const COMPANY_SECOND = ['Traders', 'Works', 'Coffee', 'Systems', 'Airlines', 'Toys', 'Insurance', 'Bank', 'Publishing', 'Ski House', 'Winery', 'Importers', 'Design', 'Research', 'Video', 'Electric', 'Logistics', 'Health', 'Foods', 'Energy'];
const COMPANY_SUFFIX = ['Inc.', 'Ltd', 'GmbH', 'Group', 'Corp.', 'S.A.', 'B.V.', ''];
const EMAIL_DOMAINS = ['outlook.com', 'gmail.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'proton.me', 'example.com'];
const WORDS = ['Alpha', 'Bright', 'Cedar', 'Delta', 'Ember', 'Falcon', 'Granite', 'Harbor', 'Iris', 'Juniper', 'Kestrel', 'Lumen', 'Maple', 'Nova', 'Orchid', 'Pioneer', 'Quartz', 'River', 'Summit', 'Tundra'];
const STREETS = ['Main St', 'Oak Avenue', 'Station Road', 'High Street', 'Park Lane', 'Hauptstraße', 'Rue de la Paix', 'Elm Street', 'Market Square', 'Church Road'];
const SENTENCES = [
  'Met at the spring trade show.', 'Prefers email over phone calls.', 'Renewal due next quarter.', 'Interested in the premium plan.',
  'Follow up after the product demo.', 'Key decision maker for purchasing.', 'Asked for a quote on 50 seats.', 'Referred by an existing customer.',
];
const SALUTATIONS = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'];
const SUFFIXES = ['Jr.', 'Sr.', 'II', 'III', 'PhD'];
const DEPARTMENTS = ['Sales', 'Marketing', 'Finance', 'Operations', 'Purchasing', 'IT', 'Human Resources', 'Legal', 'Customer Service', 'Engineering'];
const REGIONS = ['North', 'South', 'East', 'West', 'Central', 'Greater Metro'];
const ADDRESS_NAMES = ['Headquarters', 'Main Office', 'Warehouse', 'Branch Office', 'Home'];

const asciiCache = new Map<string, string>();
/** 'Müller' → 'muller', "O'Brien" → 'obrien' (for email addresses and domains). */
function lowerAscii(text: string): string {
  let out = asciiCache.get(text);
  if (out === undefined) asciiCache.set(text, (out = text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9]/g, '').toLowerCase()));
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex16 = (n: number) => (HEX[(n >>> 8) & 255] as string) + HEX[n & 255];

/** A GUID (version 4 layout) from four 32-bit words. */
export function guidFromWords(a: number, b: number, c: number, d: number): string {
  return (
    hex16(a >>> 16) + hex16(a) + '-' + hex16(b >>> 16) + '-' + hex16(((b & 0x0fff) | 0x4000) >>> 0) + '-' +
    hex16(((c >>> 16) & 0x3fff) | 0x8000) + '-' + hex16(c) + hex16(d >>> 16) + hex16(d)
  );
}

/** The GUID of seeded row `index` of an entity set (a pure function, so lookups can point at rows of other sets). */
export function seededGuid(seedValue: number, entitySet: string, index: number): string {
  const salt = hashString(entitySet);
  return guidFromWords(mixSeed(seedValue, salt, index, 1), mixSeed(seedValue, salt, index, 2), mixSeed(seedValue, salt, index, 3), mixSeed(seedValue, salt, index, 4));
}

export interface SeededRow {
  id: string;
  /** Held values, one per column of the model (key, attributes, then the system columns; versionnumber 0 here). */
  values: unknown[];
  createdMs: number;
  modifiedMs: number;
}

/** What a generator may draw on for one row. */
class RowContext {
  readonly rng = new Rng();
  index = 0;
  createdMs = 0;
  private person: [string, string] | undefined;
  private company: [string, string] | undefined;
  private location: [string, string, string, string[]] | undefined;

  reset(seed: number, index: number, createdMs: number): void {
    this.rng.reseed(seed);
    this.index = index;
    this.createdMs = createdMs;
    this.person = undefined;
    this.company = undefined;
    this.location = undefined;
  }

  names(): [string, string] {
    this.person ??= [this.rng.pick(FIRST_NAMES), this.rng.pick(LAST_NAMES)];
    return this.person;
  }

  /** [company name, domain slug]. */
  organisation(): [string, string] {
    if (!this.company) {
      const first = this.rng.pick(COMPANY_FIRST);
      const second = this.rng.pick(COMPANY_SECOND);
      const suffix = this.rng.pick(COMPANY_SUFFIX);
      this.company = [`${first} ${second}${suffix ? ` ${suffix}` : ''}`, `${lowerAscii(first)}${lowerAscii(second)}`];
    }
    return this.company;
  }

  place(): [string, string, string, string[]] {
    this.location ??= this.rng.pick(LOCATIONS);
    return this.location;
  }

  phone(): string {
    const [, , dial, areas] = this.place();
    const digits = String(this.rng.between(1000000, 9999999));
    return `${dial} ${this.rng.pick(areas)} ${digits.slice(0, 3)} ${digits.slice(3)}`;
  }
}

type Generator = (ctx: RowContext) => unknown;

function isPersonTable(model: EntityModel): boolean {
  return model.byName.has('firstname') || model.byName.has('lastname') || model.logicalName === 'contact' || model.logicalName === 'lead';
}

function stringGenerator(model: EntityModel, column: Column): Generator {
  const name = column.name.toLowerCase();
  const person = isPersonTable(model);
  if (name === 'firstname') return (ctx) => ctx.names()[0];
  if (name === 'lastname') return (ctx) => ctx.names()[1];
  if (name === 'fullname') return (ctx) => `${ctx.names()[0]} ${ctx.names()[1]}`;
  if (name.endsWith('city')) return (ctx) => ctx.place()[0];
  if (name.endsWith('country')) return (ctx) => ctx.place()[1];
  if (name.endsWith('county') || name.endsWith('stateorprovince')) return (ctx) => `${ctx.rng.pick(REGIONS)} ${ctx.place()[0]}`;
  if (name.includes('jobtitle') || name === 'title') return (ctx) => ctx.rng.pick(JOB_TITLES);
  if (name === 'salutation') return (ctx) => ctx.rng.pick(SALUTATIONS);
  if (name === 'suffix') return (ctx) => ctx.rng.pick(SUFFIXES);
  if (name === 'department') return (ctx) => ctx.rng.pick(DEPARTMENTS);
  if (name === 'middlename') return (ctx) => ctx.rng.pick(FIRST_NAMES);
  if (name === 'nickname') return (ctx) => ctx.names()[0].slice(0, 3);
  if (name === 'tickersymbol') return (ctx) => lowerAscii(ctx.organisation()[1]).slice(0, 4).toUpperCase();
  if (name === 'sic') return (ctx) => String(ctx.rng.between(1000, 9999));
  if (/^address\d_name$/.test(name)) return (ctx) => ctx.rng.pick(ADDRESS_NAMES);
  if (/line1|street/.test(name)) return (ctx) => `${ctx.rng.between(1, 250)} ${ctx.rng.pick(STREETS)}`;
  if (/line[23]$/.test(name)) return (ctx) => `${ctx.rng.pick(['Suite', 'Floor', 'Unit', 'Building'])} ${ctx.rng.between(1, 40)}`;
  if (/postalcode|zip/.test(name)) return (ctx) => String(ctx.rng.between(10000, 99999));
  if (/description|note|comment/.test(name)) return (ctx) => ctx.rng.pick(SENTENCES);
  if (/accountnumber|number$|code$/.test(name)) return (ctx) => `${ctx.rng.pick(WORDS).slice(0, 3).toUpperCase()}-${ctx.rng.between(10000, 99999)}`;
  if (name === 'name' || name.endsWith('name') || name === model.primaryName) {
    if (!person && (model.logicalName === 'account' || name === 'name' || name.endsWith('companyname'))) return (ctx) => ctx.organisation()[0];
    if (person) return (ctx) => `${ctx.names()[0]} ${ctx.names()[1]}`;
  }
  return (ctx) => `${ctx.rng.pick(WORDS)} ${ctx.rng.pick(WORDS).toLowerCase()} ${ctx.index + 1}`;
}

/** What the generator of a lookup column draws on: the seeded rows of its target, or the ids of a table only referred to. */
export interface LookupSources {
  seedValue: number;
  /** Seeded row counts of every entity set. */
  seedCounts: ReadonlyMap<string, number>;
  /** The served entity set a lookup column points at. */
  target(column: Column): string | undefined;
  /** The ids a lookup to a table the emulator does not serve (users, teams, ...) may hold. */
  references(column: Column): readonly string[];
}

function lookupGenerator(column: Column, sources: LookupSources): Generator {
  const target = sources.target(column);
  const count = target === undefined ? 0 : (sources.seedCounts.get(target) ?? 0);
  if (target !== undefined && count > 0) {
    // Most rows point at another seeded row; some have no parent.
    return (ctx) => (ctx.rng.chance(0.15) ? null : seededGuid(sources.seedValue, target, ctx.rng.int(count)));
  }
  const ids = sources.references(column);
  return ids.length === 0 ? () => null : (ctx) => ctx.rng.pick(ids);
}

function generator(model: EntityModel, column: Column, sources: LookupSources): Generator {
  const name = column.name.toLowerCase();
  switch (column.type) {
    case 'string':
    case 'memo':
      return stringGenerator(model, column);
    case 'email':
      if (isPersonTable(model)) {
        return (ctx) => {
          const [first, last] = ctx.names();
          return `${lowerAscii(first)}.${lowerAscii(last)}${ctx.rng.chance(0.3) ? ctx.rng.between(1, 99) : ''}@${ctx.rng.chance(0.5) ? `${ctx.organisation()[1]}.com` : ctx.rng.pick(EMAIL_DOMAINS)}`;
        };
      }
      return (ctx) => `${ctx.rng.pick(['info', 'sales', 'contact', 'hello', 'office'])}@${ctx.organisation()[1]}.com`;
    case 'phone':
      return (ctx) => ctx.phone();
    case 'url':
      return (ctx) => `https://www.${ctx.organisation()[1]}.com`;
    case 'integer':
      if (name.includes('children')) return (ctx) => ctx.rng.between(0, 4);
      if (name.includes('employees')) return (ctx) => Math.max(1, Math.round(Math.exp(ctx.rng.next() * Math.log(50_000))));
      if (/count|quantity|qty|number/.test(name)) return (ctx) => ctx.rng.between(0, 1000);
      return (ctx) => ctx.rng.between(0, 10_000);
    case 'decimal':
      if (/percent|rate|probability/.test(name)) return (ctx) => Math.round(ctx.rng.next() * 10_000) / 100;
      return (ctx) => Math.round(ctx.rng.next() * 100_000) / 100;
    case 'double':
      if (name.includes('latitude')) return (ctx) => Math.round((ctx.rng.next() * 180 - 90) * 100_000) / 100_000;
      if (name.includes('longitude')) return (ctx) => Math.round((ctx.rng.next() * 360 - 180) * 100_000) / 100_000;
      return (ctx) => Math.round(ctx.rng.next() * 1_000_000) / 1000;
    case 'money':
      // Revenue is spread log-uniformly between 10 thousand and 1 billion.
      if (name.includes('revenue')) return (ctx) => Math.round(Math.exp(Math.log(10_000) + ctx.rng.next() * Math.log(100_000)));
      return (ctx) => Math.round(ctx.rng.between(100, 100_000) * 100 + ctx.rng.between(0, 99)) / 100;
    case 'boolean':
      return (ctx) => ctx.rng.chance(0.25);
    case 'datetime':
      return (ctx) => toSecond(ctx.createdMs + Math.floor(ctx.rng.next() * (SEED_TO - ctx.createdMs)));
    case 'date':
      if (name.includes('birth')) return (ctx) => dayText(BIRTH_FROM + ctx.rng.int(BIRTH_DAYS));
      return (ctx) => dayText(SEED_FROM / DAY_MS + ctx.rng.int(DATE_DAYS));
    case 'picklist': {
      const options = column.options ?? [];
      return (ctx) => ctx.rng.pick(options);
    }
    case 'lookup':
    case 'customer':
    case 'owner':
      return lookupGenerator(column, sources);
    case 'guid':
      return (ctx) => guidFromWords(ctx.rng.int(2 ** 32), ctx.rng.int(2 ** 32), ctx.rng.int(2 ** 32), ctx.rng.int(2 ** 32));
    default:
      return () => null;
  }
}

const DAY_MS = 86_400_000;
/** Birth dates fall between 1950-01-01 and 2004-12-31; other date-only values between 2023 and 2026. */
const BIRTH_FROM = Date.UTC(1950, 0, 1) / DAY_MS;
const BIRTH_DAYS = Date.UTC(2004, 11, 31) / DAY_MS - BIRTH_FROM + 1;
const DATE_DAYS = Date.UTC(2026, 11, 31) / DAY_MS - SEED_FROM / DAY_MS + 1;
/** Day numbers from 1900-01-01 on get their text cached. */
const FIRST_CACHED_DAY = Date.UTC(1900, 0, 1) / DAY_MS;
const DAY_TEXT: (string | undefined)[] = [];

/** 'YYYY-MM-DD' of a day number (days since 1970-01-01, negative before). */
function dayText(day: number): string {
  const slot = day - FIRST_CACHED_DAY;
  let text = DAY_TEXT[slot];
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (slot >= 0 && slot < 80_000) DAY_TEXT[slot] = text;
  }
  return text;
}

/**
 * Generates `count` rows of a table. Lookups point at seeded rows of their target
 * table, or at the users, teams, business unit and currency every organisation has
 * (`sources`); createdby, modifiedby and owners are among `users`.
 */
export function seedRows(model: EntityModel, count: number, sources: LookupSources, users: readonly string[]): SeededRow[] {
  const seedValue = sources.seedValue;
  const required = new Set([model.primaryName, 'lastname', 'name', '_owningbusinessunit_value']);
  const columns = model.fields.filter((field) => !field.system);
  const generators = columns.map((column) => generator(model, column, sources));
  // Two-option (boolean) columns always hold true or false; every row has an owner.
  const nullable = columns.map((column) => !required.has(column.name) && column.name !== 'fullname' && column.kind !== 'boolean' && column.type !== 'owner');
  const ctx = new RowContext();
  const salt = hashString(model.entitySet);
  const span = SEED_TO - SEED_FROM;
  const rows: SeededRow[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const seed = mixSeed(seedValue, salt, index);
    // Creation times rise with the index, spread evenly over the seed range.
    const createdMs = toSecond(SEED_FROM + Math.floor(((index + mix(seed, 0x5bd1e995) / 4294967296) * span) / Math.max(count, 1)));
    ctx.reset(seed, index, createdMs);
    const values: unknown[] = new Array(model.fields.length).fill(null);
    values[model.key.index] = seededGuid(seedValue, model.entitySet, index);
    for (let k = 0; k < columns.length; k++) {
      const value = (generators[k] as Generator)(ctx);
      values[(columns[k] as Column).index] = nullable[k] && ctx.rng.chance(NULL_RATE) ? null : value;
    }
    // About 40% of rows were never modified after creation.
    const modifiedMs = ctx.rng.chance(0.4) ? createdMs : toSecond(createdMs + Math.floor(ctx.rng.next() ** 2 * (SEED_TO - createdMs)));
    const createdBy = ctx.rng.pick(users);
    values[model.createdon.index] = createdMs;
    values[model.createdby.index] = createdBy;
    values[model.modifiedon.index] = modifiedMs;
    values[model.modifiedby.index] = modifiedMs === createdMs ? createdBy : ctx.rng.pick(users);
    values[model.versionnumber.index] = 0;
    const state = ctx.rng.chance(INACTIVE_RATE) ? 1 : 0;
    values[model.statecode.index] = state;
    values[model.statuscode.index] = STATUS_OF_STATE[state];
    if (model.fullName) values[model.fullName.full] = fullNameOf(values[model.fullName.first], values[model.fullName.last]);
    rows[index] = { id: values[model.key.index] as string, values, createdMs, modifiedMs };
  }
  return rows;
}
