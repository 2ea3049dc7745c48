/**
 * Queries against the Dynamics 365 emulator: server-driven paging with
 * odata.maxpagesize and opaque nextLinks, $select/$filter/$orderby/$top/$count and their
 * errors, single rows, EntityDefinitions, and the wire format of rows.
 */
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { compareGuids, type DynamicsEmulator } from '../src/dynamics/index.js';
import { GUID, call, closeAll, dynamics, header, headerValues, readAll } from './dynamics-helpers.js';

afterAll(closeAll);

let shared: DynamicsEmulator;
beforeAll(async () => {
  shared = await dynamics({ seed: { contacts: 1500, accounts: 200 } });
});

const maxPageSize = (n: number) => ({ Prefer: `odata.maxpagesize=${n}` });
const ids = (rows: any[], key = 'contactid') => rows.map((row) => row[key] as string);
const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

function expectError(reply: { status: number; body: any }, status: number, code: string, message: string | RegExp): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({ error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) } });
}

describe('paging', () => {
  it('returns every row exactly once, in the key order SQL Server gives GUIDs, through opaque nextLinks', async () => {
    const { rows, pages } = await readAll(shared, 'contacts?$select=fullname', { headers: maxPageSize(500) });
    expect(pages).toHaveLength(3);
    expect(pages.map((page) => page.body.value.length)).toEqual([500, 500, 500]);
    for (const page of pages) {
      expect(header(page, 'preference-applied')).toBe('odata.maxpagesize=500');
      expect(header(page, 'odata-version')).toBe('4.0');
      expect(header(page, 'content-type')).toBe('application/json; odata.metadata=minimal');
      expect(page.body['@odata.context']).toBe(`${shared.apiUrl}/$metadata#contacts(fullname)`);
    }
    const next = pages[0]?.body['@odata.nextLink'] as string;
    expect(next.startsWith(`${shared.apiUrl}/contacts?$select=fullname&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%253ccontactid%2520last%253d%2522%257b`)).toBe(true);
    expect(pages[2]?.body['@odata.nextLink']).toBeUndefined();

    const stored = shared.store.all('contacts');
    expect(ids(rows)).toEqual(ids(stored));
    expect(new Set(ids(rows)).size).toBe(1500);
    // The default order is the key's, as SQL Server orders uniqueidentifiers: not the text order.
    expect(ids(rows)).toEqual([...ids(rows)].sort(compareGuids));
    expect(ids(rows)).not.toEqual([...ids(rows)].sort());
    for (const row of rows) expect(Object.keys(row)).toEqual(['@odata.etag', 'fullname', 'contactid']);
  });

  it('serves 5000 rows per page by default and caps larger page sizes at 5000', async () => {
    const emu = await dynamics({ seed: { contacts: 12_000 } });
    const first = await call(emu, 'GET', 'contacts');
    expect(first.body.value).toHaveLength(5000);
    expect(header(first, 'preference-applied')).toBeUndefined();
    expect(first.body['@odata.nextLink']).toEqual(expect.stringContaining('$skiptoken='));

    const capped = await readAll(emu, 'contacts?$select=lastname', { headers: maxPageSize(8000) });
    expect(capped.pages.map((page) => page.body.value.length)).toEqual([5000, 5000, 2000]);
    expect(header(capped.pages[0]!, 'preference-applied')).toBe('odata.maxpagesize=5000');
    expect(new Set(ids(capped.rows)).size).toBe(12_000);
  });

  it('uses the maxPageSize option as cap and default', async () => {
    const emu = await dynamics({ seed: { accounts: 250 }, maxPageSize: 100 });
    const { pages, rows } = await readAll(emu, 'accounts?$select=name');
    expect(pages.map((page) => page.body.value.length)).toEqual([100, 100, 50]);
    expect(ids(rows, 'accountid')).toEqual(ids(emu.store.all('accounts'), 'accountid'));
  });

  it('keeps its place when rows are created, updated or deleted between pages', async () => {
    const emu = await dynamics({ seed: { contacts: 300 } });
    const before = ids(emu.store.all('contacts'));
    let lastOfFirstPage = '';
    let deleted = '';
    const created: string[] = [];
    const { rows } = await readAll(emu, 'contacts?$select=lastname', {
      headers: maxPageSize(100),
      between: (page) => {
        if (page !== 1) return;
        lastOfFirstPage = before[99] as string;
        for (let i = 0; i < 40; i++) created.push(emu.store.create('contacts', { lastname: `New ${i}` }).contactid as string);
        deleted = before[150] as string;
        emu.store.delete('contacts', deleted);
        // A row already read changes: it does not come again (its key did not move).
        emu.store.update('contacts', before[10] as string, { lastname: 'Changed' });
      },
    });
    const got = ids(rows);
    expect(new Set(got).size).toBe(got.length);
    expect(got.slice(0, 100)).toEqual(before.slice(0, 100));
    expect(got).not.toContain(deleted);
    for (const id of before) if (id !== deleted) expect(got).toContain(id);
    // New rows show up exactly when they sort after the first page's last row.
    for (const id of created) expect(got.includes(id)).toBe(compareGuids(id, lastOfFirstPage) > 0);
    expect(got.filter((id) => created.includes(id)).length).toBeGreaterThan(5);
  });

  it('keeps the sort order across pages with $orderby and nulls first', async () => {
    const all = await readAll(shared, 'contacts?$select=jobtitle,lastname&$orderby=jobtitle desc,lastname', { headers: maxPageSize(400) });
    expect(all.pages).toHaveLength(4);
    const expected = shared.store
      .all('contacts')
      .sort((a: any, b: any) => {
        const x = a.jobtitle === null ? null : fold(a.jobtitle);
        const y = b.jobtitle === null ? null : fold(b.jobtitle);
        if (x !== y) return x === null ? 1 : y === null ? -1 : x < y ? 1 : -1;
        const l = fold(a.lastname);
        const m = fold(b.lastname);
        if (l !== m) return l < m ? -1 : 1;
        return compareGuids(a.contactid, b.contactid);
      });
    expect(ids(all.rows)).toEqual(ids(expected));
    expect(all.rows.at(-1).jobtitle).toBeNull();
  });
});

