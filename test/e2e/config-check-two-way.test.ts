/**
 * `crmsync config check` and two_way: blocks: what the file alone shows is refused on load
 * (one line, exit 2, with or without CRMs), what only the CRMs know is checked against them
 * (a field written into a property the CRM sets itself, options the CRM does not list).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, ROOT, tempDir } from '../helpers/cli.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';

const dir = tempDir();
const SHIPPED = readFileSync(join(ROOT, 'mappings.yaml'), 'utf8');

/** The shipped mappings.yaml with each [from, to] replaced (each `from` must be there), written to a file of its own. */
function edited(name: string, ...edits: [string, string][]): string {
  let text = SHIPPED;
  for (const [from, to] of edits) {
    expect(text, `mappings.yaml no longer holds ${JSON.stringify(from)}`).toContain(from);
    text = text.replace(from, to);
  }
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Companies' industry on both sides: a HubSpot enumeration listing three options, the Dataverse choice column. */
const INDUSTRY_BOTH_SIDES: [string, string][] = [
  ['      industry: { type: enumeration }\n', '      industry: { type: enumeration, values: [ACCOUNTING, BANKING, RETAIL] }\n'],
  ['        industry_code: { property: industrycode, type: integer }\n', '        industry: { property: industrycode, type: integer }\n'],
];
const companyRule = (rule: string): [string, string] => ['      fields:\n        created_at: { direction: none }\n      # industry', `      fields:\n        created_at: { direction: none }\n${rule}      # industry`];

describe('a bad two_way: block is refused on load: one line, exit 2', () => {
  test.each([
    [
      'a field mapped on one side only',
      edited('one-side', ['        email_optout: { direction: hubspot_to_dynamics }\n', '        email_optout: { direction: hubspot_to_dynamics }\n        company: { direction: both }\n']),
      'objects.contacts.two_way.fields.company: "company" is mapped only on the HubSpot side; a two-way field needs a column of that name under both fields: and dynamics.fields:',
    ],
    [
      'an option the HubSpot field lists that the value map leaves out',
      edited('missing-option', ...INDUSTRY_BOTH_SIDES, companyRule('        industry: { values: { ACCOUNTING: 1, BANKING: 2 } }\n')),
      'objects.companies.two_way.fields.industry.values: fields.industry lists RETAIL, which values: does not map; give it a Dataverse value, or set direction: dynamics_to_hubspot or none',
    ],
    [
      'a value map naming an option the HubSpot field does not list',
      edited('unknown-option', ...INDUSTRY_BOTH_SIDES, companyRule('        industry: { values: { ACCOUNTING: 1, BANKING: 2, RETAIL: 27, FARMING: 3 } }\n')),
      'objects.companies.two_way.fields.industry.values: "FARMING" is not one of the values of fields.industry (ACCOUNTING, BANKING, RETAIL)',
    ],
    [
      'the modification time, which the CRM sets',
      edited('modified', ['        created_at: { direction: none }\n\n  companies:', '        created_at: { direction: none }\n        modified_at: { direction: both }\n\n  companies:']),
      'objects.contacts.two_way.fields.modified_at: "modified_at" holds lastmodifieddate, the modification time on the HubSpot side, which the CRM sets itself; remove it from two_way.fields',
    ],
  ])('%s', async (_, config, message) => {
    const run = await crmsync(['--config', config, 'config', 'check'], { CRMSYNC_DB: join(dir, 'unused.db') });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`crmsync: ${config}: ${message}`]);
    expect(run.stdout).toBe('');
  });
});

describe('a two_way: block against the CRMs', () => {
  let hubspot: HubSpotEmulator;
  let dynamics: DynamicsEmulator;
  let env: Record<string, string>;
  beforeAll(async () => {
    hubspot = await startHubSpotEmulator({ seed: { contacts: 0 } });
    dynamics = await startDynamicsEmulator({ seed: { contacts: 0, accounts: 0 } });
    env = { HUBSPOT_BASE_URL: hubspot.url, HUBSPOT_ACCESS_TOKEN: hubspot.token, ...dynamicsEnvOf(dynamics), CRMSYNC_DB: join(dir, 'unused.db') };
  });
  afterAll(() => Promise.all([hubspot?.close(), dynamics?.close()]));

  test('the shipped mappings.yaml fits both', async () => {
    const run = await crmsync(['config', 'check'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('matches the portal');
    expect(run.stdout).toContain('matches the Dynamics 365 organisation');
  });

  test.each([
    [
      'a field written into a column Dataverse sets itself',
      edited('created-both', ['        created_at: { direction: none }\n\n  companies:', '        created_at: { direction: both }\n\n  companies:']),
      'the Dynamics 365 organisation',
      'objects.contacts.two_way.fields.created_at: direction both writes Dynamics 365\'s column "createdon", which Dynamics 365 sets itself (not valid for update); set direction: dynamics_to_hubspot or none',
    ],
    [
      'a HubSpot option the property does not list',
      edited('hubspot-option', INDUSTRY_BOTH_SIDES[1]!, companyRule('        industry: { values: { ACCOUNTING: 1, FARMING: 2 } }\n')),
      'the portal',
      'objects.companies.two_way.fields.industry.values: "FARMING" is not an option of HubSpot\'s property "industry" (it has ACCOUNTING, AIRLINES_AVIATION, AUTOMOTIVE, BANKING, BIOTECHNOLOGY, COMPUTER_SOFTWARE, CONSTRUCTION, CONSUMER_GOODS, EDUCATION_MANAGEMENT, FINANCIAL_SERVICES, … (21 in all))',
    ],
    [
      'a Dataverse option value the choice column does not list',
      edited('dataverse-option', INDUSTRY_BOTH_SIDES[1]!, companyRule('        industry: { values: { ACCOUNTING: 1, BANKING: 99 } }\n')),
      'the Dynamics 365 organisation',
      'objects.companies.two_way.fields.industry.values: 99 is not an option value of Dynamics 365\'s choice column "industrycode" (it has 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (33 in all))',
    ],
  ])('%s: one line naming the field, exit 2', async (_, config, against, message) => {
    const run = await crmsync(['--config', config, 'config', 'check'], env);
    expect(run.code).toBe(2);
    expect(run.stdout.trim().split('\n').filter((line) => !line.includes(': matches '))).toEqual([`${config}: ${message}`]);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^crmsync: 1 problem in ${config} against ${against} at `))]);
  });
});
