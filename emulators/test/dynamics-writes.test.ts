/**
 * Writes against the Dynamics 365 emulator: create (204/201), upsert by PATCH, delete,
 * lookups through @odata.bind, ETags with If-Match / If-None-Match, validation errors,
 * and the same writes made through the store.
 */
import { afterEach, describe, expect, it, test } from 'vitest';
import type { DynamicsEmulator } from '../src/dynamics/index.js';
import { GUID, call, closeAll, dynamics, fakeClock, header } from './dynamics-helpers.js';

afterEach(closeAll);

const idFrom = (entityId: unknown) => /\(([0-9a-f-]{36})\)$/.exec(String(entityId))?.[1] as string;
const REPRESENTATION = { Prefer: 'return=representation' };

async function setup(): Promise<{ emu: DynamicsEmulator; clock: ReturnType<typeof fakeClock>; account: string }> {
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12, 0, 0, 750));
  const emu = await dynamics({ seed: { contacts: 5, accounts: 3 }, now: clock.now });
  return { emu, clock, account: emu.store.all('accounts')[0]?.accountid as string };
}

describe('create', () => {
  it('answers 204 with OData-EntityId, and sets the system columns', async () => {
    const { emu } = await setup();
    const before = emu.store.version;
    const reply = await call(emu, 'POST', 'contacts', {
      json: { firstname: 'Ada', lastname: 'Lovelace', fullname: 'Someone Else', createdon: '2000-01-01T00:00:00Z', versionnumber: 7, creditlimit: 500 },
    });
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    const id = idFrom(header(reply, 'odata-entityid'));
    expect(header(reply, 'odata-entityid')).toBe(`${emu.apiUrl}/contacts(${id})`);
    const { UserId: user, BusinessUnitId: businessUnit } = (await call(emu, 'GET', 'WhoAmI')).body;
    const row = emu.store.get('contacts', id)!;
    const set = {
      '@odata.etag': `W/"${before + 1}"`,
      firstname: 'Ada',
      lastname: 'Lovelace',
      // Calculated from the name columns; never written directly.
      fullname: 'Ada Lovelace',
      creditlimit: 500,
      // The caller owns what it creates, in its business unit; money is in the base currency.
      _ownerid_value: user,
      _owningbusinessunit_value: businessUnit,
      _transactioncurrencyid_value: expect.stringMatching(GUID),
      // System-set, to the second: the payload's createdon/versionnumber are ignored.
      createdon: '2026-01-01T12:00:00Z',
      _createdby_value: user,
      modifiedon: '2026-01-01T12:00:00Z',
      _modifiedby_value: user,
      versionnumber: before + 1,
      statecode: 0,
      statuscode: 1,
      contactid: id,
    };
    expect(row).toMatchObject(set);
    for (const [name, value] of Object.entries(row)) {
      if (name in set) continue;
      // Two-option columns default to false, every other column to null.
      expect(value, name).toBe(/^(donot|creditonhold)/.test(name) ? false : null);
    }
  });

  it('returns the row with Prefer: return=representation (201), $select applying', async () => {
    const { emu } = await setup();
    const reply = await call(emu, 'POST', 'accounts?$select=name,revenue', { json: { name: 'Fabrikam', revenue: 1250000.5, numberofemployees: 40 }, headers: REPRESENTATION });
    expect(reply.status).toBe(201);
    expect(header(reply, 'preference-applied')).toBe('return=representation');
    const id = idFrom(header(reply, 'odata-entityid'));
    expect(reply.body).toEqual({
      '@odata.context': `${emu.apiUrl}/$metadata#accounts(name,revenue)/$entity`,
      '@odata.etag': expect.stringMatching(/^W\/"\d+"$/),
      name: 'Fabrikam',
      revenue: 1250000.5,
      accountid: id,
    });
    expect(header(reply, 'etag')).toBe(reply.body['@odata.etag']);
  });

  it('takes a client-supplied key, once', async () => {
    const { emu } = await setup();
    const id = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    expect((await call(emu, 'POST', 'contacts', { json: { contactid: id, lastname: 'Keyed' } })).status).toBe(204);
    expect(emu.store.get('contacts', id)?.lastname).toBe('Keyed');
    const again = await call(emu, 'POST', 'contacts', { json: { contactid: id.toUpperCase(), lastname: 'Twice' } });
    expect(again.status).toBe(412);
    expect(again.body).toEqual({ error: { code: '0x80040237', message: 'A record with matching key values already exists.' } });
  });

  it('sets lookups through @odata.bind navigation properties', async () => {
    const { emu, account } = await setup();
    const forms = [`/accounts(${account})`, `accounts(${account.toUpperCase()})`, `${emu.apiUrl}/accounts(${account})`];
    for (const bind of forms) {
      const reply = await call(emu, 'POST', 'contacts?$select=_parentcustomerid_value', { json: { lastname: 'Bound', 'parentcustomerid_account@odata.bind': bind }, headers: REPRESENTATION });
      expect(reply.body._parentcustomerid_value).toBe(account);
    }
    const id = emu.store.all('contacts').find((row) => row._parentcustomerid_value === account)?.contactid as string;
    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { 'parentcustomerid_account@odata.bind': null } })).status).toBe(204);
    expect(emu.store.get('contacts', id)?._parentcustomerid_value).toBeNull();
  });

  test.each([
    { name: 'an unknown column', json: { lastname: 'x', nosuch: 1 }, status: 400, code: '0x80060888', message: "The property 'nosuch' does not exist on type 'Microsoft.Dynamics.CRM.contact'. Make sure to only use property names that are defined by the type or mark the type as open type." },
    { name: 'a lookup written directly', json: { _parentcustomerid_value: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }, status: 400, code: '0x80060888', message: 'CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.' },
    { name: 'an unknown navigation property', json: { 'managerid@odata.bind': '/contacts(0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)' }, status: 400, code: '0x80060888', message: "An undeclared property 'managerid' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values." },
    { name: 'a customer lookup bound without its target table', json: { 'parentcustomerid@odata.bind': '/accounts(ACCOUNT)' }, status: 400, code: '0x80060888', message: "An undeclared property 'parentcustomerid' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values." },
    { name: 'an owner that is no user', json: { 'ownerid@odata.bind': '/systemusers(0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)' }, status: 404, code: '0x80040217', message: 'systemuser With Id = 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d Does Not Exist' },
    { name: 'a choice value the column does not have', json: { gendercode: 3 }, status: 400, code: '0x80044331', message: "A validation error occurred. The value 3 of 'gendercode' on record of type 'contact' is outside the valid range. Accepted Values: 1,2" },
    { name: 'a state and status that do not belong together', json: { statecode: 1, statuscode: 1 }, status: 400, code: '0x80040203', message: /^1 is not a valid status code for state code ContactState\.Inactive on contact with Id [0-9a-f-]{36}\.$/ },
    { name: 'a bind to a missing row', json: { 'parentcustomerid_account@odata.bind': '/accounts(0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)' }, status: 404, code: '0x80040217', message: 'account With Id = 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d Does Not Exist' },
    { name: 'a bind to the wrong table', json: { 'parentcustomerid_contact@odata.bind': '/accounts(ACCOUNT)' }, status: 400, code: '0x80060888', message: "The navigation property 'parentcustomerid_contact' refers to contact rows, not account rows." },
    { name: 'a number for text', json: { firstname: 5 }, status: 400, code: '0x80060888', message: "Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details." },
    { name: 'a string for a date', json: { birthdate: '2024-13-01' }, status: 400, code: '0x80060888', message: "Cannot convert the literal '2024-13-01' to the expected type 'Edm.Date'." },
    { name: 'a string for a two-option column', json: { donotbulkemail: 'yes' }, status: 400, code: '0x80060888', message: "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'." },
    { name: 'text too long', json: { firstname: 'x'.repeat(51) }, status: 400, code: '0x80044331', message: "A validation error occurred.  The length of the 'firstname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'." },
    { name: 'an invalid state', json: { statecode: 2 }, status: 400, code: '0x80040203', message: '2 is not a valid state code on contact.' },
  ])('rejects $name and writes nothing', async ({ json, status, code, message }) => {
    const { emu, account } = await setup();
    const version = emu.store.version;
    const body = JSON.parse(JSON.stringify(json).replace('ACCOUNT', account));
    const reply = await call(emu, 'POST', 'contacts', { json: body });
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual({ error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) } });
    expect(emu.store.version).toBe(version);
    expect(emu.store.count('contacts')).toBe(5);
  });

  it('rejects bodies that are not JSON objects', async () => {
    const { emu } = await setup();
    for (const body of ['{"firstname":', '[1,2]', '']) {
      const reply = await call(emu, 'POST', 'contacts', { body, headers: { 'Content-Type': 'application/json' } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('0x80060888');
    }
  });
});

