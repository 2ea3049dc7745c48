/**
 * Associations v4: seeded links, batch read (shape, 207 errors, per-record paging),
 * create and archive (symmetric, modification times untouched), labels, limits, and
 * the store API. Driven through @hubspot/api-client where it has methods, plain fetch
 * otherwise.
 */
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ASSOCIATIONS_BATCH_MAX_INPUTS, HubSpotStore, USER_DEFINED_TYPE_ID_START, type AssociationTarget } from '../src/hubspot/index.js';
import { ISO_MS, UUID, closeAll, emulator, failure, fakeClock, raw, sdk } from './helpers.js';

afterEach(closeAll);

const SEED = { contacts: 600, companies: 80, deals: 300, appointments: 120, line_items: 90 };
const PRIMARY_CONTACT_COMPANY = { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' };
const CONTACT_COMPANY = { category: 'HUBSPOT_DEFINED', typeId: 279, label: null };

/** Every association of a pair in the store, as sorted 'from->to' strings. */
function pairs(store: HubSpotStore, from: string, to: string): string[] {
  const out: string[] = [];
  for (const record of store.all(from)) for (const target of store.associations(from, record.id, to)) out.push(`${record.id}->${target.toId}`);
  return out.sort();
}

const ids = (targets: AssociationTarget[]) => targets.map((target) => target.toId);

describe('seeded associations', () => {
  const store = new HubSpotStore({ seed: SEED, seedValue: 3 });

  it('are deterministic, and depend on the seed value', () => {
    const again = new HubSpotStore({ seed: SEED, seedValue: 3 });
    const other = new HubSpotStore({ seed: SEED, seedValue: 4 });
    for (const [from, to] of [
      ['contacts', 'companies'],
      ['deals', 'contacts'],
      ['deals', 'companies'],
      ['appointments', 'contacts'],
      ['line_items', 'deals'],
    ] as const) {
      expect(pairs(again, from, to)).toEqual(pairs(store, from, to));
      expect(pairs(other, from, to)).not.toEqual(pairs(store, from, to));
    }
  });

  it('link each contact to 0-1 company (most to one, as primary), each deal to 1-3 contacts and 0-1 company, each appointment to 1 contact', () => {
    const contactCompanies = store.all('contacts').map((contact) => store.associations('contacts', contact.id, 'companies'));
    expect(contactCompanies.every((targets) => targets.length <= 1)).toBe(true);
    const withCompany = contactCompanies.filter((targets) => targets.length === 1);
    expect(withCompany.length / contactCompanies.length).toBeGreaterThan(0.75);
    expect(withCompany.length / contactCompanies.length).toBeLessThan(0.95);
    for (const [target] of withCompany) expect(target!.associationTypes).toEqual([PRIMARY_CONTACT_COMPANY, CONTACT_COMPANY]);

    for (const deal of store.all('deals')) {
      const contacts = store.associations('deals', deal.id, 'contacts');
      expect(contacts.length).toBeGreaterThanOrEqual(1);
      expect(contacts.length).toBeLessThanOrEqual(3);
      expect(new Set(ids(contacts)).size).toBe(contacts.length);
      for (const contact of contacts) expect(contact.associationTypes).toEqual([{ category: 'HUBSPOT_DEFINED', typeId: 3, label: null }]);
      const companies = store.associations('deals', deal.id, 'companies');
      expect(companies.length).toBeLessThanOrEqual(1);
      for (const company of companies) expect(company.associationTypes.map((type) => type.typeId)).toEqual([5, 341]);
    }
    for (const appointment of store.all('appointments')) {
      const [contact, ...more] = store.associations('appointments', appointment.id, 'contacts');
      expect(more).toEqual([]);
      expect(contact!.associationTypes).toEqual([{ category: 'USER_DEFINED', typeId: USER_DEFINED_TYPE_ID_START, label: null }]);
    }
    for (const item of store.all('line_items')) expect(store.associations('line_items', item.id, 'deals')).toHaveLength(1);
    // Only between seeded types: no tickets were seeded.
    expect(store.associations('deals', 1001, 'tickets')).toEqual([]);
  });

  it('are symmetric, with the inverse type ids', () => {
    const forward = pairs(store, 'contacts', 'companies');
    const backward = pairs(store, 'companies', 'contacts').map((pair) => pair.split('->').reverse().join('->')).sort();
    expect(backward).toEqual(forward);
    const company = store.all('companies').find((record) => store.associations('companies', record.id, 'contacts').length > 0)!;
    expect(store.associations('companies', company.id, 'contacts')[0]!.associationTypes.map((type) => type.typeId)).toEqual([2, 280]);
    const deal = store.all('deals')[0]!;
    const [contact] = store.associations('deals', deal.id, 'contacts');
    expect(store.associations('contacts', contact!.toId, 'deals').find((target) => target.toId === deal.id)!.associationTypes).toEqual([
      { category: 'HUBSPOT_DEFINED', typeId: 4, label: null },
    ]);
    const appointment = store.all('appointments')[0]!;
    const [person] = store.associations('2-1234567', appointment.id, '0-1');
    expect(store.associations('contacts', person!.toId, 'p12345678_appointments').find((target) => target.toId === appointment.id)!.associationTypes).toEqual([
      { category: 'USER_DEFINED', typeId: USER_DEFINED_TYPE_ID_START + 1, label: null },
    ]);
  });
});

describe('batch read', () => {
  it('answers with from, to (numeric toObjectId) and association types; ids without associations are 207 errors', async () => {
    const emu = await emulator({ seed: SEED });
    const client = sdk(emu);
    const contacts = emu.store.all('contacts');
    const linked = contacts.filter((contact) => emu.store.associations('contacts', contact.id, 'companies').length > 0).slice(0, 3);
    const lonely = contacts.find((contact) => emu.store.associations('contacts', contact.id, 'companies').length === 0)!;

    const full = await client.crm.associations.v4.batchApi.getPage('contacts', 'companies', { inputs: linked.map((contact) => ({ id: contact.id })) });
    expect(full.status).toBe('COMPLETE');
    expect(full.results.map((result) => result._from.id)).toEqual(linked.map((contact) => contact.id));
    for (const result of full.results) {
      expect(result.to).toEqual(
        emu.store.associations('contacts', result._from.id, 'companies').map((target) => ({
          toObjectId: Number(target.toId),
          associationTypes: [PRIMARY_CONTACT_COMPANY, CONTACT_COMPANY],
        })),
      );
      expect(result.paging).toBeUndefined();
    }

    const response = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', { inputs: [{ id: linked[0]!.id }, { id: lonely.id }, { id: '999999' }] });
    expect(response.status).toBe(207);
    expect(response.body).toMatchObject({ status: 'COMPLETE', numErrors: 2, startedAt: expect.stringMatching(ISO_MS), completedAt: expect.stringMatching(ISO_MS) });
    expect(response.body.results).toHaveLength(1);
    expect(typeof response.body.results[0].to[0].toObjectId).toBe('number');
    expect(response.body.errors[0]).toEqual({
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
      message: `No company is associated with contact ${lonely.id}.`,
      context: { fromObjectId: [lonely.id], fromObjectType: ['contact'], toObjectType: ['company'] },
      errors: [],
      links: {},
    });
    expect(response.body.errors[1].context.fromObjectId).toEqual(['999999']);

    const viaSdk = await client.crm.associations.v4.batchApi.getPage('0-1', '0-2', { inputs: [{ id: lonely.id }] });
    expect(viaSdk.results).toEqual([]);
    expect((viaSdk as { errors?: unknown[] }).errors).toHaveLength(1);
    expect(emu.stats.byRoute['POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read']).toBe(3);
  });

  it('accepts names, type ids and fully qualified names in the path, for custom objects too', async () => {
    const emu = await emulator({ seed: SEED });
    const body = { inputs: [{ id: '1001' }, { id: '1002' }] };
    const expected = await raw(emu, 'POST', '/crm/v4/associations/appointments/contacts/batch/read', body);
    expect(expected.status).toBe(200);
    expect(expected.body.results[0].to[0].associationTypes).toEqual([{ category: 'USER_DEFINED', typeId: USER_DEFINED_TYPE_ID_START, label: null }]);
    for (const [from, to] of [
      ['2-1234567', '0-1'],
      ['p12345678_appointments', 'contact'],
      ['APPOINTMENTS', 'CONTACTS'],
    ]) {
      const answer = await raw(emu, 'POST', `/crm/v4/associations/${from}/${to}/batch/read`, body);
      expect(answer.body.results).toEqual(expected.body.results);
    }
    const unknown = await raw(emu, 'POST', '/crm/v4/associations/unicorns/contacts/batch/read', body);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe('Unable to infer object type from: unicorns');
    const unrelated = await raw(emu, 'POST', '/crm/v4/associations/line_items/companies/batch/read', body);
    expect(unrelated.status).toBe(400);
    expect(unrelated.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', correlationId: expect.stringMatching(UUID) });
  });

  it('pages a record with more than 500 associations, resumed with {id, after}', async () => {
    const emu = await emulator({ seed: { contacts: 1300, companies: 1 } });
    const client = sdk(emu);
    const all = emu.store.associations('companies', 1001, 'contacts').map((target) => Number(target.toId));
    expect(all.length).toBeGreaterThan(1000);
    const seen: number[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.crm.associations.v4.batchApi.getPage('companies', 'contacts', { inputs: [{ id: '1001', after }] });
      const [result] = page.results;
      expect(result!.to.length).toBe(Math.min(500, all.length - seen.length));
      seen.push(...result!.to.map((target) => Number(target.toObjectId)));
      after = result!.paging?.next?.after;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(all);

    // The per-record list pages the same way, with a smaller limit too.
    const listed: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.crm.associations.v4.basicApi.getPage('companies', '1001', 'contacts', cursor, 400);
      listed.push(...page.results.map((target) => Number(target.toObjectId)));
      cursor = page.paging?.next?.after;
    } while (cursor);
    expect(listed).toEqual(all);
    const tooMany = await raw(emu, 'GET', '/crm/v4/objects/companies/1001/associations/contacts?limit=501');
    expect(tooMany.status).toBe(400);
    const none = await raw(emu, 'GET', '/crm/v4/objects/companies/424242/associations/contacts');
    expect(none.body).toEqual({ results: [] });
  });

  it(`takes at most ${ASSOCIATIONS_BATCH_MAX_INPUTS} inputs`, async () => {
    const emu = await emulator({ seed: { contacts: 1200, companies: 50 } });
    const inputs = Array.from({ length: 1001 }, (_, i) => ({ id: String(1001 + i) }));
    const over = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', { inputs });
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ category: 'VALIDATION_ERROR', context: { maxInputs: ['1000'] } });
    expect(over.body.message).toContain('1001');
    const atCap = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', { inputs: inputs.slice(0, 1000) });
    expect(atCap.status).toBe(207);
    expect(atCap.body.results.length + atCap.body.numErrors).toBe(1000);
    for (const path of ['batch/archive', 'batch/associate/default']) {
      expect((await raw(emu, 'POST', `/crm/v4/associations/contacts/companies/${path}`, { inputs: Array.from({ length: 1001 }, () => ({ from: { id: '1' }, to: [{ id: '2' }] })) })).status).toBe(400);
    }
  });
});

