/**
 * The shared seed: the same people and companies in the HubSpot and the Dynamics 365
 * emulator, for two-way sync tests, the demo and benchmarks. Each person is a HubSpot
 * contact and a Dataverse contact with the same email (HubSpot `email`, Dataverse
 * `emailaddress1`); each company a HubSpot company and a Dataverse account with the same
 * name and website (HubSpot `domain` and `website`, Dataverse `websiteurl`), as
 * mappings.yaml pairs them. Everything is a pure function of (spec, seed value).
 *
 * Some fields differ, as they would after people edited both CRMs (each record's
 * `differences` names them):
 * - people: ~10% have a newer job title on one side (modified after the other side),
 *   ~10% the same phone number in E.164 on one side (+16175550142 beside +1 617-555-0142),
 *   ~5% no phone on one side, ~10% their Dataverse email in another letter case
 *   (Ana.Silva@…; HubSpot keeps contact emails in lower case, Dataverse as typed);
 * - companies: ~10% another employee count on one side (modified after the other side),
 *   ~10% the phone in E.164 on one side, ~10% a bare `www.<domain>` as Dataverse website,
 *   ~5% no city on one side.
 *
 * Edge cases, at fixed positions:
 * - person 0's email is on two Dataverse contacts, an ambiguous match: the second was
 *   entered later by hand and has only the name and the email;
 * - people 1, 51, 101, … are only in HubSpot, people 2, 52, 102, … only in Dataverse;
 * - companies 1, 21, 41, … are only in HubSpot, companies 2, 22, 42, … only in Dataverse.
 *
 * Times: a record was created on one side between SHARED_CREATED_FROM and 2025-09-30,
 * copied to the other within two weeks, and modified by SHARED_MODIFIED_TO; so after every
 * per-CRM seeded record was created (HubSpot hands out ids in creation order) and last
 * modified (Dataverse row versions follow modification order).
 */
import { INDUSTRIES } from '../hubspot/object-types.js';
import { COMPANY_FIRST, COMPANY_SECOND, COMPANY_SUFFIX, FIRST_NAMES, JOB_TITLES, LAST_NAMES, LIFECYCLE, LOCATIONS, phone, type Location } from '../hubspot/seed.js';
import { seededGuid } from '../dynamics/seed.js';
import { DAY_MS, toIsoDate } from './iso-time.js';
import { Rng, hashString, mixSeed } from './prng.js';

export type CrmSide = 'hubspot' | 'dynamics';

/** How many people and companies to put into both emulators, e.g. { contacts: 500, companies: 50 }. */
export interface SharedSeedSpec {
  contacts?: number;
  companies?: number;
}

/**
 * The most people, and the most companies, a shared seed holds: unlike seeded records,
 * which are regenerated whenever they are read, shared records are stored in full.
 */
export const SHARED_SEED_MAX = 200_000;

export const SHARED_CREATED_FROM = Date.UTC(2025, 6, 1);
export const SHARED_MODIFIED_TO = Date.UTC(2025, 11, 31, 23, 59, 59);
const SHARED_CREATED_TO = Date.UTC(2025, 8, 30, 23, 59, 59);
/** Modifications that no later change on the other side has to follow end here. */
const SHARED_SETTLED_BY = Date.UTC(2025, 10, 30, 23, 59, 59);
const HOUR_MS = 3_600_000;
const COPY_LAG_MS = 14 * DAY_MS;

/** People at these positions (modulo) are in one CRM only. */
const PEOPLE_PERIOD = 50;
const COMPANY_PERIOD = 20;
const PEOPLE_SALT = hashString('shared-seed:people');
const CHANGED_RATE = 0.1;
const FORMAT_RATE = 0.1;
const MISSING_RATE = 0.05;
/** Mailbox providers of people without a company address: none the per-CRM seeds use, so no email is matched by accident. */
const PERSONAL_DOMAINS = ['fastmail.com', 'aol.com', 'zoho.com', 'mail.com', 'gmx.net'];

