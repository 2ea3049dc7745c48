/**
 * Writes as a two-way sync meets them: unique values (409 with the existing id), upserts
 * (`new`, HubSpot's idProperty and duplicate-id errors), whole-batch failures against
 * multi-status answers (207 with one error per input, named by its objectWriteTraceId)
 * and updates by email. Over HTTP and through @hubspot/api-client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CustomObjectDefinition } from '../src/hubspot/index.js';
import { closeAll, emulator, failure, fakeClock, raw, sdk, UUID } from './helpers.js';

afterEach(closeAll);

const MEMBERSHIPS: CustomObjectDefinition = {
  name: 'memberships',
  objectTypeId: '2-555',
  labels: { singular: 'Membership', plural: 'Memberships' },
  primaryDisplayProperty: 'member_code',
  properties: [
    { name: 'member_code', label: 'Member code', type: 'string', fieldType: 'text', hasUniqueValue: true },
    { name: 'tier', label: 'Tier', type: 'enumeration', fieldType: 'select', options: ['gold', 'silver'] },
  ],
};

/** The problems a "Property values were not valid: [...]" message lists. */
const problemsOf = (message: string) => JSON.parse(message.slice('Property values were not valid: '.length)) as { name: string; error: string }[];

describe('unique values', () => {
  it('a create with an email another contact has (any case) is a 409 naming that contact, in HubSpot\'s body', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    const email = emu.store.get('contacts', '1002')!.properties.email!;
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: email.toUpperCase(), firstname: 'Twin' } });
    expect(response.status).toBe(409);
    expect(Object.keys(response.body).sort()).toEqual(['category', 'correlationId', 'message', 'status']);
    expect(response.body).toMatchObject({ status: 'error', message: 'Contact already exists. Existing ID: 1002', category: 'CONFLICT' });
    expect(response.body.correlationId).toMatch(UUID);

    const error = await failure(() => sdk(emu).crm.contacts.basicApi.create({ properties: { email }, associations: [] }));
    expect(error.code).toBe(409);
    expect(error.body.message).toBe('Contact already exists. Existing ID: 1002');
    expect(emu.store.count('contacts')).toBe(5);
  });

  it('a batch create with existing emails is one 409 naming the first, and writes nothing', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    const email = (id: string) => emu.store.get('contacts', id)!.properties.email!;
    const inputs = [{ properties: { email: 'new@example.com' } }, { properties: { email: email('1004') } }, { properties: { email: email('1001') } }];
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', { inputs });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ status: 'error', category: 'CONFLICT', message: 'Contact already exists. Existing ID: 1004' });
    const error = await failure(() => sdk(emu).crm.contacts.batchApi.create({ inputs: inputs.map((input) => ({ ...input, associations: [] })) }));
    expect(error.code).toBe(409);
    expect(emu.store.count('contacts')).toBe(5);
    expect(emu.store.findBy('contacts', 'email', 'new@example.com')).toBeUndefined();
  });

  it('the same email twice in one batch create is a 409 without an existing id, and writes nothing', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [{ properties: { email: 'same@example.com' } }, { properties: { email: 'Same@Example.com' } }],
    });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ category: 'CONFLICT', message: 'Contact already exists' });
    expect(emu.store.count('contacts')).toBe(3);
  });

  it('companies have no unique email or domain: two with the same domain are both created', async () => {
    const emu = await emulator({ seed: { companies: 2 } });
    const created = await sdk(emu).crm.companies.batchApi.create({
      inputs: [
        { properties: { name: 'Acme', domain: 'acme.example' }, associations: [] },
        { properties: { name: 'Acme EU', domain: 'acme.example' }, associations: [] },
      ],
    });
    expect(created.results.map((company) => company.properties.domain)).toEqual(['acme.example', 'acme.example']);
  });

  it('any property with unique values behaves like a contact\'s email', async () => {
    const emu = await emulator({ customObjects: [MEMBERSHIPS] });
    const first = await raw(emu, 'POST', '/crm/v3/objects/memberships', { properties: { member_code: 'M-1', tier: 'gold' } });
    expect(first.status).toBe(201);
    const twin = await raw(emu, 'POST', '/crm/v3/objects/2-555', { properties: { member_code: 'm-1' } });
    expect(twin.status).toBe(409);
    expect(twin.body.message).toBe(`Membership already exists. Existing ID: ${first.body.id}`);
    const second = await raw(emu, 'POST', '/crm/v3/objects/memberships', { properties: { member_code: 'M-2' } });
    const clash = await raw(emu, 'PATCH', `/crm/v3/objects/memberships/${second.body.id}`, { properties: { member_code: 'M-1' } });
    expect(clash.status).toBe(409);
    expect(clash.body.message).toBe(`Membership already exists. Existing ID: ${first.body.id}`);
    expect(emu.store.get('memberships', second.body.id)!.properties.member_code).toBe('M-2');
  });
});