describe('creating and removing associations', () => {
  it('creates default associations both ways and leaves modification times alone', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 20, deals: 5 }, now: clock.now });
    const client = sdk(emu);
    const had = ids(emu.store.associations('deals', 1002, 'contacts'));
    const contactId = emu.store.all('contacts').find((record) => !had.includes(record.id))!.id;
    const before = { contact: emu.store.get('contacts', contactId)!, deal: emu.store.get('deals', 1002)! };
    clock.advance(3_600_000);

    const created = await client.crm.associations.v4.basicApi.createDefault('deals', '1002', 'contacts', contactId);
    expect(created.status).toBe('COMPLETE');
    expect(created.results.map((result) => [result._from.id, result.to.id, result.associationSpec.associationTypeId])).toEqual([
      ['1002', contactId, 3],
      [contactId, '1002', 4],
    ]);
    expect(ids(emu.store.associations('deals', 1002, 'contacts'))).toEqual([...had, contactId].sort());
    expect(ids(emu.store.associations('contacts', contactId, 'deals'))).toContain('1002');

    const contact = await client.crm.contacts.basicApi.getById(contactId, ['lastmodifieddate']);
    const deal = await client.crm.deals.basicApi.getById('1002', ['hs_lastmodifieddate']);
    expect(contact.properties.lastmodifieddate).toBe(before.contact.properties.lastmodifieddate);
    expect(contact.updatedAt.toISOString()).toBe(before.contact.updatedAt);
    expect(deal.properties.hs_lastmodifieddate).toBe(before.deal.properties.hs_lastmodifieddate);
    // An incremental sync on the modification time sees nothing.
    const since = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '2026-01-01T00:00:00.000Z' }] }],
    });
    expect(since.body.total).toBe(0);

    await client.crm.associations.v4.batchApi.archive('contacts', 'deals', { inputs: [{ _from: { id: contactId }, to: [{ id: '1002' }] }] });
    expect(ids(emu.store.associations('deals', 1002, 'contacts'))).toEqual(had);
    expect(ids(emu.store.associations('contacts', contactId, 'deals'))).not.toContain('1002');
    expect(emu.store.get('contacts', contactId)).toEqual(before.contact);
    expect(emu.store.get('deals', 1002)).toEqual(before.deal);
  });

  it('creates labelled associations (primary moves), batch creates and deletes them', async () => {
    const emu = await emulator({ seed: { contacts: 10, companies: 10 }, customObjects: [] });
    const client = sdk(emu);
    const contact = emu.store.all('contacts').find((record) => emu.store.associations('contacts', record.id, 'companies').length === 1)!;
    const [primary] = ids(emu.store.associations('contacts', contact.id, 'companies'));
    const other = primary === '1001' ? '1002' : '1001';

    // A second company by default: not primary, the first one stays primary.
    await raw(emu, 'PUT', `/crm/v4/objects/contacts/${contact.id}/associations/default/companies/${other}`);
    const types = () => Object.fromEntries(emu.store.associations('contacts', contact.id, 'companies').map((target) => [target.toId, target.associationTypes.map((type) => type.typeId)]));
    expect(types()).toEqual({ [primary!]: [1, 279], [other]: [279] });

    const labelled = await client.crm.associations.v4.basicApi.create('contacts', contact.id, 'companies', other, [
      { associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 1 },
    ]);
    expect(labelled).toEqual({ fromObjectTypeId: '0-1', fromObjectId: Number(contact.id), toObjectTypeId: '0-2', toObjectId: Number(other), labels: ['Primary'] });
    expect(types()).toEqual({ [primary!]: [279], [other]: [1, 279] });
    expect(emu.store.associations('companies', other, 'contacts').find((target) => target.toId === contact.id)!.associationTypes.map((type) => type.typeId)).toEqual([2, 280]);

    const wrong = await raw(emu, 'PUT', `/crm/v4/objects/contacts/${contact.id}/associations/companies/${other}`, [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }]);
    expect(wrong.status).toBe(400);
    const missing = await raw(emu, 'PUT', `/crm/v4/objects/contacts/${contact.id}/associations/default/companies/777`);
    expect(missing.status).toBe(404);

    const batch = await raw(emu, 'POST', '/crm/v4/associations/companies/contacts/batch/create', {
      inputs: [
        { from: { id: '1003' }, to: { id: contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }] },
        { from: { id: '1003' }, to: { id: '888' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }] },
      ],
    });
    expect(batch.status).toBe(207);
    expect(batch.body.results).toEqual([{ fromObjectTypeId: '0-2', fromObjectId: 1003, toObjectTypeId: '0-1', toObjectId: Number(contact.id), labels: [] }]);
    expect(batch.body.errors[0]).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { toObjectId: ['888'] } });

    // Removing the primary label keeps the association; removing the unlabeled one removes it all.
    await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/labels/archive', {
      inputs: [{ from: { id: contact.id }, to: { id: other }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }] }],
    });
    expect(types()[other]).toEqual([279]);
    await client.crm.associations.v4.basicApi.archive('companies', other, 'contacts', contact.id);
    expect(types()[other]).toBeUndefined();
    expect(emu.store.associations('companies', other, 'contacts').map((target) => target.toId)).not.toContain(contact.id);

    const defaults = await client.crm.associations.v4.batchApi.createDefault('contacts', 'companies', {
      inputs: [
        { _from: { id: contact.id }, to: { id: other } },
        { _from: { id: '5555' }, to: { id: other } },
      ],
    });
    expect(defaults.results).toHaveLength(2);
    expect(defaults.errors).toHaveLength(1);
    // A default association is never primary, even for a contact without a primary company.
    expect(types()).toEqual({ [primary!]: [279], [other]: [279], '1003': [279] });
  });

  it('lists the association types of a pair (labels), through the SDK too', async () => {
    const emu = await emulator();
    const client = sdk(emu);
    const labels = await client.crm.associations.v4.schema.definitionsApi.getAll('contacts', 'companies');
    expect(labels.results).toEqual([PRIMARY_CONTACT_COMPANY, CONTACT_COMPANY]);
    const expected: [string, string, number[]][] = [
      ['companies', 'contacts', [2, 280]],
      ['contacts', 'deals', [4]],
      ['deals', 'contacts', [3]],
      ['deals', 'companies', [5, 341]],
      ['companies', 'deals', [6, 342]],
      ['tickets', 'contacts', [16]],
      ['contacts', 'tickets', [15]],
      ['tickets', 'companies', [26, 339]],
      ['companies', 'tickets', [25, 340]],
      ['deals', 'line_items', [19]],
      ['line_items', 'deals', [20]],
      ['appointments', 'contacts', [USER_DEFINED_TYPE_ID_START]],
      ['contacts', 'appointments', [USER_DEFINED_TYPE_ID_START + 1]],
    ];
    for (const [from, to, typeIds] of expected) {
      const answer = await raw(emu, 'GET', `/crm/v4/associations/${from}/${to}/labels`);
      expect(answer.body.results.map((type: { typeId: number }) => type.typeId), `${from}->${to}`).toEqual(typeIds);
    }
    expect((await raw(emu, 'GET', '/crm/v4/associations/divisions/deals/labels')).status).toBe(400);
  });

  it('hides associations of archived records until they are restored', async () => {
    const emu = await emulator({ seed: { contacts: 30, companies: 3 } });
    const company = emu.store.all('companies').find((record) => emu.store.associations('companies', record.id, 'contacts').length > 1)!;
    const [first] = emu.store.associations('companies', company.id, 'contacts');
    emu.store.archive('contacts', first!.toId);
    expect(ids(emu.store.associations('companies', company.id, 'contacts'))).not.toContain(first!.toId);
    const read = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', { inputs: [{ id: first!.toId }] });
    expect(read.body.errors[0].subCategory).toBe('crm.associations.NO_ASSOCIATIONS_FOUND');
    emu.store.restore('contacts', first!.toId);
    expect(ids(emu.store.associations('companies', company.id, 'contacts'))).toContain(first!.toId);
  });

  it('makes the associations of a v3 create, and rejects bad ones before writing', async () => {
    const emu = await emulator({ seed: { companies: 2 } });
    const client = sdk(emu);
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: 'linked@example.com' },
      associations: [{ to: { id: '1002' }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 279 }] }],
    });
    expect(emu.store.associations('contacts', created.id, 'companies')).toEqual([{ toId: '1002', associationTypes: [CONTACT_COMPANY] }]);
    const bad = await raw(emu, 'POST', '/crm/v3/objects/contacts', {
      properties: { email: 'never@example.com' },
      associations: [{ to: { id: '1002' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }] }],
    });
    expect(bad.status).toBe(400);
    expect(emu.store.findBy('contacts', 'email', 'never@example.com')).toBeUndefined();
  });
});