/** A field whose values differ between the two CRMs. */
export interface SharedDifference {
  /** crmsync's name of the field (mappings.yaml), which pairs a HubSpot property with a Dataverse column. */
  field: 'email' | 'phone' | 'jobtitle' | 'website' | 'numberofemployees' | 'city';
  /**
   * changed: `side` holds a newer value and was modified after the other side;
   * format: `side` holds the same value written differently; missing: `side` has none.
   */
  kind: 'changed' | 'format' | 'missing';
  side: CrmSide;
}

export interface SharedTimes {
  createdMs: number;
  modifiedMs: number;
}

/** A HubSpot record of the shared seed (its id is handed out when it is stored). */
export interface SharedHubSpotRecord extends SharedTimes {
  properties: Record<string, string | null>;
}

/** A Dataverse row of the shared seed, with its values as the Web API writes them (lookups as plain GUIDs). */
export interface SharedDynamicsRow extends SharedTimes {
  id: string;
  values: Record<string, string | number | boolean | null>;
}

export interface SharedCompany {
  index: number;
  name: string;
  /** 'blueriver.com': HubSpot's domain; both websites point at it. */
  domain: string;
  differences: SharedDifference[];
  /** Absent for a company only in Dataverse. */
  hubspot?: SharedHubSpotRecord;
  /** Absent for a company only in HubSpot. */
  dynamics?: SharedDynamicsRow;
}

export interface SharedPerson {
  index: number;
  /** The key both CRMs share, in lower case. */
  email: string;
  /** The index of the company the person works for (none without companies). */
  company?: number;
  differences: SharedDifference[];
  /** Absent for a person only in Dataverse. */
  hubspot?: SharedHubSpotRecord;
  /** The Dataverse contacts with this email: one; two for person 0 (the ambiguous match); none for a person only in HubSpot. */
  dynamics: SharedDynamicsRow[];
}

export interface SharedSeed {
  people: SharedPerson[];
  companies: SharedCompany[];
}

/** Checks a spec; throws an Error saying what is wrong (one line). */
export function validateSharedSeed(spec: SharedSeedSpec): Required<SharedSeedSpec> {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('a shared seed is an object like { contacts: 500, companies: 50 }');
  for (const [name, count] of Object.entries(spec)) {
    if (name !== 'contacts' && name !== 'companies') throw new Error(`"${name}" cannot be shared: a shared seed has contacts and companies, e.g. contacts=500,companies=50`);
    if (!Number.isSafeInteger(count) || count < 0 || count > SHARED_SEED_MAX) throw new Error(`${name} must be a whole number from 0 to ${SHARED_SEED_MAX}, got ${String(count)}`);
  }
  return { contacts: spec.contacts ?? 0, companies: spec.companies ?? 0 };
}

/** The people and companies of a spec, with both sides of each. */
export function generateSharedSeed(spec: SharedSeedSpec, seedValue: number): SharedSeed {
  const counts = validateSharedSeed(spec);
  const companies = makeCompanies(counts.companies, seedValue);
  const takenEmails = new Map<string, number>();
  const people: SharedPerson[] = new Array(counts.contacts);
  for (let index = 0; index < counts.contacts; index++) people[index] = makePerson(index, seedValue, companies, takenEmails);
  return { people, companies };
}

/** Where record `index` exists: position 1 of each period only in HubSpot, position 2 only in Dataverse. */
function sides(index: number, period: number): { hubspot: boolean; dynamics: boolean } {
  const position = index % period;
  return { hubspot: position !== 2, dynamics: position !== 1 };
}

const second = (ms: number): number => Math.floor(ms / 1000) * 1000;
const otherSide = (side: CrmSide): CrmSide => (side === 'hubspot' ? 'dynamics' : 'hubspot');
const pickSide = (rng: Rng): CrmSide => (rng.chance(0.5) ? 'hubspot' : 'dynamics');

