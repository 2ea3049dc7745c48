import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectByName, parseConfig } from '../../src/config/load.js';
import { ACCOUNTS, startDynamicsEmulator, type DynamicsEmulator, type EntitySetDefinition } from '@crmsync/emulators/dynamics';
import { crmsync, ROOT, startCrmsync, summary, tempDir } from '../helpers/cli.js';
import { COMPLETE, compareWithDynamics, expectComplete } from '../helpers/completeness.js';
import { countRows, history as historyRows, queryOne, savedRecords, waitForRecords } from '../helpers/db.js';
import { dynamicsEnvOf } from '../helpers/dynamics.js';
import { config } from '../helpers/engine.js';

const contacts = objectByName(config, 'contacts', 'dynamics');
const companies = objectByName(config, 'companies', 'dynamics');
const dir = tempDir();
let emulator: DynamicsEmulator;
const env = (db: string, overrides: Record<string, string | undefined> = {}) => ({ ...dynamicsEnvOf(emulator), CRMSYNC_DB: db, ...overrides });

/** Dataverse's incident (case) table, which the emulator serves only when told to. */
const INCIDENTS: EntitySetDefinition = {
  entitySet: 'incidents',
  logicalName: 'incident',
  primaryKey: 'incidentid',
  changeTracking: true,
  primaryNameAttribute: 'title',
  attributes: {
    title: { type: 'string', maxLength: 200 },
    ticketnumber: { type: 'string', maxLength: 100 },
    // 1 High, 2 Normal, 3 Low.
    prioritycode: { type: 'picklist', options: [1, 2, 3] },
    _customerid_value: 'customer',
  },
};

beforeAll(async () => {
  emulator = await startDynamicsEmulator({ seed: { contacts: 1_200, accounts: 150 }, seedValue: 17 });
});
afterAll(() => emulator?.close());

const history = (db: string) => historyRows(db, 'sync_type, crm_source, sync_mode, status, error_message');

describe('--source dynamics through the command line', () => {
  test('sync-contacts reads Dynamics contacts; a second run reads only the changes; history names the source', async () => {
    const db = join(dir, 'contacts.db');
    const first = await crmsync(['sync-contacts', '--source', 'dynamics', '--json'], env(db));
    expect(first.stderr).toContain('contacts (dynamics): full read');
    expect(first.code).toBe(0);
    const [result] = summary(first.stdout).results;
    expect(result).toMatchObject({ object: 'contacts', source: 'dynamics', syncMode: 'full', status: 'success', counts: { created: 1_200 } });
    expect(expectComplete(compareWithDynamics(db, emulator.store, contacts))).toEqual(COMPLETE);

    const [row] = emulator.store.all('contacts');
    emulator.store.update('contacts', String(row.contactid), { jobtitle: 'Head of Data' });
    const second = await crmsync(['sync-contacts', '--source', 'dynamics'], env(db));
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/contacts \(dynamics\)\s+success\s+changes\s+1 processed, 0 created, 1 updated/);

    const listed = await crmsync(['history', '--json'], env(db));
    expect(JSON.parse(listed.stdout).map((run: { crmSource: string }) => run.crmSource)).toEqual(['dynamics', 'dynamics']);
    const fromDynamics = await crmsync(['history', '--source', 'dynamics', '--object', 'contacts'], env(db));
    expect(fromDynamics.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/).slice(1, 4).join(' '))).toEqual(['contacts dynamics changes', 'contacts dynamics full']);
    expect(JSON.parse((await crmsync(['history', '--source', 'hubspot', '--json'], env(db))).stdout)).toEqual([]);
  });

  test('sync-all --source dynamics syncs the objects that have a dynamics: mapping, and no associations', async () => {
    const db = join(dir, 'all.db');
    const run = await crmsync(['sync-all', '--source', 'dynamics', '--json'], env(db));
    expect(run.code).toBe(0);
    const { results } = summary(run.stdout);
    expect(results.map((result) => `${result.object}/${result.source}`)).toEqual(['contacts/dynamics', 'companies/dynamics']);
    expect(expectComplete(compareWithDynamics(db, emulator.store, companies))).toEqual(COMPLETE);
    expect(history(db).every((entry) => entry.crm_source === 'dynamics')).toBe(true);
  });

  test('--dry-run leaves the database file untouched', async () => {
    const db = join(dir, 'dry.db');
    await crmsync(['sync-companies', '--source', 'dynamics'], env(db));
    const before = new Database(db, { readonly: true }).serialize();
    const dry = await crmsync(['sync-companies', '--source', 'dynamics', '--full', '--dry-run'], env(db));
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run, nothing written');
    expect(Buffer.compare(new Database(db, { readonly: true }).serialize(), before)).toBe(0);
  });
});

