import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { RecordWrite, WriteOutcome } from '../../src/clients/crm.js';
import { AuthError } from '../../src/errors.js';
import { dynamicsEmulatorPerTest, dynamicsSettingsOf } from '../helpers/dynamics.js';
import { emulatorPerTest, settingsOf } from '../helpers/emulator.js';
import { byKey, connect, contacts, dynamicsContacts, RETRY, update } from '../helpers/writes.js';

const startHubSpot = emulatorPerTest();
const startDynamics = dynamicsEmulatorPerTest();

const statuses = (outcomes: WriteOutcome[]) => outcomes.reduce<Record<string, number>>((counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

describe('HubSpot writes', () => {
  test('250 updates go out in three batch requests; every value is in HubSpot', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 300 }, seedValue: 61 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const records = emulator.store.all('contacts').slice(0, 250);
    const writes = records.map((record, index) => update(`u${index}`, record.id, { jobtitle: `Writer ${index}`, lifecyclestage: 'customer' }));

    const outcomes = await hubspot.writer.write(contacts, writes);
    expect(outcomes).toHaveLength(250);
    expect(statuses(outcomes)).toEqual({ done: 250 });
    const outcome = byKey(outcomes);
    records.forEach((record, index) => {
      expect(outcome.get(`u${index}`)).toMatchObject({ status: 'done', recordId: record.id, created: false, requestId: expect.any(String) });
      expect(emulator.store.get('contacts', record.id)?.properties).toMatchObject({ jobtitle: `Writer ${index}`, lifecyclestage: 'customer' });
    });
    expect(emulator.stats.byRoute['POST /crm/v3/objects/{type}/batch/update']).toBe(3);
    expect(hubspot.metrics.requests).toBe(3);
  });

  test('null clears a property', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 5 }, seedValue: 62 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const [record] = emulator.store.all('contacts');
    emulator.store.update('contacts', record.id, { jobtitle: 'Chief of Staff' });
    const [outcome] = await hubspot.writer.write(contacts, [update('clear', record.id, { jobtitle: null })]);
    expect(outcome.status).toBe('done');
    expect(emulator.store.get('contacts', record.id)?.properties.jobtitle ?? null).toBeNull();
  });

  test('a create by email made twice finds the record the first one made', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 10 }, seedValue: 63 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const create: RecordWrite = { key: 'c1', operation: 'create', idProperty: 'email', properties: { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace' } };

    const [first] = await hubspot.writer.write(contacts, [create]);
    expect(first).toMatchObject({ key: 'c1', status: 'done', created: true });
    const [again] = await hubspot.writer.write(contacts, [create]);
    expect(again).toEqual({ ...first, created: false, requestId: expect.any(String) });
    expect(emulator.store.count('contacts')).toBe(11);
    expect(emulator.store.findBy('contacts', 'email', 'ada@example.com')).toMatchObject({ id: (first as { recordId: string }).recordId, properties: { firstname: 'Ada' } });
  });

  test('a plain create of an email HubSpot has is `exists` with that record; the others of its batch are created', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 10 }, seedValue: 64 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const taken = emulator.store.all('contacts').find((record) => record.properties.email)!;
    const creates: RecordWrite[] = [
      { key: 'new-1', operation: 'create', properties: { email: 'grace@example.com', lastname: 'Hopper' } },
      { key: 'taken', operation: 'create', properties: { email: taken.properties.email!, lastname: 'Someone' } },
      { key: 'new-2', operation: 'create', properties: { email: 'alan@example.com', lastname: 'Turing' } },
    ];

    const outcome = byKey(await hubspot.writer.write(contacts, creates));
    expect(outcome.get('taken')).toEqual({ key: 'taken', status: 'exists', recordId: taken.id, requestId: expect.any(String) });
    for (const [key, email] of [['new-1', 'grace@example.com'], ['new-2', 'alan@example.com']]) {
      expect(outcome.get(key)).toMatchObject({ status: 'done', created: true, recordId: emulator.store.findBy('contacts', 'email', email)?.id });
    }
    expect(emulator.store.count('contacts')).toBe(12);
    expect(emulator.store.get('contacts', taken.id)?.properties.lastname).toBe(taken.properties.lastname);
  });

  test('in a batch with invalid values, the valid writes are made and the invalid ones refused with what HubSpot says', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 20 }, seedValue: 65 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const records = emulator.store.all('contacts').slice(0, 12);
    const invalid = new Map<number, RecordWrite['properties']>([
      [3, { lifecyclestage: 'prospect' }],
      [7, { hs_email_optout: 'maybe' }],
      [10, { favourite_colour: 'blue' }],
    ]);
    const writes = records.map((record, index) => update(`w${index}`, record.id, invalid.get(index) ?? { jobtitle: `Valid ${index}` }));

    const outcomes = await hubspot.writer.write(contacts, writes);
    expect(statuses(outcomes)).toEqual({ done: 9, refused: 3 });
    const outcome = byKey(outcomes);
    expect(outcome.get('w3')).toMatchObject({ status: 'refused', httpStatus: 400, error: expect.stringMatching(/^lifecyclestage: prospect was not one of the allowed options/) });
    expect(outcome.get('w7')).toMatchObject({ status: 'refused', httpStatus: 400, error: expect.stringMatching(/^hs_email_optout: maybe was not a valid boolean/) });
    expect(outcome.get('w10')).toMatchObject({ status: 'refused', httpStatus: 400, error: 'favourite_colour: Property "favourite_colour" does not exist' });
    records.forEach((record, index) => {
      const now = emulator.store.get('contacts', record.id)!.properties;
      expect(now.jobtitle).toBe(invalid.has(index) ? record.properties.jobtitle : `Valid ${index}`);
      expect(now.lifecyclestage).toBe(record.properties.lifecyclestage);
    });
  });

  test('an update of a record HubSpot no longer has is refused, the rest of its batch made', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 5 }, seedValue: 66 });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const [gone, kept] = emulator.store.all('contacts');
    emulator.store.archive('contacts', gone.id);
    const outcome = byKey(await hubspot.writer.write(contacts, [update('gone', gone.id, { jobtitle: 'X' }), update('kept', kept.id, { jobtitle: 'Y' })]));
    expect(outcome.get('gone')).toMatchObject({ status: 'refused', httpStatus: 404 });
    expect(outcome.get('kept')).toMatchObject({ status: 'done', recordId: kept.id });
  });

  test('under a storm of 429s every write is made exactly once', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 200 }, seedValue: 67, faults: { rate429: 0.5, seed: 11 } });
    // Half the requests answered 429, runs of them longer than a run's retries: this connection rides them out.
    const hubspot = await connect('hubspot', settingsOf(emulator), { ...RETRY, retries: 20 });
    const records = emulator.store.all('contacts').slice(0, 150);
    const updates = records.map((record, index) => update(`u${index}`, record.id, { jobtitle: `Stormy ${index}` }));
    const creates = Array.from({ length: 40 }, (_, index): RecordWrite => ({ key: `c${index}`, operation: 'create', properties: { email: `storm.${index}@example.com`, lastname: 'Storm' } }));
    const upserts = Array.from({ length: 40 }, (_, index): RecordWrite => ({ key: `s${index}`, operation: 'create', idProperty: 'email', properties: { email: `upsert.${index}@example.com` } }));

    const outcomes = await hubspot.writer.write(contacts, [...updates, ...creates, ...upserts]);
    expect(statuses(outcomes)).toEqual({ done: 230 });
    expect(emulator.stats.faults['429']).toBeGreaterThan(0);
    expect(hubspot.metrics.rateLimited).toBe(emulator.stats.faults['429']);
    // Each create made one record: none was sent again after HubSpot had made it.
    expect(emulator.store.count('contacts')).toBe(200 + 80);
    expect(outcomes.filter((outcome) => outcome.status === 'done' && outcome.created)).toHaveLength(80);
    records.forEach((record, index) => expect(emulator.store.get('contacts', record.id)?.properties.jobtitle).toBe(`Stormy ${index}`));
  });

  test('answers lost after HubSpot made the writes are sent again without making any record twice', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 50 }, seedValue: 70, faults: { rateTruncated: 0.5, seed: 5 } });
    const hubspot = await connect('hubspot', settingsOf(emulator), { ...RETRY, retries: 20 });
    const email = (key: string) => `${key}@example.com`;
    const creates = Array.from({ length: 30 }, (_, index): RecordWrite => ({ key: `plain${index}`, operation: 'create', properties: { email: email(`plain${index}`) } }));
    const upserts = Array.from({ length: 30 }, (_, index): RecordWrite => ({ key: `upsert${index}`, operation: 'create', idProperty: 'email', properties: { email: email(`upsert${index}`) } }));

    const outcomes = await hubspot.writer.write(contacts, [...creates, ...upserts]);
    expect(emulator.stats.faults.truncated).toBeGreaterThan(0);
    expect(statuses(outcomes).exists).toBeGreaterThan(0);
    expect(emulator.store.count('contacts')).toBe(50 + 60);
    for (const outcome of outcomes) {
      // A plain create sent again finds its record through the email's 409.
      expect(['done', 'exists']).toContain(outcome.status);
      expect(outcome).toMatchObject({ recordId: emulator.store.findBy('contacts', 'email', email(outcome.key))?.id });
    }
  });

  test('when the outage outlasts the retries the writes come back as `retry`; a rejected token throws', async () => {
    const emulator = await startHubSpot({ seed: { contacts: 5 }, seedValue: 68, faults: { permanent: 500 } });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const [record] = emulator.store.all('contacts');
    const outcomes = await hubspot.writer.write(contacts, [update('u', record.id, { jobtitle: 'Later' }), { key: 'c', operation: 'create', properties: { lastname: 'Later' } }]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['retry', 'retry']);
    expect(outcomes[0]).toMatchObject({ error: expect.stringMatching(/^batch update contacts still failing after 7 attempts: HubSpot answered 500/) });

    emulator.setFaults({ permanent: 401 });
    const error = await hubspot.writer.write(contacts, [update('u', record.id, { jobtitle: 'Later' })]).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).not.toContain(emulator.token);
  });

  test('changeTimes gives the time of each property\'s latest change, 50 records a request', async () => {
    let clock = Date.parse('2026-03-01T09:00:00Z');
    const emulator = await startHubSpot({ seed: { contacts: 80 }, seedValue: 69, now: () => clock });
    const hubspot = await connect('hubspot', settingsOf(emulator));
    const records = emulator.store.all('contacts').slice(0, 60);
    clock = Date.parse('2026-03-02T10:30:00Z');
    await hubspot.writer.write(contacts, records.slice(0, 30).map((record, index) => update(`u${index}`, record.id, { jobtitle: `Changed ${index}` })));
    const before = hubspot.metrics.requests;

    const times = await hubspot.changeTimes!(contacts, records.map((record) => record.id), ['jobtitle', 'firstname']);
    expect(hubspot.metrics.requests - before).toBe(2);
    expect(times.size).toBe(60);
    records.forEach((record, index) => {
      const changed = times.get(record.id)!;
      if (index < 30) expect(changed.jobtitle).toBe('2026-03-02T10:30:00.000Z');
      else if (record.properties.jobtitle) expect(changed.jobtitle).toBe(new Date(record.updatedAt).toISOString());
      if (record.properties.firstname) expect(Date.parse(changed.firstname)).toBeLessThan(Date.parse('2026-03-01T00:00:00Z'));
    });
  });
});

