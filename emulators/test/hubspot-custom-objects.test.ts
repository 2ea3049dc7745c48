/**
 * Custom objects (definitions, records by type id / name / fully qualified name, the
 * schemas API) and the line_items standard object, driven through @hubspot/api-client
 * and plain fetch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  APPOINTMENTS,
  DEFAULT_CUSTOM_OBJECTS,
  DIVISIONS,
  HubSpotStore,
  SEED_CREATED_FROM,
  SEED_CREATED_TO,
  SEED_MODIFIED_TO,
  type CustomObjectDefinition,
} from '../src/hubspot/index.js';
import { ISO_MS, UUID, closeAll, emulator, failure, fakeClock, raw, sdk } from './helpers.js';

afterEach(closeAll);

const FQN = 'p12345678_appointments';

describe('custom object definitions', () => {
  it('serves APPOINTMENTS and DIVISIONS by default, none with customObjects: []', () => {
    expect(DEFAULT_CUSTOM_OBJECTS).toEqual([APPOINTMENTS, DIVISIONS]);
    expect(APPOINTMENTS.objectTypeId).toBe('2-1234567');
    expect(DIVISIONS.objectTypeId).toBe('2-7654321');
    const store = new HubSpotStore();
    expect(store.customObjectTypes()).toEqual(['appointments', 'divisions']);
    expect(store.objectTypeId('appointments')).toBe('2-1234567');
    expect(store.objectTypeId(FQN)).toBe('2-1234567');
    expect(store.objectTypeId('P12345678_DIVISIONS')).toBe('2-7654321');
    expect(new HubSpotStore({ customObjects: [] }).customObjectTypes()).toEqual([]);
    expect(() => new HubSpotStore({ customObjects: [], seed: { appointments: 1 } })).toThrow(/seed: unknown object type "appointments"/);
    expect(new HubSpotStore({ portalId: 99 }).schema('p99_appointments')).toMatchObject({ fullyQualifiedName: 'p99_appointments' });
  });

  it('gives custom objects hs_object_id, hs_createdate and hs_lastmodifieddate, and their own properties', () => {
    const store = new HubSpotStore({ seed: { appointments: 2 } });
    const names = store.properties('appointments').map((property) => property.name);
    expect(names).toEqual(['appointment_date', 'appointment_name', 'duration_minutes', 'hs_createdate', 'hs_lastmodifieddate', 'hs_object_id', 'location', 'status']);
    expect(store.modificationProperty('2-1234567')).toBe('hs_lastmodifieddate');
    const status = store.properties('appointments').find((property) => property.name === 'status')!;
    expect(status).toMatchObject({ type: 'enumeration', fieldType: 'select', hubspotDefined: false, groupName: 'appointment_information' });
    expect(status.options.map((option) => [option.value, option.label])).toEqual([
      ['scheduled', 'Scheduled'],
      ['completed', 'Completed'],
      ['cancelled', 'Cancelled'],
    ]);
    const [record] = store.all('appointments');
    expect(record!.properties.hs_createdate).toBe(record!.createdAt);
    expect(record!.properties.hs_lastmodifieddate).toBe(record!.updatedAt);
    expect(record!.properties).not.toHaveProperty('createdate');
  });

  it.each([
    [{ ...APPOINTMENTS, objectTypeId: '0-99' }, /objectTypeId must look like "2-1234567"/],
    [{ ...APPOINTMENTS, name: 'contacts' }, /standard object type/],
    [{ ...APPOINTMENTS, primaryDisplayProperty: 'nope' }, /primaryDisplayProperty names "nope"/],
    [{ ...APPOINTMENTS, properties: [{ name: 'kind', label: 'Kind', type: 'enumeration', fieldType: 'select' }] }, /enumeration property kind needs options/],
    [{ ...APPOINTMENTS, properties: [...APPOINTMENTS.properties, APPOINTMENTS.properties[0]!] }, /defined twice/],
    [{ ...APPOINTMENTS, properties: [...APPOINTMENTS.properties, { name: 'hs_createdate', label: 'x', type: 'string', fieldType: 'text' }] }, /system property/],
    [{ ...APPOINTMENTS, associatedObjects: ['unicorns'] }, /unknown object type "unicorns"/],
  ] as [CustomObjectDefinition, RegExp][])('rejects an invalid definition (%#)', (definition, message) => {
    expect(() => new HubSpotStore({ customObjects: [definition] })).toThrow(message);
  });

  it('rejects two custom objects with the same name or type id', () => {
    expect(() => new HubSpotStore({ customObjects: [APPOINTMENTS, { ...DIVISIONS, objectTypeId: APPOINTMENTS.objectTypeId }] })).toThrow(/already taken/);
    expect(() => new HubSpotStore({ customObjects: [APPOINTMENTS, { ...DIVISIONS, name: 'appointments' }] })).toThrow(/already taken/);
  });
});

describe('custom object records', () => {
  it('are seeded deterministically, with valid values, keyed by name, type id or fully qualified name', () => {
    const byName = new HubSpotStore({ seed: { appointments: 300, divisions: 40 }, seedValue: 9 });
    expect(new HubSpotStore({ seed: { '2-1234567': 300 }, seedValue: 9 }).all('appointments')).toEqual(byName.all('appointments'));
    expect(new HubSpotStore({ seed: { [FQN]: 300 }, seedValue: 9 }).all('2-1234567')).toEqual(byName.all('appointments'));
    expect(new HubSpotStore({ seed: { appointments: 300 }, seedValue: 10 }).all('appointments')).not.toEqual(byName.all('appointments'));

    const appointments = byName.all('appointments');
    expect(appointments.map((record) => record.id)).toEqual(appointments.map((_, i) => String(1001 + i)));
    const problems: string[] = [];
    for (const record of appointments) {
      const { appointment_name: name, appointment_date: date, status, duration_minutes: duration, location } = record.properties;
      const created = Date.parse(record.createdAt);
      if (!(created >= SEED_CREATED_FROM && created <= SEED_CREATED_TO)) problems.push(`${record.id}: createdAt`);
      if (!(Date.parse(record.updatedAt) >= created && Date.parse(record.updatedAt) <= SEED_MODIFIED_TO)) problems.push(`${record.id}: updatedAt`);
      if (!name || !/ Appointment$/.test(name)) problems.push(`${record.id}: name ${name}`);
      if (date !== null && !ISO_MS.test(date!)) problems.push(`${record.id}: date ${date}`);
      if (status !== null && !['scheduled', 'completed', 'cancelled'].includes(status!)) problems.push(`${record.id}: status ${status}`);
      if (duration !== null && !(Number(duration) % 15 === 0 && Number(duration) >= 15 && Number(duration) <= 240)) problems.push(`${record.id}: duration ${duration}`);
      if (location !== null && !/^[A-Z][a-z]+( [A-Z][a-z]+)?$/.test(location!)) problems.push(`${record.id}: location ${location}`);
    }
    expect(problems).toEqual([]);
    // Optional properties are unset for ~10%, the primary display property never.
    const unset = appointments.filter((record) => record.properties.location === null).length / appointments.length;
    expect(unset).toBeGreaterThan(0.04);
    expect(unset).toBeLessThan(0.17);
    expect(new Set(appointments.map((record) => record.properties.status)).size).toBeGreaterThanOrEqual(3);
    for (const division of byName.all('divisions')) {
      expect(['north_america', 'latin_america', 'emea', 'apac', null]).toContain(division.properties.region);
      if (division.properties.headcount !== null) expect(Number.isInteger(Number(division.properties.headcount))).toBe(true);
      if (division.properties.budget !== null) expect(String(Number(division.properties.budget))).toBe(division.properties.budget);
    }
  });

  it('list, get and batch read answer the same by type id, name and fully qualified name', async () => {
    const emu = await emulator({ seed: { appointments: 300 } });
    const client = sdk(emu);
    const pages: Record<string, string[]> = {};
    for (const type of ['2-1234567', 'appointments', FQN]) {
      const ids: string[] = [];
      let after: string | undefined;
      do {
        const page = await client.crm.objects.basicApi.getPage(type, 100, after, ['appointment_name', 'status']);
        ids.push(...page.results.map((record) => record.id));
        for (const record of page.results) {
          expect(Object.keys(record.properties).sort()).toEqual(['appointment_name', 'hs_createdate', 'hs_lastmodifieddate', 'hs_object_id', 'status']);
        }
        after = page.paging?.next?.after;
      } while (after);
      pages[type] = ids;
    }
    expect(pages['2-1234567']).toHaveLength(300);
    expect(pages.appointments).toEqual(pages['2-1234567']);
    expect(pages[FQN]).toEqual(pages['2-1234567']);

    // Without `properties`: only the system properties, as HubSpot does for custom objects.
    const plain = await raw(emu, 'GET', '/crm/v3/objects/2-1234567?limit=1');
    expect(Object.keys(plain.body.results[0].properties).sort()).toEqual(['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id']);
    expect(plain.body.paging.next.link).toContain('/crm/v3/objects/2-1234567?');

    const stored = emu.store.get('appointments', 1007)!;
    for (const type of ['2-1234567', 'appointments', FQN]) {
      const one = await client.crm.objects.basicApi.getById(type, '1007', ['location', 'appointment_date']);
      expect(one.properties).toEqual({
        appointment_date: stored.properties.appointment_date,
        hs_createdate: stored.createdAt,
        hs_lastmodifieddate: stored.updatedAt,
        hs_object_id: '1007',
        location: stored.properties.location,
      });
      const batch = await client.crm.objects.batchApi.read(type, { inputs: [{ id: '1007' }, { id: '1299' }], properties: ['status'], propertiesWithHistory: [] });
      expect(batch.results.map((record) => record.id).sort()).toEqual(['1007', '1299']);
    }
    expect(emu.stats.byRoute['GET /crm/v3/objects/{type}']).toBe(10);
  });

  it('are written (create, update, archive) with hs_createdate and a bumped hs_lastmodifieddate', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { appointments: 5 }, now: clock.now });
    const client = sdk(emu);
    const created = await client.crm.objects.basicApi.create('appointments', {
      properties: { appointment_name: 'Kick-off', status: 'scheduled', duration_minutes: '45', appointment_date: '2026-02-03T10:15:00Z' },
      associations: [],
    });
    expect(created.id).toBe('1006');
    expect(created.properties).toMatchObject({
      appointment_name: 'Kick-off',
      appointment_date: '2026-02-03T10:15:00.000Z',
      hs_createdate: '2026-01-01T00:00:00.000Z',
      hs_lastmodifieddate: '2026-01-01T00:00:00.000Z',
      hs_object_id: '1006',
    });
    clock.advance(60_000);
    const updated = await client.crm.objects.basicApi.update(FQN, '1006', { properties: { status: 'completed' } });
    expect(updated.properties.hs_lastmodifieddate).toBe('2026-01-01T00:01:00.000Z');
    expect(updated.properties.hs_createdate).toBe('2026-01-01T00:00:00.000Z');

    const bad = await raw(emu, 'POST', '/crm/v3/objects/2-1234567', { properties: { status: 'postponed', createdate: '2026-01-01' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('postponed was not one of the allowed options: [scheduled, completed, cancelled]');
    expect(bad.body.message).toContain('Property \\"createdate\\" does not exist');

    await client.crm.objects.basicApi.archive('2-1234567', '1006');
    expect(emu.store.get('appointments', '1006')!.archived).toBe(true);
    expect(emu.store.get('appointments', '1006')!.updatedAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('are searchable like standard objects, by filters, sorts and the query string', async () => {
    const emu = await emulator({ seed: { appointments: 400 } });
    const client = sdk(emu);
    const expected = emu.store
      .all('appointments')
      .filter((record) => record.properties.status === 'completed' && Number(record.properties.duration_minutes ?? NaN) >= 60)
      .sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt) || Number(a.id) - Number(b.id));
    const found = await client.crm.objects.searchApi.doSearch('2-1234567', {
      filterGroups: [
        {
          filters: [
            { propertyName: 'status', operator: 'EQ' as never, value: 'completed' },
            { propertyName: 'duration_minutes', operator: 'GTE' as never, value: '60' },
          ],
        },
      ],
      sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'DESCENDING' } as never],
      properties: ['status'],
      limit: 200,
      after: '0',
    });
    expect(found.total).toBe(expected.length);
    expect(found.results.map((record) => record.id)).toEqual(expected.slice(0, 200).map((record) => record.id));

    const name = emu.store.get('appointments', 1100)!.properties.appointment_name!;
    const byQuery = await raw(emu, 'POST', `/crm/v3/objects/${FQN}/search`, { query: name, limit: 200 });
    expect(byQuery.status).toBe(200);
    expect(byQuery.body.results.map((record: { id: string }) => record.id)).toContain('1100');

    // Incremental-sync style: modified since, on hs_lastmodifieddate.
    const since = emu.store.all('appointments').map((record) => record.updatedAt).sort()[350]!;
    const recent = await raw(emu, 'POST', '/crm/v3/objects/appointments/search', {
      filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: since }] }],
      limit: 1,
    });
    expect(recent.body.total).toBe(emu.store.all('appointments').filter((record) => record.updatedAt >= since).length);
  });

  it('have a properties endpoint and scopes of their own', async () => {
    const emu = await emulator({ forbiddenObjects: ['divisions'] });
    const client = sdk(emu);
    const properties = await client.crm.properties.coreApi.getAll('2-1234567');
    expect(properties.results.map((property) => property.name)).toContain('duration_minutes');
    const one = await raw(emu, 'GET', '/crm/v3/properties/appointments/appointment_date');
    expect(one.body).toMatchObject({ name: 'appointment_date', type: 'datetime', fieldType: 'date' });

    const denied = await raw(emu, 'GET', '/crm/v3/objects/divisions');
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0].context.requiredGranularScopes).toEqual(['crm.objects.custom.read']);
    const schemas = await raw(emu, 'GET', '/crm-object-schemas/v3/schemas');
    expect(schemas.status).toBe(403);
    expect(schemas.body.errors[0].context.requiredGranularScopes).toEqual(['crm.schemas.custom.read']);
    expect((await raw(emu, 'GET', '/crm-object-schemas/v3/schemas/appointments')).status).toBe(200);
  });

  it('are written to JSON byte for byte as JSON.stringify, also with text that needs escaping', () => {
    const quoted: CustomObjectDefinition = {
      name: 'quotes_and_things',
      objectTypeId: '2-42',
      labels: { singular: 'Thing "Q"', plural: 'Things' },
      primaryDisplayProperty: 'title',
      properties: [
        { name: 'title', label: 'Title', type: 'string', fieldType: 'text' },
        { name: 'kind', label: 'Kind', type: 'enumeration', fieldType: 'select', options: ['plain', 'with "quotes"', 'back\\slash'] },
        { name: 'due', label: 'Due', type: 'date', fieldType: 'date' },
        { name: 'done', label: 'Done', type: 'bool', fieldType: 'booleancheckbox' },
        { name: 'code', label: 'Code', type: 'string', fieldType: 'text', hasUniqueValue: true },
      ],
    };
    const store = new HubSpotStore({ seed: { appointments: 250, quotes_and_things: 250 }, customObjects: [APPOINTMENTS, quoted] });
    store.update('appointments', 1003, { location: 'Zoë "Q" \\ \t' });
    store.create('2-42', { title: 'new', kind: 'with "quotes"' });
    for (const type of ['appointments', '2-42']) {
      const table = store.table(type);
      const all = store.properties(type).map((property) => property.name);
      for (const requested of [undefined, all, ['kind', 'nonexistent'], ['hs_object_id']]) {
        const plan = table.outputPlan(requested);
        let minId = 0;
        for (;;) {
          const page = table.pageJson(minId, 100, false, plan);
          const expected = table.page(minId, 100, false);
          expect(page.json.toString('utf8')).toBe(JSON.stringify(expected.records.map((record) => table.toApiObject(record, plan.names))).slice(1, -1));
          if (page.nextMinId === undefined) break;
          minId = page.nextMinId;
        }
      }
    }
    expect(store.all('2-42').some((record) => record.properties.kind === 'with "quotes"')).toBe(true);
    // Unique values embed the id, so they can be looked up.
    const code = store.get('2-42', 1010)!.properties.code;
    if (code !== null) expect(store.findBy('2-42', 'code', code)!.id).toBe('1010');
  });
});

describe('schemas API', () => {
  it('lists every custom object schema (SDK coreApi.getAll), identically under /crm/v3/schemas', async () => {
    const emu = await emulator();
    const client = sdk(emu);
    const all = await client.crm.schemas.coreApi.getAll();
    expect(all.results.map((schema) => [schema.id, schema.name, schema.objectTypeId, schema.fullyQualifiedName])).toEqual([
      ['1234567', 'appointments', '2-1234567', 'p12345678_appointments'],
      ['7654321', 'divisions', '2-7654321', 'p12345678_divisions'],
    ]);
    const [appointments] = all.results;
    expect(appointments!.labels).toEqual({ singular: 'Appointment', plural: 'Appointments' });
    expect(appointments!.primaryDisplayProperty).toBe('appointment_name');
    expect(appointments!.requiredProperties).toEqual(['appointment_name']);
    expect(appointments!.archived).toBe(false);
    expect(appointments!.createdAt).toBeInstanceOf(Date);
    expect(appointments!.properties.map((property) => property.name)).toContain('appointment_date');
    expect(appointments!.associations.map((association) => [association.fromObjectTypeId, association.toObjectTypeId])).toEqual([
      ['2-1234567', '0-1'],
      ['2-1234567', '0-2'],
      ['2-1234567', '0-3'],
    ]);

    const primary = await raw(emu, 'GET', '/crm-object-schemas/v3/schemas');
    const alias = await raw(emu, 'GET', '/crm/v3/schemas');
    expect(primary.status).toBe(200);
    expect(alias.body).toEqual(primary.body);
    const first = primary.body.results[0];
    expect(first).toMatchObject({ id: '1234567', archived: false, createdAt: expect.stringMatching(ISO_MS), updatedAt: expect.stringMatching(ISO_MS) });
    expect(first.associations[0]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      fromObjectTypeId: '2-1234567',
      toObjectTypeId: '0-1',
      name: 'APPOINTMENT_TO_CONTACT',
      createdAt: expect.stringMatching(ISO_MS),
      updatedAt: expect.stringMatching(ISO_MS),
    });
    expect(emu.stats.byRoute['GET /crm-object-schemas/v3/schemas']).toBe(2);
    expect(emu.stats.byRoute['GET /crm/v3/schemas']).toBe(1);
  });

  it('gets one schema by type id, fully qualified name or name, 404 otherwise', async () => {
    const emu = await emulator({ customObjects: [DIVISIONS], portalId: 555 });
    const client = sdk(emu);
    const byId = await raw(emu, 'GET', '/crm-object-schemas/v3/schemas/2-7654321');
    expect(byId.status).toBe(200);
    expect(byId.body.fullyQualifiedName).toBe('p555_divisions');
    for (const path of ['/crm-object-schemas/v3/schemas/p555_divisions', '/crm-object-schemas/v3/schemas/divisions', '/crm/v3/schemas/2-7654321']) {
      expect((await raw(emu, 'GET', path)).body).toEqual(byId.body);
    }
    expect((await client.crm.schemas.coreApi.getById('p555_divisions')).name).toBe('divisions');

    const lean = await raw(emu, 'GET', '/crm/v3/schemas/divisions?includePropertyDefinitions=false&includeAssociationDefinitions=false');
    expect(lean.body.properties).toEqual([]);
    expect(lean.body.associations).toEqual([]);
    expect((await raw(emu, 'GET', '/crm-object-schemas/v3/schemas?archived=true')).body).toEqual({ results: [] });

    for (const path of ['/crm-object-schemas/v3/schemas/2-1234567', '/crm-object-schemas/v3/schemas/contacts']) {
      const missing = await raw(emu, 'GET', path);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', correlationId: expect.stringMatching(UUID) });
    }
    const error = await failure(() => client.crm.schemas.coreApi.getById('2-1'));
    expect(error.code).toBe(404);
    expect((await raw(emu, 'POST', '/crm-object-schemas/v3/schemas', {})).status).toBe(405);
  });

  it('needs the token, and faults and rate limits apply to it', async () => {
    const emu = await emulator({ rateLimit: { perInterval: 2, intervalMs: 10_000 } });
    const anonymous = await raw(emu, 'GET', '/crm-object-schemas/v3/schemas', undefined, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.category).toBe('INVALID_AUTHENTICATION');
    expect((await raw(emu, 'GET', '/crm-object-schemas/v3/schemas')).headers.get('x-hubspot-ratelimit-max')).toBe('2');
    await raw(emu, 'GET', '/crm/v3/schemas');
    expect((await raw(emu, 'GET', '/crm-object-schemas/v3/schemas')).status).toBe(429);
    const faulted = await emulator();
    faulted.setFaults({ permanent: 403 });
    const denied = await raw(faulted, 'GET', '/crm-object-schemas/v3/schemas/appointments');
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0].context.requiredGranularScopes).toEqual(['crm.schemas.custom.read']);
  });
});

describe('line items', () => {
  it('are a standard object 0-8 with price, quantity and amount, listed and read through the SDK', async () => {
    const emu = await emulator({ seed: { line_items: 120 } });
    const client = sdk(emu);
    const page = await client.crm.lineItems.basicApi.getPage(100);
    expect(page.results).toHaveLength(100);
    expect(Object.keys(page.results[0]!.properties).sort()).toEqual([
      'amount',
      'createdate',
      'description',
      'hs_lastmodifieddate',
      'hs_object_id',
      'name',
      'price',
      'quantity',
    ]);
    for (const item of emu.store.all('0-8')) {
      const { price, quantity, amount, hs_sku: sku } = item.properties;
      expect(Number(amount)).toBeCloseTo(Number(price) * Number(quantity), 2);
      expect(Number.isInteger(Number(quantity))).toBe(true);
      expect(sku).toMatch(/^SKU-\d+$/);
      expect(item.properties.createdate).toBe(item.createdAt);
    }
    const price = await client.crm.properties.coreApi.getByName('line_items', 'price');
    expect([price.type, price.fieldType]).toEqual(['number', 'number']);
    expect(emu.store.modificationProperty('line_items')).toBe('hs_lastmodifieddate');

    const created = await client.crm.lineItems.basicApi.create({ properties: { name: 'Widget', price: '12.5', quantity: '4', amount: '50' }, associations: [] });
    expect(created.properties).toMatchObject({ name: 'Widget', price: '12.5', quantity: '4', amount: '50', hs_object_id: '1121' });
    const found = await raw(emu, 'POST', '/crm/v3/objects/0-8/search', { filterGroups: [{ filters: [{ propertyName: 'price', operator: 'EQ', value: '12.5' }] }] });
    expect(found.body.results.map((record: { id: string }) => record.id)).toContain('1121');
  });
});
