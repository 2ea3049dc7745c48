/**
 * The shared seed: the same people and companies in a HubSpot and a Dynamics 365
 * emulator, matched by email and by name and domain, with the documented differences and
 * edge cases, beside each emulator's own seeded records.
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  SEED_CREATED_TO,
  SEED_FIRST_ID,
  SHARED_CREATED_FROM,
  SHARED_MODIFIED_TO,
  SHARED_SEED_MAX,
  generateSharedSeed,
  type EmulatedRecord,
  type HubSpotEmulator,
  type SharedDifference,
  type SharedPerson,
  type SharedSeed,
} from '../src/hubspot/index.js';
import { CONTACTS, SEED_TO, type DynamicsEmulator, type DynamicsRow } from '../src/dynamics/index.js';
import { call, closeAll as closeDynamics, dynamics } from './dynamics-helpers.js';
import { closeAll as closeHubSpot, emulator, raw } from './helpers.js';

afterEach(async () => {
  await Promise.all([closeHubSpot(), closeDynamics()]);
});

const SPEC = { contacts: 300, companies: 100 };
const OWN_SEED = { contacts: 30, companies: 10 };

interface Pair {
  hubspot: HubSpotEmulator;
  dynamics: DynamicsEmulator;
  seed: SharedSeed;
}

/** Both emulators with their own seeded records and the shared ones. */
async function pair(seedValue = 42): Promise<Pair> {
  return {
    hubspot: await emulator({ seed: OWN_SEED, sharedSeed: SPEC, seedValue }),
    dynamics: await dynamics({ seed: { contacts: OWN_SEED.contacts, accounts: OWN_SEED.companies }, sharedSeed: SPEC, seedValue }),
    seed: generateSharedSeed(SPEC, seedValue),
  };
}

/** The Dataverse rows whose column holds `value`, in any letter case. */
const rowsWith = (rows: DynamicsRow[], column: string, value: string) => rows.filter((row) => String(row[column] ?? '').toLowerCase() === value.toLowerCase());

/** Each field of a mapping as [HubSpot property, Dataverse column] (mappings.yaml). */
const PEOPLE_FIELDS: Record<string, [string, string]> = {
  email: ['email', 'emailaddress1'],
  firstname: ['firstname', 'firstname'],
  lastname: ['lastname', 'lastname'],
  phone: ['phone', 'telephone1'],
  jobtitle: ['jobtitle', 'jobtitle'],
  city: ['city', 'address1_city'],
  country: ['country', 'address1_country'],
  date_of_birth: ['date_of_birth', 'birthdate'],
  email_optout: ['hs_email_optout', 'donotbulkemail'],
};
const COMPANY_FIELDS: Record<string, [string, string]> = {
  name: ['name', 'name'],
  website: ['website', 'websiteurl'],
  phone: ['phone', 'telephone1'],
  city: ['city', 'address1_city'],
  country: ['country', 'address1_country'],
  numberofemployees: ['numberofemployees', 'numberofemployees'],
  annualrevenue: ['annualrevenue', 'revenue'],
};

