/**
 * The emulator's seeded data and direct store access: determinism, data quality, write
 * semantics without HTTP, and the size the emulator is built for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  HubSpotApiError,
  HubSpotStore,
  SEED_CREATED_FROM,
  SEED_CREATED_TO,
  SEED_MODIFIED_TO,
  type EmulatedRecord,
} from '../src/hubspot/index.js';
import { closeAll, emulator, fakeClock, raw } from './helpers.js';

afterEach(closeAll);

const SEED = { contacts: 400, companies: 120, deals: 150, tickets: 80 };

describe('determinism', () => {
  it('gives identical data for the same seedValue, over HTTP and in the store', async () => {
    const a = await emulator({ seed: SEED, seedValue: 7 });
    const b = await emulator({ seed: SEED, seedValue: 7 });
    for (const type of Object.keys(SEED)) expect(b.store.all(type)).toEqual(a.store.all(type));
    const page = '/crm/v3/objects/deals?limit=100&properties=dealname,amount,closedate,dealstage,hs_priority';
    const [pageA, pageB] = await Promise.all([raw(a, 'GET', page), raw(b, 'GET', page)]);
    expect(pageB.body.results).toEqual(pageA.body.results);
    // Record by record, independent of how many records were seeded before it.
    const other = new HubSpotStore({ seed: { contacts: 400 }, seedValue: 7 });
    expect(other.get('contacts', '1234')).toEqual(a.store.get('contacts', '1234'));
  });

  it('gives different data for another seedValue', async () => {
    const a = new HubSpotStore({ seed: { contacts: 50 }, seedValue: 1 });
    const b = new HubSpotStore({ seed: { contacts: 50 }, seedValue: 2 });
    expect(b.all('contacts').map((record) => record.id)).toEqual(a.all('contacts').map((record) => record.id));
    expect(b.all('contacts').map((record) => record.properties.email)).not.toEqual(a.all('contacts').map((record) => record.properties.email));
  });

  it('defaults to seedValue 42', () => {
    expect(new HubSpotStore({ seed: { tickets: 5 } }).all('tickets')).toEqual(new HubSpotStore({ seed: { tickets: 5 }, seedValue: 42 }).all('tickets'));
  });
});

describe('seeded data', () => {
  const store = new HubSpotStore({ seed: { contacts: 3000, companies: 500, deals: 500, tickets: 300 } });

  const definitions = (type: string) => new Map(store.properties(type).map((property) => [property.name, property]));

  it('has sequential ids, every system property and HubSpot wire formats', () => {
    // Problems are collected (one expect per record and value would be slow) and must be none.
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(what);
    };
    const formats: Record<string, RegExp> = {
      number: /^-?\d+(\.\d+)?$/,
      datetime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
      date: /^\d{4}-\d{2}-\d{2}$/,
      bool: /^(true|false)$/,
    };
    for (const type of store.objectTypes()) {
      const records = store.all(type);
      const defs = definitions(type);
      const modification = store.modificationProperty(type);
      const names = [...defs.keys()].sort().join();
      expect(records.map((record) => record.id)).toEqual(records.map((_, i) => String(1001 + i)));
      let previousCreated = 0;
      for (const record of records) {
        const where = `${type} ${record.id}`;
        check(record.properties.hs_object_id === record.id, `${where}: hs_object_id`);
        check(record.properties.createdate === record.createdAt, `${where}: createdate`);
        check(record.properties[modification] === record.updatedAt, `${where}: ${modification}`);
        check(record.archived === false, `${where}: archived`);
        const created = Date.parse(record.createdAt);
        const modified = Date.parse(record.updatedAt);
        check(created >= SEED_CREATED_FROM && created <= SEED_CREATED_TO, `${where}: createdate range`);
        // Ids are handed out in creation order.
        check(created >= previousCreated, `${where}: createdate order`);
        previousCreated = created;
        check(modified >= created && modified <= SEED_MODIFIED_TO, `${where}: modification range`);
        check(Object.keys(record.properties).sort().join() === names, `${where}: property names`);
        for (const [name, value] of Object.entries(record.properties)) {
          if (value === null) continue;
          const def = defs.get(name)!;
          const format = formats[def.type];
          check(typeof value === 'string', `${where}: ${name} is not a string`);
          if (format) check(format.test(value), `${where}: ${name}=${value} is not a ${def.type}`);
          if (def.type === 'number') check(String(Number(value)) === value, `${where}: ${name}=${value} is not canonical`);
          if (def.type === 'enumeration') check(def.options.some((option) => option.value === value), `${where}: ${name}=${value} is not an option`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('has unique valid emails and domains, realistic names and ~10% unset optional fields', () => {
    const contacts = store.all('contacts');
    const emails = contacts.map((record) => record.properties.email!);
    expect(new Set(emails).size).toBe(emails.length);
    for (const email of emails) expect(email).toMatch(/^[a-z]+\.[a-z]+\d+@[a-z0-9.-]+\.[a-z]+$/);
    const withName = contacts.filter((record) => record.properties.firstname !== null);
    for (const record of withName) expect(record.properties.email!.startsWith(record.properties.firstname!.toLowerCase() + '.')).toBe(true);
    for (const name of ['firstname', 'phone', 'jobtitle', 'lifecyclestage', 'date_of_birth']) {
      const unset = contacts.filter((record) => record.properties[name] === null).length / contacts.length;
      expect(unset, name).toBeGreaterThan(0.07);
      expect(unset, name).toBeLessThan(0.13);
    }
    const domains = store.all('companies').map((record) => record.properties.domain!);
    expect(new Set(domains).size).toBe(domains.length);
    for (const domain of domains) expect(domain).toMatch(/^[a-z0-9]+\.com$/);
    const deals = store.all('deals');
    expect(deals.every((record) => record.properties.pipeline === 'default')).toBe(true);
    expect(new Set(deals.map((record) => record.properties.dealstage)).size).toBe(7);
  });
});

describe('list pages as JSON', () => {
  it('writes pages byte for byte as JSON.stringify of the records, for any property list', () => {
    const store = new HubSpotStore({ seed: { contacts: 700, companies: 300, deals: 300, tickets: 300 } });
    // Written records (with text that needs escaping) are mixed in among seeded ones.
    store.update('contacts', 1005, { firstname: 'Zoë "Q" \\ \t', lastname: '' });
    store.archive('contacts', 1006);
    store.put('contacts', { id: 5, properties: { email: 'early@example.com', jobtitle: 'Emoji \u{1F600}' } });
    store.create('contacts', { email: 'late@example.com' });
    for (const type of ['contacts', 'companies', 'deals', 'tickets']) {
      const table = store.table(type);
      const all = store.properties(type).map((property) => property.name);
      for (const requested of [undefined, all, ['email', 'name', 'nonexistent'], all.slice(3, 9), ['hs_object_id']]) {
        const plan = table.outputPlan(requested);
        for (const archived of [false, true]) {
          let minId = 0;
          for (;;) {
            const page = table.pageJson(minId, 100, archived, plan);
            const expected = table.page(minId, 100, archived);
            expect(page.nextMinId).toBe(expected.nextMinId);
            expect(page.json.toString('utf8')).toBe(JSON.stringify(expected.records.map((record) => table.toApiObject(record, plan.names))).slice(1, -1));
            if (page.nextMinId === undefined) break;
            minId = page.nextMinId;
          }
        }
      }
    }
  });
});

describe('store writes', () => {
  it('creates and updates with validation and timestamps, like HTTP', () => {
    const clock = fakeClock();
    const store = new HubSpotStore({ seed: { contacts: 5 }, now: clock.now });
    const created = store.create('0-1', { email: 'Store@Example.com', hs_email_optout: false });
    expect(created).toMatchObject({
      id: '1006',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      archived: false,
    });
    expect(created.properties).toMatchObject({ email: 'store@example.com', hs_email_optout: 'false', firstname: null, lastmodifieddate: '2026-01-01T00:00:00.000Z' });
    clock.advance(250);
    const updated = store.update('contacts', 1006, { firstname: 'Ana' });
    expect(updated.updatedAt).toBe('2026-01-01T00:00:00.250Z');
    expect(updated.properties.lastmodifieddate).toBe('2026-01-01T00:00:00.250Z');
    expect(updated.createdAt).toBe('2026-01-01T00:00:00.000Z');

    let error: unknown;
    try {
      store.create('contacts', { email: 'bad email' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HubSpotApiError);
    expect((error as HubSpotApiError).status).toBe(400);
    expect((error as HubSpotApiError).category).toBe('VALIDATION_ERROR');
    expect(() => store.update('contacts', '424242', { firstname: 'x' })).toThrow(HubSpotApiError);
    expect(() => store.create('widgets', {})).toThrow('Unable to infer object type from: widgets');
    expect(store.count('contacts')).toBe(6);
  });

  it('archives without a modification bump and restores with one', () => {
    const clock = fakeClock();
    const store = new HubSpotStore({ seed: { deals: 5 }, now: clock.now });
    const before = store.get('deals', '1003')!;
    clock.advance(1_000);
    store.archive('deals', '1003');
    const archived = store.get('deals', '1003')!;
    expect(archived).toEqual({ ...before, archived: true, archivedAt: '2026-01-01T00:00:01.000Z' });
    expect(store.all('deals').map((record) => record.id)).toEqual(['1001', '1002', '1004', '1005']);
    expect(store.all('deals', { includeArchived: true })).toHaveLength(5);
    clock.advance(1_000);
    const restored = store.restore('deals', '1003');
    expect(restored.archived).toBe(false);
    expect(restored.archivedAt).toBeUndefined();
    expect(restored.properties.hs_lastmodifieddate).toBe('2026-01-01T00:00:02.000Z');
    expect(restored.updatedAt).toBe('2026-01-01T00:00:02.000Z');
    expect(restored.properties.dealname).toBe(before.properties.dealname);
  });

  it('purge() removes a record for good: no read finds it, archived lists included', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    const { store } = emu;
    const seededEmail = store.get('contacts', '1002')!.properties.email!;
    const written = store.create('contacts', { email: 'kept.briefly@example.com' });
    store.archive('contacts', '1004');
    expect(store.purge('contacts', '1002')).toBe(true);
    expect(store.purge('contacts', written.id)).toBe(true);
    expect(store.purge('contacts', '1004')).toBe(true);
    expect(store.purge('contacts', '1002')).toBe(false);
    expect(store.purge('contacts', 'not-an-id')).toBe(false);

    expect(store.get('contacts', '1002')).toBeUndefined();
    expect(store.all('contacts', { includeArchived: true }).map((record) => record.id)).toEqual(['1001', '1003', '1005']);
    expect([store.count('contacts'), store.count('contacts', { archived: true })]).toEqual([3, 0]);
    expect(store.findBy('contacts', 'email', seededEmail)).toBeUndefined();
    const list = await raw(emu, 'GET', '/crm/v3/objects/contacts?limit=100');
    expect(list.body.results.map((record: { id: string }) => record.id)).toEqual(['1001', '1003', '1005']);
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts?archived=true')).body.results).toEqual([]);
    const search = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { filterGroups: [], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }], limit: 100 });
    expect(search.body.results.map((record: { id: string }) => record.id)).toEqual(['1001', '1003', '1005']);
    const batch = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '1002' }, { id: written.id }, { id: '1003' }], properties: [] });
    expect(batch.body.results.map((record: { id: string }) => record.id)).toEqual(['1003']);
    // Its email is free again.
    expect(store.create('contacts', { email: seededEmail }).properties.email).toBe(seededEmail);
  });

  it('put() stores raw records: no validation, timestamps as given', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 3 }, now: clock.now, searchLagMs: 60_000 });
    const planted = emu.store.put('contacts', {
      id: '1002',
      properties: { email: 'not-an-email', lastmodifieddate: '2024-02-02T02:02:02.000Z', createdate: '2023-03-03T03:03:03.000Z' },
    });
    expect(planted.properties.email).toBe('not-an-email');
    expect(planted.createdAt).toBe('2023-03-03T03:03:03.000Z');
    expect(planted.updatedAt).toBe('2024-02-02T02:02:02.000Z');
    // Replaced, not merged: the seeded name is gone.
    expect(planted.properties.firstname).toBeNull();
    const listed = await raw(emu, 'GET', '/crm/v3/objects/contacts/1002?properties=email');
    expect(listed.body.properties.email).toBe('not-an-email');
    // put() is visible to search at once, even with a search lag.
    const search = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'not-an-email' }] }],
    });
    expect(search.body.total).toBe(1);
    const archived = emu.store.put('contacts', { id: 99, properties: {}, archived: true });
    expect(archived.archived).toBe(true);
    expect(emu.store.count('contacts', { archived: true })).toBe(1);
    expect(emu.store.create('contacts', { email: 'after@example.com' }).id).toBe('1004');
  });

  it('accepts type ids, lists the object types and rejects unknown seed types', () => {
    const store = new HubSpotStore({ seed: { '0-3': 2, tickets: 1 } });
    expect(store.objectTypes()).toEqual(['contacts', 'companies', 'deals', 'tickets', 'line_items', 'appointments', 'divisions']);
    expect(new HubSpotStore({ customObjects: [] }).objectTypes()).toEqual(['contacts', 'companies', 'deals', 'tickets', 'line_items']);
    expect(store.count('deals')).toBe(2);
    expect(store.count('0-5')).toBe(1);
    expect(store.count('contacts')).toBe(0);
    expect(() => new HubSpotStore({ seed: { widgets: 1 } })).toThrow(/unknown object type/);
  });
});

describe('scale', () => {
  // Speed and memory are measured by `npm run bench`, not asserted here.
  it('seeds a million contacts and serves them', async () => {
    const emu = await emulator({ seed: { contacts: 1_000_000 } });
    expect(emu.store.count('contacts')).toBe(1_000_000);

    const last = await raw(emu, 'GET', `/crm/v3/objects/contacts?limit=100&after=1000950&properties=email`);
    expect(last.body.results).toHaveLength(51);
    expect(last.body.results[50].id).toBe('1001000');
    expect(last.body.paging).toBeUndefined();

    const body = {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '2025-12-15T00:00:00Z' }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      limit: 200,
    };
    const first = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', body);
    expect(first.status).toBe(200);
    expect(first.body.total).toBeGreaterThan(10_000);
    // Following pages come from the cached result list.
    const second = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { ...body, after: first.body.paging.next.after });
    expect(Date.parse(second.body.results[0].properties.lastmodifieddate)).toBeGreaterThanOrEqual(Date.parse(first.body.results[199].properties.lastmodifieddate));
    const byProperty = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'country', operator: 'EQ', value: 'Japan' }] }],
    });
    expect(byProperty.body.total).toBeGreaterThan(20_000);
  });

  it('pages through 50,000 records, each exactly once', async () => {
    const emu = await emulator({ seed: { contacts: 50_000 } });
    let after = '';
    let count = 0;
    const seen = new Set<string>();
    for (;;) {
      const response = await raw(emu, 'GET', `/crm/v3/objects/contacts?limit=100&properties=email,firstname,lastname,phone${after ? `&after=${after}` : ''}`);
      for (const record of response.body.results as EmulatedRecord[]) seen.add(record.id);
      count += response.body.results.length;
      after = response.body.paging?.next?.after ?? '';
      if (!after) break;
    }
    expect(count).toBe(50_000);
    expect(seen.size).toBe(50_000);
  });
});
