import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { TwoWayMapping } from '../../src/config/two-way.js';
import { UsageError } from '../../src/errors.js';

const HUBSPOT_SIDE = `    object_type: companies
    modified_property: hs_lastmodifieddate
    properties: [hs_external_id]
    fields:
      name: { type: string }
      domain: { type: string }
      industry: { type: enumeration, values: [ACCOUNTING, COMPUTER_SOFTWARE, BANKING] }
      employees: { property: numberofemployees, type: integer }
      revenue: { property: annualrevenue, type: decimal }
      founded: { type: date }
      modified_at: { property: hs_lastmodifieddate, type: datetime, required: true }
`;
const DYNAMICS_SIDE = `    dynamics:
      entity_set: accounts
      primary_key: accountid
      fields:
        name: { type: string }
        industry: { property: industrycode, type: integer }
        employees: { property: numberofemployees, type: decimal }
        revenue: { type: decimal }
        founded: { property: new_founded, type: date }
        modified_at: { property: modifiedon, type: datetime, required: true }
`;
const TWO_WAY = `    two_way:
      match: { hubspot: name, dynamics: name }
      fields:
        industry: { values: { ACCOUNTING: 1, COMPUTER_SOFTWARE: 23, BANKING: 8 } }
`;
const companies = (text = `${HUBSPOT_SIDE}${DYNAMICS_SIDE}${TWO_WAY}`) => `version: 1\nobjects:\n  companies:\n${text}`;
const twoWayOf = (text: string): TwoWayMapping => parseConfig(text, 'mappings.yaml').objects.get('companies')!.twoWay!;