describe('$top, $count, $skip', () => {
  it('$top limits the rows and sends no nextLink', async () => {
    const reply = await call(shared, 'GET', 'contacts?$select=lastname&$top=5');
    expect(reply.body.value).toHaveLength(5);
    expect(reply.body['@odata.nextLink']).toBeUndefined();
    expect(ids(reply.body.value)).toEqual(ids(shared.store.all('contacts').slice(0, 5)));
  });

  it('$top is ignored when odata.maxpagesize is sent', async () => {
    const { rows, pages } = await readAll(shared, 'contacts?$select=lastname&$top=5', { headers: maxPageSize(1000) });
    expect(pages).toHaveLength(2);
    expect(rows).toHaveLength(1500);
  });

  it('$count=true reports matching rows up to 5000, and the total-count annotations on request', async () => {
    const counted = await call(shared, 'GET', 'contacts?$select=lastname&$count=true&$filter=statecode eq 1', { headers: maxPageSize(10) });
    const inactive = shared.store.all('contacts').filter((row) => row.statecode === 1).length;
    expect(counted.body['@odata.count']).toBe(inactive);
    expect(Object.keys(counted.body)).toEqual(['@odata.context', '@odata.count', 'value', '@odata.nextLink']);

    const emu = await dynamics({ seed: { contacts: 5200 } });
    const big = await call(emu, 'GET', 'contacts?$select=lastname&$count=true', {
      headers: { Prefer: 'odata.maxpagesize=1, odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"' },
    });
    expect(big.body['@odata.count']).toBe(5000);
    expect(big.body['@Microsoft.Dynamics.CRM.totalrecordcount']).toBe(5000);
    expect(big.body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded']).toBe(true);
    const count = await call(emu, 'GET', 'contacts/$count');
    expect(count.text).toBe('5000');
    expect(header(count, 'content-type')).toBe('text/plain');
    expect((await call(shared, 'GET', 'accounts/$count')).text).toBe('200');
  });

  test.each([
    { query: '$skip=10', message: 'The query parameter $skip is not supported.' },
    { query: '$top=-1', message: "Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value." },
    { query: '$top=ten', message: "Invalid value 'ten' for $top query option found. The $top query option requires a non-negative integer value." },
    { query: '$top=5001', message: 'The $top query option value 5001 exceeds the maximum of 5000.' },
    { query: '$select=lastname&$select=firstname', message: "Query option '$select' was specified more than once, but it must be specified at most once." },
    { query: '$unknown=1', message: "The query parameter '$unknown' is not supported." },
  ])('rejects $query', async ({ query, message }) => {
    expectError(await call(shared, 'GET', `contacts?${query}`), 400, '0x80060888', message);
  });

  // Each of these replaces the OData query: ignored, it would answer with the whole table.
  test.each([
    ['fetchXml', encodeURIComponent('<fetch top="5"><entity name="contact"><attribute name="fullname" /></entity></fetch>'), 'FetchXML queries'],
    ['savedQuery', '00000000-0000-0000-00aa-000010001002', 'saved (system) views'],
    ['userQuery', '5a3e8c11-1d2f-4b6a-9c0e-7f1a2b3c4d5e', 'personal views'],
  ])('refuses %s as not emulated, on collections, counts and single rows', async (name, value, what) => {
    const message = `The query parameter '${name}' is not emulated: ${what} are not supported by this Dataverse emulator. Use $select, $filter and $orderby.`;
    const [row] = shared.store.all('contacts');
    for (const path of [`contacts?${name}=${value}`, `contacts/$count?${name}=${value}`, `contacts(${row!.contactid})?${name}=${value}`]) {
      expectError(await call(shared, 'GET', path), 400, '0x80060888', message);
    }
  });
});

describe('$select', () => {
  it('returns the selected columns, the etag and the key', async () => {
    const reply = await call(shared, 'GET', 'contacts?$select=emailaddress1,_parentcustomerid_value,contactid&$top=3');
    expect(reply.body['@odata.context']).toBe(`${shared.apiUrl}/$metadata#contacts(emailaddress1,_parentcustomerid_value)`);
    for (const row of reply.body.value) {
      expect(Object.keys(row)).toEqual(['@odata.etag', 'emailaddress1', '_parentcustomerid_value', 'contactid']);
      expect(row['@odata.etag']).toMatch(/^W\/"\d+"$/);
    }
  });

  test.each(['nosuch', 'parentcustomerid', 'FirstName'])('an unknown column (%s) is a 400', async (name) => {
    expectError(await call(shared, 'GET', `contacts?$select=lastname,${name}`), 400, '0x80060888', `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.contact'.`);
  });

  it('writes values as Dataverse does', async () => {
    const [account] = (await call(shared, 'GET', 'accounts?$top=50')).body.value.filter((row: any) => row.revenue !== null);
    expect(account).toMatchObject({
      accountid: expect.stringMatching(GUID),
      createdon: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      modifiedon: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      versionnumber: expect.any(Number),
      statecode: expect.any(Number),
      revenue: expect.any(Number),
    });
    expect(account['@odata.etag']).toBe(`W/"${account.versionnumber}"`);
    const contacts = (await call(shared, 'GET', 'contacts?$select=birthdate,donotbulkemail,_parentcustomerid_value&$top=200')).body.value;
    expect(contacts.some((row: any) => row.birthdate === null)).toBe(true);
    for (const row of contacts) {
      if (row.birthdate !== null) expect(row.birthdate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(typeof row.donotbulkemail).toBe('boolean');
      if (row._parentcustomerid_value !== null) expect(shared.store.get('accounts', row._parentcustomerid_value)).toBeDefined();
    }
  });
});

describe('$filter', () => {
  let account: string | undefined;
  const someAccount = () => (account ??= shared.store.all('contacts').find((row) => row._parentcustomerid_value !== null)?._parentcustomerid_value as string);
  const text = (value: unknown) => (value === null ? null : fold(value as string));

  test.each<{ filter: string | (() => string); match: (row: any) => boolean }>([
    { filter: 'statecode eq 1', match: (row) => row.statecode === 1 },
    { filter: "startswith(lastname,'m')", match: (row) => text(row.lastname)!.startsWith('m') },
    { filter: "contains(emailaddress1,'@outlook.com')", match: (row) => row.emailaddress1?.includes('@outlook.com') ?? false },
    { filter: "endswith(fullname,'SMITH')", match: (row) => text(row.fullname)?.endsWith('smith') ?? false },
    { filter: 'modifiedon gt 2025-01-01T00:00:00Z', match: (row) => row.modifiedon > '2025-01-01T00:00:00Z' },
    { filter: 'birthdate lt 1970-01-01', match: (row) => row.birthdate !== null && row.birthdate < '1970-01-01' },
    { filter: 'donotbulkemail eq true and statecode eq 0', match: (row) => row.donotbulkemail === true && row.statecode === 0 },
    { filter: 'donotbulkemail', match: (row) => row.donotbulkemail === true },
    { filter: 'jobtitle eq null', match: (row) => row.jobtitle === null },
    // A null column compared with a value is unknown: neither `ne` nor `not` returns it.
    { filter: "jobtitle ne 'CEO'", match: (row) => row.jobtitle !== null && row.jobtitle !== 'CEO' },
    { filter: "not contains(jobtitle,'manager')", match: (row) => row.jobtitle !== null && !fold(row.jobtitle).includes('manager') },
    { filter: "(address1_city eq 'paris' or address1_city eq 'LONDON') and _parentcustomerid_value ne null", match: (row) => ['Paris', 'London'].includes(row.address1_city) && row._parentcustomerid_value !== null },
    { filter: "lastname eq 'O''Brien'", match: (row) => row.lastname === "O'Brien" },
    { filter: () => `_parentcustomerid_value eq ${someAccount()}`, match: (row) => row._parentcustomerid_value === someAccount() },
    { filter: 'fullname ne lastname', match: (row) => row.fullname !== null && fold(row.fullname) !== fold(row.lastname) },
    { filter: "lastname in ('Smith','jones')", match: (row) => ['smith', 'jones'].includes(fold(row.lastname)) },
    // Accents and case are ignored, and LIKE wildcards work in contains().
    { filter: "contains(lastname,'m_ller')", match: (row) => /m.ller/.test(fold(row.lastname)) },
    { filter: "address1_city eq 'munchen'", match: (row) => row.address1_city === 'München' },
    { filter: '5000 lt versionnumber', match: () => true },
  ])('$filter', async ({ filter, match }) => {
    const expression = typeof filter === 'function' ? filter() : filter;
    const { rows } = await readAll(shared, `contacts?$select=lastname&$filter=${encodeURIComponent(expression)}`);
    const expected = shared.store.all('contacts').filter(match);
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(rows)).toEqual(ids(expected));
  });

  test.each([
    { filter: 'firstname eq', message: "Expression expected at position 12 in 'firstname eq'." },
    { filter: 'nosuch eq 1', message: "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.contact'." },
    { filter: 'firstname eq 5', message: "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'." },
    { filter: "statecode gt '1'", message: "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.String' for operator kind 'GreaterThan'." },
    { filter: "_parentcustomerid_value eq '00000000-0000-0000-0000-000000000000'", message: "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'." },
    { filter: "lastname eq 'O'Bryan'", message: "There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''." },
    { filter: '(statecode eq 0', message: "')' or operator expected at position 15 in '(statecode eq 0'." },
    { filter: 'statecode eq 0 xor 1', message: "Syntax error at position 15 in 'statecode eq 0 xor 1'." },
    { filter: "firstname eq 'a' # 1", message: "Syntax error: character '#' is not valid at position 17 in 'firstname eq 'a' # 1'." },
    { filter: "contains(statecode,'1')", message: "No function signature for the function with name 'contains' matches the specified arguments. The function signatures considered are: contains(Edm.String Nullable=true, Edm.String Nullable=true)." },
    { filter: "Microsoft.Dynamics.CRM.Today(PropertyName='createdon')", message: "An unknown function with name 'Microsoft.Dynamics.CRM.Today' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed." },
  ])('rejects $filter', async ({ filter, message }) => {
    expectError(await call(shared, 'GET', `contacts?$filter=${encodeURIComponent(filter)}`), 400, '0x80060888', message);
  });
});

describe('$orderby', () => {
  it('sorts by several columns, case- and accent-insensitively, with the key as the final tiebreak', async () => {
    const { rows } = await readAll(shared, 'accounts?$select=address1_country,name&$orderby=address1_country,numberofemployees desc');
    const expected = shared.store.all('accounts').sort((a: any, b: any) => {
      const x = a.address1_country === null ? null : fold(a.address1_country);
      const y = b.address1_country === null ? null : fold(b.address1_country);
      if (x !== y) return x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      const m = a.numberofemployees ?? -Infinity;
      const n = b.numberofemployees ?? -Infinity;
      if (m !== n) return n - m;
      return compareGuids(a.accountid, b.accountid);
    });
    expect(ids(rows, 'accountid')).toEqual(ids(expected, 'accountid'));
  });

  test.each([
    { orderby: 'nosuch', message: "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.account'." },
    { orderby: 'name upward', message: "Syntax error at position 5 in 'name upward'." },
  ])('rejects $orderby=$orderby', async ({ orderby, message }) => {
    expectError(await call(shared, 'GET', `accounts?$orderby=${encodeURIComponent(orderby)}`), 400, '0x80060888', message);
  });
});

describe('single rows', () => {
  it('returns one row with its context and ETag, and 304 while it is unchanged', async () => {
    const stored = shared.store.all('contacts')[7]!;
    const id = stored.contactid as string;
    const reply = await call(shared, 'GET', `contacts(${id})?$select=firstname,lastname`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      '@odata.context': `${shared.apiUrl}/$metadata#contacts(firstname,lastname)/$entity`,
      '@odata.etag': stored['@odata.etag'],
      firstname: stored.firstname,
      lastname: stored.lastname,
      contactid: id,
    });
    expect(header(reply, 'etag')).toBe(stored['@odata.etag']);

    const full = await call(shared, 'GET', `contacts(${id.toUpperCase()})`);
    expect(full.body).toEqual({ '@odata.context': `${shared.apiUrl}/$metadata#contacts/$entity`, ...stored });

    const unchanged = await call(shared, 'GET', `contacts(${id})`, { headers: { 'If-None-Match': stored['@odata.etag'] as string } });
    expect(unchanged.status).toBe(304);
    expect(unchanged.text).toBe('');
    expect((await call(shared, 'GET', `contacts(${id})`, { headers: { 'If-None-Match': 'W/"1"' } })).status).toBe(200);
    // Dataverse's docs tell clients to send `If-None-Match: null`: no condition.
    expect((await call(shared, 'GET', `contacts(${id})`, { headers: { 'If-None-Match': 'null' } })).status).toBe(200);
  });

  test.each([
    { path: 'contacts(00000000-0000-0000-0000-000000000001)', status: 404, code: '0x80040217', message: 'contact With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist' },
    { path: 'contacts(42)', status: 400, code: '0x80060888', message: 'Bad Request - Error in query syntax.' },
    { path: 'leads', status: 404, code: '0x80060888', message: "Resource not found for the segment 'leads'." },
    { path: 'contacts(00000000-0000-0000-0000-000000000001)/firstname', status: 404, code: '0x80060888', message: "Resource not found for the segment 'firstname'." },
  ])('GET $path: $status', async ({ path, status, code, message }) => {
    expectError(await call(shared, 'GET', path), status, code, message);
  });

  it('refuses methods a resource does not support', async () => {
    expectError(await call(shared, 'DELETE', 'contacts'), 405, '0x80060888', "The requested resource does not support http method 'DELETE'.");
  });
});