/** The same value written differently: emails in any case, phone numbers in any format, websites with or without a scheme. */
const canonical = (field: string, value: string): string => {
  if (field === 'email') return value.toLowerCase();
  if (field === 'phone') return value.replace(/[^\d+]/g, '');
  if (field === 'website') return value.replace(/^https?:\/\//, '');
  return value;
};

/**
 * Compares a record's two sides field by field: equal where no difference is listed, and
 * different as listed otherwise. Returns the problems found.
 */
function compareSides(fields: Record<string, [string, string]>, differences: SharedDifference[], hubspot: EmulatedRecord, row: DynamicsRow): string[] {
  const problems: string[] = [];
  const modified = { hubspot: Date.parse(hubspot.updatedAt), dynamics: Date.parse(String(row.modifiedon)) };
  for (const [field, [property, column]] of Object.entries(fields)) {
    const left = hubspot.properties[property] ?? null;
    const right = row[column] === null || row[column] === undefined ? null : String(row[column]);
    const difference = differences.find((item) => item.field === field);
    const values = { hubspot: left, dynamics: right };
    const say = (what: string) => problems.push(`${field} (${left} / ${right}): ${what}`);
    if (!difference) {
      if (left !== right) say('differs with no difference listed');
    } else if (difference.kind === 'missing') {
      if (values[difference.side] !== null || values[difference.side === 'hubspot' ? 'dynamics' : 'hubspot'] === null) say(`not missing on ${difference.side} only`);
    } else if (left === null || right === null || left === right) {
      say(`not a ${difference.kind} difference`);
    } else if (difference.kind === 'format' && canonical(field, left) !== canonical(field, right)) {
      say('not the same value');
    } else if (difference.kind === 'changed' && modified[difference.side] <= modified[difference.side === 'hubspot' ? 'dynamics' : 'hubspot']) {
      say(`${difference.side} holds the newer value but was not modified last`);
    }
  }
  return problems;
}

describe('the same people and companies in both emulators', () => {
  test('people match by email, companies by name and domain; the documented ones are on one side only, or twice in Dataverse', async () => {
    const { hubspot, dynamics: dataverse, seed } = await pair();
    const contacts = dataverse.store.all('contacts');
    const accounts = dataverse.store.all('accounts');
    const hubspotCompanies = hubspot.store.all('companies');
    const presence = (inHubSpot: boolean, inDataverse: number) => `${inHubSpot ? 'hubspot' : ''}+${inDataverse}`;
    const people = seed.people.map((person) => presence(hubspot.store.findBy('contacts', 'email', person.email) !== undefined, rowsWith(contacts, 'emailaddress1', person.email).length));
    const indexesOf = (list: string[], value: string) => list.flatMap((item, index) => (item === value ? [index] : []));
    expect(indexesOf(people, 'hubspot+0')).toEqual([1, 51, 101, 151, 201, 251]);
    expect(indexesOf(people, '+1')).toEqual([2, 52, 102, 152, 202, 252]);
    expect(indexesOf(people, 'hubspot+2')).toEqual([0]);
    expect(indexesOf(people, 'hubspot+1')).toHaveLength(300 - 13);

    const companies = seed.companies.map((company) =>
      presence(
        hubspotCompanies.some((record) => record.properties.domain === company.domain && record.properties.name === company.name),
        rowsWith(accounts, 'name', company.name).filter((row) => String(row.websiteurl).endsWith(`www.${company.domain}`)).length,
      ),
    );
    expect(indexesOf(companies, 'hubspot+0')).toEqual([1, 21, 41, 61, 81]);
    expect(indexesOf(companies, '+1')).toEqual([2, 22, 42, 62, 82]);
    expect(indexesOf(companies, 'hubspot+1')).toHaveLength(100 - 10);

    // The second Dataverse contact of person 0 holds only the name and the email.
    const [first, second] = rowsWith(contacts, 'emailaddress1', seed.people[0]!.email).sort((a, b) => String(a.createdon).localeCompare(String(b.createdon)));
    expect(second).toMatchObject({ firstname: first!.firstname, lastname: first!.lastname, jobtitle: null, telephone1: null, birthdate: null });
    expect(Date.parse(String(second!.createdon))).toBeGreaterThan(Date.parse(String(first!.createdon)));
  });

  test('fields are equal on both sides except the listed differences, and every kind of difference occurs', async () => {
    const { hubspot, dynamics: dataverse, seed } = await pair();
    const contacts = dataverse.store.all('contacts');
    const accounts = dataverse.store.all('accounts');
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const person of seed.people.filter((item) => item.hubspot && item.dynamics.length > 0)) {
      const row = contacts.find((item) => item.contactid === person.dynamics[0]!.id) as DynamicsRow;
      const record = hubspot.store.findBy('contacts', 'email', person.email) as EmulatedRecord;
      problems.push(...compareSides(PEOPLE_FIELDS, person.differences, record, row).map((problem) => `person ${person.index}: ${problem}`));
      for (const difference of person.differences) seen.add(`person ${difference.field} ${difference.kind} ${difference.side}`);
    }
    for (const company of seed.companies.filter((item) => item.hubspot && item.dynamics)) {
      const row = accounts.find((item) => item.accountid === company.dynamics!.id) as DynamicsRow;
      const record = hubspot.store.all('companies').find((item) => item.properties.domain === company.domain) as EmulatedRecord;
      problems.push(...compareSides(COMPANY_FIELDS, company.differences, record, row).map((problem) => `company ${company.index}: ${problem}`));
      for (const difference of company.differences) seen.add(`company ${difference.field} ${difference.kind} ${difference.side}`);
    }
    expect(problems).toEqual([]);
    expect([...seen].sort()).toEqual([
      'company city missing dynamics',
      'company city missing hubspot',
      'company numberofemployees changed dynamics',
      'company numberofemployees changed hubspot',
      'company phone format dynamics',
      'company phone format hubspot',
      'company website format dynamics',
      'person email format dynamics',
      'person jobtitle changed dynamics',
      'person jobtitle changed hubspot',
      'person phone format dynamics',
      'person phone format hubspot',
      'person phone missing dynamics',
      'person phone missing hubspot',
    ]);
  });

  test('a contact is associated with its company in HubSpot and points at its account in Dataverse', async () => {
    const { hubspot, dynamics: dataverse, seed } = await pair();
    const companyIds = new Map(hubspot.store.all('companies').map((record) => [record.properties.domain, record.id]));
    let associated = 0;
    for (const person of seed.people) {
      const company = person.company === undefined ? undefined : seed.companies[person.company];
      const record = hubspot.store.findBy('contacts', 'email', person.email);
      if (record && company) {
        const expected = company.hubspot ? [companyIds.get(company.domain)] : [];
        expect(hubspot.store.associations('contacts', record.id, 'companies').map((link) => link.toId)).toEqual(expected);
        expect(record.properties.company).toBe(company.name);
        associated += expected.length;
      }
      const row = person.dynamics[0] && dataverse.store.get('contacts', person.dynamics[0].id);
      if (row) expect(row._parentcustomerid_value).toBe(company?.dynamics?.id ?? null);
    }
    expect(associated).toBeGreaterThan(200);
  });

  test('reads through both APIs: a contact by email from HubSpot, the ambiguous email twice from Dataverse', async () => {
    const { hubspot, dynamics: dataverse, seed } = await pair();
    const person = seed.people[0] as SharedPerson;
    const contact = await raw(hubspot, 'GET', `/crm/v3/objects/contacts/${encodeURIComponent(person.email)}?idProperty=email&properties=email,jobtitle`);
    expect(contact.status).toBe(200);
    expect(contact.body.properties).toMatchObject({ email: person.email, jobtitle: person.hubspot!.properties.jobtitle });
    const rows = await call(dataverse, 'GET', `contacts?$select=emailaddress1,jobtitle&$filter=emailaddress1 eq '${person.email}'`);
    expect(rows.status).toBe(200);
    expect((rows.body as { value: DynamicsRow[] }).value.map((row) => row.contactid).sort()).toEqual(person.dynamics.map((row) => row.id).sort());
  });
});

