/**
 * propertiesWithHistory on the v3 list, get and batch read endpoints: one version per
 * property of a seeded record, a version per change written through the API (newest
 * first), the list limit of 50, and the per-property change time a two-way sync relies on.
 * Driven through @hubspot/api-client's typed methods.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_LIST_MAX_LIMIT } from '../src/hubspot/index.js';
import { closeAll, emulator, failure, fakeClock, raw, sdk } from './helpers.js';

afterEach(closeAll);

/** A version as the SDK hands it out (timestamp as a Date) reduced to comparable values. */
const plain = (versions: { value: string; timestamp: Date; sourceType: string }[] | undefined) =>
  (versions ?? []).map((version) => ({ value: version.value, timestamp: version.timestamp.toISOString(), sourceType: version.sourceType }));

describe('seeded records', () => {
  it('have one version per set property: the record id and creation time at creation, the rest at the last modification', async () => {
    const emu = await emulator({ seed: { contacts: 20 } });
    const contact = await sdk(emu).crm.contacts.basicApi.getById('1004', ['email'], ['email', 'firstname', 'hs_object_id', 'createdate', 'lastmodifieddate']);
    const created = contact.createdAt.toISOString();
    const modified = contact.updatedAt.toISOString();
    expect(plain(contact.propertiesWithHistory?.email)).toEqual([{ value: contact.properties.email, timestamp: modified, sourceType: 'IMPORT' }]);
    expect(plain(contact.propertiesWithHistory?.firstname)).toEqual([{ value: contact.properties.firstname, timestamp: modified, sourceType: 'IMPORT' }]);
    expect(plain(contact.propertiesWithHistory?.hs_object_id)).toEqual([{ value: '1004', timestamp: created, sourceType: 'CALCULATED' }]);
    expect(plain(contact.propertiesWithHistory?.createdate)).toEqual([{ value: created, timestamp: created, sourceType: 'CALCULATED' }]);
    expect(plain(contact.propertiesWithHistory?.lastmodifieddate)).toEqual([{ value: modified, timestamp: modified, sourceType: 'CALCULATED' }]);
  });

  it('return the history properties in properties too, without the defaults, and leave unknown names out', async () => {
    const emu = await emulator({ seed: { contacts: 20 } });
    const contact = await sdk(emu).crm.contacts.basicApi.getById('1002', undefined, ['jobtitle', 'no_such_property']);
    expect(Object.keys(contact.properties).sort()).toEqual(['createdate', 'hs_object_id', 'jobtitle', 'lastmodifieddate']);
    expect(Object.keys(contact.propertiesWithHistory ?? {})).toEqual(['jobtitle']);
    // Without propertiesWithHistory nothing changes.
    const plainGet = await raw(emu, 'GET', '/crm/v3/objects/contacts/1002');
    expect(plainGet.body.propertiesWithHistory).toBeUndefined();
    expect(Object.keys(plainGet.body.properties)).toContain('email');
  });

  it('have no versions of a property that is unset', async () => {
    const emu = await emulator({ seed: { contacts: 200 } });
    const page = await sdk(emu).crm.contacts.basicApi.getPage(50, undefined, undefined, ['phone']);
    const unset = page.results.filter((contact) => contact.properties.phone === null);
    expect(unset.length).toBeGreaterThan(0);
    for (const contact of unset) expect(contact.propertiesWithHistory?.phone).toEqual([]);
  });
});