describe('request size', () => {
  it('refuses a body over 64 MB whole (413 in Dataverse error shape) rather than reading part of it', async () => {
    const { emu } = await setup();
    const reply = await call(emu, 'POST', 'contacts', { body: JSON.stringify({ firstname: 'Big', description: 'x'.repeat(64 * 1024 * 1024) }), headers: { 'Content-Type': 'application/json' } });
    expect(reply.status).toBe(413);
    expect(reply.body.error.message).toBe(`The request body is larger than ${64 * 1024 * 1024} bytes.`);
    expect(emu.store.count('contacts')).toBe(5);
  });
});

describe('update (PATCH upserts)', () => {
  it('updates a row: new values, modifiedon and version', async () => {
    const { emu, clock } = await setup();
    const row = emu.store.all('contacts')[0]!;
    clock.advance(90_000);
    const reply = await call(emu, 'PATCH', `contacts(${row.contactid})`, { json: { jobtitle: 'CTO', firstname: 'Grace' } });
    expect(reply.status).toBe(204);
    expect(header(reply, 'odata-entityid')).toBe(`${emu.apiUrl}/contacts(${row.contactid})`);
    const updated = emu.store.get('contacts', row.contactid as string)!;
    expect(updated).toMatchObject({ jobtitle: 'CTO', firstname: 'Grace', fullname: `Grace ${row.lastname}`, modifiedon: '2026-01-01T12:01:30Z', createdon: row.createdon });
    expect(updated.versionnumber).toBe(emu.store.version);
    expect(updated['@odata.etag']).not.toBe(row['@odata.etag']);
  });

  test.each([
    { name: 'no condition, existing row', exists: true, headers: {}, status: 204, written: true },
    { name: 'no condition, missing row (creates it)', exists: false, headers: {}, status: 204, written: true },
    { name: 'If-Match: * on a missing row', exists: false, headers: { 'If-Match': '*' }, status: 404, written: false, code: '0x80040217' },
    { name: 'If-Match: * on an existing row', exists: true, headers: { 'If-Match': '*' }, status: 204, written: true },
    { name: 'If-None-Match: * on an existing row', exists: true, headers: { 'If-None-Match': '*' }, status: 412, written: false, code: '0x80040237', message: 'A record with matching key values already exists.' },
    { name: 'If-None-Match: * on a missing row', exists: false, headers: { 'If-None-Match': '*' }, status: 204, written: true },
    { name: 'If-Match with a stale ETag', exists: true, headers: { 'If-Match': 'W/"1"' }, status: 412, written: false, code: '0x80060882', message: "The version of the existing record doesn't match the RowVersion property provided." },
    { name: 'If-Match with the current ETag', exists: true, headers: { 'If-Match': 'CURRENT' }, status: 204, written: true },
    { name: 'representation of an update', exists: true, headers: REPRESENTATION, status: 200, written: true },
    { name: 'representation of a create', exists: false, headers: REPRESENTATION, status: 201, written: true },
  ])('$name: $status', async ({ exists, headers, status, written, code, message }) => {
    const { emu } = await setup();
    const id = exists ? (emu.store.all('contacts')[2]?.contactid as string) : '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9';
    const etag = emu.store.get('contacts', id)?.['@odata.etag'] as string | undefined;
    const sent = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value === 'CURRENT' ? (etag as string) : value]));
    const reply = await call(emu, 'PATCH', `contacts(${id})`, { json: { lastname: 'Upserted' }, headers: sent });
    expect(reply.status).toBe(status);
    if (code) expect(reply.body.error.code).toBe(code);
    if (message) expect(reply.body.error.message).toBe(message);
    if (status === 200 || status === 201) expect(reply.body).toMatchObject({ '@odata.context': `${emu.apiUrl}/$metadata#contacts/$entity`, lastname: 'Upserted', contactid: id });
    expect(emu.store.get('contacts', id)?.lastname === 'Upserted').toBe(written);
  });
});

