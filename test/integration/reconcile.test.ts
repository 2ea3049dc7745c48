/** Listing every id and modification time (RecordSource.listVersions), in-process against the emulators. */
import { describe, expect, test } from 'vitest';
import type { RecordSource } from '../../src/clients/crm.js';
import { parseConfig } from '../../src/config/load.js';
import type { RecordVersion } from '../../src/records.js';
import { dynamicsEmulatorPerTest, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { connect, contacts, dynamicsContacts } from '../helpers/writes.js';

const startHubSpot = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();
const SEARCH = 'POST /crm/v3/objects/{type}/search';

async function listAll(reader: RecordSource, pageSize?: number): Promise<RecordVersion[][]> {
  const pages: RecordVersion[][] = [];
  for await (const page of reader.listVersions(pageSize)) pages.push(page);
  return pages;
}

describe('listing versions', () => {
  test('HubSpot: every id and modification time, 200 a search request, one request per 200 records and none for an empty page', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 1_000 }, seedValue: 91 });
    emulator.store.update('contacts', '1500', { jobtitle: 'Changed' });
    emulator.store.create('contacts', { email: 'late@example.com' });
    emulator.store.archive('contacts', '1002');
    const reader = (await connect('hubspot', settingsOf(emulator))).reader(contacts);
    emulator.stats.reset();

    const pages = await listAll(reader);
    expect(pages.map((page) => page.length)).toEqual([200, 200, 200, 200, 200]);
    const expected = emulator.store.all('contacts').map((record) => ({ id: record.id, modifiedAt: record.properties.lastmodifieddate }));
    expect(pages.flat()).toEqual(expected);
    expect(emulator.stats.requests).toBe(5);
    expect(emulator.stats.byRoute[SEARCH]).toBe(5);
    expect(reader.metrics.requests).toBe(5);

    emulator.stats.reset();
    expect((await listAll(reader, 150)).map((page) => page.length)).toEqual([150, 150, 150, 150, 150, 150, 100]);
    expect(emulator.stats.requests).toBe(7);
  });

  test('HubSpot, an object keyed on a property with unique values: ids are its values, and reads by id go by it too', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 30 }, seedValue: 92 });
    const keyed = parseConfig(
      `version: 1
objects:
  people:
    object_type: contacts
    primary_key: email
    modified_property: lastmodifieddate
    fields:
      email: { type: email, required: true }
      modified_at: { property: lastmodifieddate, type: datetime }
`,
      'mappings.yaml',
    ).objects.get('people')!.hubspot!;
    const reader = (await connect('hubspot', settingsOf(emulator))).reader(keyed);
    const listed = (await listAll(reader)).flat();
    const records = emulator.store.all('contacts').filter((record) => record.properties.email);
    expect(listed.map((version) => version.id)).toEqual(records.map((record) => record.properties.email));
    const read = (await reader.readByIds(listed.slice(0, 3).map((version) => version.id))) as { properties: { email: string } }[];
    expect(read.map((record) => record.properties.email)).toEqual(listed.slice(0, 3).map((version) => version.id));
  });

  test('Dynamics 365: the key and modifiedon only, 5,000 rows a request, following next links', async () => {
    const emulator = await startDynamics({ seed: { contacts: 2_500 }, seedValue: 93 });
    const reader = (await connect('dynamics', dynamicsSettingsOf(emulator))).reader(dynamicsContacts);
    const before = reader.metrics.requests;
    const pages = await listAll(reader);
    expect(pages.map((page) => page.length)).toEqual([2_500]);
    expect(reader.metrics.requests - before).toBe(1);
    const rows = emulator.store.all('contacts');
    expect(pages.flat()).toEqual(rows.map((row) => ({ id: String(row.contactid), modifiedAt: new Date(String(row.modifiedon)).toISOString() })));
    expect((await listAll(reader, 1_000)).map((page) => page.length)).toEqual([1_000, 1_000, 500]);
  });
});