describe('HubSpot answers as documented that the emulator does not give yet', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A portal that answers every request with `answer` and keeps the bodies it was sent. */
  async function portal(answer: { status: number; body: unknown }): Promise<{ url: string; sent: { inputs: Record<string, unknown>[] }[] }> {
    const sent: { inputs: Record<string, unknown>[] }[] = [];
    server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => {
        sent.push(JSON.parse(text) as { inputs: Record<string, unknown>[] });
        response.writeHead(answer.status, { 'content-type': 'application/json', 'x-hubspot-correlation-id': 'corr-1' });
        response.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, sent };
  }

  test('a 207 to a batch create: each error goes to the input its objectWriteTraceId names; an input without an answer is `retry`', async () => {
    const invalid = [{ isValid: false, message: 'Property "favourite_colour" does not exist', error: 'PROPERTY_DOESNT_EXIST', name: 'favourite_colour' }];
    const { url, sent } = await portal({
      status: 207,
      body: {
        status: 'COMPLETE',
        results: [{ id: '501', objectWriteTraceId: 'made', properties: { lastname: 'Hopper' } }],
        numErrors: 2,
        errors: [
          { status: 'error', category: 'VALIDATION_ERROR', message: `Property values were not valid: ${JSON.stringify(invalid)}`, context: { objectWriteTraceId: ['invalid'] } },
          { status: 'error', category: 'CONFLICT', message: 'Contact already exists. Existing ID: 171591000198', context: { objectWriteTraceId: ['taken'], existingId: ['171591000198'] } },
        ],
      },
    });
    const hubspot = await connect('hubspot', { baseUrl: url, accessToken: 'pat-documented' });
    const creates: RecordWrite[] = ['made', 'invalid', 'taken', 'unanswered'].map((key) => ({ key, operation: 'create', properties: { lastname: key, numemployees: 42, hs_email_optout: false, city: null } }));

    const outcome = byKey(await hubspot.writer.write(contacts, creates));
    expect(outcome.get('made')).toEqual({ key: 'made', status: 'done', recordId: '501', created: true, requestId: 'corr-1' });
    expect(outcome.get('invalid')).toEqual({ key: 'invalid', status: 'refused', httpStatus: 400, error: 'favourite_colour: Property "favourite_colour" does not exist', requestId: 'corr-1' });
    expect(outcome.get('taken')).toEqual({ key: 'taken', status: 'exists', recordId: '171591000198', requestId: 'corr-1' });
    expect(outcome.get('unanswered')).toMatchObject({ status: 'retry', error: "HubSpot's answer to the batch has no result or error for this record" });
    // One request: a 207 is never sent again.
    expect(sent).toHaveLength(1);
    expect(sent[0].inputs[0]).toEqual({ objectWriteTraceId: 'made', properties: { lastname: 'made', numemployees: '42', hs_email_optout: 'false', city: '' } });
  });
});