describe('writes', () => {
  it('give the changed property a version at the new modification time; the others keep their older times', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 20 }, now: clock.now });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    const wanted = ['firstname', 'lastname', 'email', 'lastmodifieddate'];
    const before = await basicApi.getById('1003', wanted, wanted);
    const seededTime = before.updatedAt.toISOString();

    clock.advance(60_000);
    const updated = await basicApi.update('1003', { properties: { firstname: 'Zelda' } });
    const after = await basicApi.getById('1003', wanted, wanted);
    const history = after.propertiesWithHistory ?? {};
    const modified = after.updatedAt.toISOString();
    expect(modified).toBe(updated.updatedAt.toISOString());
    expect(modified).toBe(new Date(clock.now()).toISOString());
    expect(after.properties.lastmodifieddate).toBe(modified);

    // The per-property change time: the newest version of what changed is the record's modification time ...
    expect(plain(history.firstname)).toEqual([
      { value: 'Zelda', timestamp: modified, sourceType: 'INTEGRATION' },
      { value: before.properties.firstname, timestamp: seededTime, sourceType: 'IMPORT' },
    ]);
    expect(plain(history.lastmodifieddate)[0]).toEqual({ value: modified, timestamp: modified, sourceType: 'CALCULATED' });
    // ... while what did not change keeps its older time.
    for (const name of ['lastname', 'email']) {
      expect(plain(history[name])).toEqual(plain(before.propertiesWithHistory?.[name]));
      expect(history[name]?.[0]?.timestamp.toISOString()).toBe(seededTime);
    }
  });

  it('add a version per change, newest first; an unchanged value adds none and a cleared one adds ""', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    const times: string[] = [];
    for (const [jobtitle, city] of [['Engineer', 'Oslo'], ['Engineer', 'Rome'], ['', 'Rome'], ['Chef', 'Rome']] as const) {
      clock.advance(1_000);
      times.push((await basicApi.update('1001', { properties: { jobtitle, city } })).updatedAt.toISOString());
    }
    const contact = await basicApi.getById('1001', undefined, ['jobtitle', 'city']);
    expect(plain(contact.propertiesWithHistory?.jobtitle).slice(0, 3)).toEqual([
      { value: 'Chef', timestamp: times[3], sourceType: 'INTEGRATION' },
      { value: '', timestamp: times[2], sourceType: 'INTEGRATION' },
      { value: 'Engineer', timestamp: times[0], sourceType: 'INTEGRATION' },
    ]);
    expect(plain(contact.propertiesWithHistory?.city).slice(0, 2)).toEqual([
      { value: 'Rome', timestamp: times[1], sourceType: 'INTEGRATION' },
      { value: 'Oslo', timestamp: times[0], sourceType: 'INTEGRATION' },
    ]);
  });

  it('a created record has one version of each property it was created with, at its creation time', async () => {
    const clock = fakeClock();
    const emu = await emulator({ now: clock.now });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    const created = await basicApi.create({ properties: { email: 'new@example.com', firstname: 'Nia' }, associations: [] });
    const contact = await basicApi.getById(created.id, undefined, ['email', 'firstname', 'lastname', 'hs_object_id']);
    const at = created.createdAt.toISOString();
    expect(contact.propertiesWithHistory).toEqual({
      email: [{ value: 'new@example.com', timestamp: new Date(at), sourceType: 'INTEGRATION' }],
      firstname: [{ value: 'Nia', timestamp: new Date(at), sourceType: 'INTEGRATION' }],
      hs_object_id: [{ value: created.id, timestamp: new Date(at), sourceType: 'CALCULATED' }],
      lastname: [],
    });
  });

  it('a write that changes no value leaves the modification time, updatedAt and the history as they were', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 3 }, now: clock.now });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    clock.advance(1_000);
    const changed = await basicApi.update('1001', { properties: { jobtitle: 'Pilot' } });
    const time = '2026-01-01T00:00:01.000Z';
    expect(changed.properties.lastmodifieddate).toBe(time);

    clock.advance(1_000);
    const email = changed.properties.email!;
    const same = await basicApi.update('1001', { properties: { jobtitle: 'Pilot', email: email.toUpperCase() } });
    expect(same.properties.lastmodifieddate).toBe(time);
    expect(same.updatedAt.toISOString()).toBe(time);
    const batch = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: '1001', properties: { jobtitle: 'Pilot' } }] });
    expect(batch.body.results[0].properties.lastmodifieddate).toBe(time);
    const upsert = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: email, idProperty: 'email', properties: { jobtitle: 'Pilot' } }] });
    expect(upsert.body.results[0]).toMatchObject({ new: false, updatedAt: time });

    const read = await basicApi.getById('1001', undefined, ['jobtitle', 'lastmodifieddate']);
    expect(read.propertiesWithHistory?.jobtitle?.map((version) => [version.value, version.timestamp.toISOString(), version.sourceType])[0]).toEqual(['Pilot', time, 'INTEGRATION']);
    expect(read.propertiesWithHistory?.jobtitle?.filter((version) => version.value === 'Pilot')).toHaveLength(1);
    expect(read.propertiesWithHistory?.lastmodifieddate?.[0]?.value).toBe(time);

    // The store API's update still counts as a modification: tests use it to mark records modified.
    clock.advance(1_000);
    expect(emu.store.update('contacts', '1001', { jobtitle: 'Pilot' }).properties.lastmodifieddate).toBe('2026-01-01T00:00:03.000Z');
  });

  it('the store API writes history as the API does; put() replaces it with the put record', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { companies: 3 }, now: clock.now });
    clock.advance(5_000);
    emu.store.update('companies', '1001', { city: 'Lima' });
    const companiesApi = sdk(emu).crm.companies.basicApi;
    const updated = await companiesApi.getById('1001', undefined, ['city']);
    expect(updated.propertiesWithHistory?.city?.[0]).toEqual({ value: 'Lima', timestamp: updated.updatedAt, sourceType: 'INTEGRATION' });
    emu.store.put('companies', { id: '1001', properties: { name: 'Put Co', city: 'Quito' }, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-02-01T00:00:00.000Z' });
    const put = await companiesApi.getById('1001', undefined, ['city', 'name']);
    expect(plain(put.propertiesWithHistory?.city)).toEqual([{ value: 'Quito', timestamp: '2024-02-01T00:00:00.000Z', sourceType: 'IMPORT' }]);
  });
});

