/**
 * The HubSpot emulator's objects, batch, properties, auth and scope endpoints, driven
 * through @hubspot/api-client (and plain fetch where the exact wire format matters).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ISO_MS, UUID, closeAll, emulator, failure, fakeClock, raw, sdk } from './helpers.js';

afterEach(closeAll);

describe('objects list', () => {
  it('pages through every seeded record once, in id order', async () => {
    const emu = await emulator({ seed: { contacts: 250 } });
    const client = sdk(emu);
    const ids: string[] = [];
    const afters: (string | undefined)[] = [];
    let after: string | undefined;
    do {
      const page = await client.crm.contacts.basicApi.getPage(100, after);
      ids.push(...page.results.map((record) => record.id));
      after = page.paging?.next?.after;
      afters.push(after);
    } while (after);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect(ids[0]).toBe('1001');
    expect(ids[249]).toBe('1250');
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
    expect(afters).toHaveLength(3);
    expect(afters[2]).toBeUndefined();
    // The cursor is opaque: not the bare id.
    expect(afters[0]).not.toMatch(/^\d+$/);
    expect(emu.stats.byRoute['GET /crm/v3/objects/{type}']).toBe(3);
  });

  it('returns the default properties plus the system ones, and exactly the requested ones', async () => {
    const emu = await emulator({ seed: { contacts: 3, deals: 2 } });
    const client = sdk(emu);
    const defaults = await client.crm.contacts.basicApi.getPage(1);
    expect(Object.keys(defaults.results[0]!.properties).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);

    const deals = await client.crm.deals.basicApi.getPage(1);
    expect(Object.keys(deals.results[0]!.properties).sort()).toEqual([
      'amount',
      'closedate',
      'createdate',
      'dealname',
      'dealstage',
      'hs_lastmodifieddate',
      'hs_object_id',
      'pipeline',
    ]);

    // Repeated and comma-separated `properties`; unknown names are silently left out.
    const response = await raw(emu, 'GET', '/crm/v3/objects/contacts?limit=2&properties=phone,city&properties=no_such_property&properties=jobtitle');
    expect(response.status).toBe(200);
    expect(response.body.results).toHaveLength(2);
    for (const record of response.body.results) {
      expect(Object.keys(record.properties).sort()).toEqual(['city', 'createdate', 'hs_object_id', 'jobtitle', 'lastmodifieddate', 'phone']);
      const stored = emu.store.get('contacts', record.id)!;
      expect(record.properties.phone).toBe(stored.properties.phone);
      expect(record.createdAt).toBe(stored.createdAt);
      expect(record.updatedAt).toBe(stored.updatedAt);
      expect(record.archived).toBe(false);
      expect(record.updatedAt).toBe(record.properties.lastmodifieddate);
      expect(record.createdAt).toMatch(ISO_MS);
    }
    expect(response.body.paging.next.link).toBe(
      `${emu.url}/crm/v3/objects/contacts?limit=2&properties=phone%2Ccity&properties=no_such_property&properties=jobtitle&after=${response.body.paging.next.after}`,
    );
    expect(response.headers.get('content-type')).toBe('application/json;charset=utf-8');
  });

  it('rejects a limit above 100 with a VALIDATION_ERROR', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    const error = await failure(() => sdk(emu).crm.contacts.basicApi.getPage(101));
    expect(error.code).toBe(400);
    expect(error.body.category).toBe('VALIDATION_ERROR');
    expect(error.body.message).toContain('100');
    const page = await sdk(emu).crm.contacts.basicApi.getPage(100);
    expect(page.results).toHaveLength(5);
    expect(page.paging).toBeUndefined();
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts?limit=0')).status).toBe(400);
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts?after=%%%')).status).toBe(400);
  });

  it('keeps cursors valid across writes: later records appear on later pages, none skipped or repeated', async () => {
    const emu = await emulator({ seed: { contacts: 150 } });
    const client = sdk(emu);
    const first = await client.crm.contacts.basicApi.getPage(100);
    // Writes between pages: an archive of an unseen record, an update, two creations.
    emu.store.archive('contacts', '1120');
    emu.store.update('contacts', '1010', { firstname: 'Updated' });
    const created = [emu.store.create('contacts', { email: 'late1@example.com' }), emu.store.create('contacts', { email: 'late2@example.com' })];
    const ids = first.results.map((record) => record.id);
    let after = first.paging?.next?.after;
    while (after) {
      const page = await client.crm.contacts.basicApi.getPage(100, after);
      ids.push(...page.results.map((record) => record.id));
      after = page.paging?.next?.after;
    }
    expect(created.map((record) => record.id)).toEqual(['1151', '1152']);
    expect(ids).toHaveLength(151);
    expect(new Set(ids).size).toBe(151);
    expect(ids).not.toContain('1120');
    expect(ids.slice(-2)).toEqual(['1151', '1152']);
  });

  it('shows writes on a page prepared before them', async () => {
    const emu = await emulator({ seed: { contacts: 30 } });
    const first = await raw(emu, 'GET', '/crm/v3/objects/contacts?limit=10&properties=firstname');
    // The emulator prepares the next page as soon as it has answered this one.
    await new Promise((resolve) => setImmediate(resolve));
    emu.store.update('contacts', '1012', { firstname: 'Changed' });
    emu.store.archive('contacts', '1013');
    const second = await raw(emu, 'GET', `/crm/v3/objects/contacts?limit=10&properties=firstname&after=${first.body.paging.next.after}`);
    expect(second.body.results.map((record: { id: string }) => record.id)).toEqual(['1011', '1012', '1014', '1015', '1016', '1017', '1018', '1019', '1020', '1021']);
    expect(second.body.results[1].properties.firstname).toBe('Changed');
    expect(second.body.results[1].updatedAt).toBe(emu.store.get('contacts', '1012')!.updatedAt);
    // Unchanged, the prepared page is what the records say.
    const third = await raw(emu, 'GET', `/crm/v3/objects/contacts?limit=10&properties=firstname&after=${second.body.paging.next.after}`);
    expect(third.body.results.map((record: { properties: unknown }) => record.properties)).toEqual(
      ['1022', '1023', '1024', '1025', '1026', '1027', '1028', '1029', '1030'].map((id) => {
        const { properties } = emu.store.get('contacts', id)!;
        return { createdate: properties.createdate, firstname: properties.firstname, hs_object_id: id, lastmodifieddate: properties.lastmodifieddate };
      }),
    );
    expect(third.body.paging).toBeUndefined();
  });

  it('lists archived records only with archived=true', async () => {
    const emu = await emulator({ seed: { contacts: 20 } });
    const client = sdk(emu);
    for (const id of ['1003', '1007', '1015']) await client.crm.contacts.basicApi.archive(id);
    const active = await client.crm.contacts.basicApi.getPage(100);
    expect(active.results).toHaveLength(17);
    const archived = await client.crm.contacts.basicApi.getPage(2, undefined, ['email'], undefined, undefined, true);
    expect(archived.results.map((record) => record.id)).toEqual(['1003', '1007']);
    expect(archived.results.every((record) => record.archived && record.archivedAt instanceof Date)).toBe(true);
    const rest = await client.crm.contacts.basicApi.getPage(2, archived.paging!.next!.after, undefined, undefined, undefined, true);
    expect(rest.results.map((record) => record.id)).toEqual(['1015']);
    expect(rest.paging).toBeUndefined();
    expect(emu.store.count('contacts')).toBe(17);
    expect(emu.store.count('contacts', { archived: true })).toBe(3);
  });
});

describe('single objects', () => {
  it('reads a record by id and by a unique property', async () => {
    const emu = await emulator({ seed: { contacts: 10 } });
    const client = sdk(emu);
    const stored = emu.store.get('contacts', '1004')!;
    const record = await client.crm.contacts.basicApi.getById('1004', ['email', 'lifecyclestage']);
    expect(record.id).toBe('1004');
    expect(record.properties).toEqual({
      createdate: stored.properties.createdate,
      email: stored.properties.email,
      hs_object_id: '1004',
      lastmodifieddate: stored.properties.lastmodifieddate,
      lifecyclestage: stored.properties.lifecyclestage,
    });
    expect(record.createdAt.toISOString()).toBe(stored.createdAt);
    const byEmail = await client.crm.contacts.basicApi.getById(stored.properties.email!.toUpperCase(), undefined, undefined, undefined, false, 'email');
    expect(byEmail.id).toBe('1004');
    // The type id works in paths too.
    expect((await raw(emu, 'GET', '/crm/v3/objects/0-1/1004')).body.id).toBe('1004');
  });

  it('answers 400 "Unable to infer object type" for an unknown object type, as HubSpot does', async () => {
    const emu = await emulator({ seed: { contacts: 10 } });
    const client = sdk(emu);
    const expectUnknown = (error: any, type: string) => {
      expect(error.code).toBe(400);
      // HubSpot's body for this error has no category.
      expect(error.body).toEqual({ status: 'error', message: `Unable to infer object type from: ${type}`, correlationId: expect.stringMatching(UUID) });
    };
    expectUnknown(await failure(() => client.crm.objects.basicApi.getPage('widgets', 10)), 'widgets');
    expectUnknown(await failure(() => client.crm.objects.basicApi.getById('2-999', '1001')), '2-999');
    expectUnknown(await failure(() => client.crm.objects.searchApi.doSearch('widgets', { filterGroups: [] } as never)), 'widgets');
    expectUnknown(await failure(() => client.crm.objects.batchApi.create('widgets', { inputs: [{ properties: {}, associations: [] }] })), 'widgets');
    expectUnknown(await failure(() => client.crm.properties.coreApi.getAll('widgets')), 'widgets');
    expectUnknown(await failure(() => client.crm.properties.coreApi.getByName('widgets', 'email')), 'widgets');
    expectUnknown(await failure(() => client.crm.associations.v4.basicApi.getPage('widgets', '1001', 'contacts')), 'widgets');
    // Known object types still answer 404 for records that do not exist.
    expect((await failure(() => client.crm.objects.basicApi.getById('contacts', '999999'))).code).toBe(404);
  });

  it('answers 404 OBJECT_NOT_FOUND in HubSpot error shape', async () => {
    const emu = await emulator({ seed: { contacts: 10 } });
    const error = await failure(() => sdk(emu).crm.contacts.basicApi.getById('999999'));
    expect(error.code).toBe(404);
    expect(error.body.category).toBe('OBJECT_NOT_FOUND');

    const response = await raw(emu, 'GET', '/crm/v3/objects/contacts/999999');
    expect(response.status).toBe(404);
    expect(Object.keys(response.body).sort()).toEqual(['category', 'correlationId', 'message', 'status']);
    expect(response.body.status).toBe('error');
    expect(response.body.category).toBe('OBJECT_NOT_FOUND');
    expect(response.body.correlationId).toMatch(UUID);

    const unknownPath = await raw(emu, 'GET', '/crm/v3/nothing/here');
    expect(unknownPath.status).toBe(404);
    expect(unknownPath.body.status).toBe('error');
  });

  it('creates with 201, setting createdate and the modification time to now', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 10, companies: 4 }, now: clock.now });
    const client = sdk(emu);
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'Ada@Example.com', firstname: 'Ada' }, associations: [] });
    expect(created.id).toBe('1011');
    expect(created.properties).toEqual({
      createdate: '2026-01-01T00:00:00.000Z',
      email: 'ada@example.com',
      firstname: 'Ada',
      hs_object_id: '1011',
      lastmodifieddate: '2026-01-01T00:00:00.000Z',
    });
    expect(created.createdAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(emu.stats.byRoute['POST /crm/v3/objects/{type}']).toBe(1);

    clock.advance(1000);
    const company = await raw(emu, 'POST', '/crm/v3/objects/companies', { properties: { name: 'Acme', numberofemployees: 250, annualrevenue: 1250000.5 } });
    expect(company.status).toBe(201);
    expect(company.body.id).toBe('1005');
    // JSON numbers are accepted and stringified.
    expect(company.body.properties.numberofemployees).toBe('250');
    expect(company.body.properties.annualrevenue).toBe('1250000.5');
    expect(company.body.properties.hs_lastmodifieddate).toBe('2026-01-01T00:00:01.000Z');
  });

  it('updates with 200, bumping the modification time but not createdate', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 10 }, now: clock.now });
    const client = sdk(emu);
    const before = emu.store.get('contacts', '1002')!;
    clock.advance(60_000);
    const updated = await client.crm.contacts.basicApi.update('1002', { properties: { jobtitle: 'CTO', phone: '' } });
    expect(updated.properties.lastmodifieddate).toBe('2026-01-01T00:01:00.000Z');
    expect(updated.updatedAt.toISOString()).toBe('2026-01-01T00:01:00.000Z');
    expect(updated.properties.createdate).toBe(before.properties.createdate);
    expect(updated.createdAt.toISOString()).toBe(before.createdAt);
    const after = emu.store.get('contacts', '1002')!;
    expect(after.properties.jobtitle).toBe('CTO');
    // An empty string clears the property.
    expect(after.properties.phone).toBeNull();
    expect(after.properties.email).toBe(before.properties.email);

    // By unique property.
    clock.advance(1);
    await client.crm.contacts.basicApi.update(before.properties.email!, { properties: { city: 'Oslo' } }, 'email');
    expect(emu.store.get('contacts', '1002')!.properties.city).toBe('Oslo');
    expect(emu.store.get('contacts', '1002')!.properties.lastmodifieddate).toBe('2026-01-01T00:01:00.001Z');

    const missing = await failure(() => client.crm.contacts.basicApi.update('424242', { properties: { city: 'Oslo' } }));
    expect(missing.code).toBe(404);
  });

  it('validates written values like HubSpot', async () => {
    const emu = await emulator({ seed: { contacts: 3, deals: 1 } });
    const post = (type: string, properties: Record<string, unknown>) => raw(emu, 'POST', `/crm/v3/objects/${type}`, { properties });

    const unknown = await post('contacts', { email: 'x@example.com', favourite_colour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.category).toBe('VALIDATION_ERROR');
    expect(unknown.body.message).toContain('favourite_colour');
    expect(unknown.body.message.startsWith('Property values were not valid: ')).toBe(true);
    expect(JSON.parse(unknown.body.message.slice('Property values were not valid: '.length))).toEqual([
      {
        isValid: false,
        message: 'Property "favourite_colour" does not exist',
        error: 'PROPERTY_DOESNT_EXIST',
        name: 'favourite_colour',
        localizedErrorMessage: 'Property "favourite_colour" does not exist',
      },
    ]);

    const badEmail = await post('contacts', { email: 'not-an-email' });
    expect(badEmail.status).toBe(400);
    expect(badEmail.body.errors).toEqual([{ message: 'Email address not-an-email is invalid', code: 'INVALID_EMAIL', context: { propertyName: ['email'] } }]);

    const notMidnight = await post('contacts', { email: 'dob@example.com', date_of_birth: String(Date.UTC(1990, 4, 17, 10, 30)) });
    expect(notMidnight.status).toBe(400);
    expect(notMidnight.body.errors[0].code).toBe('INVALID_DATE');
    expect(notMidnight.body.message).toContain('not midnight');

    const midnight = await post('contacts', { email: 'dob2@example.com', date_of_birth: String(Date.UTC(1990, 4, 17)), hs_email_optout: true });
    expect(midnight.status).toBe(201);
    expect(midnight.body.properties.date_of_birth).toBe('1990-05-17');
    expect(midnight.body.properties.hs_email_optout).toBe('true');
    const isoDate = await post('contacts', { email: 'dob3@example.com', date_of_birth: '1985-02-28' });
    expect(isoDate.body.properties.date_of_birth).toBe('1985-02-28');

    const badOption = await post('deals', { dealname: 'X', dealstage: 'won-ish' });
    expect(badOption.status).toBe(400);
    expect(badOption.body.errors[0].code).toBe('INVALID_OPTION');
    const badNumber = await post('deals', { dealname: 'X', amount: 'lots' });
    expect(badNumber.body.errors[0].code).toBe('INVALID_FLOAT');
    const readOnly = await post('deals', { dealname: 'X', hs_lastmodifieddate: '2020-01-01' });
    expect(readOnly.body.errors[0].code).toBe('READ_ONLY_VALUE');
    const datetime = await post('deals', { dealname: 'X', closedate: '1735689600000' });
    expect(datetime.body.properties.closedate).toBe('2025-01-01T00:00:00.000Z');
    const objectValue = await post('deals', { dealname: { nested: true } });
    expect(objectValue.status).toBe(400);

    const invalidJson = await raw(emu, 'POST', '/crm/v3/objects/contacts', undefined, { rawBody: '{"properties": ' });
    expect(invalidJson.status).toBe(400);
    expect(invalidJson.body.category).toBe('VALIDATION_ERROR');
    expect(invalidJson.body.message).toContain('Invalid input JSON');

    // Nothing invalid was stored.
    expect(emu.store.count('contacts')).toBe(5);
    expect(emu.store.count('deals')).toBe(2);
  });

  it('refuses a body over 16 MB whole (400), writing nothing', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    const rawBody = JSON.stringify({ properties: { email: 'big@example.com', notes: 'x'.repeat(16 * 1024 * 1024) } });
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts', undefined, { rawBody });
    expect(response.status).toBe(400);
    expect(response.body.message).toBe(`Request body larger than ${16 * 1024 * 1024} bytes.`);
    expect(emu.store.count('contacts')).toBe(5);
  });

  it('refuses a second contact with an existing email (409 CONFLICT)', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    const seededEmail = emu.store.get('contacts', '1003')!.properties.email!;
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: seededEmail.toUpperCase() } });
    expect(response.status).toBe(409);
    expect(response.body.category).toBe('CONFLICT');
    expect(response.body.message).toBe('Contact already exists. Existing ID: 1003');
    expect(emu.store.count('contacts')).toBe(5);
  });

  it('archives without touching the modification time (HubSpot quirk)', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 10 }, now: clock.now });
    const client = sdk(emu);
    const before = emu.store.get('contacts', '1005')!;
    clock.advance(5_000);
    await client.crm.contacts.basicApi.archive('1005');
    const after = emu.store.get('contacts', '1005')!;
    expect(after.archived).toBe(true);
    expect(after.archivedAt).toBe('2026-01-01T00:00:05.000Z');
    expect(after.properties.lastmodifieddate).toBe(before.properties.lastmodifieddate);
    expect(after.updatedAt).toBe(before.updatedAt);

    expect((await failure(() => client.crm.contacts.basicApi.getById('1005'))).code).toBe(404);
    const archived = await client.crm.contacts.basicApi.getById('1005', undefined, undefined, undefined, true);
    expect(archived.archived).toBe(true);
    expect(archived.archivedAt?.toISOString()).toBe('2026-01-01T00:00:05.000Z');
    expect(archived.properties.lastmodifieddate).toBe(before.properties.lastmodifieddate);

    // Archiving is idempotent, also for unknown ids.
    expect((await raw(emu, 'DELETE', '/crm/v3/objects/contacts/1005')).status).toBe(204);
    expect((await raw(emu, 'DELETE', '/crm/v3/objects/contacts/987654')).status).toBe(204);
    // An archived record cannot be updated.
    expect((await raw(emu, 'PATCH', '/crm/v3/objects/contacts/1005', { properties: { city: 'Rome' } })).status).toBe(404);
  });
});

describe('generic objects API', () => {
  it('serves any type through crm.objects by name or type id', async () => {
    const emu = await emulator({ seed: { companies: 12, tickets: 3 } });
    const client = sdk(emu);
    const page = await client.crm.objects.basicApi.getPage('0-2', 5, undefined, ['domain', 'industry']);
    expect(page.results.map((record) => record.id)).toEqual(['1001', '1002', '1003', '1004', '1005']);
    expect(page.results[0]!.properties.domain).toBe(emu.store.get('companies', '1001')!.properties.domain);
    const found = await client.crm.objects.searchApi.doSearch('tickets', {
      filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ' as never, value: '1002' }] }],
      sorts: [],
      properties: ['subject'],
      limit: 10,
      after: '0',
    });
    expect(found.total).toBe(1);
    expect(found.results[0]!.properties.subject).toBe(emu.store.get('tickets', '1002')!.properties.subject);
    expect(found.results[0]!.properties.hs_lastmodifieddate).toBe(emu.store.get('tickets', '1002')!.updatedAt);
  });

  it('answers 405 to a method a known path does not support', async () => {
    const emu = await emulator();
    const response = await raw(emu, 'PUT', '/crm/v3/objects/contacts', { properties: {} });
    expect(response.status).toBe(405);
    expect(response.body.status).toBe('error');
    expect(emu.stats.byRoute['PUT (unmatched)']).toBe(1);
  });
});

describe('batch endpoints', () => {
  it('reads a batch: 200 COMPLETE, or 207 with the ids not found', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 30 }, now: clock.now });
    const client = sdk(emu);
    const ok = await client.crm.contacts.batchApi.read({ inputs: [{ id: '1002' }, { id: '1001' }], properties: ['email'], propertiesWithHistory: [] });
    expect(ok.status).toBe('COMPLETE');
    expect(ok.results.map((record) => record.id)).toEqual(['1002', '1001']);
    expect(Object.keys(ok.results[0]!.properties).sort()).toEqual(['createdate', 'email', 'hs_object_id', 'lastmodifieddate']);
    expect(ok.startedAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(ok.completedAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');

    const partial = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '1003' }, { id: '5555' }, { id: '6666' }], properties: ['firstname'] });
    expect(partial.status).toBe(207);
    expect(partial.body.results.map((record: { id: string }) => record.id)).toEqual(['1003']);
    expect(partial.body.numErrors).toBe(1);
    expect(partial.body.errors).toEqual([
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: { ids: ['5555', '6666'] },
        errors: [],
        links: {},
      },
    ]);

    const email = emu.store.get('contacts', '1020')!.properties.email!;
    const byEmail = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: email }], idProperty: 'email', properties: [] });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.results[0].id).toBe('1020');
    expect(emu.stats.byRoute['POST /crm/v3/objects/{type}/batch/read']).toBe(3);
  });

  it('creates, updates and upserts in batches', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now });
    const client = sdk(emu);

    const created = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'one@example.com', firstname: 'One' }, associations: [] },
        { properties: { email: 'two@example.com', firstname: 'Two' }, associations: [] },
      ],
    });
    expect(created.status).toBe('COMPLETE');
    expect(created.results.map((record) => [record.id, record.properties.email])).toEqual([
      ['1006', 'one@example.com'],
      ['1007', 'two@example.com'],
    ]);

    clock.advance(10_000);
    const updated = await client.crm.contacts.batchApi.update({ inputs: [{ id: '1006', properties: { lastname: 'Uno' } }, { id: '1001', properties: { lastname: 'First' } }] });
    expect(updated.results.map((record) => [record.id, record.properties.lastname, record.properties.lastmodifieddate])).toEqual([
      ['1006', 'Uno', '2026-01-01T00:00:10.000Z'],
      ['1001', 'First', '2026-01-01T00:00:10.000Z'],
    ]);
    const partial = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: '1002', properties: { city: 'Lima' } }, { id: '9999', properties: { city: 'Lima' } }] });
    expect(partial.status).toBe(207);
    expect(partial.body.results.map((record: { id: string }) => record.id)).toEqual(['1002']);
    expect(partial.body.errors[0].context.ids).toEqual(['9999']);

    clock.advance(10_000);
    const upserted = await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'TWO@example.com', idProperty: 'email', properties: { firstname: 'Deux' } },
        { id: 'three@example.com', idProperty: 'email', properties: { firstname: 'Three' } },
      ],
    });
    expect(upserted.status).toBe('COMPLETE');
    expect(upserted.results.map((record) => [record.id, record._new, record.properties.email, record.properties.firstname])).toEqual([
      ['1007', false, 'two@example.com', 'Deux'],
      ['1008', true, 'three@example.com', 'Three'],
    ]);
    const wire = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: 'four@example.com', idProperty: 'email', properties: {} }] });
    expect(wire.status).toBe(200);
    expect(wire.body.results[0].new).toBe(true);
    expect(emu.store.get('contacts', '1007')!.properties.lastmodifieddate).toBe('2026-01-01T00:00:20.000Z');
    expect(emu.store.count('contacts')).toBe(9);

    // Upsert needs a unique idProperty; a batch whose values are invalid writes nothing.
    expect((await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: 'x', properties: {} }] })).status).toBe(400);
    const invalid = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [{ properties: { email: 'five@example.com' } }, { properties: { email: 'bad' } }],
    });
    expect(invalid.status).toBe(400);
    expect(emu.store.count('contacts')).toBe(9);
    const duplicateIds = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id: '1001', properties: {} },
        { id: '1001', properties: {} },
      ],
    });
    expect(duplicateIds.status).toBe(400);
    expect(duplicateIds.body.message).toContain('Duplicate IDs');
  });

  it('archives in batches with 204', async () => {
    const emu = await emulator({ seed: { contacts: 10 } });
    await sdk(emu).crm.contacts.batchApi.archive({ inputs: [{ id: '1001' }, { id: '1002' }, { id: '777777' }] });
    expect(emu.store.count('contacts')).toBe(8);
    expect(emu.store.get('contacts', '1002')!.archived).toBe(true);
  });

  it('answers 204 to an archive of ids already archived or never there, and lists what it archived with archived=true', async () => {
    const emu = await emulator({ seed: { contacts: 10 } });
    const first = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: '1003' }, { id: '1004' }] });
    expect(first).toMatchObject({ status: 204, body: undefined });
    const again = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: '1003' }, { id: '888888' }, { id: '1005' }] });
    expect(again).toMatchObject({ status: 204, body: undefined });

    const archived = await raw(emu, 'GET', '/crm/v3/objects/contacts?archived=true&limit=100');
    expect(archived.body.results.map((record: { id: string; archived: boolean }) => [record.id, record.archived])).toEqual([
      ['1003', true],
      ['1004', true],
      ['1005', true],
    ]);
    const active = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '1003' }, { id: '1006' }], properties: [] });
    expect(active.status).toBe(207);
    expect(active.body.results.map((record: { id: string }) => record.id)).toEqual(['1006']);
    expect(active.body.errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['1003'] } });
  });

  it('caps every batch at 100 inputs', async () => {
    const emu = await emulator({ seed: { contacts: 200 } });
    const ids = Array.from({ length: 101 }, (_, i) => ({ id: String(1001 + i) }));
    for (const operation of ['read', 'archive', 'update', 'create', 'upsert']) {
      const inputs = ids.map(({ id }) => ({ id, idProperty: 'email', properties: {} }));
      const response = await raw(emu, 'POST', `/crm/v3/objects/contacts/batch/${operation}`, { inputs, properties: [] });
      expect(response.status, operation).toBe(400);
      expect(response.body.category).toBe('VALIDATION_ERROR');
      expect(response.body.message).toContain('100');
    }
    const error = await failure(() => sdk(emu).crm.contacts.batchApi.read({ inputs: ids, properties: [], propertiesWithHistory: [] }));
    expect(error.code).toBe(400);
    const hundred = await sdk(emu).crm.contacts.batchApi.read({ inputs: ids.slice(0, 100), properties: [], propertiesWithHistory: [] });
    expect(hundred.results).toHaveLength(100);
    expect(emu.store.count('contacts')).toBe(200);
  });
});

describe('properties API', () => {
  it('lists property definitions and reads one', async () => {
    const emu = await emulator();
    const client = sdk(emu);
    const all = await client.crm.properties.coreApi.getAll('contacts');
    const names = all.results.map((property) => property.name);
    expect(names).toEqual([...names].sort());
    for (const name of ['email', 'firstname', 'lastname', 'phone', 'lifecyclestage', 'date_of_birth', 'hs_email_optout', 'createdate', 'lastmodifieddate', 'hs_object_id']) {
      expect(names).toContain(name);
    }
    const email = all.results.find((property) => property.name === 'email')!;
    expect(email.hasUniqueValue).toBe(true);
    expect(email.type).toBe('string');
    expect(email.fieldType).toBe('text');

    const stage = await client.crm.properties.coreApi.getByName('contacts', 'lifecyclestage');
    expect(stage.type).toBe('enumeration');
    expect(stage.options.map((option) => option.value)).toEqual([
      'subscriber',
      'lead',
      'marketingqualifiedlead',
      'salesqualifiedlead',
      'opportunity',
      'customer',
      'evangelist',
      'other',
    ]);
    const amount = await client.crm.properties.coreApi.getByName('deals', 'amount');
    expect([amount.type, amount.fieldType, amount.groupName]).toEqual(['number', 'number', 'dealinformation']);
    const modified = await client.crm.properties.coreApi.getByName('0-5', 'hs_lastmodifieddate');
    expect(modified.type).toBe('datetime');
    const optout = await raw(emu, 'GET', '/crm/v3/properties/contacts/hs_email_optout');
    expect(optout.body.type).toBe('bool');
    expect(optout.body.options.map((option: { value: string }) => option.value)).toEqual(['true', 'false']);
    expect(optout.body.calculated).toBe(false);
    expect(optout.body.hidden).toBe(false);

    const missing = await raw(emu, 'GET', '/crm/v3/properties/contacts/no_such_thing');
    expect(missing.status).toBe(404);
    expect(missing.body.category).toBe('OBJECT_NOT_FOUND');
    expect(emu.store.modificationProperty('companies')).toBe('hs_lastmodifieddate');
    expect(emu.store.modificationProperty('0-1')).toBe('lastmodifieddate');
  });
});

describe('auth and scopes', () => {
  it('answers 401 to a wrong or missing token', async () => {
    const emu = await emulator({ seed: { contacts: 3 }, token: 'pat-right' });
    expect(emu.token).toBe('pat-right');
    const error = await failure(() => sdk(emu, 'pat-wrong').crm.contacts.basicApi.getPage());
    expect(error.code).toBe(401);
    expect(error.body.category).toBe('INVALID_AUTHENTICATION');

    const wrong = await raw(emu, 'GET', '/crm/v3/objects/contacts', undefined, { token: 'pat-wrong' });
    expect(wrong.status).toBe(401);
    expect(Object.keys(wrong.body).sort()).toEqual(['category', 'correlationId', 'message', 'status']);
    expect(wrong.body.status).toBe('error');
    expect(wrong.body.category).toBe('INVALID_AUTHENTICATION');
    expect(wrong.body.message).toMatch(/invalid or has expired/);
    expect(wrong.body.correlationId).toMatch(UUID);

    const missing = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {}, { token: null });
    expect(missing.status).toBe(401);
    expect(missing.body.message).toMatch(/^Authentication credentials not found\. /);
    // 401s are counted.
    expect(emu.stats.requests).toBe(3);
    expect(emu.stats.byRoute['POST /crm/v3/objects/{type}/search']).toBe(1);
  });

  it('answers 403 MISSING_SCOPES for forbidden object types', async () => {
    const emu = await emulator({ seed: { contacts: 3, companies: 3 }, forbiddenObjects: ['companies'] });
    const client = sdk(emu);
    expect((await client.crm.contacts.basicApi.getPage()).results).toHaveLength(3);
    const error = await failure(() => client.crm.companies.basicApi.getPage());
    expect(error.code).toBe(403);
    const response = await raw(emu, 'GET', '/crm/v3/objects/0-2?limit=5');
    expect(response.status).toBe(403);
    expect(response.body).toEqual({
      status: 'error',
      message: "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
      correlationId: response.body.correlationId,
      category: 'MISSING_SCOPES',
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.companies.read'] } }],
    });
    expect(response.body.correlationId).toMatch(UUID);
    const write = await raw(emu, 'POST', '/crm/v3/objects/companies', { properties: { name: 'X' } });
    expect(write.body.errors[0].context.requiredGranularScopes).toEqual(['crm.objects.companies.write']);
    expect(emu.store.count('companies')).toBe(3);
  });
});

describe('stats and latency', () => {
  it('counts requests per route and can reset', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    await raw(emu, 'GET', '/crm/v3/objects/contacts');
    await raw(emu, 'GET', '/crm/v3/objects/contacts/1001');
    await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {});
    await raw(emu, 'GET', '/crm/v3/properties/contacts');
    expect(emu.stats.requests).toBe(4);
    expect(emu.stats.byRoute).toEqual({
      'GET /crm/v3/objects/{type}': 1,
      'GET /crm/v3/objects/{type}/{id}': 1,
      'POST /crm/v3/objects/{type}/search': 1,
      'GET /crm/v3/properties/{type}': 1,
    });
    emu.stats.reset();
    expect(emu.stats.requests).toBe(0);
    expect(emu.stats.byRoute).toEqual({});
  });

  it('delays every response by latencyMs', async () => {
    const emu = await emulator({ seed: { contacts: 1 }, latencyMs: 80 });
    const started = performance.now();
    const response = await raw(emu, 'GET', '/crm/v3/objects/contacts', undefined, { token: 'wrong' });
    expect(response.status).toBe(401);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });
});