describe('ids, times and authors', () => {
  test('HubSpot ids stay unique beside the seeded records and follow creation order; times lie after the seeded records and before now', async () => {
    const { hubspot, seed } = await pair();
    for (const type of ['contacts', 'companies'] as const) {
      const records = hubspot.store.all(type);
      const shared = type === 'contacts' ? seed.people.filter((person) => person.hubspot) : seed.companies.filter((company) => company.hubspot);
      expect(records).toHaveLength(OWN_SEED[type] + shared.length);
      expect(new Set(records.map((record) => record.id)).size).toBe(records.length);
      const byId = [...records].sort((a, b) => Number(a.id) - Number(b.id));
      expect(byId.slice(0, OWN_SEED[type]).map((record) => Number(record.id))).toEqual(Array.from({ length: OWN_SEED[type] }, (_, i) => SEED_FIRST_ID + i));
      const created = byId.map((record) => Date.parse(record.createdAt));
      expect(created).toEqual([...created].sort((a, b) => a - b));
      for (const record of byId.slice(OWN_SEED[type])) {
        expect(Date.parse(record.createdAt)).toBeGreaterThanOrEqual(SHARED_CREATED_FROM);
        expect(Date.parse(record.updatedAt)).toBeGreaterThanOrEqual(Date.parse(record.createdAt));
        expect(Date.parse(record.updatedAt)).toBeLessThanOrEqual(SHARED_MODIFIED_TO);
      }
    }
    expect(SHARED_CREATED_FROM).toBeGreaterThan(SEED_CREATED_TO);
    expect(SHARED_MODIFIED_TO).toBeLessThan(Date.now());
  });

  test('Dataverse rows follow modification order in their versions, were made by people of the organisation, not the application user', async () => {
    const { dynamics: dataverse, seed } = await pair();
    const sharedIds = new Set([...seed.people.flatMap((person) => person.dynamics.map((row) => row.id)), ...seed.companies.flatMap((company) => (company.dynamics ? [company.dynamics.id] : []))]);
    const rows = [...dataverse.store.all('contacts'), ...dataverse.store.all('accounts')];
    expect(rows).toHaveLength(OWN_SEED.contacts + OWN_SEED.companies + sharedIds.size);
    expect(new Set(rows.map((row) => row.contactid ?? row.accountid)).size).toBe(rows.length);
    const byVersion = [...rows].sort((a, b) => Number(a.versionnumber) - Number(b.versionnumber));
    const modified = byVersion.map((row) => Date.parse(String(row.modifiedon)));
    expect(modified).toEqual([...modified].sort((a, b) => a - b));
    const shared = rows.filter((row) => sharedIds.has(String(row.contactid ?? row.accountid)));
    expect(shared).toHaveLength(sharedIds.size);
    for (const row of shared) {
      expect(Date.parse(String(row.modifiedon))).toBeGreaterThan(SEED_TO);
      expect(Date.parse(String(row.createdon))).toBeLessThanOrEqual(Date.parse(String(row.modifiedon)));
      expect([row._createdby_value, row._modifiedby_value, row._ownerid_value]).not.toContain(dataverse.store.organisation.userId);
      expect(row.statecode).toBe(0);
    }
    expect(new Set(shared.map((row) => row._createdby_value)).size).toBeGreaterThan(3);
  });
});