describe('delete', () => {
  it('deletes with 204, then 404; If-Match guards it', async () => {
    const { emu } = await setup();
    const [a, b] = emu.store.all('contacts');
    const stale = await call(emu, 'DELETE', `contacts(${a?.contactid})`, { headers: { 'If-Match': 'W/"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('0x80060882');
    expect(emu.store.get('contacts', a?.contactid as string)).toBeDefined();
    expect((await call(emu, 'DELETE', `contacts(${a?.contactid})`, { headers: { 'If-Match': a?.['@odata.etag'] as string } })).status).toBe(204);
    expect((await call(emu, 'DELETE', `contacts(${b?.contactid})`)).status).toBe(204);
    const again = await call(emu, 'DELETE', `contacts(${b?.contactid})`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ error: { code: '0x80040217', message: `contact With Id = ${b?.contactid} Does Not Exist` } });
    expect(emu.store.count('contacts')).toBe(3);
  });
});

describe('store writes', () => {
  it('behave like Web API writes: versions, modifiedon, lookups set directly', async () => {
    const { emu, clock, account } = await setup();
    const version = emu.store.version;
    const created = emu.store.create('contacts', { lastname: 'Direct', _parentcustomerid_value: account }, { id: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE', modifiedOn: Date.UTC(2025, 4, 1, 8, 30, 15, 999) });
    expect(created).toMatchObject({ contactid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', createdon: '2025-05-01T08:30:15Z', modifiedon: '2025-05-01T08:30:15Z', versionnumber: version + 1, _parentcustomerid_value: account });
    clock.advance(5_000);
    const updated = emu.store.update('contacts', created.contactid as string, { jobtitle: 'Analyst' });
    expect(updated).toMatchObject({ jobtitle: 'Analyst', modifiedon: '2026-01-01T12:00:05Z', versionnumber: version + 2 });
    expect((await call(emu, 'GET', `contacts(${created.contactid})`)).body).toEqual({ '@odata.context': `${emu.apiUrl}/$metadata#contacts/$entity`, ...updated });
    expect(emu.store.delete('contacts', created.contactid as string)).toBe(true);
    expect(emu.store.delete('contacts', created.contactid as string)).toBe(false);
    expect(emu.store.version).toBe(version + 3);
    expect(() => emu.store.update('contacts', created.contactid as string, { jobtitle: 'x' })).toThrow('Does Not Exist');
    expect(() => emu.store.create('contacts', { nosuch: 1 })).toThrow("The property 'nosuch' does not exist");
    expect(() => emu.store.count('leads')).toThrow('unknown entity set "leads"');
    expect(emu.store.entitySets()).toEqual(['contacts', 'accounts']);
    expect(emu.store.definition('accounts').primaryKey).toBe('accountid');
    expect(created.contactid).toMatch(GUID);
  });
});