describe('Dynamics 365 writes', () => {
  const BATCH = 'POST /api/data/v9.2/$batch';
  const idOf = (row: Record<string, unknown>) => String(row.contactid);

  test('1,200 updates go out as two $batch requests (1,000 at most each); every value is in Dynamics 365', async () => {
    const emulator = await startDynamics({ seed: { contacts: 1300 }, seedValue: 71 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const rows = emulator.store.all('contacts').slice(0, 1200);
    const writes = rows.map((row, index) => update(`u${index}`, idOf(row), { jobtitle: `Writer ${index}`, donotbulkemail: index % 2 === 0 }));

    const outcomes = await dynamics.writer.write(dynamicsContacts, writes);
    expect(statuses(outcomes)).toEqual({ done: 1200 });
    const outcome = byKey(outcomes);
    rows.forEach((row, index) => {
      expect(outcome.get(`u${index}`)).toMatchObject({ status: 'done', recordId: idOf(row), created: false, requestId: expect.any(String) });
      expect(emulator.store.get('contacts', idOf(row))).toMatchObject({ jobtitle: `Writer ${index}`, donotbulkemail: index % 2 === 0, firstname: row.firstname });
    });
    expect(emulator.stats.byRoute[BATCH]).toBe(2);
    expect(emulator.stats.byRoute['$batch: PATCH /api/data/v9.2/{entitySet}({id})']).toBe(1200);
  });

  test('an update planned against an older version of the row is `stale` and leaves the row as it is', async () => {
    const emulator = await startDynamics({ seed: { contacts: 5 }, seedValue: 72 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const [planned, fresh] = emulator.store.all('contacts');
    // Someone edits the row after the write was planned.
    emulator.store.update('contacts', idOf(planned), { jobtitle: 'Edited meanwhile' });
    const writes: RecordWrite[] = [
      { ...update('old', idOf(planned), { jobtitle: 'Planned' }), etag: String(planned['@odata.etag']) },
      { ...update('current', idOf(fresh), { jobtitle: 'Planned' }), etag: String(fresh['@odata.etag']) },
    ];

    const outcome = byKey(await dynamics.writer.write(dynamicsContacts, writes));
    expect(outcome.get('old')).toEqual({ key: 'old', status: 'stale', recordId: idOf(planned), requestId: expect.any(String) });
    expect(outcome.get('current')).toMatchObject({ status: 'done', recordId: idOf(fresh) });
    expect(emulator.store.get('contacts', idOf(planned))?.jobtitle).toBe('Edited meanwhile');
    expect(emulator.store.get('contacts', idOf(fresh))?.jobtitle).toBe('Planned');
  });

  test('a create with the id it gives the row, made twice, is `exists` the second time; one without an id gets a new one', async () => {
    const emulator = await startDynamics({ seed: { contacts: 3 }, seedValue: 73 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const id = '5f2c1a9e-7b3d-4c8e-9a41-2d6b8e0f1c37';
    const create: RecordWrite = { key: 'ada', operation: 'create', recordId: id, properties: { firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@example.com' } };

    const [first] = await dynamics.writer.write(dynamicsContacts, [create]);
    expect(first).toMatchObject({ key: 'ada', status: 'done', recordId: id, created: true });
    const [again] = await dynamics.writer.write(dynamicsContacts, [{ ...create, properties: { ...create.properties, lastname: 'Byron' } }]);
    expect(again).toEqual({ key: 'ada', status: 'exists', recordId: id, requestId: expect.any(String) });
    expect(emulator.store.get('contacts', id)).toMatchObject({ firstname: 'Ada', lastname: 'Lovelace' });

    const [unnamed] = await dynamics.writer.write(dynamicsContacts, [{ key: 'grace', operation: 'create', properties: { lastname: 'Hopper' } }]);
    expect(unnamed).toMatchObject({ status: 'done', created: true });
    expect(emulator.store.get('contacts', (unnamed as { recordId: string }).recordId)).toMatchObject({ lastname: 'Hopper' });
    expect(emulator.store.count('contacts')).toBe(5);
  });

  test('invalid writes in a batch are refused with what Dynamics 365 says; the others are made', async () => {
    const emulator = await startDynamics({ seed: { contacts: 10 }, seedValue: 74 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const rows = emulator.store.all('contacts');
    const gone = idOf(rows[9]);
    emulator.store.delete('contacts', gone);
    const writes = rows.slice(0, 6).map((row, index) => update(`w${index}`, idOf(row), { jobtitle: `Valid ${index}` }));
    writes[2] = update('w2', idOf(rows[2]), { favourite_colour: 'blue' });
    writes[4] = update('w4', idOf(rows[4]), { birthdate: 'yesterday' });
    writes.push(update('gone', gone, { jobtitle: 'Nobody' }));

    const outcomes = await dynamics.writer.write(dynamicsContacts, writes);
    expect(statuses(outcomes)).toEqual({ done: 4, refused: 3 });
    const outcome = byKey(outcomes);
    expect(outcome.get('w2')).toMatchObject({ status: 'refused', httpStatus: 400, error: expect.stringMatching(/^The property 'favourite_colour' does not exist on type 'Microsoft\.Dynamics\.CRM\.contact'/) });
    expect(outcome.get('w4')).toMatchObject({ status: 'refused', httpStatus: 400, error: "Cannot convert the literal 'yesterday' to the expected type 'Edm.Date'." });
    // If-Match: * never creates the row an update was meant for.
    expect(outcome.get('gone')).toMatchObject({ status: 'refused', httpStatus: 404, error: expect.stringMatching(/Does Not Exist/) });
    expect(emulator.store.get('contacts', gone)).toBeUndefined();
    rows.slice(0, 6).forEach((row, index) => {
      expect(emulator.store.get('contacts', idOf(row))?.jobtitle).toBe(index === 2 || index === 4 ? row.jobtitle : `Valid ${index}`);
    });
    expect(emulator.stats.byRoute[BATCH]).toBe(1);
  });

  test('a throttled batch is sent again after Retry-After; an entity set the organisation lacks throws', async () => {
    const emulator = await startDynamics({ seed: { contacts: 5 }, seedValue: 75 });
    const dynamics = await connect('dynamics', dynamicsSettingsOf(emulator));
    const rows = emulator.store.all('contacts');
    emulator.throttleNext(2, 0);
    const outcomes = await dynamics.writer.write(dynamicsContacts, rows.map((row, index) => update(`u${index}`, idOf(row), { jobtitle: 'After the wait' })));
    expect(statuses(outcomes)).toEqual({ done: 5 });
    expect(dynamics.metrics.rateLimited).toBe(2);
    for (const row of rows) expect(emulator.store.get('contacts', idOf(row))?.jobtitle).toBe('After the wait');

    const misnamed = { ...dynamicsContacts, remoteName: 'contactz' };
    await expect(dynamics.writer.write(misnamed, [update('u', idOf(rows[0]), { jobtitle: 'X' })])).rejects.toThrow(/write contactz: Dynamics 365 answered 404 .*check entity_set in mappings\.yaml/);
  });
});