/**
 * Both sides' times. A side holding a changed value (`changedOn`) was modified after the
 * other side, so a last-writer-wins sync takes its value.
 */
function sideTimes(rng: Rng, changedOn: CrmSide | undefined): Record<CrmSide, SharedTimes> {
  const first = second(SHARED_CREATED_FROM + rng.next() * (SHARED_CREATED_TO - SHARED_CREATED_FROM));
  const copied = second(first + HOUR_MS + rng.next() * COPY_LAG_MS);
  const origin = pickSide(rng);
  const created = origin === 'hubspot' ? { hubspot: first, dynamics: copied } : { hubspot: copied, dynamics: first };
  // About 30% of records were never touched after they were entered.
  const modified = (createdMs: number) => (rng.chance(0.3) ? createdMs : second(createdMs + rng.next() ** 2 * (SHARED_SETTLED_BY - createdMs)));
  const times = {
    hubspot: { createdMs: created.hubspot, modifiedMs: modified(created.hubspot) },
    dynamics: { createdMs: created.dynamics, modifiedMs: modified(created.dynamics) },
  };
  if (changedOn !== undefined) {
    const after = Math.max(times[otherSide(changedOn)].modifiedMs, times[changedOn].createdMs) + 1000;
    times[changedOn].modifiedMs = second(after + rng.next() * (SHARED_MODIFIED_TO - after));
  }
  return times;
}

/** Company names and domains by (first word, second word) pair, in an order of the seed value: the first pairs are used once before any twice. */
function namePairs(seedValue: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < COMPANY_FIRST.length; a++) for (let b = 0; b < COMPANY_SECOND.length; b++) pairs.push([a, b]);
  const rng = new Rng(mixSeed(seedValue, hashString('shared-seed:names')));
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [pairs[i], pairs[j]] = [pairs[j] as [number, number], pairs[i] as [number, number]];
  }
  return pairs;
}

const employeeCount = (rng: Rng): number => Math.max(1, Math.round(Math.exp(rng.next() * Math.log(20_000))));
const e164 = (number: string): string => number.replace(/[^\d+]/g, '');

function makeCompanies(count: number, seedValue: number): SharedCompany[] {
  const pairs = namePairs(seedValue);
  const salt = hashString('shared-seed:companies');
  const companies: SharedCompany[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const rng = new Rng(mixSeed(seedValue, salt, index));
    const [a, b] = pairs[index % pairs.length] as [number, number];
    // Past the last pair, names repeat with a number: "Blue River 2 Ltd", blueriver-2.com.
    const round = Math.floor(index / pairs.length);
    const base = `${COMPANY_FIRST[a]} ${COMPANY_SECOND[b]}${round > 0 ? ` ${round + 1}` : ''}`;
    const suffix = rng.pick(COMPANY_SUFFIX);
    const domain = `${`${COMPANY_FIRST[a]}${COMPANY_SECOND[b]}`.toLowerCase()}${round > 0 ? `-${round + 1}` : ''}.com`;
    companies[index] = makeCompany(rng, index, suffix ? `${base} ${suffix}` : base, domain, seedValue);
  }
  return companies;
}

function makeCompany(rng: Rng, index: number, name: string, domain: string, seedValue: number): SharedCompany {
  const location = rng.pick(LOCATIONS);
  const [city, country] = location;
  const telephone = phone(rng, location);
  const employees = employeeCount(rng);
  const revenue = employees * rng.between(40, 250) * 1000;
  const industry = rng.pick(INDUSTRIES);
  const hubspot: SharedHubSpotRecord['properties'] = {
    name,
    domain,
    website: `https://www.${domain}`,
    phone: telephone,
    city,
    country,
    numberofemployees: String(employees),
    annualrevenue: String(revenue),
    industry,
  };
  const dynamics: SharedDynamicsRow['values'] = {
    name,
    websiteurl: `https://www.${domain}`,
    telephone1: telephone,
    address1_city: city,
    address1_country: country,
    numberofemployees: employees,
    revenue,
  };
  const on = sides(index, COMPANY_PERIOD);
  const differences = on.hubspot && on.dynamics ? companyDifferences(rng, domain, { hubspot, dynamics }) : [];
  const times = sideTimes(rng, differences.find((difference) => difference.kind === 'changed')?.side);
  return {
    index,
    name,
    domain,
    differences,
    hubspot: on.hubspot ? { properties: hubspot, ...times.hubspot } : undefined,
    dynamics: on.dynamics ? { id: seededGuid(seedValue, 'shared-seed:accounts', index), values: dynamics, ...times.dynamics } : undefined,
  };
}