describe('list and batch read', () => {
  it('list: every record carries its history; limit is at most 50 with propertiesWithHistory', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { deals: 120 }, now: clock.now });
    const dealsApi = sdk(emu).crm.deals.basicApi;
    clock.advance(1_000);
    await dealsApi.update('1060', { properties: { dealstage: 'closedwon' } });

    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await dealsApi.getPage(50, after, ['dealname'], ['dealstage']);
      expect(page.results.length).toBeLessThanOrEqual(50);
      for (const deal of page.results) {
        seen.push(deal.id);
        const stages = deal.propertiesWithHistory?.dealstage ?? [];
        expect(stages[0]?.value ?? null).toBe(deal.properties.dealstage);
        expect(Object.keys(deal.properties).sort()).toEqual(['createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id']);
      }
      after = page.paging?.next?.after;
    } while (after);
    expect(seen).toHaveLength(120);
    const changed = (await dealsApi.getPage(1, '1060', undefined, ['dealstage'])).results[0];
    expect(changed?.propertiesWithHistory?.dealstage?.map((version) => version.value)).toEqual(['closedwon', expect.any(String)]);

    expect(HISTORY_LIST_MAX_LIMIT).toBe(50);
    const tooMany = await failure(() => dealsApi.getPage(51, undefined, undefined, ['dealstage']));
    expect(tooMany.code).toBe(400);
    expect(tooMany.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(tooMany.body.message).toContain('propertiesWithHistory');
    // Without propertiesWithHistory 100 stays the maximum.
    expect((await dealsApi.getPage(100)).results).toHaveLength(100);
  });

  it('batch read: propertiesWithHistory in the body', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 10 }, now: clock.now });
    const client = sdk(emu);
    clock.advance(1_000);
    await client.crm.contacts.basicApi.update('1002', { properties: { lastname: 'Okafor' } });
    clock.advance(1_000);
    await client.crm.contacts.basicApi.update('1002', { properties: { lastname: 'Mensah' } });
    const batch = await client.crm.contacts.batchApi.read({ inputs: [{ id: '1001' }, { id: '1002' }], properties: ['email'], propertiesWithHistory: ['lastname'] });
    const byId = new Map(batch.results.map((contact) => [contact.id, contact]));
    const untouched = byId.get('1001');
    expect(untouched?.propertiesWithHistory?.lastname?.map((version) => version.value)).toEqual(untouched?.properties.lastname ? [untouched.properties.lastname] : []);
    expect(byId.get('1002')?.propertiesWithHistory?.lastname?.slice(0, 2).map((version) => version.value)).toEqual(['Mensah', 'Okafor']);
    expect(Object.keys(byId.get('1002')?.properties ?? {}).sort()).toEqual(['createdate', 'email', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    const none = await client.crm.contacts.batchApi.read({ inputs: [{ id: '1001' }], properties: ['email'], propertiesWithHistory: [] });
    expect(none.results[0]?.propertiesWithHistory).toBeUndefined();
  });
});
