/**
 * `crmsync emulator --shared-seed`: the same people and companies in both emulators,
 * served through both APIs, refused with one line when the spec is bad, and read by the
 * one-way syncs like any other records.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectByName } from '../../src/config/load.js';
import { CONTACTS, startDynamicsEmulator, type DynamicsEmulator } from '@crmsync/emulators/dynamics';
import { generateSharedSeed, startHubSpotEmulator, type HubSpotEmulator } from '@crmsync/emulators/hubspot';
import { crmsync, startCrmsync, summary, tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithDynamics, compareWithSource, expectComplete } from '../helpers/completeness.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { hubspotEnvOf } from '../helpers/emulator.js';
import { config } from '../helpers/engine.js';

const dir = tempDir();

/** GETs a HubSpot API path with the printed token. */
async function hubspotGet(exported: Record<string, string>, path: string): Promise<any> {
  const reply = await fetch(`${exported.HUBSPOT_BASE_URL}${path}`, { headers: { authorization: `Bearer ${exported.HUBSPOT_ACCESS_TOKEN}` } });
  expect(reply.status).toBe(200);
  return reply.json();
}

/** Signs in with the printed client credentials and GETs a Web API path, trusting the printed certificate file. */
async function dataverseGet(exported: Record<string, string>, path: string): Promise<any> {
  const dispatcher = new Agent({ connect: { ca: readFileSync(exported.D365_CA_CERT as string, 'utf8') } });
  try {
    const credentials = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: exported.D365_CLIENT_ID as string,
      client_secret: exported.D365_CLIENT_SECRET as string,
      scope: `${exported.D365_RESOURCE_URL}/.default`,
    });
    const signedIn = await fetch(`${exported.D365_AUTHORITY_HOST}/${exported.D365_TENANT_ID}/oauth2/v2.0/token`, { method: 'POST', body: credentials, dispatcher });
    const { access_token: token } = (await signedIn.json()) as { access_token: string };
    const reply = await fetch(`${exported.D365_RESOURCE_URL}/api/data/v9.2/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, dispatcher });
    expect(reply.status).toBe(200);
    return await reply.json();
  } finally {
    await dispatcher.close();
  }
}

describe('crmsync emulator --shared-seed', () => {
  test('serves the same people and companies through both APIs, beside each emulator’s own seeded records', async () => {
    const emulator = startCrmsync(['emulator', '--port', '0', '--dynamics-port', '0', '--seed', 'contacts=10', '--dynamics-seed', 'contacts=5', '--shared-seed', 'contacts=50,companies=10']);
    try {
      await emulator.printed('Press Ctrl-C');
      const stdout = emulator.stdout();
      const exported = Object.fromEntries([...stdout.matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1] as string, match[2] as string]));
      const { people, companies } = generateSharedSeed({ contacts: 50, companies: 10 }, 42);
      // Person 1 and company 1 are only in HubSpot, person 2 and company 2 only in Dataverse; person 0 is twice in Dataverse.
      expect(stdout).toContain(`(contacts=${10 + 49}, companies=${10 - 1}, deals=0,`);
      expect(stdout).toContain(`(contacts=${5 + 49 + 1}, accounts=${10 - 1})`);

      const person = people[0]!;
      const contact = await hubspotGet(exported, `/crm/v3/objects/contacts/${encodeURIComponent(person.email)}?idProperty=email&properties=email,firstname,lastname,jobtitle`);
      expect(contact.properties).toMatchObject({ email: person.email, firstname: person.hubspot!.properties.firstname, jobtitle: person.hubspot!.properties.jobtitle });
      const rows = await dataverseGet(exported, `contacts?$select=emailaddress1,firstname,lastname&$filter=emailaddress1 eq '${person.email}'`);
      expect(rows.value).toHaveLength(2);
      expect(rows.value.map((row: { contactid: string }) => row.contactid).sort()).toEqual(person.dynamics.map((row) => row.id).sort());
      expect(rows.value.map((row: { lastname: string }) => row.lastname)).toEqual([person.hubspot!.properties.lastname, person.hubspot!.properties.lastname]);

      const company = companies[0]!;
      const account = await dataverseGet(exported, `accounts(${company.dynamics!.id})?$select=name,websiteurl`);
      expect(account).toMatchObject({ name: company.name, websiteurl: expect.stringMatching(new RegExp(`www\\.${company.domain.replace('.', '\\.')}$`)) });
      const hubspotCompanies = await hubspotGet(exported, '/crm/v3/objects/companies?limit=100&properties=name,domain');
      expect(hubspotCompanies.results.filter((record: { properties: Record<string, string> }) => record.properties.domain === company.domain)).toEqual([
        expect.objectContaining({ properties: expect.objectContaining({ name: company.name, domain: company.domain }) }),
      ]);
    } finally {
      emulator.child.kill('SIGINT');
      await emulator.done;
    }
  });

  test.each([
    ['a spec that is not a list of counts', 'contacts=many', '--shared-seed "contacts=many" is not a list like contacts=5000,companies=500'],
    ['an object that cannot be shared', 'contacts=50,deals=10', '--shared-seed: "deals" cannot be shared: a shared seed has contacts and companies, e.g. contacts=500,companies=50'],
    ['more people than it holds', 'contacts=200001', '--shared-seed: contacts must be a whole number from 0 to 200000, got 200001'],
  ])('refuses %s: one line, exit 2, nothing served', async (_, spec, message) => {
    const run = await crmsync(['emulator', '--port', '0', '--dynamics-port', '0', '--shared-seed', spec]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`crmsync: ${message}`]);
    expect(run.stdout).toBe('');
  });

  test('refuses a --dynamics-tables file whose contacts table cannot match people by email', async () => {
    const { emailaddress1: _email, ...attributes } = CONTACTS.attributes;
    const tables = join(dir, 'no-email.json');
    writeFileSync(tables, JSON.stringify({ entitySets: [{ ...CONTACTS, attributes }] }));
    const run = await crmsync(['emulator', '--port', '0', '--dynamics-port', '0', '--dynamics-tables', tables, '--shared-seed', 'contacts=5']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'crmsync: --shared-seed: the contacts table has no emailaddress1 column to match the shared people by; a --dynamics-tables file that replaces a standard table must keep that column',
    ]);
  });
});

describe('one-way syncs of a shared-seeded pair of emulators', () => {
  const SHARED = { contacts: 300, companies: 40 };
  let hubspot: HubSpotEmulator;
  let dynamics: DynamicsEmulator;
  beforeAll(async () => {
    hubspot = await startHubSpotEmulator({ seed: { contacts: 40, companies: 5 }, sharedSeed: SHARED, seedValue: 11 });
    dynamics = await startDynamicsEmulator({ seed: { contacts: 25, accounts: 4 }, sharedSeed: SHARED, seedValue: 11 });
  });
  afterAll(() => Promise.all([hubspot?.close(), dynamics?.close()]));

  test.each(['contacts', 'companies'] as const)('sync-%s reads every record of each source, shared ones included', async (object) => {
    const db = join(dir, `${object}.db`);
    const fromHubSpot = await crmsync([`sync-${object}`, '--source', 'hubspot', '--json'], hubspotEnvOf(hubspot, db));
    expect(fromHubSpot.code, fromHubSpot.stderr).toBe(0);
    expect(summary(fromHubSpot.stdout).results[0]?.counts).toMatchObject({ created: hubspot.store.count(object), failed: 0 });
    expect(expectComplete(compareWithSource(db, hubspot.store, objectByName(config, object, 'hubspot')))).toEqual(COMPLETE);

    const fromDynamics = await crmsync([`sync-${object}`, '--source', 'dynamics', '--json'], { ...dynamicsEnvOf(dynamics), CRMSYNC_DB: db });
    expect(fromDynamics.code, fromDynamics.stderr).toBe(0);
    const table = object === 'contacts' ? 'contacts' : 'accounts';
    expect(summary(fromDynamics.stdout).results[0]?.counts).toMatchObject({ created: dynamics.store.count(table), failed: 0 });
    expect(expectComplete(compareWithDynamics(db, dynamics.store, objectByName(config, object, 'dynamics')))).toEqual(COMPLETE);
  });

  test('the counts are the per-CRM seeds plus the shared records each side holds', () => {
    const { people, companies } = generateSharedSeed(SHARED, 11);
    expect(hubspot.store.count('contacts')).toBe(40 + people.filter((person) => person.hubspot).length);
    expect(dynamics.store.count('contacts')).toBe(25 + people.reduce((sum, person) => sum + person.dynamics.length, 0));
    expect(hubspot.store.count('companies')).toBe(5 + companies.filter((company) => company.hubspot).length);
    expect(dynamics.store.count('accounts')).toBe(4 + companies.filter((company) => company.dynamics).length);
    // 300 people: 6 only in HubSpot, 6 only in Dataverse, one twice there.
    expect([hubspot.store.count('contacts'), dynamics.store.count('contacts')]).toEqual([40 + 294, 25 + 295]);
  });
});
