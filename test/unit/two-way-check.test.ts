import { describe, expect, test } from 'vitest';
import type { ObjectDescription, PropertyDescription } from '../../src/clients/crm.js';
import { parseConfig } from '../../src/config/load.js';
import { twoWayProblems, withTwoWayCheck, writesInto } from '../../src/config/two-way-check.js';

const config = (rules: string) =>
  parseConfig(
    `version: 1
objects:
  companies:
    object_type: companies
    modified_property: hs_lastmodifieddate
    fields:
      name: { type: string }
      contacts: { property: num_associated_contacts, type: integer }
      industry: { type: enumeration }
      modified_at: { property: hs_lastmodifieddate, type: datetime }
    dynamics:
      entity_set: accounts
      primary_key: accountid
      fields:
        name: { type: string }
        contacts: { property: new_contactcount, type: integer }
        industry: { property: industrycode, type: integer }
        modified_at: { property: modifiedon, type: datetime }
    two_way:
      match: { hubspot: name, dynamics: name }
      fields:
${rules}
  deals:
    object_type: deals
    modified_property: hs_lastmodifieddate
    fields: { dealname: { type: string } }
`,
    'mappings.yaml',
  );
const twoWayOf = (rules: string) => config(rules).objects.get('companies')!.twoWay!;

const property = (name: string, facts: Partial<PropertyDescription> = {}): PropertyDescription => ({ name, type: 'string', fieldType: 'string', readOnly: false, unique: false, hidden: false, ...facts });
const described = (...properties: PropertyDescription[]): ObjectDescription => ({ remoteName: 'x', primaryKey: 'id', changeTracking: false, properties, listing: [], definition: null });

const HUBSPOT = described(
  property('name'),
  property('num_associated_contacts', { readOnly: true }),
  property('industry', { values: ['ACCOUNTING', 'BANKING', 'RETAIL'] }),
);
const DYNAMICS = described(property('name'), property('new_contactcount', { readOnly: true }), property('industrycode', { values: ['1', '2', '3'] }));
const INDUSTRY = '        industry: { values: { ACCOUNTING: 1, BANKING: 2 } }\n';

describe('a two-way field against what the CRM describes', () => {
  test.each([
    ['both', true, true],
    ['hubspot_to_dynamics', false, true],
    ['dynamics_to_hubspot', true, false],
    ['none', false, false],
  ] as const)('direction %s writes into HubSpot: %s, into Dynamics 365: %s', (direction, hubspot, dynamics) => {
    expect([writesInto(direction, 'hubspot'), writesInto(direction, 'dynamics')]).toEqual([hubspot, dynamics]);
  });

  test('written into a HubSpot property HubSpot calculates: one line naming the field, the property and what to do', () => {
    expect(twoWayProblems(twoWayOf(`${INDUSTRY}        contacts: { direction: dynamics_to_hubspot }\n`), 'hubspot', HUBSPOT)).toEqual([
      'objects.companies.two_way.fields.contacts: direction dynamics_to_hubspot writes HubSpot\'s property "num_associated_contacts", which HubSpot sets itself (read-only); set direction: hubspot_to_dynamics or none',
    ]);
  });

  test('written into a Dataverse column not valid for update', () => {
    expect(twoWayProblems(twoWayOf(`${INDUSTRY}        contacts: { direction: both }\n`), 'dynamics', DYNAMICS)).toEqual([
      'objects.companies.two_way.fields.contacts: direction both writes Dynamics 365\'s column "new_contactcount", which Dynamics 365 sets itself (not valid for update); set direction: dynamics_to_hubspot or none',
    ]);
  });

  test('a read-only property only read from is fine, and a field left out is not checked', () => {
    expect(twoWayProblems(twoWayOf(`${INDUSTRY}        contacts: { direction: hubspot_to_dynamics }\n`), 'hubspot', HUBSPOT)).toEqual([]);
    expect(twoWayProblems(twoWayOf(`${INDUSTRY}        contacts: { direction: none }\n`), 'dynamics', DYNAMICS)).toEqual([]);
  });

  test('a value map naming a HubSpot option or a Dataverse value the CRM does not list', () => {
    const twoWay = twoWayOf('        contacts: { direction: none }\n        industry: { values: { ACCOUNTING: 1, FARMING: 2, RETAIL: 9 } }\n');
    expect(twoWayProblems(twoWay, 'hubspot', HUBSPOT)).toEqual([
      'objects.companies.two_way.fields.industry.values: "FARMING" is not an option of HubSpot\'s property "industry" (it has ACCOUNTING, BANKING, RETAIL)',
    ]);
    expect(twoWayProblems(twoWay, 'dynamics', DYNAMICS)).toEqual([
      'objects.companies.two_way.fields.industry.values: 9 is not an option value of Dynamics 365\'s choice column "industrycode" (it has 1, 2, 3)',
    ]);
  });

  test('a long list of options is cut short', () => {
    const many = described(property('industrycode', { values: Array.from({ length: 33 }, (_, i) => String(i + 1)) }));
    const [line] = twoWayProblems(twoWayOf('        contacts: { direction: none }\n        industry: { values: { ACCOUNTING: 1, BANKING: 99 } }\n'), 'dynamics', many);
    expect(line).toBe('objects.companies.two_way.fields.industry.values: 99 is not an option value of Dynamics 365\'s choice column "industrycode" (it has 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (33 in all))');
  });

  test('a property the CRM does not have is left to the mapping check, and options it does not list are not guessed at', () => {
    const twoWay = twoWayOf(`${INDUSTRY}        contacts: { direction: both }\n`);
    expect(twoWayProblems(twoWay, 'hubspot', described(property('name'), property('industry')))).toEqual([]);
  });
});

describe('the check of a mapping, then of its two-way fields', () => {
  const mappings = config(`${INDUSTRY}        contacts: { direction: both }\n`);
  const hubspotOf = (name: string) => mappings.objects.get(name)!.hubspot!;

  test('runs after the mapping check, for objects with a two_way: block only', async () => {
    const described: string[] = [];
    const check = withTwoWayCheck(mappings, 'hubspot', {
      check: async (mapping) => [`${mapping.path}: checked`],
      describe: async (name) => (described.push(name), HUBSPOT),
    });
    expect(await check(hubspotOf('companies'))).toEqual([
      'objects.companies: checked',
      'objects.companies.two_way.fields.contacts: direction both writes HubSpot\'s property "num_associated_contacts", which HubSpot sets itself (read-only); set direction: hubspot_to_dynamics or none',
    ]);
    expect(await check(hubspotOf('deals'))).toEqual(['objects.deals: checked']);
    expect(described).toEqual(['companies']);
  });

  test('an object the CRM cannot describe has been reported by the mapping check; otherwise the failure stands', async () => {
    const failing = (problems: string[]) =>
      withTwoWayCheck(mappings, 'hubspot', {
        check: async () => problems,
        describe: async () => {
          throw new Error('no such object');
        },
      });
    expect(await failing(['objects.companies.object_type: HubSpot has no object type "companies"'])(hubspotOf('companies'))).toEqual([
      'objects.companies.object_type: HubSpot has no object type "companies"',
    ]);
    await expect(failing([])(hubspotOf('companies'))).rejects.toThrow('no such object');
  });
});