describe('a Dynamics 365 table that is only configuration', () => {
  // Cases (Dataverse's incident table) exist only in Dynamics 365 here: no object_type.
  const CASES = `
  cases:
    dynamics:
      entity_set: incidents
      primary_key: incidentid
      fields:
        title: { type: string }
        ticketnumber: { type: string }
        priority: { property: prioritycode, type: integer }
        customer_id: { property: _customerid_value, type: string }
        modified_at: { property: modifiedon, type: datetime, required: true }
`;
  const mappingsPath = join(dir, 'with-cases.yaml');
  const casesConfig = parseConfig(readFileSync(join(ROOT, 'mappings.yaml'), 'utf8') + CASES, mappingsPath);
  const cases = objectByName(casesConfig, 'cases', 'dynamics');
  let withCases: DynamicsEmulator;
  const casesEnv = (db: string) => ({ ...dynamicsEnvOf(withCases), CRMSYNC_DB: db });
  beforeAll(async () => {
    writeFileSync(mappingsPath, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8') + CASES);
    withCases = await startDynamicsEmulator({ entitySets: [INCIDENTS], seed: { contacts: 20, accounts: 5, incidents: 640 }, seedValue: 19 });
  });
  afterAll(() => withCases?.close());

  test('syncs with sync-object and sync-all --source dynamics, then reads only its changes, into dynamics_cases', async () => {
    const db = join(dir, 'cases.db');
    const first = await crmsync(['--config', mappingsPath, 'sync-object', 'cases', '--source', 'dynamics', '--json'], casesEnv(db));
    expect(first.code, first.stderr).toBe(0);
    expect(summary(first.stdout).results[0]).toMatchObject({ object: 'cases', source: 'dynamics', syncMode: 'full', counts: { created: 640 } });
    expect(expectComplete(compareWithDynamics(db, withCases.store, cases))).toEqual(COMPLETE);

    const [row] = withCases.store.all('incidents');
    withCases.store.update('incidents', String(row.incidentid), { title: 'Printer on fire' });
    const all = await crmsync(['--config', mappingsPath, 'sync-all', '--source', 'dynamics', '--json'], casesEnv(db));
    expect(all.code, all.stderr).toBe(0);
    const { results } = summary(all.stdout);
    expect(results.map((result) => result.object)).toEqual(['contacts', 'companies', 'cases']);
    expect(results[2]).toMatchObject({ syncMode: 'changes', counts: { updated: 1 } });
    expect(expectComplete(compareWithDynamics(db, withCases.store, cases))).toEqual(COMPLETE);
    expect(queryOne(db, 'SELECT title FROM dynamics_cases WHERE id = ?', row.incidentid)).toEqual({ title: 'Printer on fire' });
  });

  test('asked for from HubSpot, it says how to sync it, and writes nothing', async () => {
    const db = join(dir, 'cases-hubspot.db');
    const run = await crmsync(['--config', mappingsPath, 'sync-object', 'cases'], { ...casesEnv(db), HUBSPOT_ACCESS_TOKEN: 'pat-na1-unused' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('object "cases" lives only in Dynamics 365');
    expect(run.stderr).toContain('sync it with --source dynamics');
    expect(existsSync(db)).toBe(false);
  });
});

describe('discovering and checking Dynamics 365 tables', () => {
  const dynamicsOnly = (db: string) => env(db, { HUBSPOT_ACCESS_TOKEN: undefined });
  const edited = (edit: (text: string) => string) => {
    const path = join(dir, `check-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, edit(readFileSync(join(ROOT, 'mappings.yaml'), 'utf8')));
    return path;
  };

  test('properties --source dynamics lists the columns; --yaml prints an entry that, appended to mappings.yaml, syncs and checks clean', async () => {
    const listed = await crmsync(['properties', 'accounts', '--source', 'dynamics'], dynamicsOnly(join(dir, 'unused.db')));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^name\s+type\s+crmsync type$/);
    expect(listed.stdout).toMatch(/\nrevenue\s+Money\s+decimal\n/);

    const block = await crmsync(['properties', 'accounts', '--source', 'dynamics', '--yaml'], dynamicsOnly(join(dir, 'unused.db')));
    expect(block.code, block.stderr).toBe(0);
    const mappings = join(dir, 'with-accounts.yaml');
    writeFileSync(mappings, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8') + block.stdout);
    const db = join(dir, 'generated-accounts.db');
    const run = await crmsync(['--config', mappings, 'sync-object', 'accounts', '--source', 'dynamics', '--json'], dynamicsOnly(db));
    expect(run.code, run.stderr).toBe(0);
    expect(summary(run.stdout).results[0]).toMatchObject({ status: 'success', counts: { created: 150, failed: 0 } });
    const check = await crmsync(['--config', mappings, 'config', 'check'], dynamicsOnly(db));
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/: matches the Dynamics 365 organisation at https:\/\/127\.0\.0\.1:\d+\n$/);
  });

  test('the standard columns beyond the shipped mapping are there too: mapped, they check clean and sync', async () => {
    const mappings = edited((text) =>
      text
        .replace(
          'company_id: { property: _parentcustomerid_value, type: string }',
          'company_id: { property: _parentcustomerid_value, type: string }\n' +
            ['status_reason: { property: statuscode, type: integer }', 'owner_id: { property: _ownerid_value, type: string }', 'created_by: { property: _createdby_value, type: string }',
              'modified_by: { property: _modifiedby_value, type: string }', 'mobile: { property: mobilephone, type: string }', 'street: { property: address1_line1, type: string }']
              .map((line) => `        ${line}`)
              .join('\n'),
        )
        .replace(
          'industry_code: { property: industrycode, type: integer }',
          'industry_code: { property: industrycode, type: integer }\n' +
            ['account_number: { property: accountnumber, type: string }', 'primary_contact_id: { property: _primarycontactid_value, type: string }',
              'parent_account_id: { property: _parentaccountid_value, type: string }', 'notes: { property: description, type: string }']
              .map((line) => `        ${line}`)
              .join('\n'),
        ),
    );
    const db = join(dir, 'standard-columns.db');
    const check = await crmsync(['--config', mappings, 'config', 'check'], dynamicsOnly(db));
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const run = await crmsync(['--config', mappings, 'sync-all', '--source', 'dynamics', '--json'], dynamicsOnly(db));
    expect(run.code, run.stderr).toBe(0);
    const handle = new Database(db, { readonly: true });
    try {
      const contact = handle.prepare('SELECT * FROM dynamics_contacts WHERE mobile IS NOT NULL AND street IS NOT NULL LIMIT 1').get() as Record<string, unknown>;
      const source = emulator.store.get('contacts', contact.id as string)!;
      expect(contact).toMatchObject({ status_reason: source.statuscode, owner_id: source._ownerid_value, created_by: source._createdby_value, modified_by: source._modifiedby_value, mobile: source.mobilephone, street: source.address1_line1 });
      const account = handle.prepare('SELECT * FROM dynamics_companies WHERE primary_contact_id IS NOT NULL AND parent_account_id IS NOT NULL LIMIT 1').get() as Record<string, unknown>;
      const row = emulator.store.get('accounts', account.id as string)!;
      expect(account).toMatchObject({ account_number: row.accountnumber, primary_contact_id: row._primarycontactid_value, parent_account_id: row._parentaccountid_value, notes: row.description });
    } finally {
      handle.close();
    }
  });

  test('properties of a table the organisation does not have: one line, exit 2', async () => {
    const run = await crmsync(['properties', 'acounts', '--source', 'dynamics'], dynamicsOnly(join(dir, 'unused.db')));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Dynamics 365 has no entity set "acounts"');
  });

  test.each([
    ['an unknown column', (text: string) => text.replace('jobtitle: { type: string }\n        city: { property: address1_city', 'jobtitle: { property: job_title, type: string }\n        city: { property: address1_city'), `objects.contacts.dynamics.fields.jobtitle: Dynamics 365's contact table has no column "job_title"`],
    ['a lookup by its plain name', (text: string) => text.replace('property: _parentcustomerid_value', 'property: parentcustomerid'), 'has no column "parentcustomerid" (it is a lookup: use _parentcustomerid_value)'],
    ['a type mismatch', (text: string) => text.replace('industry_code: { property: industrycode, type: integer }', 'industry_code: { property: industrycode, type: date }'), 'objects.companies.dynamics.fields.industry_code: type date cannot read the Picklist column "industrycode"'],
    ['an unknown entity set', (text: string) => text.replace('entity_set: accounts', 'entity_set: acounts'), 'objects.companies.dynamics.entity_set: Dynamics 365 has no entity set "acounts"'],
    ['a key that is not the table\'s', (text: string) => text.replace('primary_key: contactid', 'primary_key: emailaddress1'), `objects.contacts.dynamics.primary_key: the contact table's key is "contactid", not "emailaddress1"`],
  ])('config check catches %s against the organisation: one line, exit 2', async (_, edit, line) => {
    const run = await crmsync(['--config', edited(edit), 'config', 'check'], dynamicsOnly(join(dir, 'unused.db')));
    expect(run.code).toBe(2);
    expect(run.stdout.trim().split('\n')).toEqual([expect.stringContaining(line)]);
    expect(run.stderr).toMatch(/^crmsync: 1 problem in .* against the Dynamics 365 organisation at https:\/\/127\.0\.0\.1:\d+/);
    expect(run.stdout + run.stderr).not.toContain(emulator.clientSecret);
  });

  test('a sync that maps a column the table lacks fails at its first read, naming the column and config check, and saves nothing', async () => {
    const db = join(dir, 'drift.db');
    const mappings = edited((text) => text.replace('jobtitle: { type: string }\n        city: { property: address1_city', 'jobtitle: { property: job_title, type: string }\n        city: { property: address1_city'));
    const run = await crmsync(['--config', mappings, 'sync-contacts', '--source', 'dynamics'], dynamicsOnly(db));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("Could not find a property named 'job_title' on type 'Microsoft.Dynamics.CRM.contact'. Check the dynamics: block of this object in mappings.yaml; crmsync config check names every column");
    expect(history(db)).toEqual([expect.objectContaining({ status: 'failed' })]);
    expect(countRows(db, 'records')).toEqual(0);
  });

  test('config check names a table without change tracking that the mapping expects to have it', async () => {
    const untracked = await startDynamicsEmulator({ entitySets: [{ ...ACCOUNTS, changeTracking: false }], seed: {} });
    try {
      const run = await crmsync(['config', 'check'], { ...dynamicsEnvOf(untracked), CRMSYNC_DB: join(dir, 'unused.db') });
      expect(run.code).toBe(2);
      expect(run.stdout.trim()).toContain('objects.companies.dynamics.change_tracking: the account table has "Track changes" off; turn it on in the table\'s settings, or set change_tracking: false');
    } finally {
      await untracked.close();
    }
  });
});

describe('mistakes get one clear line and a non-zero exit', () => {
  test.each([
    ['an unknown source', ['sync-contacts', '--source', 'salesforce'], {}, 2, /argument 'salesforce' is invalid\. Allowed choices are hubspot, dynamics/],
    ['missing settings', ['sync-contacts', '--source', 'dynamics'], { D365_CLIENT_SECRET: undefined, D365_TENANT_ID: undefined }, 2, /D365_TENANT_ID, D365_CLIENT_SECRET are not set/],
    ['an http organisation URL', ['sync-contacts', '--source', 'dynamics'], { D365_RESOURCE_URL: 'http://127.0.0.1:1' }, 2, /D365_RESOURCE_URL "http:\/\/127\.0\.0\.1:1" must be an https URL/],
    ['an unreadable CA file', ['sync-contacts', '--source', 'dynamics'], { D365_CA_CERT: '/nonexistent/ca.pem' }, 2, /D365_CA_CERT: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/],
    ['an object without a dynamics mapping', ['sync-deals', '--source', 'dynamics'], {}, 2, /object "deals" has no dynamics: block in .*mappings\.yaml/],
    ['associations from Dynamics', ['sync-associations', '--from-object', 'contacts', '--to-object', 'companies', '--source', 'dynamics'], {}, 2, /reads HubSpot associations only/],
    ['an untrusted certificate', ['sync-contacts', '--source', 'dynamics'], { D365_CA_CERT: undefined }, 1, /not trusted.*D365_CA_CERT/],
    ['a batch size above 5,000', ['sync-contacts', '--source', 'dynamics', '--batch-size', '6000'], {}, 2, /--batch-size must be a whole number from 1 to 5000, got "6000"/],
  ])('%s', async (_, args, overrides, code, message) => {
    const db = join(dir, `bad-${Math.random().toString(36).slice(2)}.db`);
    const run = await crmsync(args, env(db, overrides));
    expect(run.code).toBe(code);
    // Usage errors go to stderr; a run that starts and fails reports in its result line.
    expect(code === 2 ? run.stderr : run.stdout).toMatch(message);
    expect(run.stderr + run.stdout).not.toContain(emulator.clientSecret);
  });

  test('a wrong client secret: exit 1, the run recorded as failed, the setting named, the secret never shown', async () => {
    const db = join(dir, 'wrong-secret.db');
    const secret = 'not-the-right-secret-0123456789';
    const run = await crmsync(['sync-contacts', '--source', 'dynamics'], env(db, { D365_CLIENT_SECRET: secret }));
    expect(run.code).toBe(1);
    expect(run.stderr + run.stdout).toMatch(/D365_CLIENT_SECRET/);
    expect(run.stderr + run.stdout).not.toContain(secret);
    expect(history(db)).toEqual([expect.objectContaining({ crm_source: 'dynamics', status: 'failed', error_message: expect.stringMatching(/D365_CLIENT_SECRET/) })]);
  });
});

describe('crmsync emulator', () => {
  /** Starts `crmsync emulator` with free ports; resolves with the variables it prints once it listens. */
  const serve = async (args: string[], cwd = ROOT): Promise<{ exported: Record<string, string>; stdout: string; stop: () => void }> => {
    const at = args.indexOf('emulator') + 1;
    const emulator = startCrmsync([...args.slice(0, at), '--port', '0', '--dynamics-port', '0', ...args.slice(at)], {}, { cwd });
    await emulator.printed('Press Ctrl-C');
    const stdout = emulator.stdout();
    const exported = Object.fromEntries([...stdout.matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1] as string, match[2] as string]));
    return { exported, stdout, stop: () => emulator.child.kill('SIGINT') };
  };

  /** Signs in as the printed application and GETs a Web API path, trusting the printed certificate file. */
  const webApi = async (exported: Record<string, string>) => {
    const dispatcher = new Agent({ connect: { ca: readFileSync(exported.D365_CA_CERT as string, 'utf8') } });
    const form = { grant_type: 'client_credentials', client_id: exported.D365_CLIENT_ID, client_secret: exported.D365_CLIENT_SECRET, scope: `${exported.D365_RESOURCE_URL}/.default` };
    const signIn = await request(`${exported.D365_AUTHORITY_HOST}/${exported.D365_TENANT_ID}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form as Record<string, string>).toString(),
      dispatcher,
    });
    const { access_token: token } = (await signIn.body.json()) as { access_token: string };
    return {
      get: async (path: string) => {
        const reply = await request(`${exported.D365_RESOURCE_URL}/api/data/v9.2/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, dispatcher });
        return { status: reply.statusCode, headers: reply.headers, body: (await reply.body.json()) as any };
      },
      close: () => dispatcher.close(),
    };
  };

  test('the emulator command serves Dynamics 365 too and prints the settings to export', async () => {
    const { exported, stop } = await serve(['emulator', '--seed', 'contacts=10', '--dynamics-seed', 'contacts=40,accounts=5']);
    try {
      expect(Object.keys(exported)).toEqual(expect.arrayContaining(['D365_RESOURCE_URL', 'D365_AUTHORITY_HOST', 'D365_TENANT_ID', 'D365_CLIENT_ID', 'D365_CLIENT_SECRET', 'D365_CA_CERT']));
      const run = await crmsync(['sync-contacts', '--source', 'dynamics', '--json'], { ...exported, CRMSYNC_DB: join(dir, 'via-emulator.db') });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).results[0].counts.created).toBe(40);
      // The shipped mappings.yaml reads only columns the standard tables have.
      const check = await crmsync(['config', 'check'], { ...exported, CRMSYNC_DB: join(dir, 'unused.db') });
      expect(check.code, check.stdout + check.stderr).toBe(0);
    } finally {
      stop();
    }
  });

  test('its tables come from the standard catalogue, not from the mappings under test: a misspelt column fails config check', async () => {
    const misspelt = join(dir, 'misspelt.yaml');
    writeFileSync(misspelt, readFileSync(join(ROOT, 'mappings.yaml'), 'utf8').replace('phone: { property: telephone1, type: phone }', 'phone: { property: telephone_1, type: phone }'));
    // Started with the misspelt file as its configuration, the emulator still serves the real columns.
    const { exported, stop } = await serve(['--config', misspelt, 'emulator', '--seed', 'contacts=1', '--dynamics-seed', 'contacts=5,accounts=1']);
    try {
      const check = await crmsync(['--config', misspelt, 'config', 'check'], { ...exported, HUBSPOT_ACCESS_TOKEN: undefined, CRMSYNC_DB: join(dir, 'unused.db') });
      expect(check.code).toBe(2);
      expect(check.stdout.trim().split('\n')).toEqual([expect.stringContaining(`objects.contacts.dynamics.fields.phone: Dynamics 365's contact table has no column "telephone_1"`)]);
    } finally {
      stop();
    }
  });

  test('--dynamics-tables adds tables and custom columns; --dynamics-rate-limit enforces the service protection limits, reported in every response', async () => {
    const tables = join(dir, 'tables.json');
    writeFileSync(tables, JSON.stringify({ entitySets: [INCIDENTS], extraColumns: { contacts: { new_loyaltytier: 'picklist' } } }));
    const { exported, stdout, stop } = await serve(['emulator', '--seed', 'contacts=1', '--dynamics-seed', 'contacts=6,incidents=9', '--dynamics-tables', tables, '--dynamics-rate-limit', '--dynamics-rate-limit-max', '2']);
    const api = await webApi(exported);
    try {
      expect(stdout).toContain('(contacts=6, accounts=0, incidents=9)');
      const incidents = await api.get('incidents?$select=title,prioritycode');
      expect(incidents.status).toBe(200);
      expect(incidents.body.value).toHaveLength(9);
      expect(incidents.headers['x-ms-ratelimit-burst-remaining-xrm-requests']).toBe('1');
      const tiers = await api.get('contacts?$select=new_loyaltytier');
      expect(tiers.status).toBe(200);
      expect(tiers.headers['x-ms-ratelimit-burst-remaining-xrm-requests']).toBe('0');
      const refused = await api.get('contacts');
      expect(refused.status).toBe(429);
      expect(refused.body.error).toEqual({ code: '0x80072322', message: 'Number of requests exceeded the limit of 2 over time window of 300 seconds.' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(250);
    } finally {
      await api.close();
      stop();
    }
  });

  test('--dynamics-faults injects Dataverse faults; without --dynamics-rate-limit the headers count against Dataverse’s defaults', async () => {
    const { exported, stop } = await serve(['emulator', '--seed', 'contacts=1', '--dynamics-seed', 'contacts=3', '--dynamics-faults', '5xx=1,seed=4']);
    const api = await webApi(exported);
    try {
      const reply = await api.get('contacts?$select=fullname');
      expect(reply.status).toBe(503);
      expect(reply.body).toEqual({ error: { code: '0x80040216', message: 'The service is temporarily unavailable. Please try again later.' } });
      expect(reply.headers['x-ms-ratelimit-burst-remaining-xrm-requests']).toBe('5999');
      expect(reply.headers['x-ms-ratelimit-time-remaining-xrm-requests']).toMatch(/^1,\d{3}\.\d{2}$/);
    } finally {
      await api.close();
      stop();
    }
  });

  test.each([
    ['a bad fault spec', ['--dynamics-faults', '429=2'], '--dynamics-faults: Invalid fault spec "429=2": 429=2 is not a share between 0 and 1'],
    ['a missing tables file', ['--dynamics-tables', '/nonexistent/tables.json'], '--dynamics-tables: cannot read /nonexistent/tables.json (ENOENT)'],
    ['a custom column without a prefix', ['--dynamics-tables', 'BAD_TABLES'], 'extraColumns.contacts.loyaltytier: custom columns carry a publisher prefix, e.g. new_loyaltytier'],
    ['a seed of a table not served', ['--dynamics-seed', 'contacts=5,incidents=3'], '--dynamics-seed: the emulator serves no entity set "incidents" (it serves contacts, accounts); describe further tables in a --dynamics-tables file'],
    ['a rate limit of nothing', ['--dynamics-rate-limit', '--dynamics-rate-limit-max', '0'], '--dynamics-rate-limit-max must be a whole number of 1 or more, got "0"'],
  ])('crmsync emulator refuses %s: one line, exit 2, nothing served', async (_, args, message) => {
    const badTables = join(dir, 'bad-tables.json');
    writeFileSync(badTables, JSON.stringify({ extraColumns: { contacts: { loyaltytier: 'picklist' } } }));
    const run = await crmsync(['emulator', '--port', '0', '--dynamics-port', '0', ...args.map((arg) => (arg === 'BAD_TABLES' ? badTables : arg))]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
    expect(run.stdout).toBe('');
  });
});

describe('kill -9 and the lease, reading from Dynamics 365', () => {
  let slow: DynamicsEmulator;
  const slowEnv = (db: string) => ({ ...dynamicsEnvOf(slow), CRMSYNC_DB: db });
  beforeAll(async () => {
    // Latency stretches a full read of small pages over a few seconds.
    slow = await startDynamicsEmulator({ seed: { contacts: 4_000 }, seedValue: 18, latencyMs: 15 });
  });
  afterAll(() => slow?.close());

  const startSync = (db: string) => startCrmsync(['sync-contacts', '--source', 'dynamics', '--batch-size', '100', '--quiet'], slowEnv(db));
  const savedContacts = (db: string) => savedRecords(db, "source = 'dynamics'");
  const waitFor = (db: string, count: number) => waitForRecords(db, count, "source = 'dynamics'");

  test('a run killed mid-read is resumed from its last page by the next, ending with local = source', async () => {
    const db = join(dir, 'kill.db');
    const first = startSync(db);
    await waitFor(db, 1_000);
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const saved = savedContacts(db);
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(4_000);

    const next = await crmsync(['sync-contacts', '--source', 'dynamics', '--batch-size', '100', '--json'], slowEnv(db));
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/contacts \(dynamics\): run 1 \(pid \d+ on .*\) died without finishing; closed it as failed/);
    const [result] = summary(next.stdout).results;
    expect(result).toMatchObject({ resumedFrom: 1, syncMode: 'full', counts: { created: 4_000 - saved } });
    expect(expectComplete(compareWithDynamics(db, slow.store, contacts))).toEqual(COMPLETE);
    expect(history(db).map((entry) => entry.status)).toEqual(['failed', 'success']);
  });

  test('a second run of the same object from the same source exits 4 naming the holder', async () => {
    const db = join(dir, 'lease.db');
    const first = startSync(db);
    await waitFor(db, 300);
    const second = await crmsync(['sync-contacts', '--source', 'dynamics'], slowEnv(db));
    expect(second.code).toBe(4);
    expect(second.stderr).toMatch(new RegExp(`contacts \\(dynamics\\) is already being synced by pid ${first.child.pid}`));
    const finished = await first.done;
    expect(finished.code, finished.stdout + finished.stderr).toBe(0);
  });
});
