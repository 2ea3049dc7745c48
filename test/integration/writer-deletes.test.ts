import { describe, expect, test } from 'vitest';
import type { RecordWrite, SourcePage } from '../../src/clients/crm.js';
import { dynamicsEmulatorPerTest, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { byKey, connect, contacts, dynamicsContacts, RETRY, update } from '../helpers/writes.js';

const startHubSpot = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();

const remove = (key: string, recordId: string): RecordWrite => ({ key, operation: 'delete', recordId, properties: {} });
const done = (key: string, recordId: string) => ({ key, status: 'done', recordId, created: false, requestId: expect.any(String) });

async function collect<T>(pages: AsyncGenerator<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

describe('HubSpot deletes', () => {
  const ARCHIVE = 'POST /crm/v3/objects/{type}/batch/archive';

  test('150 deletes archive their records in two batch requests; readers no longer see them and list them as archived', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 200 }, seedValue: 81 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const doomed = emulator.store.all('contacts').slice(0, 150);

    const outcomes = await hubspot.writer.write(contacts, doomed.map((record, index) => remove(`d${index}`, record.id)));
    expect(outcomes).toHaveLength(150);
    const outcome = byKey(outcomes);
    doomed.forEach((record, index) => expect(outcome.get(`d${index}`)).toEqual(done(`d${index}`, record.id)));
    expect(emulator.stats.byRoute[ARCHIVE]).toBe(2);

    const reader = hubspot.reader(contacts);
    expect(await reader.readByIds(doomed.slice(0, 100).map((record) => record.id))).toEqual([]);
    const deleted = (await collect(reader.deletedPages!(100))).flatMap((page) => page.deletions.map((deletion) => deletion.sourceId));
    expect(deleted.sort()).toEqual(doomed.map((record) => record.id).sort());
    expect(emulator.store.count('contacts')).toBe(50);
  });

  test('deletes and updates in one call: each goes to its own batch endpoint, each record as asked', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 10 }, seedValue: 82 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const [first, second, third, fourth] = emulator.store.all('contacts');
    const writes = [remove('del-1', first.id), update('upd-1', second.id, { jobtitle: 'Kept' }), remove('del-2', third.id), update('upd-2', fourth.id, { jobtitle: 'Kept too' })];

    const outcome = byKey(await hubspot.writer.write(contacts, writes));
    expect(outcome.get('del-1')).toEqual(done('del-1', first.id));
    expect(outcome.get('del-2')).toEqual(done('del-2', third.id));
    expect(outcome.get('upd-1')).toMatchObject({ status: 'done', recordId: second.id, created: false });
    expect(outcome.get('upd-2')).toMatchObject({ status: 'done', recordId: fourth.id, created: false });
    expect(emulator.store.get('contacts', first.id)?.archived).toBe(true);
    expect(emulator.store.get('contacts', third.id)?.archived).toBe(true);
    expect(emulator.store.get('contacts', second.id)?.properties.jobtitle).toBe('Kept');
    expect(emulator.store.get('contacts', fourth.id)?.properties.jobtitle).toBe('Kept too');
    expect(emulator.stats.byRoute[ARCHIVE]).toBe(1);
    expect(emulator.stats.byRoute['POST /crm/v3/objects/{type}/batch/update']).toBe(1);
  });

  test('a record archived already, or never in HubSpot, is done: it is gone either way', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 5 }, seedValue: 83 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const [gone, present] = emulator.store.all('contacts');
    emulator.store.archive('contacts', gone.id);

    const outcome = byKey(await hubspot.writer.write(contacts, [remove('gone', gone.id), remove('never', '987654321'), remove('present', present.id)]));
    expect(outcome.get('gone')).toEqual(done('gone', gone.id));
    expect(outcome.get('never')).toEqual(done('never', '987654321'));
    expect(outcome.get('present')).toEqual(done('present', present.id));
    expect(emulator.store.get('contacts', present.id)?.archived).toBe(true);
    expect(emulator.store.count('contacts')).toBe(3);
  });

  test('a delete without an id is refused unsent; when the outage outlasts the retries deletes are `retry`', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 5 }, seedValue: 84 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const [record] = emulator.store.all('contacts');
    const [unnamed] = await hubspot.writer.write(contacts, [{ key: 'unnamed', operation: 'delete', properties: {} }]);
    expect(unnamed).toEqual({ key: 'unnamed', status: 'refused', error: 'a delete needs the id of the HubSpot record' });
    expect(hubspot.metrics.requests).toBe(0);

    emulator.setFaults({ permanent: 500 });
    const [later] = await hubspot.writer.write(contacts, [remove('later', record.id)]);
    expect(later).toMatchObject({ key: 'later', status: 'retry', error: expect.stringMatching(/^batch archive contacts still failing after 7 attempts: HubSpot answered 500/) });
    expect(emulator.store.get('contacts', record.id)?.archived).toBe(false);
  });
});