describe('the generator', () => {
  test('is deterministic for a seed value, and another seed value gives other people', () => {
    const a = generateSharedSeed({ contacts: 500, companies: 60 }, 42);
    expect(generateSharedSeed({ contacts: 500, companies: 60 }, 42)).toEqual(a);
    const b = generateSharedSeed({ contacts: 500, companies: 60 }, 7);
    expect(b.people.map((person) => person.email)).not.toEqual(a.people.map((person) => person.email));
    // Companies do not depend on how many people there are.
    expect(generateSharedSeed({ contacts: 3, companies: 60 }, 42).companies).toEqual(generateSharedSeed({ companies: 60 }, 42).companies);
  });

  test('makes each kind of difference at its documented rate, unique emails, names and domains', () => {
    const { people, companies } = generateSharedSeed({ contacts: 10_000, companies: 2_000 }, 42);
    const share = (list: { differences: SharedDifference[]; hubspot?: unknown; dynamics?: unknown }[], field: string, kind: string) => {
      const both = list.filter((item) => item.hubspot && (Array.isArray(item.dynamics) ? item.dynamics.length > 0 : item.dynamics));
      return both.filter((item) => item.differences.some((difference) => difference.field === field && difference.kind === kind)).length / both.length;
    };
    expect(share(people, 'jobtitle', 'changed')).toBeCloseTo(0.1, 1);
    expect(share(people, 'email', 'format')).toBeCloseTo(0.1, 1);
    expect(share(people, 'phone', 'missing')).toBeCloseTo(0.05, 1);
    expect(share(people, 'phone', 'format')).toBeCloseTo(0.095, 1);
    expect(share(companies, 'numberofemployees', 'changed')).toBeCloseTo(0.1, 1);
    expect(share(companies, 'website', 'format')).toBeCloseTo(0.1, 1);
    expect(share(companies, 'city', 'missing')).toBeCloseTo(0.05, 1);
    expect(new Set(people.map((person) => person.email)).size).toBe(people.length);
    expect(people.filter((person) => person.dynamics.length === 2).map((person) => person.index)).toEqual([0]);
    // 2,000 companies use up the 576 name pairs: later ones are numbered.
    expect(new Set(companies.map((company) => company.name.replace(/ (Inc\.|LLC|Ltd|GmbH|Group|Co\.|SA|BV|Corp\.)$/, ''))).size).toBe(companies.length);
    expect(new Set(companies.map((company) => company.domain)).size).toBe(companies.length);
    expect(companies[1_999]!.domain).toMatch(/^[a-z]+-4\.com$/);
  });
});

