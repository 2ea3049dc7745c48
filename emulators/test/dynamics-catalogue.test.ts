/**
 * The tables the Dynamics 365 emulator serves: contact and account with their real
 * standard columns, values seeded for every one of them, what the platform sets on
 * writes (owner, created/modified by, status reason), and further tables and custom
 * columns only when given explicitly (options or a tables file).
 */
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { ACCOUNTS, CONTACTS, parseDynamicsTables, type DynamicsEmulator, type EntitySetDefinition } from '../src/dynamics/index.js';
import { GUID, call, closeAll, dynamics } from './dynamics-helpers.js';

afterAll(closeAll);

let shared: DynamicsEmulator;
let whoAmI: { UserId: string; BusinessUnitId: string };
beforeAll(async () => {
  shared = await dynamics({ seed: { contacts: 400, accounts: 60 } });
  whoAmI = (await call(shared, 'GET', 'WhoAmI')).body;
});

const INCIDENTS: EntitySetDefinition = {
  entitySet: 'incidents',
  logicalName: 'incident',
  primaryKey: 'incidentid',
  changeTracking: true,
  primaryNameAttribute: 'title',
  attributes: { title: { type: 'string', maxLength: 200 }, ticketnumber: { type: 'string', maxLength: 100 }, prioritycode: { type: 'picklist', options: [1, 2, 3] }, _customerid_value: 'customer' },
};

