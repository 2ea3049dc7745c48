/**
 * Writes as a two-way sync meets them: unique values (409 with the existing id), upserts
 * (`new`, HubSpot's idProperty and duplicate-id errors) and updates by email. Over HTTP
 * and through @hubspot/api-client.
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