describe('batch upsert', () => {
  it('creates or updates by email (any case), each result saying whether it is new', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now });
    const existing = emu.store.get('contacts', '1003')!;
    clock.advance(1_000);
    const upserted = await sdk(emu).crm.contacts.batchApi.upsert({
      inputs: [
        { id: existing.properties.email!.toUpperCase(), idProperty: 'email', properties: { jobtitle: 'Pilot' } },
        { id: 'Fresh@Example.com', idProperty: 'email', properties: { firstname: 'Fresh' } },
      ],
    });
    expect(upserted.results.map((record) => [record.id, record._new, record.properties.email, record.properties.jobtitle ?? record.properties.firstname])).toEqual([
      ['1003', false, existing.properties.email, 'Pilot'],
      ['1006', true, 'fresh@example.com', 'Fresh'],
    ]);
    expect(emu.store.count('contacts')).toBe(6);
    expect(emu.store.get('contacts', '1003')!.properties.lastmodifieddate).toBe('2026-01-01T00:00:01.000Z');
  });

  it('upserts by a unique custom property', async () => {
    const emu = await emulator({ customObjects: [MEMBERSHIPS] });
    const created = await raw(emu, 'POST', '/crm/v3/objects/memberships', { properties: { member_code: 'M-7', tier: 'silver' } });
    const response = await raw(emu, 'POST', '/crm/v3/objects/memberships/batch/upsert', {
      inputs: [
        { id: 'M-7', idProperty: 'member_code', properties: { tier: 'gold' } },
        { id: 'M-8', idProperty: 'member_code', properties: { tier: 'silver' } },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.results.map((record: any) => [record.id === created.body.id, record.new, record.properties.member_code, record.properties.tier])).toEqual([
      [true, false, 'M-7', 'gold'],
      [false, true, 'M-8', 'silver'],
    ]);
  });

  it('refuses an idProperty without unique values, or none, with HubSpot\'s 400', async () => {
    const emu = await emulator({ seed: { contacts: 3, companies: 3 } });
    const upsert = (type: string, input: Record<string, unknown>) => raw(emu, 'POST', `/crm/v3/objects/${type}/batch/upsert`, { inputs: [{ properties: {}, ...input }] });
    const byName = await upsert('contacts', { id: 'Ada', idProperty: 'firstname' });
    expect(byName.status).toBe(400);
    expect(byName.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: 'Unable to perform update/upsert by non-unique 0-1 property firstname' });
    expect((await upsert('companies', { id: 'acme.example', idProperty: 'domain' })).body.message).toBe('Unable to perform update/upsert by non-unique 0-2 property domain');
    expect((await upsert('contacts', { id: '1001', idProperty: 'hs_object_id' })).body.message).toBe('Unable to perform update/upsert by non-unique 0-1 property hs_object_id');
    const none = await upsert('contacts', { id: '1001' });
    expect(none.status).toBe(400);
    expect(none.body.message).toBe('Unable to perform update/upsert by non-unique 0-1 property hs_object_id');
    const error = await failure(() => sdk(emu).crm.contacts.batchApi.upsert({ inputs: [{ id: 'Ada', idProperty: 'firstname', properties: {} }] }));
    expect(error.code).toBe(400);
    expect(emu.store.count('contacts')).toBe(3);
  });

  it('refuses the same id twice (any case) with HubSpot\'s duplicate-ids 400, writing nothing', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { id: 'twice@example.com', idProperty: 'email', properties: { firstname: 'One' } },
        { id: 'TWICE@example.com', idProperty: 'email', properties: { firstname: 'Two' } },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      category: 'VALIDATION_ERROR',
      message: 'Duplicate IDs found in batch input: [TWICE@example.com]. IDs must be unique',
      context: { ids: ['TWICE@example.com'] },
    });
    expect(emu.store.count('contacts')).toBe(3);
    const update = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: '1001', properties: {} }, { id: '1001', properties: {} }] });
    expect(update.body).toMatchObject({ message: 'Duplicate IDs found in batch input: [1001]. IDs must be unique', context: { ids: ['1001'] } });
  });
});