describe('metadata', () => {
  it('describes tables in EntityDefinitions and their columns in Attributes', async () => {
    const emu = await dynamics({
      entitySets: [{ entitySet: 'new_projects', logicalName: 'new_project', primaryKey: 'new_projectid', changeTracking: false, attributes: { new_name: 'string', new_budget: 'money' } }],
    });
    const select = '$select=LogicalName,EntitySetName,ChangeTrackingEnabled,PrimaryIdAttribute';
    const contacts = await call(emu, 'GET', `EntityDefinitions?${select}&$filter=${encodeURIComponent("EntitySetName eq 'contacts'")}`);
    expect(contacts.body).toEqual({
      '@odata.context': `${emu.apiUrl}/$metadata#EntityDefinitions(LogicalName,EntitySetName,ChangeTrackingEnabled,PrimaryIdAttribute)`,
      value: [{ LogicalName: 'contact', EntitySetName: 'contacts', ChangeTrackingEnabled: true, PrimaryIdAttribute: 'contactid', MetadataId: expect.stringMatching(GUID) }],
    });
    const tracked = await call(emu, 'GET', `EntityDefinitions?$select=LogicalName&$filter=ChangeTrackingEnabled eq false`);
    expect(tracked.body.value.map((row: any) => row.LogicalName)).toEqual(['new_project']);

    const one = await call(emu, 'GET', `EntityDefinitions(LogicalName='account')?${select}`);
    expect(one.body).toMatchObject({ '@odata.context': expect.stringContaining('#EntityDefinitions(LogicalName,EntitySetName,ChangeTrackingEnabled,PrimaryIdAttribute)/$entity'), LogicalName: 'account', EntitySetName: 'accounts' });

    const attributes = await call(emu, 'GET', "EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,AttributeType");
    const types = Object.fromEntries(attributes.body.value.map((row: any) => [row.LogicalName, row.AttributeType]));
    expect(types).toMatchObject({
      contactid: 'Uniqueidentifier',
      firstname: 'String',
      fullname: 'String',
      emailaddress1: 'String',
      mobilephone: 'String',
      address1_line1: 'String',
      address1_latitude: 'Double',
      birthdate: 'DateTime',
      donotbulkemail: 'Boolean',
      gendercode: 'Picklist',
      annualincome: 'Money',
      description: 'Memo',
      parentcustomerid: 'Customer',
      ownerid: 'Owner',
      owningbusinessunit: 'Lookup',
      createdon: 'DateTime',
      createdby: 'Lookup',
      modifiedon: 'DateTime',
      modifiedby: 'Lookup',
      versionnumber: 'BigInt',
      statecode: 'State',
      statuscode: 'Status',
    });
    // What the platform alone sets is valid neither for create nor for update.
    const writable = await call(emu, 'GET', "EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,IsValidForCreate,IsValidForUpdate&$filter=IsValidForCreate eq false and IsValidForUpdate eq false");
    expect(writable.body.value.map((row: any) => row.LogicalName).sort()).toEqual(['createdby', 'createdon', 'fullname', 'modifiedby', 'modifiedon', 'owningbusinessunit', 'versionnumber']);
    const key = attributes.body.value.find((row: any) => row.LogicalName === 'contactid');
    expect(key['@odata.type']).toBe('#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata');
    const project = await call(emu, 'GET', "EntityDefinitions(LogicalName='new_project')/Attributes?$select=LogicalName,AttributeType&$filter=AttributeType eq 'Money'");
    expect(project.body.value.map((row: any) => row.LogicalName)).toEqual(['new_budget']);

    expectError(await call(emu, 'GET', "EntityDefinitions(LogicalName='lead')"), 404, '0x80040217', "Could not find entity with logical name 'lead'.");
    expectError(await call(emu, 'GET', 'EntityDefinitions?$select=Nope'), 400, '0x80060888', "Could not find a property named 'Nope' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.");

    const root = await call(emu, 'GET', '');
    expect(root.body.value.map((item: any) => item.name)).toEqual(['contacts', 'accounts', 'new_projects', 'EntityDefinitions']);
  });
});

