/**
 * The search endpoint: operators, sorts, paging, HubSpot's limits and the search lag.
 * Expected results are computed independently from the store's records.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedRecord, HubSpotEmulator } from '../src/hubspot/index.js';
import { closeAll, emulator, failure, fakeClock, raw, sdk, sdkSearch, type SearchBody } from './helpers.js';

/** All ids a search returns, following `paging.next.after`. */
async function searchAll(emu: HubSpotEmulator, type: string, body: SearchBody): Promise<{ ids: string[]; total: number; pages: number }> {
  const ids: string[] = [];
  let after: string | undefined;
  let total = -1;
  let pages = 0;
  do {
    const response = await raw(emu, 'POST', `/crm/v3/objects/${type}/search`, { ...body, limit: body.limit ?? 200, after });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    total = response.body.total;
    ids.push(...response.body.results.map((record: { id: string }) => record.id));
    after = response.body.paging?.next?.after;
    pages++;
  } while (after);
  return { ids, total, pages };
}

const ms = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));
const idsOf = (records: EmulatedRecord[]): string[] => records.map((record) => record.id);

describe('search over seeded data', () => {
  let emu: HubSpotEmulator;
  let contacts: EmulatedRecord[];
  let deals: EmulatedRecord[];

  beforeAll(async () => {
    emu = await emulator({ seed: { contacts: 1500, deals: 400 } });
    contacts = emu.store.all('contacts');
    deals = emu.store.all('deals');
  });
  afterAll(closeAll);

  it('EQ on a string is case-insensitive; results carry requested plus system properties', async () => {
    const target = contacts[41]!;
    const response = await sdkSearch(sdk(emu), {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: target.properties.email!.toUpperCase() }] }],
      properties: ['email', 'city', 'nope'],
    });
    expect(response.total).toBe(1);
    expect(response.results[0]!.id).toBe(target.id);
    expect(response.results[0]!.properties).toEqual({
      city: target.properties.city,
      createdate: target.properties.createdate,
      email: target.properties.email,
      hs_object_id: target.id,
      lastmodifieddate: target.properties.lastmodifieddate,
    });
    expect(response.paging).toBeUndefined();
  });

  it('compares datetimes as epoch ms, given as ms or ISO', async () => {
    const cut = Date.UTC(2025, 2, 1);
    const expected = idsOf(contacts.filter((record) => ms(record.properties.lastmodifieddate) > cut));
    for (const value of [String(cut), '2025-03-01T00:00:00.000Z', '2025-03-01']) {
      const result = await searchAll(emu, 'contacts', { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value }] }] });
      expect(result.total).toBe(expected.length);
      expect([...result.ids].sort()).toEqual([...expected].sort());
    }
    expect(expected.length).toBeGreaterThan(100);
    expect(expected.length).toBeLessThan(1400);

    const low = Date.UTC(2024, 0, 1);
    const high = Date.UTC(2024, 5, 30);
    const between = await searchAll(emu, 'contacts', {
      filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'BETWEEN', value: String(low), highValue: String(high) }] }],
    });
    const inRange = contacts.filter((record) => ms(record.properties.createdate) >= low && ms(record.properties.createdate) <= high);
    expect(between.ids).toEqual(idsOf(inRange));
  });

  it('sorts by the modification time, ties broken by id', async () => {
    const since = Date.UTC(2025, 8, 1);
    const expected = contacts
      .filter((record) => ms(record.properties.lastmodifieddate) >= since)
      .sort((a, b) => ms(b.properties.lastmodifieddate) - ms(a.properties.lastmodifieddate) || Number(a.id) - Number(b.id));
    const result = await searchAll(emu, 'contacts', {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }],
      limit: 7,
    });
    expect(result.ids).toEqual(idsOf(expected));
    expect(result.pages).toBe(Math.ceil(expected.length / 7));
    // A bare property name sorts ascending.
    const ascending = await searchAll(emu, 'contacts', {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }] }],
      sorts: ['lastmodifieddate'],
    });
    expect(ascending.ids).toEqual(idsOf([...expected].reverse().sort((a, b) => ms(a.properties.lastmodifieddate) - ms(b.properties.lastmodifieddate) || Number(a.id) - Number(b.id))));
  });

  it('without sorts returns creation order; a JSON-stringified sort is ignored like on HubSpot', async () => {
    const expected = [...contacts].sort((a, b) => ms(a.properties.createdate) - ms(b.properties.createdate) || Number(a.id) - Number(b.id)).slice(0, 20);
    const plain = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { limit: 20 });
    expect(plain.body.total).toBe(1500);
    expect(plain.body.results.map((record: { id: string }) => record.id)).toEqual(idsOf(expected));
    const stringified = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {
      limit: 20,
      sorts: [JSON.stringify({ propertyName: 'lastname', direction: 'DESCENDING' })],
    });
    expect(stringified.body.results.map((record: { id: string }) => record.id)).toEqual(idsOf(expected));
  });

  it('sorts strings case-insensitively with unset values last', async () => {
    const key = (record: EmulatedRecord) => record.properties.lastname?.toLowerCase() ?? null;
    const expected = [...contacts].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      if (x === null || y === null) return x === y ? Number(a.id) - Number(b.id) : x === null ? 1 : -1;
      return x < y ? -1 : x > y ? 1 : Number(a.id) - Number(b.id);
    });
    const result = await searchAll(emu, 'contacts', { sorts: [{ propertyName: 'lastname', direction: 'ASCENDING' }] });
    expect(result.ids).toEqual(idsOf(expected));
    expect(contacts.some((record) => record.properties.lastname === null)).toBe(true);
  });

  it('supports IN, NOT_IN, NEQ, HAS_PROPERTY and NOT_HAS_PROPERTY', async () => {
    const count = (predicate: (record: EmulatedRecord) => boolean) => contacts.filter(predicate).length;
    const total = async (filters: SearchBody['filterGroups']) => (await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { filterGroups: filters, limit: 1 })).body.total;

    expect(await total([{ filters: [{ propertyName: 'lifecyclestage', operator: 'IN', values: ['customer', 'LEAD'] }] }])).toBe(
      count((record) => ['customer', 'lead'].includes(record.properties.lifecyclestage ?? '')),
    );
    expect(await total([{ filters: [{ propertyName: 'lifecyclestage', operator: 'NOT_IN', values: ['customer', 'lead'] }] }])).toBe(
      count((record) => !['customer', 'lead'].includes(record.properties.lifecyclestage ?? '')),
    );
    // NEQ matches records without a value too.
    expect(await total([{ filters: [{ propertyName: 'lifecyclestage', operator: 'NEQ', value: 'customer' }] }])).toBe(
      count((record) => record.properties.lifecyclestage !== 'customer'),
    );
    const withPhone = count((record) => record.properties.phone !== null);
    expect(await total([{ filters: [{ propertyName: 'phone', operator: 'HAS_PROPERTY' }] }])).toBe(withPhone);
    expect(await total([{ filters: [{ propertyName: 'phone', operator: 'NOT_HAS_PROPERTY' }] }])).toBe(1500 - withPhone);
    // About 10% of optional values are unset.
    expect(1500 - withPhone).toBeGreaterThan(100);
    expect(1500 - withPhone).toBeLessThan(210);
    expect(await total([{ filters: [{ propertyName: 'hs_email_optout', operator: 'EQ', value: 'true' }] }])).toBe(
      count((record) => record.properties.hs_email_optout === 'true'),
    );
  });

  it('ANDs filters within a group and ORs groups', async () => {
    const body: SearchBody = {
      filterGroups: [
        {
          filters: [
            { propertyName: 'lifecyclestage', operator: 'EQ', value: 'customer' },
            { propertyName: 'country', operator: 'EQ', value: 'france' },
          ],
        },
        { filters: [{ propertyName: 'hs_object_id', operator: 'LTE', value: '1010' }] },
      ],
    };
    const expected = contacts.filter(
      (record) => (record.properties.lifecyclestage === 'customer' && record.properties.country === 'France') || Number(record.id) <= 1010,
    );
    const result = await searchAll(emu, 'contacts', body);
    expect(result.ids).toEqual(idsOf(expected));
    expect(expected.length).toBeGreaterThan(10);
  });

  it('compares numbers numerically and hs_object_id as a number', async () => {
    const expected = deals.filter((record) => record.properties.amount !== null && Number(record.properties.amount) < 9000);
    const result = await searchAll(emu, 'deals', {
      filterGroups: [{ filters: [{ propertyName: 'amount', operator: 'LT', value: '9000' }] }],
      sorts: [{ propertyName: 'amount', direction: 'ASCENDING' }],
    });
    expect(result.ids).toEqual(idsOf(expected.sort((a, b) => Number(a.properties.amount) - Number(b.properties.amount) || Number(a.id) - Number(b.id))));
    expect(result.ids.length).toBeGreaterThan(0);
    const ids = await searchAll(emu, 'deals', { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'IN', values: ['1002', '1399', '99999'] }] }] });
    expect(ids.ids).toEqual(['1002', '1399']);
    const numeric = await searchAll(emu, 'deals', { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'GT', value: '999' }] }] });
    expect(numeric.total).toBe(400);
  });

  it('matches CONTAINS_TOKEN words and wildcards', async () => {
    const domain = contacts[7]!.properties.email!.split('@')[1]!;
    const expected = idsOf(contacts.filter((record) => record.properties.email!.endsWith(`@${domain}`)));
    const wildcard = await searchAll(emu, 'contacts', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: `*@${domain}` }] }] });
    expect(wildcard.ids).toEqual(expected);
    const word = await searchAll(emu, 'contacts', { filterGroups: [{ filters: [{ propertyName: 'jobtitle', operator: 'CONTAINS_TOKEN', value: 'engineer' }] }] });
    expect(word.ids).toEqual(idsOf(contacts.filter((record) => /\bEngineer\b/.test(record.properties.jobtitle ?? ''))));
    const not = await searchAll(emu, 'contacts', { filterGroups: [{ filters: [{ propertyName: 'jobtitle', operator: 'NOT_CONTAINS_TOKEN', value: 'engineer' }] }] });
    expect(not.total).toBe(1500 - word.total);
  });

  it('matches the free-text query against searchable properties', async () => {
    const name = contacts[3]!.properties.email!.split('@')[0]!;
    const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { query: name });
    expect(response.body.results.map((record: { id: string }) => record.id)).toContain(contacts[3]!.id);
  });

  it('rejects invalid requests with VALIDATION_ERROR', async () => {
    const filter = { propertyName: 'email', operator: 'HAS_PROPERTY' };
    const bad: [string, unknown][] = [
      ['limit 201', { limit: 201 }],
      ['6 filter groups', { filterGroups: Array.from({ length: 6 }, () => ({ filters: [filter] })) }],
      ['7 filters in a group', { filterGroups: [{ filters: Array.from({ length: 7 }, () => filter) }] }],
      ['19 filters in total', { filterGroups: [{ filters: Array(6).fill(filter) }, { filters: Array(6).fill(filter) }, { filters: Array(6).fill(filter) }, { filters: [filter] }] }],
      ['unknown operator', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] }],
      ['unknown filter property', { filterGroups: [{ filters: [{ propertyName: 'shoe_size', operator: 'EQ', value: '9' }] }] }],
      ['missing value', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' }] }] }],
      ['bad datetime', { filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GT', value: 'yesterday' }] }] }],
      ['two sorts', { sorts: [{ propertyName: 'email', direction: 'ASCENDING' }, { propertyName: 'createdate', direction: 'ASCENDING' }] }],
      ['bad direction', { sorts: [{ propertyName: 'email', direction: 'UP' }] }],
      ['bad after', { after: 'abc' }],
    ];
    for (const [label, body] of bad) {
      const response = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', body);
      expect(response.status, label).toBe(400);
      expect(response.body.category, label).toBe('VALIDATION_ERROR');
      expect(response.body.status, label).toBe('error');
    }
    const atLimits = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {
      limit: 200,
      filterGroups: [{ filters: Array(6).fill(filter) }, { filters: Array(6).fill(filter) }, { filters: Array(6).fill(filter) }, { filters: [] }, { filters: [] }],
    });
    expect(atLimits.status).toBe(200);
    expect(atLimits.body.results).toHaveLength(200);
    const error = await failure(() => sdkSearch(sdk(emu), { limit: 500 }));
    expect(error.code).toBe(400);
  });
});

