/**
 * The Dynamics 365 emulator's store: deterministic seed data, values generated from
 * column types alone, definitions from options, and seeding/serving speed.
 */
import { afterEach, describe, expect, it, test } from 'vitest';
import {
  ACCOUNTS,
  CONTACTS,
  DynamicsStore,
  SEED_FROM,
  SEED_TO,
  seededGuid,
  type EntitySetDefinition,
} from '../src/dynamics/index.js';
import { GUID, call, closeAll, dynamics } from './dynamics-helpers.js';

afterEach(closeAll);

const store = (seed: Record<string, number>, seedValue?: number, extra: EntitySetDefinition[] = []) =>
  new DynamicsStore({ entitySets: [CONTACTS, ACCOUNTS, ...extra], seed, seedValue });

const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('seeding', () => {
  it('gives identical data for the same seed and different data for another', () => {
    const a = store({ contacts: 300, accounts: 40 });
    const b = store({ contacts: 300, accounts: 40 });
    expect(a.all('contacts')).toEqual(b.all('contacts'));
    expect(a.all('accounts')).toEqual(b.all('accounts'));
    expect(a.version).toBe(b.version);
    const c = store({ contacts: 300, accounts: 40 }, 7);
    expect(c.all('contacts').map((row) => row.contactid)).not.toEqual(a.all('contacts').map((row) => row.contactid));
    // Row i's GUID is a pure function of (seedValue, entity set, i).
    expect(a.get('contacts', seededGuid(42, 'contacts', 0))).toBeDefined();
    expect(c.get('contacts', seededGuid(7, 'contacts', 299))).toBeDefined();
    // Rows created later get deterministic ids too.
    expect(a.create('contacts', { lastname: 'x' }).contactid).toBe(b.create('contacts', { lastname: 'x' }).contactid);
  });

  it('produces plausible contacts and accounts', () => {
    const s = store({ contacts: 2000, accounts: 200 });
    const contacts = s.all('contacts');
    const accounts = new Set(s.all('accounts').map((row) => row.accountid));
    let previousVersion = 0;
    const byVersion = [...contacts, ...s.all('accounts')].sort((x: any, y: any) => x.versionnumber - y.versionnumber);
    for (const row of byVersion) {
      expect(row.versionnumber as number).toBeGreaterThan(previousVersion);
      previousVersion = row.versionnumber as number;
    }
    // Versions follow modification order.
    expect(byVersion.map((row) => row.modifiedon)).toEqual([...byVersion.map((row) => row.modifiedon)].sort());
    for (const row of contacts) {
      expect(row.contactid).toMatch(GUID);
      expect(row.createdon).toMatch(ISO_SECOND);
      expect(Date.parse(row.createdon as string)).toBeGreaterThanOrEqual(SEED_FROM);
      expect(Date.parse(row.modifiedon as string)).toBeLessThanOrEqual(SEED_TO);
      expect((row.modifiedon as string) >= (row.createdon as string)).toBe(true);
      expect(row['@odata.etag']).toBe(`W/"${row.versionnumber}"`);
      expect(row.lastname).toEqual(expect.any(String));
      expect(row.fullname).toBe([row.firstname, row.lastname].filter(Boolean).join(' '));
      if (row.emailaddress1 !== null) expect(row.emailaddress1).toMatch(/^[a-z0-9.]+@[a-z0-9.]+\.[a-z]+$/);
      if (row.telephone1 !== null) expect(row.telephone1).toMatch(/^\+\d+ \d+ \d{3} \d{4}$/);
      if (row.birthdate !== null) expect(row.birthdate).toMatch(/^(19[5-9]\d|200[0-4])-\d{2}-\d{2}$/);
      if (row._parentcustomerid_value !== null) expect(accounts.has(row._parentcustomerid_value)).toBe(true);
      expect(typeof row.donotbulkemail).toBe('boolean');
    }
    const share = (test: (row: any) => boolean) => contacts.filter(test).length / contacts.length;
    expect(share((row) => row.jobtitle === null)).toBeGreaterThan(0.05);
    expect(share((row) => row.jobtitle === null)).toBeLessThan(0.15);
    expect(share((row) => row.statecode === 1)).toBeGreaterThan(0.03);
    expect(share((row) => row.statecode === 1)).toBeLessThan(0.13);
    expect(share((row) => row._parentcustomerid_value !== null)).toBeGreaterThan(0.7);
    const account = s.all('accounts').find((row) => row.revenue !== null && row.industrycode !== null && row.numberofemployees !== null)!;
    expect(account).toMatchObject({ name: expect.any(String), websiteurl: expect.stringMatching(/^https:\/\/www\.[a-z0-9]+\.com$/), numberofemployees: expect.any(Number) });
    expect(account.industrycode as number).toBeGreaterThanOrEqual(1);
    expect(account.industrycode as number).toBeLessThanOrEqual(33);
  });

  it('generates values for tables defined only by column types', () => {
    const projects: EntitySetDefinition = {
      entitySet: 'new_projects',
      logicalName: 'new_project',
      primaryKey: 'new_projectid',
      changeTracking: true,
      attributes: {
        new_name: 'string',
        new_contactemail: 'email',
        new_phone: 'phone',
        new_site: 'url',
        new_headcount: 'integer',
        new_progress: 'decimal',
        new_budget: 'money',
        new_active: 'boolean',
        new_due: 'datetime',
        new_start: 'date',
        new_stage: 'picklist',
        _new_accountid_value: 'lookup',
        new_externalid: 'guid',
      },
    };
    const s = store({ accounts: 20, new_projects: 300 }, 42, [projects]);
    const accounts = new Set(s.all('accounts').map((row) => row.accountid));
    const rows = s.all('new_projects');
    expect(rows).toHaveLength(300);
    const checks: Record<string, (value: any) => boolean> = {
      new_name: (v) => typeof v === 'string' && v.length > 0,
      new_contactemail: (v) => /^[a-z]+@[a-z0-9]+\.com$/.test(v),
      new_phone: (v) => /^\+\d+ /.test(v),
      new_site: (v) => /^https:\/\//.test(v),
      new_headcount: (v) => Number.isInteger(v),
      new_progress: (v) => typeof v === 'number',
      new_budget: (v) => typeof v === 'number',
      new_active: (v) => typeof v === 'boolean',
      new_due: (v) => ISO_SECOND.test(v),
      new_start: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v),
      new_stage: (v) => v >= 100000000 && v <= 100000004,
      _new_accountid_value: (v) => accounts.has(v),
      new_externalid: (v) => GUID.test(v),
    };
    for (const [name, check] of Object.entries(checks)) {
      const values = rows.map((row) => row[name]).filter((value) => value !== null);
      expect(values.length, name).toBeGreaterThan(200);
      expect(values.every(check), name).toBe(true);
    }
    expect(rows.every((row) => row.new_name !== null)).toBe(true);
  });

  it('seeds 55,000 rows and serves them in 5000-row pages through nextLinks', async () => {
    const emu = await dynamics({ seed: { contacts: 50_000, accounts: 5_000 } });
    expect(emu.store.count('contacts')).toBe(50_000);
    expect(emu.store.count('accounts')).toBe(5_000);
    const seen = new Set<string>();
    let next: string | undefined = 'contacts?$select=fullname,emailaddress1,modifiedon';
    for (let page = 0; page < 3 && next; page++) {
      const reply = await call(emu, 'GET', next);
      expect(reply.body.value).toHaveLength(5000);
      for (const row of reply.body.value) seen.add(row.contactid);
      next = reply.body['@odata.nextLink'];
    }
    expect(seen.size).toBe(15_000);
  });
});