describe('choice columns', () => {
  const CAST = 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata';

  it('lists each choice column with its options through the PicklistAttributeMetadata cast', async () => {
    const emu = await dynamics({ extraColumns: { accounts: { new_tier: 'picklist', new_region: { type: 'picklist', options: [7, 9] } } } });
    const reply = await call(emu, 'GET', `EntityDefinitions(LogicalName='account')/Attributes/${CAST}?$select=LogicalName&$expand=OptionSet($select=Options)`);
    expect(reply.status).toBe(200);
    expect(reply.body['@odata.context']).toContain(`/Attributes/${CAST}(LogicalName)`);
    const options = Object.fromEntries(reply.body.value.map((row: any) => [row.LogicalName, row.OptionSet.Options.map((option: any) => option.Value)]));
    expect(options).toMatchObject({ industrycode: Array.from({ length: 33 }, (_, i) => i + 1), new_tier: [100000000, 100000001, 100000002, 100000003, 100000004], new_region: [7, 9] });
    // Only choices: not the state and status columns, nor any other type.
    expect(Object.keys(options)).not.toContain('statecode');
    expect(Object.keys(options)).not.toContain('name');
    expect(reply.body.value[0].OptionSet).toMatchObject({ MetadataId: expect.stringMatching(GUID), Options: expect.arrayContaining([{ Value: expect.any(Number), Label: expect.any(Object) }]) });

    const plain = await call(emu, 'GET', `EntityDefinitions(LogicalName='contact')/Attributes/${CAST}?$select=LogicalName`);
    expect(plain.body.value.map((row: any) => row.LogicalName)).toContain('gendercode');
    expect(plain.body.value[0]).not.toHaveProperty('OptionSet');
  });

  it('expands nothing else', async () => {
    const emu = await dynamics({});
    expectError(await call(emu, 'GET', `EntityDefinitions(LogicalName='account')/Attributes/${CAST}?$expand=Targets`), 400, '0x80060888', `Could not find a property named 'Targets' to expand on '${CAST}'.`);
    expectError(await call(emu, 'GET', "EntityDefinitions(LogicalName='account')/Attributes?$expand=OptionSet"), 400, '0x80060888', '$expand is not supported by this endpoint.');
    expectError(await call(emu, 'GET', 'EntityDefinitions?$expand=Attributes'), 400, '0x80060888', '$expand is not supported by this endpoint.');
  });
});

describe('headers', () => {
  it('answers OData 4.0 JSON with minimal metadata', async () => {
    const reply = await call(shared, 'GET', 'accounts?$top=1');
    expect(header(reply, 'odata-version')).toBe('4.0');
    expect(header(reply, 'content-type')).toBe('application/json; odata.metadata=minimal');
    expect(headerValues(reply, 'req_id')[0]).toMatch(GUID);
  });
});