describe('search limits and consistency', () => {
  afterEach(closeAll);

  it('refuses to page past 10,000 results but reports the true total', async () => {
    const emu = await emulator({ seed: { contacts: 10_050 } });
    const search = (after: number, limit: number) => raw(emu, 'POST', '/crm/v3/objects/contacts/search', { after: String(after), limit });
    const last = await search(9_800, 200);
    expect(last.status).toBe(200);
    expect(last.body.total).toBe(10_050);
    expect(last.body.results).toHaveLength(200);
    expect(last.body.paging.next.after).toBe('10000');
    const beyond = await search(10_000, 10);
    expect(beyond.status).toBe(400);
    expect(beyond.body.category).toBe('VALIDATION_ERROR');
    expect(beyond.body.message).toContain('10000');
    expect((await search(9_900, 200)).status).toBe(400);
    expect((await search(9_999, 1)).status).toBe(200);
  });

  it('never returns archived records', async () => {
    const emu = await emulator({ seed: { contacts: 50 } });
    emu.store.archive('contacts', '1001');
    emu.store.archive('contacts', '1050');
    const result = await searchAll(emu, 'contacts', {});
    expect(result.total).toBe(48);
    expect(result.ids).not.toContain('1001');
    expect(result.ids).not.toContain('1050');
  });

  it('orders records planted with one identical modification time by id', async () => {
    const emu = await emulator({ seed: { contacts: 20 } });
    const same = '2025-12-31T12:00:00.000Z';
    // Planted out of id order, through put() (raw, no timestamp bump).
    for (const id of [5009, 5003, 5007, 5001, 5005]) emu.store.put('contacts', { id: String(id), properties: { email: `p${id}@example.com`, lastmodifieddate: same } });
    const stored = emu.store.get('contacts', '5003')!;
    expect(stored.properties.lastmodifieddate).toBe(same);
    expect(stored.updatedAt).toBe(same);
    const result = await searchAll(emu, 'contacts', {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: same }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }],
      limit: 2,
    });
    expect(result.ids).toEqual(['5001', '5003', '5005', '5007', '5009']);
    // Created later: ids continue above the planted ones.
    expect(emu.store.create('contacts', { email: 'next@example.com' }).id).toBe('5010');
  });

  it('lags writes by searchLagMs: a write is searchable only once now >= writeTime + lag', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 10 }, searchLagMs: 5_000, now: clock.now });
    const client = sdk(emu);
    const byEmail = async (email: string) =>
      (await sdkSearch(client, { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }], properties: ['firstname'] })).results;

    await client.crm.contacts.basicApi.create({ properties: { email: 'lag@example.com', firstname: 'Before' }, associations: [] });
    expect(await byEmail('lag@example.com')).toHaveLength(0);
    // Reads other than search see it at once.
    expect(emu.store.findBy('contacts', 'email', 'lag@example.com')?.id).toBe('1011');
    clock.advance(4_999);
    expect(await byEmail('lag@example.com')).toHaveLength(0);
    clock.advance(1);
    expect((await byEmail('lag@example.com')).map((record) => record.id)).toEqual(['1011']);

    // An update: search shows the previous version until the lag has passed.
    await client.crm.contacts.basicApi.update('1011', { properties: { firstname: 'After' } });
    const stale = await byEmail('lag@example.com');
    expect(stale[0]!.properties.firstname).toBe('Before');
    expect(stale[0]!.properties.lastmodifieddate).toBe('2026-01-01T00:00:00.000Z');
    clock.advance(2_000);
    // A second write during the lag: the index still shows the first version...
    emu.store.update('contacts', '1011', { firstname: 'Latest' });
    expect((await byEmail('lag@example.com'))[0]!.properties.firstname).toBe('Before');
    clock.advance(3_000);
    // ...then the first update...
    expect((await byEmail('lag@example.com'))[0]!.properties.firstname).toBe('After');
    clock.advance(2_000);
    // ...then the latest.
    const fresh = await byEmail('lag@example.com');
    expect(fresh[0]!.properties.firstname).toBe('Latest');
    expect(fresh[0]!.properties.lastmodifieddate).toBe('2026-01-01T00:00:07.000Z');

    // Archiving: still found until the lag has passed.
    await client.crm.contacts.basicApi.archive('1011');
    expect(await byEmail('lag@example.com')).toHaveLength(1);
    clock.advance(5_000);
    expect(await byEmail('lag@example.com')).toHaveLength(0);

    // Seeded records are searchable from the start; put() is immediately searchable.
    emu.store.put('contacts', { id: '7000', properties: { email: 'planted@example.com' } });
    expect(await byEmail('planted@example.com')).toHaveLength(1);
    const seeded = emu.store.get('contacts', '1003')!.properties.email!;
    expect(await byEmail(seeded)).toHaveLength(1);
  });

  it('sees writes immediately without a lag, also in cached result lists', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 30 }, now: clock.now });
    const body: SearchBody = { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '2026-01-01T00:00:00Z' }] }], limit: 100 };
    expect((await searchAll(emu, 'contacts', body)).total).toBe(0);
    emu.store.update('contacts', '1004', { city: 'Porto' });
    emu.store.create('contacts', { email: 'new@example.com' });
    expect((await searchAll(emu, 'contacts', body)).ids).toEqual(['1004', '1031']);
    emu.store.restore('contacts', '1004');
    emu.store.archive('contacts', '1004');
    // Archiving kept the modification time, so only the archive hides it.
    expect((await searchAll(emu, 'contacts', body)).ids).toEqual(['1031']);
    clock.advance(1000);
    const restored = emu.store.restore('contacts', '1004');
    expect(restored.properties.lastmodifieddate).toBe('2026-01-01T00:00:01.000Z');
    expect((await searchAll(emu, 'contacts', body)).ids).toEqual(['1004', '1031']);
  });
});