describe('multi-status batches (objectWriteTraceId on every input)', () => {
  it('batch create writes the valid inputs and answers 207 with an error per failed input', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const taken = emu.store.get('contacts', '1002')!.properties.email!;
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [
        { objectWriteTraceId: 't-ok', properties: { email: 'ok@example.com', firstname: 'Ok' } },
        { objectWriteTraceId: 't-email', properties: { email: 'not-an-email' } },
        { objectWriteTraceId: 't-unknown', properties: { email: 'x@example.com', favourite_colour: 'blue', hs_object_id: '5' } },
        { objectWriteTraceId: 't-taken', properties: { email: taken } },
        { objectWriteTraceId: 't-twin', properties: { email: 'OK@example.com' } },
        { objectWriteTraceId: 't-ok2', properties: { email: 'ok2@example.com' } },
      ],
    });
    expect(response.status).toBe(207);
    expect(response.body.status).toBe('COMPLETE');
    expect(response.body.results.map((record: any) => [record.id, record.properties.email])).toEqual([
      ['1004', 'ok@example.com'],
      ['1005', 'ok2@example.com'],
    ]);
    expect(response.body.numErrors).toBe(4);
    const errors = response.body.errors;
    expect(errors.map((error: any) => [error.context.objectWriteTraceId, error.status, error.category])).toEqual([
      [['t-email'], 'error', 'VALIDATION_ERROR'],
      [['t-unknown'], 'error', 'VALIDATION_ERROR'],
      [['t-taken'], 'error', 'CONFLICT'],
      [['t-twin'], 'error', 'CONFLICT'],
    ]);
    expect(problemsOf(errors[0].message)).toMatchObject([{ name: 'email', error: 'INVALID_EMAIL' }]);
    expect(problemsOf(errors[1].message).map((problem) => [problem.name, problem.error])).toEqual([
      ['favourite_colour', 'PROPERTY_DOESNT_EXIST'],
      ['hs_object_id', 'READ_ONLY_VALUE'],
    ]);
    expect(errors[2]).toEqual({
      status: 'error',
      category: 'CONFLICT',
      message: 'Contact already exists. Existing ID: 1002',
      context: { objectWriteTraceId: ['t-taken'], existingId: ['1002'] },
    });
    // The second input with an email is refused: the first one has it now.
    expect(errors[3].context.existingId).toEqual(['1004']);
    expect(emu.store.count('contacts')).toBe(5);
  });

  it('without a trace id on every input the same batch fails as a whole, listing every input\'s problems', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const inputs = [
      { objectWriteTraceId: 't-1', properties: { email: 'fine@example.com' } },
      { properties: { email: 'not-an-email' } },
      { objectWriteTraceId: 't-3', properties: { favourite_colour: 'blue' } },
    ];
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', { inputs });
    expect(response.status).toBe(400);
    expect(response.body.category).toBe('VALIDATION_ERROR');
    expect(problemsOf(response.body.message).map((problem) => problem.name)).toEqual(['email', 'favourite_colour']);
    expect(response.body.errors.map((error: any) => error.code)).toEqual(['INVALID_EMAIL', 'PROPERTY_DOESNT_EXIST']);
    expect(emu.store.count('contacts')).toBe(3);
  });

  it('the SDK hands back a 207 batch create: results, numErrors and the failed trace ids', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const response = await sdk(emu).crm.contacts.batchApi.create({
      inputs: [
        { objectWriteTraceId: 'a', properties: { email: 'a@example.com' }, associations: [] },
        { objectWriteTraceId: 'b', properties: { email: 'b@' }, associations: [] },
      ],
    });
    expect(response.results.map((record) => record.properties.email)).toEqual(['a@example.com']);
    expect('numErrors' in response && response.numErrors).toBe(1);
    expect('errors' in response && response.errors?.map((error) => error.context.objectWriteTraceId)).toEqual([['b']]);
  });

  it('batch update reports bad values per input next to the ids not found', async () => {
    const emu = await emulator({ seed: { deals: 4 } });
    const response = await raw(emu, 'POST', '/crm/v3/objects/deals/batch/update', {
      inputs: [
        { id: '1001', objectWriteTraceId: 'u-ok', properties: { dealname: 'Renamed' } },
        { id: '1002', objectWriteTraceId: 'u-option', properties: { dealstage: 'won-ish' } },
        { id: '1003', objectWriteTraceId: 'u-readonly', properties: { hs_lastmodifieddate: '2020-01-01T00:00:00Z' } },
        { id: '9999', objectWriteTraceId: 'u-missing', properties: { dealname: 'Ghost' } },
      ],
    });
    expect(response.status).toBe(207);
    expect(response.body.results.map((record: any) => [record.id, record.properties.dealname])).toEqual([['1001', 'Renamed']]);
    expect(response.body.numErrors).toBe(3);
    const [option, readOnly, missing] = response.body.errors;
    expect(option.context).toEqual({ objectWriteTraceId: ['u-option'] });
    expect(problemsOf(option.message)).toMatchObject([{ name: 'dealstage', error: 'INVALID_OPTION' }]);
    expect(problemsOf(readOnly.message)).toMatchObject([{ name: 'hs_lastmodifieddate', error: 'READ_ONLY_VALUE' }]);
    expect(missing).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['9999'] } });
    expect(emu.store.get('deals', '1002')!.properties.dealstage).not.toBe('won-ish');

    const whole = await raw(emu, 'POST', '/crm/v3/objects/deals/batch/update', {
      inputs: [
        { id: '1001', properties: { dealname: 'Again' } },
        { id: '1002', properties: { dealstage: 'won-ish' } },
      ],
    });
    expect(whole.status).toBe(400);
    expect(emu.store.get('deals', '1001')!.properties.dealname).toBe('Renamed');
  });

  it('batch upsert fails only the inputs with bad ids or values', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { id: 'up@example.com', idProperty: 'email', objectWriteTraceId: 'p-ok', properties: { firstname: 'Up' } },
        { id: 'no-at-sign', idProperty: 'email', objectWriteTraceId: 'p-id', properties: {} },
        { id: 'val@example.com', idProperty: 'email', objectWriteTraceId: 'p-value', properties: { hs_email_optout: 'maybe' } },
      ],
    });
    expect(response.status).toBe(207);
    expect(response.body.results.map((record: any) => [record.properties.email, record.new])).toEqual([['up@example.com', true]]);
    expect(response.body.errors.map((error: any) => [error.context.objectWriteTraceId[0], problemsOf(error.message)[0]!.error])).toEqual([
      ['p-id', 'INVALID_EMAIL'],
      ['p-value', 'INVALID_BOOLEAN'],
    ]);
    expect(emu.store.count('contacts')).toBe(4);
  });

  it('a batch of valid inputs with trace ids answers 201 / 200 as any other', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const created = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ objectWriteTraceId: 'c', properties: { email: 'c@example.com' } }] });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['completedAt', 'results', 'startedAt', 'status']);
    const updated = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: '1001', objectWriteTraceId: 'u', properties: { city: 'Oslo' } }] });
    expect(updated.status).toBe(200);
    expect(updated.body.numErrors).toBeUndefined();
  });
});