describe('the store API', () => {
  it('associates and unassociates symmetrically, validating types and records', () => {
    const store = new HubSpotStore({ seed: { deals: 3, line_items: 0, tickets: 2 } });
    expect(store.associate('deals', 1001, 'tickets', '1002')).toEqual([{ category: 'HUBSPOT_DEFINED', typeId: 27, label: null }]);
    expect(store.associations('tickets', 1002, 'deals')).toEqual([{ toId: '1001', associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 28, label: null }] }]);
    expect(store.unassociate('tickets', 1002, 'deals', 1001)).toBe(true);
    expect(store.unassociate('tickets', 1002, 'deals', 1001)).toBe(false);
    expect(store.associations('deals', 1001, 'tickets')).toEqual([]);
    expect(() => store.associate('deals', 1001, 'tickets', 1002, 279)).toThrow(/not valid from deals to tickets/);
    expect(() => store.associate('deals', 1001, 'tickets', 9999)).toThrow(expect.objectContaining({ status: 404 }));
    expect(() => store.associate('deals', 1001, 'divisions', 1001)).toThrow(expect.objectContaining({ status: 400 }));
    expect(store.associationTypes('tickets', 'companies')).toEqual([
      { category: 'HUBSPOT_DEFINED', typeId: 26, label: 'Primary' },
      { category: 'HUBSPOT_DEFINED', typeId: 339, label: null },
    ]);
  });

  it('counts v4 requests in stats, and rate limits and faults apply to them', async () => {
    const emu = await emulator({ seed: { contacts: 5, companies: 5 }, rateLimit: { perInterval: 3, intervalMs: 10_000 } });
    const body = { inputs: [{ id: '1001' }] };
    const first = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', body);
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBe('2');
    await raw(emu, 'GET', '/crm/v4/objects/contacts/1001/associations/companies');
    await raw(emu, 'PUT', '/crm/v4/objects/contacts/1001/associations/default/companies/1002');
    const limited = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', body);
    expect(limited.status).toBe(429);
    expect(limited.body.policyName).toBe('TEN_SECONDLY_ROLLING');
    expect(emu.stats.byRoute).toMatchObject({
      'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read': 2,
      'GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}': 1,
      'PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}': 1,
    });
    expect(emu.stats.rateLimited).toBe(1);

    const anonymous = await raw(emu, 'POST', '/crm/v4/associations/contacts/companies/batch/read', body, { token: null });
    expect(anonymous.status).toBe(401);

    const scoped = await emulator({ seed: { contacts: 5, companies: 5 }, forbiddenObjects: ['companies'] });
    const denied = await raw(scoped, 'POST', '/crm/v4/associations/contacts/companies/batch/read', body);
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0].context.requiredGranularScopes).toEqual(['crm.objects.companies.read']);
    scoped.setFaults({ permanent: 500 });
    const broken = await failure(() => sdk(scoped).crm.associations.v4.batchApi.getPage('contacts', 'companies', body));
    expect(broken.code).toBe(500);
    expect(scoped.stats.faults).toEqual({ permanent: 1 });
  });
});