describe('Dynamics 365 deletes', () => {
  const BATCH = 'POST /api/data/v9.2/$batch';
  const DELETE = '$batch: DELETE /api/data/v9.2/{entitySet}({id})';
  const idOf = (row: Record<string, unknown>) => String(row.contactid);

  test('deletes remove their rows in one $batch; a change read reports them deleted and a read by id finds none', async () => {
    const emulator = await startDynamics({ seed: { contacts: 30 }, seedValue: 91 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const reader = dynamics.reader(dynamicsContacts);
    const deltaLink = (await collect(reader.pages({ mode: 'full' }))).at(-1)!.deltaLink!;
    const doomed = emulator.store.all('contacts').slice(0, 12).map(idOf);

    const outcomes = await dynamics.writer.write(dynamicsContacts, doomed.map((id, index) => remove(`d${index}`, id)));
    const outcome = byKey(outcomes);
    doomed.forEach((id, index) => expect(outcome.get(`d${index}`)).toEqual(done(`d${index}`, id)));
    expect(emulator.stats.byRoute[BATCH]).toBe(1);
    expect(emulator.stats.byRoute[DELETE]).toBe(12);
    expect(emulator.store.count('contacts')).toBe(18);

    expect(await reader.readByIds(doomed)).toEqual([]);
    const changes: SourcePage[] = await collect(reader.pages({ mode: 'changes', deltaLink }));
    expect(changes.flatMap((page) => page.records)).toEqual([]);
    expect(changes.flatMap((page) => page.deletions ?? []).map((deletion) => deletion.sourceId)).toEqual(doomed);
  });

  test('deletes and updates in one call share one $batch; a row deleted already is done', async () => {
    const emulator = await startDynamics({ seed: { contacts: 8 }, seedValue: 92 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const [first, second, gone, fourth] = emulator.store.all('contacts').map(idOf);
    emulator.store.delete('contacts', gone);
    const writes = [remove('del', first), update('upd-1', second, { jobtitle: 'Kept' }), remove('gone', gone), update('upd-2', fourth, { jobtitle: 'Kept too' })];

    const outcome = byKey(await dynamics.writer.write(dynamicsContacts, writes));
    expect(outcome.get('del')).toEqual(done('del', first));
    expect(outcome.get('gone')).toEqual(done('gone', gone));
    expect(outcome.get('upd-1')).toMatchObject({ status: 'done', recordId: second, created: false });
    expect(outcome.get('upd-2')).toMatchObject({ status: 'done', recordId: fourth, created: false });
    expect(emulator.store.get('contacts', first)).toBeUndefined();
    expect(emulator.store.get('contacts', second)?.jobtitle).toBe('Kept');
    expect(emulator.store.get('contacts', fourth)?.jobtitle).toBe('Kept too');
    expect(emulator.stats.byRoute[BATCH]).toBe(1);
    expect(emulator.stats.byRoute[DELETE]).toBe(2);

    const [again] = await dynamics.writer.write(dynamicsContacts, [remove('again', first)]);
    expect(again).toEqual(done('again', first));
  });

  test('a delete planned against an older version of the row is `stale` and keeps the row; one planned against the current version deletes it', async () => {
    const emulator = await startDynamics({ seed: { contacts: 5 }, seedValue: 93 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const [edited, untouched] = emulator.store.all('contacts');
    emulator.store.update('contacts', idOf(edited), { jobtitle: 'Edited meanwhile' });
    const writes: RecordWrite[] = [
      { ...remove('edited', idOf(edited)), etag: String(edited['@odata.etag']) },
      { ...remove('untouched', idOf(untouched)), etag: String(untouched['@odata.etag']) },
    ];

    const outcome = byKey(await dynamics.writer.write(dynamicsContacts, writes));
    expect(outcome.get('edited')).toEqual({ key: 'edited', status: 'stale', recordId: idOf(edited), requestId: expect.any(String) });
    expect(outcome.get('untouched')).toEqual(done('untouched', idOf(untouched)));
    expect(emulator.store.get('contacts', idOf(edited))?.jobtitle).toBe('Edited meanwhile');
    expect(emulator.store.get('contacts', idOf(untouched))).toBeUndefined();
  });

  test('a delete without an id is refused unsent; throttling that outlasts the retries leaves deletes `retry`', async () => {
    const emulator = await startDynamics({ seed: { contacts: 3 }, seedValue: 94 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const [row] = emulator.store.all('contacts');
    const [unnamed] = await dynamics.writer.write(dynamicsContacts, [{ key: 'unnamed', operation: 'delete', properties: {} }]);
    expect(unnamed).toEqual({ key: 'unnamed', status: 'refused', error: 'a delete needs the id of the Dynamics 365 row' });
    expect(emulator.stats.byRoute[BATCH]).toBeUndefined();

    emulator.throttleNext(RETRY.retries + 1, 0);
    const [later] = await dynamics.writer.write(dynamicsContacts, [remove('later', idOf(row))]);
    expect(later).toMatchObject({ key: 'later', status: 'retry', error: expect.stringMatching(/still failing after 7 attempts/) });
    expect(emulator.store.get('contacts', idOf(row))).toBeDefined();
  });
});