/** The one line a bad file is refused with. */
function refusal(text: string): string {
  try {
    parseConfig(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

describe('a two_way: block, resolved', () => {
  test('every field mapped on both sides takes part with the defaults; the CRM-set modification time does not', () => {
    const twoWay = twoWayOf(companies());
    expect(twoWay).toMatchObject({ path: 'objects.companies.two_way', create: 'none', onDelete: 'ignore' });
    expect(twoWay.fields.map((field) => [field.column, field.direction, field.merge, field.conflict])).toEqual([
      ['name', 'both', 'overwrite', 'most_recent'],
      ['industry', 'both', 'overwrite', 'most_recent'],
      ['employees', 'both', 'overwrite', 'most_recent'],
      ['revenue', 'both', 'overwrite', 'most_recent'],
      ['founded', 'both', 'overwrite', 'most_recent'],
    ]);
  });

  test('each field knows its property and type on both sides, and its path in the file', () => {
    const employees = twoWayOf(companies()).fields.find((field) => field.column === 'employees');
    expect(employees).toEqual({
      column: 'employees',
      path: 'objects.companies.two_way.fields.employees',
      hubspot: { property: 'numberofemployees', type: 'integer' },
      dynamics: { property: 'numberofemployees', type: 'decimal' },
      direction: 'both',
      merge: 'overwrite',
      conflict: 'most_recent',
    });
  });

  test('a value map reads both ways', () => {
    const industry = twoWayOf(companies()).fields.find((field) => field.column === 'industry')!;
    expect(industry.hubspot).toEqual({ property: 'industry', type: 'enumeration' });
    expect(industry.dynamics).toEqual({ property: 'industrycode', type: 'integer' });
    expect([...industry.values!.toDynamics]).toEqual([['ACCOUNTING', 1], ['COMPUTER_SOFTWARE', 23], ['BANKING', 8]]);
    expect([...industry.values!.toHubspot]).toEqual([[1, 'ACCOUNTING'], [23, 'COMPUTER_SOFTWARE'], [8, 'BANKING']]);
  });

  test('defaults: and fields: set the rules; direction none leaves a field out', () => {
    const text = companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}    two_way:
      match: { hubspot: name, dynamics: name }
      create: to_dynamics
      on_delete: propagate
      defaults: { direction: hubspot_to_dynamics, conflict: hubspot }
      fields:
        industry: { direction: none }
        founded: { direction: none }
        revenue: { direction: both, merge: fill_if_missing, conflict: manual }
`);
    const twoWay = twoWayOf(text);
    expect(twoWay).toMatchObject({ create: 'to_dynamics', onDelete: 'propagate' });
    expect(twoWay.fields.map((field) => [field.column, field.direction, field.merge, field.conflict])).toEqual([
      ['name', 'hubspot_to_dynamics', 'overwrite', 'hubspot'],
      ['employees', 'hubspot_to_dynamics', 'overwrite', 'hubspot'],
      ['revenue', 'both', 'fill_if_missing', 'manual'],
    ]);
  });

  test.each([
    ['two mapped fields: trimmed by default', 'name', 'name', { hubspot: { property: 'name', column: 'name', unique: false }, dynamics: { property: 'name', column: 'name', unique: false }, normalize: 'trim' }],
    ['a column stands for its property', 'employees', 'employees', { hubspot: { property: 'numberofemployees', column: 'employees', unique: false }, dynamics: { property: 'numberofemployees', column: 'employees', unique: false }, normalize: 'trim' }],
    ['an extra property, and the primary key', 'hs_external_id', 'accountid', { hubspot: { property: 'hs_external_id', unique: false }, dynamics: { property: 'accountid', unique: false }, normalize: 'trim' }],
    ['a property that a column of another name holds', 'annualrevenue', 'revenue', { hubspot: { property: 'annualrevenue', column: 'revenue', unique: false }, dynamics: { property: 'revenue', column: 'revenue', unique: false }, normalize: 'trim' }],
  ])('match: %s', (_, hubspot, dynamics, expected) => {
    const text = companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}    two_way:\n      match: { hubspot: ${hubspot}, dynamics: ${dynamics} }\n      fields: { industry: { direction: none } }\n`);
    expect(twoWayOf(text).match).toEqual(expected);
  });

  test('email keys are matched in lower case unless the file says otherwise', () => {
    const text = `version: 1
objects:
  contacts:
    object_type: contacts
    modified_property: lastmodifieddate
    fields: { email: { type: email } }
    dynamics: { entity_set: contacts, primary_key: contactid, fields: { email: { property: emailaddress1, type: email } } }
    two_way: { match: { hubspot: email, dynamics: email } }
`;
    expect(parseConfig(text, 'm.yaml').objects.get('contacts')!.twoWay!.match).toEqual({
      // HubSpot holds one contact per email and creates by it (a batch upsert's idProperty).
      hubspot: { property: 'email', column: 'email', unique: true },
      dynamics: { property: 'emailaddress1', column: 'email', unique: false },
      normalize: 'lowercase',
    });
    expect(parseConfig(text.replace('dynamics: email }', 'dynamics: email, normalize: none }'), 'm.yaml').objects.get('contacts')!.twoWay!.match.normalize).toBe('none');
  });

  test('an object without two_way: has none', () => {
    expect(parseConfig(companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}`), 'm.yaml').objects.get('companies')!.twoWay).toBeUndefined();
  });
});

describe('the shipped mappings.yaml pairs contacts and companies', () => {
  const config = loadConfig('mappings.yaml');
  const rules = (name: string) => config.objects.get(name)!.twoWay!.fields.map((field) => `${field.column}: ${field.direction}`);

  test('contacts: by email, twins created both ways, the opt-out only from HubSpot, creation and modification times left out', () => {
    expect(config.objects.get('contacts')!.twoWay).toMatchObject({
      create: 'both',
      onDelete: 'ignore',
      match: { hubspot: { property: 'email' }, dynamics: { property: 'emailaddress1' }, normalize: 'lowercase' },
    });
    expect(rules('contacts')).toEqual([
      'email: both', 'firstname: both', 'lastname: both', 'phone: both', 'jobtitle: both', 'city: both', 'country: both', 'date_of_birth: both',
      'email_optout: hubspot_to_dynamics',
    ]);
  });

  test('companies: by name, in lower case, twins created both ways', () => {
    expect(config.objects.get('companies')!.twoWay).toMatchObject({
      create: 'both',
      match: { hubspot: { property: 'name' }, dynamics: { property: 'name' }, normalize: 'lowercase' },
    });
    expect(rules('companies')).toEqual(['name: both', 'numberofemployees: both', 'annualrevenue: both', 'city: both', 'country: both', 'phone: both', 'website: both']);
  });

  test('objects in one CRM only have no two-way mapping', () => {
    expect(['deals', 'tickets', 'appointments', 'divisions'].filter((name) => config.objects.get(name)!.twoWay)).toEqual([]);
  });
});

describe('a value map needs a counterpart only for the options the field writes across', () => {
  const withIndustry = (rule: string) => companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}    two_way:\n      match: { hubspot: name, dynamics: name }\n      fields:\n        industry: ${rule}\n`);

  test('written only into HubSpot: HubSpot options without a Dataverse value are fine', () => {
    const twoWay = twoWayOf(withIndustry('{ direction: dynamics_to_hubspot, values: { ACCOUNTING: 1 } }'));
    expect(twoWay.fields.find((field) => field.column === 'industry')?.direction).toBe('dynamics_to_hubspot');
  });

  test('left out with direction none: nothing is checked against the options', () => {
    expect(twoWayOf(withIndustry('{ direction: none, values: { ACCOUNTING: 1 } }')).fields.map((field) => field.column)).not.toContain('industry');
  });

  test('written only into Dynamics 365: Dataverse values without a HubSpot option are fine', () => {
    const text = companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE.replace('industrycode, type: integer', "industrycode, type: enumeration, values: ['1', '8', '23', '40']")}    two_way:
      match: { hubspot: name, dynamics: name }
      fields:
        industry: { direction: hubspot_to_dynamics, values: { ACCOUNTING: 1, COMPUTER_SOFTWARE: 23, BANKING: 8 } }
`);
    expect(twoWayOf(text).fields.find((field) => field.column === 'industry')?.direction).toBe('hubspot_to_dynamics');
  });
});

describe('a bad two_way: block is one line naming the path and the problem', () => {
  const withFields = (fields: string) => companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}    two_way:\n      match: { hubspot: name, dynamics: name }\n      fields:\n${fields}`);
  const INDUSTRY = '        industry: { values: { ACCOUNTING: 1, COMPUTER_SOFTWARE: 23, BANKING: 8 } }\n';
  test.each([
    [
      'on an object in HubSpot only',
      companies(`${HUBSPOT_SIDE}${TWO_WAY}`),
      'bad.yaml: objects.companies.two_way: pairs HubSpot records with Dynamics 365 rows, so the object needs both: object_type with its fields, and a dynamics: block',
    ],
    [
      'on an object in Dynamics 365 only',
      companies(`${DYNAMICS_SIDE}${TWO_WAY}`),
      'bad.yaml: objects.companies.two_way: pairs HubSpot records with Dynamics 365 rows, so the object needs both: object_type with its fields, and a dynamics: block',
    ],
    [
      'a field mapped on one side only',
      withFields(`${INDUSTRY}        domain: { direction: none }\n`),
      'bad.yaml: objects.companies.two_way.fields.domain: "domain" is mapped only on the HubSpot side; a two-way field needs a column of that name under both fields: and dynamics.fields:',
    ],
    [
      'a field mapped on neither side',
      withFields(`${INDUSTRY}        colour: { merge: fill_if_missing }\n`),
      'bad.yaml: objects.companies.two_way.fields.colour: "colour" is mapped on neither side; a two-way field needs a column of that name under both fields: and dynamics.fields:',
    ],
    [
      'values: on a field that is not an enumeration in HubSpot',
      withFields(`${INDUSTRY}        name: { values: { Acme: 1 } }\n`),
      'bad.yaml: objects.companies.two_way.fields.name.values: maps HubSpot options to Dataverse values, but "name" has type string on the HubSpot side; values: needs type enumeration there',
    ],
    [
      'one Dataverse value for two options',
      withFields('        industry: { values: { ACCOUNTING: 1, COMPUTER_SOFTWARE: 23, BANKING: 1 } }\n'),
      'bad.yaml: objects.companies.two_way.fields.industry.values: Dataverse value 1 is given to both ACCOUNTING and BANKING; each value can stand for one HubSpot option only',
    ],
    [
      'an option the HubSpot field does not have',
      withFields('        industry: { values: { ACCOUNTING: 1, COMPUTER_SOFTWARE: 23, BANKING: 8, FARMING: 2 } }\n'),
      'bad.yaml: objects.companies.two_way.fields.industry.values: "FARMING" is not one of the values of fields.industry (ACCOUNTING, COMPUTER_SOFTWARE, BANKING)',
    ],
    [
      'an option of the HubSpot field that the map leaves out',
      withFields('        industry: { values: { ACCOUNTING: 1 } }\n'),
      'bad.yaml: objects.companies.two_way.fields.industry.values: fields.industry lists COMPUTER_SOFTWARE, BANKING, which values: does not map; give each a Dataverse value, or set direction: dynamics_to_hubspot or none',
    ],
    [
      'a Dataverse value of the Dynamics 365 field that the map leaves out',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE.replace('industrycode, type: integer', "industrycode, type: enumeration, values: ['1', '8', '23', '40']")}${TWO_WAY}`),
      'bad.yaml: objects.companies.two_way.fields.industry.values: dynamics.fields.industry lists 40, which values: does not map; give it a HubSpot option, or set direction: hubspot_to_dynamics or none',
    ],
    [
      'a Dataverse value the Dynamics 365 field does not list',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE.replace('industrycode, type: integer', "industrycode, type: enumeration, values: ['1', '23']")}${TWO_WAY}`),
      'bad.yaml: objects.companies.two_way.fields.industry.values: Dataverse value 8 is not one of the values of dynamics.fields.industry (1, 23)',
    ],
    [
      'a value map onto a Dynamics 365 text column',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE.replace('industrycode, type: integer', 'industrycode, type: string')}${TWO_WAY}`),
      'bad.yaml: objects.companies.two_way.fields.industry.values: Dataverse option values are whole numbers, but "industry" has type string on the Dynamics 365 side; map it with type integer there',
    ],
    [
      'an empty value map',
      withFields('        industry: { values: {} }\n'),
      'bad.yaml: objects.companies.two_way.fields.industry.values: must map at least one option',
    ],
    [
      'an enumeration paired with a Dataverse choice without a value map',
      withFields('        founded: { merge: fill_if_missing }\n'),
      'bad.yaml: objects.companies.two_way.fields.industry: "industry" has type enumeration on the HubSpot side and type integer on the Dynamics 365 side; give it values: (HubSpot option: Dataverse value)',
    ],
    [
      'types that cannot be compared',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE.replace('new_founded, type: date', 'new_founded, type: datetime')}${TWO_WAY}`),
      'bad.yaml: objects.companies.two_way.fields.founded: "founded" has type date on the HubSpot side and type datetime on the Dynamics 365 side, which cannot be compared; map one type on both sides, or give it direction: none',
    ],
    [
      'the modification time, which the CRM sets',
      withFields(`${INDUSTRY}        modified_at: { conflict: hubspot }\n`),
      'bad.yaml: objects.companies.two_way.fields.modified_at: "modified_at" holds hs_lastmodifieddate, the modification time on the HubSpot side, which the CRM sets itself; remove it from two_way.fields',
    ],
    [
      'a match property the HubSpot mapping does not read',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}${TWO_WAY.replace('hubspot: name', 'hubspot: nmae')}`),
      'bad.yaml: objects.companies.two_way.match.hubspot: "nmae" is neither a property nor a column of the HubSpot mapping; name a mapped field, a property under properties:, or primary_key',
    ],
    [
      'a match property the Dynamics 365 mapping does not read',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}${TWO_WAY.replace('dynamics: name', 'dynamics: domain')}`),
      'bad.yaml: objects.companies.two_way.match.dynamics: "domain" is neither a property nor a column of the Dynamics 365 mapping; name a mapped field, a property under dynamics.properties:, or dynamics.primary_key',
    ],
    [
      'no match',
      companies(`${HUBSPOT_SIDE}${DYNAMICS_SIDE}${TWO_WAY.replace('      match: { hubspot: name, dynamics: name }\n', '')}`),
      'bad.yaml: objects.companies.two_way.match: Invalid input: expected object, received undefined',
    ],
    [
      'an unknown direction',
      withFields(`${INDUSTRY}        name: { direction: sideways }\n`),
      'bad.yaml: objects.companies.two_way.fields.name.direction: Invalid option: expected one of "both"|"hubspot_to_dynamics"|"dynamics_to_hubspot"|"none"',
    ],
    [
      'an unknown key',
      withFields(`${INDUSTRY}        name: { winner: hubspot }\n`),
      'bad.yaml: objects.companies.two_way.fields.name: Unrecognized key: "winner"',
    ],
    [
      'several problems: the first, and how many more',
      withFields('        industry: { values: { ACCOUNTING: 1, BANKING: 1 } }\n        domain: {}\n'),
      'bad.yaml: objects.companies.two_way.fields.industry.values: Dataverse value 1 is given to both ACCOUNTING and BANKING; each value can stand for one HubSpot option only (and 2 more problems)',
    ],
  ])('%s', (_, text, message) => {
    expect(refusal(text)).toBe(message);
  });
});
