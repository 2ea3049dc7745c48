/**
 * The v3 `associations` query parameter on list and get by id: the associated record ids
 * per requested object type, from the same links the v4 API serves. Driven through
 * @hubspot/api-client's typed methods.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HubSpotEmulator } from '../src/hubspot/index.js';
import { closeAll, emulator, failure, raw, sdk } from './helpers.js';

afterEach(closeAll);

const SEED = { contacts: 300, companies: 40, deals: 120, line_items: 60, appointments: 60 };

/** What `associations.<key>.results` should hold for a record: each associated id once per type, primary first. */
function expected(emu: HubSpotEmulator, from: string, id: string, to: string, name: string, primary?: number): { id: string; type: string }[] {
  return emu.store.associations(from, id, to).flatMap((target) =>
    target.associationTypes.map((type) => ({
      id: target.toId,
      type: primary === undefined ? name : type.typeId === primary ? name : `${name}_unlabeled`,
    })),
  );
}

describe('the associations parameter', () => {
  it('list: contacts with their companies (primary and unlabeled), none where there are none', async () => {
    const emu = await emulator({ seed: SEED });
    const page = await sdk(emu).crm.contacts.basicApi.getPage(100, undefined, ['email'], undefined, ['companies']);
    let linked = 0;
    for (const contact of page.results) {
      const results = expected(emu, 'contacts', contact.id, 'companies', 'contact_to_company', 1);
      if (results.length === 0) {
        expect(contact.associations).toBeUndefined();
        continue;
      }
      linked++;
      expect(contact.associations).toEqual({ companies: { results } });
      expect(results.map((result) => result.type)).toEqual(['contact_to_company', 'contact_to_company_unlabeled']);
    }
    expect(linked).toBeGreaterThan(50);
    expect(linked).toBeLessThan(100);
    expect(Object.keys(page.results[0]?.properties ?? {})).toContain('email');
  });

  it('get by id: several types at once, by name or type id; line items under "line items"', async () => {
    const emu = await emulator({ seed: SEED });
    const dealsApi = sdk(emu).crm.deals.basicApi;
    const dealId = emu.store.all('deals').find((deal) => emu.store.associations('deals', deal.id, 'companies').length > 0 && emu.store.associations('deals', deal.id, 'line_items').length > 0)!.id;
    const deal = await dealsApi.getById(dealId, undefined, undefined, ['contacts', '0-2', 'line_items']);
    expect(deal.associations).toEqual({
      contacts: { results: expected(emu, 'deals', dealId, 'contacts', 'deal_to_contact') },
      companies: { results: expected(emu, 'deals', dealId, 'companies', 'deal_to_company', 5) },
      'line items': { results: expected(emu, 'deals', dealId, 'line_items', 'deal_to_line_item') },
    });
    expect(deal.associations?.contacts?.results.length).toBeGreaterThan(0);
    // The record itself is as without the parameter.
    const bare = await dealsApi.getById(dealId);
    expect({ ...deal, associations: undefined }).toEqual({ ...bare, associations: undefined });
  });

  it('custom objects: by type id or fully qualified name, keyed by the fully qualified name; a bare name is refused as HubSpot does', async () => {
    const emu = await emulator({ seed: SEED });
    const contactsApi = sdk(emu).crm.contacts.basicApi;
    const appointment = emu.store.all('appointments')[0]!;
    const [contact] = emu.store.associations('appointments', appointment.id, 'contacts');
    const results = expected(emu, 'contacts', contact!.toId, 'appointments', 'contact_to_appointments');
    expect(results.length).toBeGreaterThan(0);
    for (const name of ['2-1234567', 'p12345678_appointments']) {
      expect((await contactsApi.getById(contact!.toId, undefined, undefined, [name])).associations).toEqual({ p12345678_appointments: { results } });
    }
    const fromAppointment = await sdk(emu).crm.objects.basicApi.getById('2-1234567', appointment.id, undefined, undefined, ['contacts']);
    expect(fromAppointment.associations?.contacts?.results).toEqual([{ id: contact!.toId, type: 'appointments_to_contact' }]);

    const bareName = await failure(() => contactsApi.getById(contact!.toId, undefined, undefined, ['appointments']));
    expect(bareName.code).toBe(400);
    expect(bareName.body.message).toBe('Unable to infer object type from: appointments');
  });

  it('refuses an unknown object type with 400 and leaves out types that cannot be associated', async () => {
    const emu = await emulator({ seed: SEED });
    const contactsApi = sdk(emu).crm.contacts.basicApi;
    const unknown = await failure(() => contactsApi.getPage(10, undefined, undefined, undefined, ['companies', 'false']));
    expect(unknown.code).toBe(400);
    expect(unknown.body).toEqual({ status: 'error', message: 'Unable to infer object type from: false', correlationId: expect.any(String) });
    // Contacts have no association type with line items.
    const contact = await contactsApi.getById('1001', undefined, undefined, ['line_items']);
    expect(contact.associations).toBeUndefined();
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts/1001?associations=line_items')).status).toBe(200);
  });

  it('follows association writes and archived records', async () => {
    const emu = await emulator({ seed: SEED });
    const companiesApi = sdk(emu).crm.companies.basicApi;
    const companyId = '1003';
    const before = expected(emu, 'companies', companyId, 'contacts', 'company_to_contact', 2);
    const lonely = emu.store.all('contacts').find((contact) => emu.store.associations('contacts', contact.id, 'companies').length === 0)!;
    emu.store.associate('contacts', lonely.id, 'companies', companyId);
    const after = await companiesApi.getById(companyId, undefined, undefined, ['contacts']);
    expect(after.associations?.contacts?.results).toEqual(expected(emu, 'companies', companyId, 'contacts', 'company_to_contact', 2));
    expect(after.associations?.contacts?.results).toContainEqual({ id: lonely.id, type: 'company_to_contact_unlabeled' });
    expect(after.associations?.contacts?.results).toHaveLength(before.length + 1);

    await sdk(emu).crm.contacts.basicApi.archive(lonely.id);
    const archived = await companiesApi.getById(companyId, undefined, undefined, ['contacts']);
    expect(archived.associations?.contacts?.results ?? []).toEqual(before);
  });

  it('comes together with propertiesWithHistory', async () => {
    const emu = await emulator({ seed: SEED });
    const page = await sdk(emu).crm.deals.basicApi.getPage(5, undefined, undefined, ['dealname'], ['contacts']);
    for (const deal of page.results) {
      expect(deal.propertiesWithHistory?.dealname?.[0]?.value).toBe(deal.properties.dealname);
      expect(deal.associations?.contacts?.results.length).toBeGreaterThan(0);
    }
  });
});