describe('bad shared seeds', () => {
  test.each([
    [{ deals: 5 }, '"deals" cannot be shared: a shared seed has contacts and companies, e.g. contacts=500,companies=50'],
    [{ contacts: -1 }, 'contacts must be a whole number from 0 to 200000, got -1'],
    [{ companies: 2.5 }, 'companies must be a whole number from 0 to 200000, got 2.5'],
    [{ contacts: SHARED_SEED_MAX + 1 }, `contacts must be a whole number from 0 to ${SHARED_SEED_MAX}, got ${SHARED_SEED_MAX + 1}`],
  ])('%j is refused: %s', async (spec, message) => {
    expect(() => generateSharedSeed(spec as never, 42)).toThrow(message);
    await expect(emulator({ sharedSeed: spec as never })).rejects.toThrow(message);
    await expect(dynamics({ sharedSeed: spec as never })).rejects.toThrow(message);
  });

  test('the clock must be after the shared records, the contacts table must have emailaddress1; other columns it lacks are left out', async () => {
    const early = () => Date.UTC(2025, 11, 1);
    const clock = "sharedSeed: the emulator's clock (2025-12-01T00:00:00.000Z) must be after the shared records' last modification (2025-12-31T23:59:59.000Z)";
    await expect(emulator({ sharedSeed: { contacts: 1 }, now: early })).rejects.toThrow(clock);
    await expect(dynamics({ sharedSeed: { contacts: 1 }, now: early })).rejects.toThrow(clock);

    const { emailaddress1: _email, ...withoutEmail } = CONTACTS.attributes;
    await expect(dynamics({ entitySets: [{ ...CONTACTS, attributes: withoutEmail }], sharedSeed: { contacts: 3 } })).rejects.toThrow(
      'the contacts table has no emailaddress1 column to match the shared people by',
    );
    // Without people, the contacts table needs no such column.
    await dynamics({ entitySets: [{ ...CONTACTS, attributes: withoutEmail }], sharedSeed: { companies: 3 } });

    const { jobtitle: _jobtitle, ...withoutJobTitle } = CONTACTS.attributes;
    const emu = await dynamics({ entitySets: [{ ...CONTACTS, attributes: withoutJobTitle }], sharedSeed: { contacts: 5 } });
    expect(emu.store.count('contacts')).toBe(5);
    expect(emu.store.all('contacts').every((row) => !('jobtitle' in row) && typeof row.emailaddress1 === 'string')).toBe(true);
  });
});
