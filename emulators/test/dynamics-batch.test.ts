/**
 * $batch: multipart requests and responses, change sets (atomic, with Content-ID
 * references), continue-on-error, the 1000-request cap, and a batch counting as one
 * request for service protection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DynamicsEmulator } from '../src/dynamics/index.js';
import { call, closeAll, dynamics, header, parseBatchResponse, postBatch, type BatchOperation } from './dynamics-helpers.js';

afterEach(closeAll);

const idFrom = (entityId: unknown) => /\(([0-9a-f-]{36})\)$/.exec(String(entityId))?.[1] as string;

async function setup(): Promise<{ emu: DynamicsEmulator; contacts: string[] }> {
  const emu = await dynamics({ seed: { contacts: 6, accounts: 2 } });
  return { emu, contacts: emu.store.all('contacts').map((row) => row.contactid as string) };
}

describe('batches without change sets', () => {
  it('runs the requests in order and answers each in a batchresponse part', async () => {
    const { emu, contacts } = await setup();
    const reply = await postBatch(emu, [
      { method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'Batched' } },
      { method: 'PATCH', url: `${emu.apiUrl}/contacts(${contacts[0]})`, json: { jobtitle: 'Batch editor' } },
      { method: 'GET', url: `contacts(${contacts[0]})?$select=jobtitle` },
      { method: 'DELETE', url: `/api/data/v9.2/contacts(${contacts[1]})` },
      { method: 'POST', url: '/api/data/v9.2/accounts?$select=name', json: { name: 'Represented' }, headers: { Prefer: 'return=representation' } },
    ]);
    expect(reply.status).toBe(200);
    expect(header(reply, 'content-type')).toMatch(/^multipart\/mixed; boundary=batchresponse_[0-9a-f-]{36}$/);
    expect(header(reply, 'odata-version')).toBe('4.0');
    const parts = parseBatchResponse(reply);
    expect(parts.map((part) => part.status)).toEqual([204, 204, 200, 204, 201]);
    const created = idFrom(parts[0]?.headers['odata-entityid']);
    expect(parts[0]?.headers).toMatchObject({ 'odata-version': '4.0', location: `${emu.apiUrl}/contacts(${created})`, 'odata-entityid': `${emu.apiUrl}/contacts(${created})` });
    expect(parts[2]?.body).toMatchObject({ jobtitle: 'Batch editor', contactid: contacts[0] });
    expect(parts[4]?.body).toMatchObject({ '@odata.context': `${emu.apiUrl}/$metadata#accounts(name)/$entity`, name: 'Represented' });
    expect(emu.store.get('contacts', created)?.lastname).toBe('Batched');
    expect(emu.store.get('contacts', contacts[1] as string)).toBeUndefined();
    expect(emu.stats.byRoute['POST /api/data/v9.2/$batch']).toBe(1);
    expect(emu.stats.byRoute['$batch: PATCH /api/data/v9.2/{entitySet}({id})']).toBe(1);
  });

  it('stops at the first failure and answers with its status, unless odata.continue-on-error', async () => {
    const { emu } = await setup();
    const operations: BatchOperation[] = [
      { method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'One' } },
      { method: 'POST', url: '/api/data/v9.2/contacts', json: { nosuch: 'x' } },
      { method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'Three' } },
    ];
    const stopped = await postBatch(emu, operations);
    expect(stopped.status).toBe(400);
    const parts = parseBatchResponse(stopped);
    expect(parts.map((part) => part.status)).toEqual([204, 400]);
    expect(parts[1]?.body.error.code).toBe('0x80060888');
    expect(emu.store.count('contacts')).toBe(7);

    const continued = await postBatch(emu, operations, { Prefer: 'odata.continue-on-error' });
    expect(continued.status).toBe(200);
    expect(header(continued, 'preference-applied')).toBe('odata.continue-on-error');
    expect(parseBatchResponse(continued).map((part) => part.status)).toEqual([204, 400, 204]);
    expect(emu.store.count('contacts')).toBe(9);
  });
});

describe('deletes in a batch', () => {
  it('answer 204, then 404 ObjectDoesNotExist for a row already gone; 412 for a stale If-Match; each deletion shows in change tracking', async () => {
    const { emu, contacts } = await setup();
    const delta = (await call(emu, 'GET', 'contacts?$select=lastname', { headers: { Prefer: 'odata.track-changes' } })).body['@odata.deltaLink'];
    const [kept] = emu.store.all('contacts').slice(2);
    const reply = await postBatch(
      emu,
      [
        { method: 'DELETE', url: `${emu.apiUrl}/contacts(${contacts[0]})` },
        { method: 'DELETE', url: `${emu.apiUrl}/contacts(${contacts[0]})` },
        { method: 'DELETE', url: `${emu.apiUrl}/contacts(${contacts[1]})`, headers: { 'If-Match': emu.store.get('contacts', contacts[1] as string)?.['@odata.etag'] as string } },
        { method: 'DELETE', url: `${emu.apiUrl}/contacts(${kept?.contactid})`, headers: { 'If-Match': 'W/"1"' } },
      ],
      { Prefer: 'odata.continue-on-error' },
    );
    expect(reply.status).toBe(200);
    const parts = parseBatchResponse(reply);
    expect(parts.map((part) => part.status)).toEqual([204, 404, 204, 412]);
    expect(parts[1]?.body).toEqual({ error: { code: '0x80040217', message: `contact With Id = ${contacts[0]} Does Not Exist` } });
    expect(parts[3]?.body.error.code).toBe('0x80060882');
    expect(emu.store.get('contacts', kept?.contactid as string)).toBeDefined();

    const changes = (await call(emu, 'GET', delta, { headers: { Prefer: 'odata.track-changes' } })).body.value;
    const deleted = (id: string | undefined) => ({ '@odata.context': `${emu.apiUrl}/$metadata#contacts/$deletedEntity`, id, reason: 'deleted' });
    expect(changes).toEqual([deleted(contacts[0]), deleted(contacts[1])]);
  });
});

describe('change sets', () => {
  it('resolve Content-ID references to rows created earlier in the set', async () => {
    const { emu } = await setup();
    const reply = await postBatch(emu, [
      {
        changeset: [
          { method: 'POST', url: '/api/data/v9.2/accounts', json: { name: 'Parent' }, contentId: '1' },
          { method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'Child', 'parentcustomerid_account@odata.bind': '$1' }, contentId: '2' },
          { method: 'PATCH', url: '$2', json: { jobtitle: 'Referenced' }, contentId: '3' },
        ],
      },
      { method: 'GET', url: '/api/data/v9.2/contacts?$select=lastname,_parentcustomerid_value&$filter=lastname%20eq%20%27Child%27' },
    ]);
    expect(reply.status).toBe(200);
    const parts = parseBatchResponse(reply);
    expect(parts.map((part) => [part.status, part.contentId, part.changeset])).toEqual([
      [204, '1', 0],
      [204, '2', 0],
      [204, '3', 0],
      [200, undefined, undefined],
    ]);
    const account = idFrom(parts[0]?.headers['odata-entityid']);
    const contact = idFrom(parts[1]?.headers['odata-entityid']);
    expect(emu.store.get('contacts', contact)).toMatchObject({ lastname: 'Child', jobtitle: 'Referenced', _parentcustomerid_value: account });
    expect(parts[3]?.body.value).toEqual([expect.objectContaining({ contactid: contact, _parentcustomerid_value: account })]);
  });

  it('roll back every operation when one fails, and answer with that one error', async () => {
    const { emu, contacts } = await setup();
    const before = { version: emu.store.version, contacts: emu.store.all('contacts'), accounts: emu.store.all('accounts') };
    const delta = (await call(emu, 'GET', 'contacts?$select=lastname', { headers: { Prefer: 'odata.track-changes' } })).body['@odata.deltaLink'];
    const reply = await postBatch(emu, [
      { method: 'POST', url: '/api/data/v9.2/accounts', json: { name: 'Never' } },
      {
        changeset: [
          { method: 'POST', url: '/api/data/v9.2/contacts', json: { contactid: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', lastname: 'Rolled back' }, contentId: '1' },
          { method: 'PATCH', url: `/api/data/v9.2/contacts(${contacts[0]})`, json: { lastname: 'Rolled back too' }, contentId: '2' },
          { method: 'DELETE', url: `/api/data/v9.2/contacts(${contacts[1]})`, contentId: '3' },
          { method: 'PATCH', url: `/api/data/v9.2/contacts(${contacts[2]})`, json: { lastname: 'Stale' }, headers: { 'If-Match': 'W/"1"' }, contentId: '4' },
          { method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'Never run' }, contentId: '5' },
        ],
      },
    ]);
    expect(reply.status).toBe(412);
    const parts = parseBatchResponse(reply);
    expect(parts.map((part) => [part.status, part.contentId, part.changeset])).toEqual([
      [204, undefined, undefined],
      [412, '4', undefined],
    ]);
    expect(parts[1]?.body).toEqual({ error: { code: '0x80060882', message: "The version of the existing record doesn't match the RowVersion property provided." } });
    // The request outside the change set stays done; the change set left no trace.
    expect(emu.store.count('accounts')).toBe(3);
    expect(emu.store.all('contacts')).toEqual(before.contacts);
    const changes = (await call(emu, 'GET', delta)).body.value;
    expect(changes).toEqual([]);
  });

  it('refuse GETs, unknown references, nesting and more than 1000 requests', async () => {
    const { emu } = await setup();
    const get = await postBatch(emu, [{ changeset: [{ method: 'GET', url: '/api/data/v9.2/contacts' }] }]);
    expect(get.status).toBe(400);
    expect(get.body.error.message).toContain('GET requests are not allowed in a change set.');

    const reference = await postBatch(emu, [{ changeset: [{ method: 'PATCH', url: '$7', json: { lastname: 'x' }, contentId: '1' }] }]);
    const [refused] = parseBatchResponse(reference);
    expect(refused?.body.error.message).toBe("Content-ID Reference: '$7' does not exist in the batch context.");

    const requests = (n: number) => Array.from({ length: n }, () => ({ method: 'GET', url: '/api/data/v9.2/WhoAmI' }));
    const tooMany = await postBatch(emu, requests(1001));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('at most 1000');
    const full = await postBatch(emu, requests(1000));
    expect(full.status).toBe(200);
    expect(parseBatchResponse(full)).toHaveLength(1000);

    const notMultipart = await call(emu, 'POST', '$batch', { json: { requests: [] } });
    expect(notMultipart.status).toBe(400);
    expect(notMultipart.body.error.message).toContain("'multipart/mixed'");
  });
});

describe('service protection', () => {
  it('counts a batch as one request', async () => {
    const emu = await dynamics({ rateLimit: { requests: 2 } });
    const batch = await postBatch(emu, Array.from({ length: 20 }, () => ({ method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'Bulk' } })));
    expect(batch.status).toBe(200);
    expect(header(batch, 'x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('1');
    expect(emu.store.count('contacts')).toBe(20);
  });
});