describe('definitions', () => {
  it('replaces a built-in table with a same-named definition', async () => {
    const emu = await dynamics({
      entitySets: [{ entitySet: 'contacts', logicalName: 'contact', primaryKey: 'contactid', changeTracking: false, attributes: { lastname: 'string', new_score: 'integer' } }],
      seed: { contacts: 10 },
    });
    const row = emu.store.all('contacts')[0]!;
    expect(Object.keys(row)).toEqual(['@odata.etag', 'lastname', 'new_score', 'createdon', '_createdby_value', 'modifiedon', '_modifiedby_value', 'versionnumber', 'statecode', 'statuscode', 'contactid']);
    expect((await call(emu, 'GET', 'contacts', { headers: { Prefer: 'odata.track-changes' } })).body.error.code).toBe('0x80072491');
  });

  test.each([
    [{ ...CONTACTS, entitySet: 'people', attributes: { parentid: 'lookup' } }, 'lookup attribute "parentid" must be named _<name>_value'],
    [{ ...CONTACTS, entitySet: 'people', attributes: { x: 'text' } }, 'attribute "x" has unknown type "text"'],
    [{ ...CONTACTS, entitySet: 'people', attributes: { createdon: 'datetime' } }, 'attribute "createdon" is a system column'],
    [{ ...ACCOUNTS, entitySet: 'firms', logicalName: 'firm', lookupTargets: { _parentaccountid_value: 'companies' } }, 'lookupTargets._parentaccountid_value names unknown entity set "companies"'],
    [{ ...CONTACTS, entitySet: 'people', logicalName: 'person', lookupTargets: { _parentcustomerid_value: 'accounts' } }, 'lookupTargets names "_parentcustomerid_value", which is not a lookup attribute'],
    [{ ...CONTACTS, entitySet: 'people', logicalName: 'person', attributes: { new_tier: { type: 'picklist', options: [] } } }, 'attribute "new_tier": options must be a non-empty list of integers'],
    [{ ...CONTACTS, entitySet: 'people' }, 'share the logical name "contact"'],
  ])('rejects an invalid definition (%#)', (definition, message) => {
    expect(() => store({}, 42, [definition as EntitySetDefinition])).toThrow(message);
  });

  it('rejects seeds of unknown tables', () => {
    expect(() => store({ leads: 5 })).toThrow('seed: unknown entity set "leads"');
  });
});