describe('PATCH one record', () => {
  it('by email (any case); an empty string clears a value; a changed email must be free', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    const contact = emu.store.get('contacts', '1004')!;
    clock.advance(1_000);
    const updated = await basicApi.update(contact.properties.email!.toUpperCase(), { properties: { city: 'Lima', jobtitle: '' } }, 'email');
    expect(updated.id).toBe('1004');
    expect(updated.properties).toMatchObject({ city: 'Lima', lastmodifieddate: '2026-01-01T00:00:01.000Z' });
    expect(updated.properties.jobtitle ?? null).toBeNull();
    expect(contact.properties.jobtitle).not.toBeNull();
    expect(emu.store.get('contacts', '1004')!.properties.jobtitle).toBeNull();

    const moved = await raw(emu, 'PATCH', `/crm/v3/objects/contacts/${encodeURIComponent(contact.properties.email!)}?idProperty=email`, { properties: { email: 'Moved@Example.com' } });
    expect(moved.status).toBe(200);
    expect(moved.body.properties.email).toBe('moved@example.com');
    expect(emu.store.findBy('contacts', 'email', 'moved@example.com')!.id).toBe('1004');

    const taken = emu.store.get('contacts', '1001')!.properties.email!;
    const clash = await raw(emu, 'PATCH', '/crm/v3/objects/contacts/moved@example.com?idProperty=email', { properties: { email: taken } });
    expect(clash.status).toBe(409);
    expect(clash.body.message).toBe('Contact already exists. Existing ID: 1001');
  });

  it('answers 404 for an email no contact has, and HubSpot\'s 400 for an idProperty without unique values', async () => {
    const emu = await emulator({ seed: { contacts: 3 } });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    expect((await failure(() => basicApi.update('nobody@example.com', { properties: { city: 'Lima' } }, 'email'))).code).toBe(404);
    const byName = await failure(() => basicApi.update('Ada', { properties: { city: 'Lima' } }, 'firstname'));
    expect(byName.code).toBe(400);
    expect(byName.body.message).toBe('Unable to perform update/upsert by non-unique 0-1 property firstname');
    const byRecordId = await raw(emu, 'PATCH', '/crm/v3/objects/contacts/1001?idProperty=hs_object_id', { properties: { city: 'Lima' } });
    expect(byRecordId.status).toBe(400);
    expect(emu.store.get('contacts', '1001')!.properties.city).not.toBe('Lima');
  });
});