type Values = { hubspot: SharedHubSpotRecord['properties']; dynamics: SharedDynamicsRow['values'] };
/** A field as [HubSpot property, Dataverse column]. */
type Field = readonly [property: string, column: string];
const PHONE: Field = ['phone', 'telephone1'];
const CITY: Field = ['city', 'address1_city'];

/** Gives a field on one side another value. */
function setOn(side: CrmSide, values: Values, [property, column]: Field, hubspotValue: string | null, dynamicsValue: string | number | null = hubspotValue): void {
  if (side === 'hubspot') values.hubspot[property] = hubspotValue;
  else values.dynamics[column] = dynamicsValue;
}

/** Makes the differences of a company in both CRMs (in `values`) and lists them. */
function companyDifferences(rng: Rng, domain: string, values: Values): SharedDifference[] {
  const differences: SharedDifference[] = [];
  if (rng.chance(CHANGED_RATE)) {
    const side = pickSide(rng);
    const employees = values.dynamics.numberofemployees as number;
    const newer = Math.max(1, employees + (rng.chance(0.5) ? 1 : -1) * rng.between(1, Math.max(1, Math.round(employees / 5))));
    if (newer !== employees) {
      setOn(side, values, ['numberofemployees', 'numberofemployees'], String(newer), newer);
      differences.push({ field: 'numberofemployees', kind: 'changed', side });
    }
  }
  if (rng.chance(FORMAT_RATE)) {
    const side = pickSide(rng);
    setOn(side, values, PHONE, e164(values.hubspot.phone as string));
    differences.push({ field: 'phone', kind: 'format', side });
  }
  if (rng.chance(FORMAT_RATE)) {
    values.dynamics.websiteurl = `www.${domain}`;
    differences.push({ field: 'website', kind: 'format', side: 'dynamics' });
  }
  if (rng.chance(MISSING_RATE)) {
    const side = pickSide(rng);
    setOn(side, values, CITY, null);
    differences.push({ field: 'city', kind: 'missing', side });
  }
  return differences;
}

/**
 * `local@domain`, or with a number (`local.2@domain`) when that is taken. `taken` counts
 * the people given each `local@domain`; names hold no digits, so a numbered address is
 * never another person's first one.
 */
function uniqueEmail(local: string, domain: string, taken: Map<string, number>): string {
  const email = `${local}@${domain}`;
  const count = (taken.get(email) ?? 0) + 1;
  taken.set(email, count);
  return count === 1 ? email : `${local}.${count}@${domain}`;
}

const capitalised = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
/** 'ana.silva@blueriver.com' as someone typed it into Dynamics 365: 'Ana.Silva@Blueriver.com'. */
const typedEmail = (email: string): string => {
  const [local, domain] = email.split('@') as [string, string];
  return `${local.split('.').map(capitalised).join('.')}@${capitalised(domain)}`;
};

const BIRTH_FROM_DAY = Date.UTC(1960, 0, 1) / DAY_MS;
const BIRTH_DAYS = 45 * 365;