describe('the standard columns', () => {
  test.each([
    ['contacts', ['statuscode', '_ownerid_value', '_createdby_value', '_modifiedby_value', 'mobilephone', 'address1_line1', 'description', 'middlename', 'emailaddress2', 'address1_postalcode', 'gendercode', 'annualincome', '_owningbusinessunit_value']],
    ['accounts', ['accountnumber', '_primarycontactid_value', '_parentaccountid_value', 'description', 'statuscode', '_ownerid_value', '_createdby_value', '_modifiedby_value', 'address1_line1', 'tickersymbol', 'ownershipcode', 'creditlimit', '_transactioncurrencyid_value']],
  ])('%s: real columns are selectable and seeded', async (set, columns) => {
    const reply = await call(shared, 'GET', `${set}?$select=${columns.join(',')}`);
    expect(reply.status, reply.text).toBe(200);
    for (const column of columns) {
      const values = reply.body.value.map((row: any) => row[column]);
      expect(values.filter((value: unknown) => value !== null).length, column).toBeGreaterThan(values.length / 2);
    }
  });

  test.each(['job_title', 'statuscodes', 'ownerid', 'new_loyaltytier', 'address1_street'])('an unknown column (%s) is refused as Dataverse refuses it', async (column) => {
    const reply = await call(shared, 'GET', `contacts?$select=lastname,${column}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toEqual({ code: '0x80060888', message: `Could not find a property named '${column}' on type 'Microsoft.Dynamics.CRM.contact'.` });
  });

  it('seeds what an organisation holds: owners and authors among its users, status reasons that fit the state, lookups to rows that exist', () => {
    const users = new Set(shared.store.all('contacts').flatMap((row) => [row._createdby_value, row._modifiedby_value]));
    expect(users.size).toBeGreaterThan(3);
    const accounts = new Set(shared.store.all('accounts').map((row) => row.accountid));
    const contacts = new Set(shared.store.all('contacts').map((row) => row.contactid));
    for (const row of shared.store.all('contacts')) {
      expect(row.statuscode).toBe(row.statecode === 0 ? 1 : 2);
      expect(row._ownerid_value).toMatch(GUID);
      expect(row._owningbusinessunit_value).toBe(whoAmI.BusinessUnitId);
      if (row.modifiedon === row.createdon) expect(row._modifiedby_value).toBe(row._createdby_value);
      for (const text of ['firstname', 'lastname', 'jobtitle', 'address1_line1', 'mobilephone', 'suffix', 'description']) {
        const max = { firstname: 50, lastname: 50, jobtitle: 100, address1_line1: 250, mobilephone: 50, suffix: 10, description: 2000 }[text] as number;
        expect(((row[text] as string | null) ?? '').length, text).toBeLessThanOrEqual(max);
      }
      if (row.address1_latitude !== null) expect(Math.abs(row.address1_latitude as number)).toBeLessThanOrEqual(90);
      if (row.gendercode !== null) expect([1, 2]).toContain(row.gendercode);
    }
    for (const row of shared.store.all('accounts')) {
      if (row._primarycontactid_value !== null) expect(contacts.has(row._primarycontactid_value)).toBe(true);
      if (row._parentaccountid_value !== null) expect(accounts.has(row._parentaccountid_value)).toBe(true);
    }
  });
});

describe('what the platform sets on writes', () => {
  it('records the caller as owner, author and last editor, and keeps state and status reason together', async () => {
    const emu = await dynamics({ seed: { contacts: 3 } });
    const user = (await call(emu, 'GET', 'WhoAmI')).body.UserId;
    const [seeded] = emu.store.all('contacts');
    const id = seeded!.contactid as string;

    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { statecode: 1 } })).status).toBe(204);
    expect(emu.store.get('contacts', id)).toMatchObject({ statecode: 1, statuscode: 2, _modifiedby_value: user, _createdby_value: seeded!._createdby_value });
    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { statuscode: 1 } })).status).toBe(204);
    expect(emu.store.get('contacts', id)).toMatchObject({ statecode: 0, statuscode: 1 });

    // Columns only the platform sets are ignored in a payload; lookups are bound, never written.
    const ignored = await call(emu, 'PATCH', `contacts(${id})`, { json: { modifiedon: '2000-01-01T00:00:00Z', 'createdby@odata.bind': `/systemusers(${user})`, jobtitle: 'Buyer' } });
    expect(ignored.status).toBe(204);
    expect(emu.store.get('contacts', id)).toMatchObject({ jobtitle: 'Buyer', _createdby_value: seeded!._createdby_value });
    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { _ownerid_value: user } })).status).toBe(400);

    // Assigning: ownerid is bound to a user (or team) of the organisation.
    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { 'ownerid@odata.bind': `/systemusers(${user})` } })).status).toBe(204);
    expect(emu.store.get('contacts', id)?._ownerid_value).toBe(user);
    const toContact = await call(emu, 'PATCH', `contacts(${id})`, { json: { 'ownerid@odata.bind': `/contacts(${id})` } });
    expect(toContact.body.error.message).toBe("The navigation property 'ownerid' refers to systemuser or team rows, not contact rows.");
  });
});

describe('further tables and custom columns, only when given', () => {
  it('serves a table and custom columns given as options, with seeded values', async () => {
    const emu = await dynamics({
      entitySets: [INCIDENTS],
      extraColumns: { contacts: { new_loyaltytier: 'picklist', _new_regionid_value: { type: 'lookup', targets: ['incident'] } } },
      seed: { contacts: 50, accounts: 10, incidents: 30 },
    });
    const incidents = await call(emu, 'GET', 'incidents?$select=title,prioritycode,_customerid_value,statuscode');
    expect(incidents.status, incidents.text).toBe(200);
    expect(incidents.body.value).toHaveLength(30);
    const contacts = await call(emu, 'GET', 'contacts?$select=new_loyaltytier,_new_regionid_value,jobtitle');
    expect(contacts.status, contacts.text).toBe(200);
    const tiers = contacts.body.value.map((row: any) => row.new_loyaltytier).filter((value: unknown) => value !== null);
    expect(tiers.length).toBeGreaterThan(30);
    expect(tiers.every((value: number) => value >= 100000000 && value <= 100000004)).toBe(true);
    const regions = new Set(emu.store.all('incidents').map((row) => row.incidentid));
    expect(contacts.body.value.filter((row: any) => row._new_regionid_value !== null).every((row: any) => regions.has(row._new_regionid_value))).toBe(true);
    const attribute = await call(emu, 'GET', "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='new_loyaltytier')?$select=AttributeType,IsCustomAttribute");
    expect(attribute.body).toMatchObject({ AttributeType: 'Picklist', IsCustomAttribute: true });
    // Without the options neither exists.
    expect((await call(shared, 'GET', 'incidents')).status).toBe(404);
  });

  test.each<[string, Parameters<typeof dynamics>[0], string]>([
    ['a column of an unknown table', { extraColumns: { leads: { new_score: 'integer' } } }, 'extraColumns: there is no entity set "leads" (served: contacts, accounts)'],
    ['a standard column again', { extraColumns: { contacts: { jobtitle: 'string' } } }, 'extraColumns.contacts.jobtitle: the contact table has this column already'],
    ['a custom column without a publisher prefix', { extraColumns: { contacts: { jobtitel: 'string' } } }, 'extraColumns.contacts.jobtitel: custom columns carry a publisher prefix, e.g. new_jobtitel'],
    ['a custom column of an unknown type', { extraColumns: { accounts: { new_tier: 'text' as never } } }, 'attribute "new_tier" has unknown type "text"'],
  ])('refuses %s', async (_, options, message) => {
    await expect(dynamics(options)).rejects.toThrow(message);
  });

  it('reads the same from a tables file', () => {
    const file = JSON.stringify({ entitySets: [INCIDENTS], extraColumns: { accounts: { new_tier: { type: 'picklist', options: [1, 2] } } } });
    expect(parseDynamicsTables(file)).toEqual({ entitySets: [INCIDENTS], extraColumns: { accounts: { new_tier: { type: 'picklist', options: [1, 2] } } } });
    expect(() => parseDynamicsTables('{"entitySets": [')).toThrow(/^not valid JSON/);
    expect(() => parseDynamicsTables('[]')).toThrow('expected a JSON object with "entitySets" and/or "extraColumns"');
    expect(() => parseDynamicsTables('{"tables": []}')).toThrow('unknown key "tables" (known: entitySets, extraColumns)');
    expect(() => parseDynamicsTables('{"entitySets": {}}')).toThrow('"entitySets" must be a list of table definitions');
    expect(() => parseDynamicsTables(JSON.stringify({ entitySets: [{ ...INCIDENTS, logicalName: 'contact' }] }))).toThrow('share the logical name "contact"');
    expect(() => parseDynamicsTables(JSON.stringify({ entitySets: [{ ...INCIDENTS, primaryKey: undefined }] }))).toThrow('primaryKey must be an identifier');
  });

  it('lets a definition replace a standard table, e.g. one without change tracking', async () => {
    const emu = await dynamics({ entitySets: [{ ...ACCOUNTS, changeTracking: false }, CONTACTS], seed: { accounts: 2 } });
    const tracked = await call(emu, 'GET', 'EntityDefinitions?$select=LogicalName&$filter=ChangeTrackingEnabled eq true');
    expect(tracked.body.value.map((row: any) => row.LogicalName)).toEqual(['contact']);
  });
});