function makePerson(index: number, seedValue: number, companies: readonly SharedCompany[], takenEmails: Map<string, number>): SharedPerson {
  const rng = new Rng(mixSeed(seedValue, PEOPLE_SALT, index));
  const firstname = rng.pick(FIRST_NAMES);
  const lastname = rng.pick(LAST_NAMES);
  const company = companies.length > 0 ? rng.int(companies.length) : undefined;
  const employer = company === undefined ? undefined : companies[company];
  const domain = employer && rng.chance(0.85) ? employer.domain : rng.pick(PERSONAL_DOMAINS);
  const email = uniqueEmail(`${firstname}.${lastname}`.toLowerCase(), domain, takenEmails);
  const location: Location = rng.pick(LOCATIONS);
  const [city, country] = location;
  const telephone = phone(rng, location);
  const jobtitle = rng.pick(JOB_TITLES);
  const birthdate = rng.chance(0.15) ? null : toIsoDate((BIRTH_FROM_DAY + rng.int(BIRTH_DAYS)) * DAY_MS);
  const optedOut = rng.chance(0.08);
  const hubspot: SharedHubSpotRecord['properties'] = {
    email,
    firstname,
    lastname,
    phone: telephone,
    company: employer?.name ?? null,
    website: employer ? `https://www.${employer.domain}` : null,
    jobtitle,
    city,
    country,
    lifecyclestage: rng.pick(LIFECYCLE),
    date_of_birth: birthdate,
    hs_email_optout: String(optedOut),
  };
  const dynamics: SharedDynamicsRow['values'] = {
    emailaddress1: email,
    firstname,
    lastname,
    telephone1: telephone,
    jobtitle,
    address1_city: city,
    address1_country: country,
    birthdate,
    donotbulkemail: optedOut,
    _parentcustomerid_value: employer?.dynamics?.id ?? null,
  };
  const on = sides(index, PEOPLE_PERIOD);
  const differences = on.hubspot && on.dynamics ? personDifferences(rng, { hubspot, dynamics }) : [];
  const changedOn = differences.find((difference) => difference.kind === 'changed')?.side;
  const times = sideTimes(rng, changedOn);
  const rows: SharedDynamicsRow[] = [];
  if (on.dynamics) rows.push({ id: seededGuid(seedValue, 'shared-seed:contacts', index), values: dynamics, ...times.dynamics });
  if (index === 0 && on.dynamics) {
    // Entered again by hand some days later, with only the name and the email.
    const createdMs = second(times.dynamics.createdMs + DAY_MS + rng.next() * 20 * DAY_MS);
    rows.push({ id: seededGuid(seedValue, 'shared-seed:duplicate-contacts', index), values: { emailaddress1: email, firstname, lastname }, createdMs, modifiedMs: createdMs });
  }
  return { index, email, company, differences, hubspot: on.hubspot ? { properties: hubspot, ...times.hubspot } : undefined, dynamics: rows };
}

/** Makes the differences of a person in both CRMs (in `values`) and lists them. */
function personDifferences(rng: Rng, values: Values): SharedDifference[] {
  const differences: SharedDifference[] = [];
  if (rng.chance(CHANGED_RATE)) {
    const side = pickSide(rng);
    const current = JOB_TITLES.indexOf(values.hubspot.jobtitle as string);
    setOn(side, values, ['jobtitle', 'jobtitle'], JOB_TITLES[(current + 1 + rng.int(JOB_TITLES.length - 1)) % JOB_TITLES.length] as string);
    differences.push({ field: 'jobtitle', kind: 'changed', side });
  }
  if (rng.chance(MISSING_RATE)) {
    const side = pickSide(rng);
    setOn(side, values, PHONE, null);
    differences.push({ field: 'phone', kind: 'missing', side });
  } else if (rng.chance(FORMAT_RATE)) {
    const side = pickSide(rng);
    setOn(side, values, PHONE, e164(values.hubspot.phone as string));
    differences.push({ field: 'phone', kind: 'format', side });
  }
  if (rng.chance(FORMAT_RATE)) {
    values.dynamics.emailaddress1 = typedEmail(values.dynamics.emailaddress1 as string);
    differences.push({ field: 'email', kind: 'format', side: 'dynamics' });
  }
  return differences;
}
