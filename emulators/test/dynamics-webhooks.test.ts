/**
 * Webhooks of the Dynamics 365 emulator, received by a plain node:http server: one
 * RemoteExecutionContext per create, update and delete made through the Web API (inside
 * $batch too, nothing for a rolled-back change set), the key as Dataverse's webhook
 * registrations send it, the one retry after a 502/503/504, and the seeded drop rate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DynamicsWebhookOptions } from '../src/dynamics/index.js';
import { call, closeAll, dynamics, fakeClock, GUID, header, parseBatchResponse, postBatch } from './dynamics-helpers.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

const KEY = 'function-key';
const receivers: Receiver[] = [];

afterEach(async () => {
  await closeAll();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function setup(webhooks: Partial<DynamicsWebhookOptions> = {}) {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const clock = fakeClock();
  const emu = await dynamics({ seed: { contacts: 3, accounts: 2 }, now: clock.now, webhooks: { url: `${receiver.url}/hooks/dataverse`, key: KEY, retryDelayMs: 10, ...webhooks } });
  return { emu, receiver, clock };
}

const idFrom = (entityId: unknown) => /\(([0-9a-f-]{36})\)$/.exec(String(entityId))?.[1] as string;
const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';
/** A Target's attributes as an object. */
const attributesOf = (context: any): Record<string, any> => Object.fromEntries(context.InputParameters[0].value.Attributes.map(({ key, value }: any) => [key, value]));
/** The contexts received, as "Message entity id". */
const summary = (receiver: Receiver) => receiver.posts.map((post) => `${post.json.MessageName} ${post.json.PrimaryEntityName} ${post.json.PrimaryEntityId}`);

describe('contexts', () => {
  it('a create posts a Create context with the new row as Target, the key as ?code=', async () => {
    const { emu, receiver, clock } = await setup();
    const account = emu.store.all('accounts')[0]!.accountid as string;
    const created = await call(emu, 'POST', 'contacts', {
      json: { firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@example.com', creditlimit: 1500, birthdate: '1815-12-10', 'parentcustomerid_account@odata.bind': `/accounts(${account})` },
    });
    expect(created.status).toBe(204);
    const id = idFrom(header(created, 'odata-entityid'));
    await emu.webhooksIdle();

    expect(receiver.posts).toHaveLength(1);
    const post = receiver.posts[0]!;
    expect(post.path).toBe(`/hooks/dataverse?code=${KEY}`);
    expect(post.headers).toMatchObject({ 'content-type': 'application/json', 'x-ms-dynamics-entity-name': 'contact', 'x-ms-dynamics-request-name': 'Create' });
    const context = post.json;
    expect(Object.keys(context).sort()).toEqual(
      [
        'BusinessUnitId', 'CorrelationId', 'Depth', 'InitiatingUserId', 'InputParameters', 'IsExecutingOffline', 'IsInTransaction', 'IsOfflinePlayback',
        'IsolationMode', 'MessageName', 'Mode', 'OperationCreatedOn', 'OperationId', 'OrganizationId', 'OrganizationName', 'OutputParameters',
        'OwningExtension', 'ParentContext', 'PostEntityImages', 'PreEntityImages', 'PrimaryEntityId', 'PrimaryEntityName', 'RequestId',
        'SecondaryEntityName', 'SharedVariables', 'Stage', 'UserId',
      ].sort(),
    );
    expect(context).toMatchObject({
      Depth: 1,
      MessageName: 'Create',
      Mode: 1,
      Stage: 40,
      PrimaryEntityName: 'contact',
      PrimaryEntityId: id,
      SecondaryEntityName: 'none',
      OperationCreatedOn: `/Date(${clock.now()})/`,
      OutputParameters: [{ key: 'id', value: id }],
      OwningExtension: { LogicalName: 'sdkmessageprocessingstep' },
      ParentContext: null,
    });
    expect(context.OperationId).toMatch(GUID);
    const who = (await call(emu, 'GET', 'WhoAmI')).body;
    expect(context).toMatchObject({ UserId: who.UserId, InitiatingUserId: who.UserId, BusinessUnitId: who.BusinessUnitId, OrganizationId: who.OrganizationId });
    const target = context.InputParameters[0];
    expect(target.key).toBe('Target');
    expect(target.value).toMatchObject({ __type: `Entity:${CONTRACTS}`, LogicalName: 'contact', Id: id });
    const attributes = attributesOf(context);
    expect(attributes).toMatchObject({
      contactid: id,
      firstname: 'Ada',
      emailaddress1: 'ada@example.com',
      fullname: 'Ada Lovelace',
      parentcustomerid: { __type: `EntityReference:${CONTRACTS}`, Id: account, LogicalName: 'account' },
      creditlimit: { __type: `Money:${CONTRACTS}`, Value: 1500 },
      statecode: { __type: `OptionSetValue:${CONTRACTS}`, Value: 0 },
      birthdate: `/Date(${Date.UTC(1815, 11, 10)})/`,
      createdon: `/Date(${clock.now()})/`,
    });
    expect(attributes.jobtitle).toBeUndefined();
    expect(emu.webhooks).toMatchObject({ queued: 1, delivered: 1, pending: 0 });
  });

  it('an update posts the written and platform-set columns; one that changes nothing posts nothing', async () => {
    const { emu, receiver } = await setup();
    const id = emu.store.all('contacts')[0]!.contactid as string;
    const current = emu.store.get('contacts', id)!;
    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { firstname: current.firstname } })).status).toBe(204);
    expect((await call(emu, 'PATCH', `contacts(${id})`, { json: { jobtitle: 'Countess', lastname: current.lastname } })).status).toBe(204);
    await emu.webhooksIdle();
    expect(summary(receiver)).toEqual([`Update contact ${id}`]);
    const attributes = attributesOf(receiver.posts[0]!.json);
    expect(Object.keys(attributes).sort()).toEqual(['contactid', 'jobtitle', 'lastname', 'modifiedby', 'modifiedon']);
    expect(attributes.jobtitle).toBe('Countess');
    expect(receiver.posts[0]!.json.OutputParameters).toEqual([]);
  });

  it('an upsert that creates posts Create; a delete posts Delete with an EntityReference Target', async () => {
    const { emu, receiver } = await setup();
    const fresh = '00000000-0000-4000-8000-0000000000aa';
    expect((await call(emu, 'PATCH', `accounts(${fresh})`, { json: { name: 'Upserted' } })).status).toBe(204);
    expect((await call(emu, 'DELETE', `accounts(${fresh})`)).status).toBe(204);
    await emu.webhooksIdle();
    expect(summary(receiver)).toEqual([`Create account ${fresh}`, `Delete account ${fresh}`]);
    expect(receiver.posts[1]!.json.InputParameters).toEqual([
      { key: 'Target', value: { __type: `EntityReference:${CONTRACTS}`, Id: fresh, KeyAttributes: [], LogicalName: 'account', Name: null, RowVersion: null } },
    ]);
  });

  it('writes on the store directly post nothing', async () => {
    const { emu, receiver } = await setup();
    emu.store.create('contacts', { lastname: 'Direct' });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(0);
  });
});

describe('$batch', () => {
  it('a committed change set posts its operations; a rolled-back one posts nothing', async () => {
    const { emu, receiver } = await setup();
    const contact = emu.store.all('contacts')[0]!.contactid as string;
    const missing = '00000000-0000-4000-8000-0000000000bb';
    const reply = await postBatch(emu, [
      { method: 'PATCH', url: `contacts(${contact})`, json: { jobtitle: 'Outside' } },
      {
        changeset: [
          { method: 'POST', url: '/api/data/v9.2/accounts', json: { name: 'In set' }, contentId: '1' },
          { method: 'POST', url: '/api/data/v9.2/contacts', json: { lastname: 'Linked', 'parentcustomerid_account@odata.bind': '$1' } },
        ],
      },
      {
        changeset: [
          { method: 'POST', url: '/api/data/v9.2/accounts', json: { name: 'Rolled back' } },
          { method: 'PATCH', url: `contacts(${missing})`, json: { jobtitle: 'x' }, headers: { 'If-Match': '*' } },
        ],
      },
    ], { Prefer: 'odata.continue-on-error' });
    expect(reply.status).toBe(200);
    const parts = parseBatchResponse(reply);
    expect(parts.map((part) => part.status)).toEqual([204, 204, 204, 404]);
    const account = idFrom(parts[1]!.headers['odata-entityid']);
    const linked = idFrom(parts[2]!.headers['odata-entityid']);
    await emu.webhooksIdle();
    expect(summary(receiver).sort()).toEqual([`Create account ${account}`, `Create contact ${linked}`, `Update contact ${contact}`].sort());
    const linkedContext = receiver.posts.find((post) => post.json.PrimaryEntityId === linked)!.json;
    expect(attributesOf(linkedContext).parentcustomerid).toMatchObject({ Id: account, LogicalName: 'account' });
    expect(emu.webhooks.queued).toBe(3);
  });
});

describe('delivery', () => {
  it('a 503 is retried once; a second 503 gives up', async () => {
    const { emu, receiver } = await setup();
    receiver.answer((index) => ({ status: index === 0 ? 503 : 200 }));
    await call(emu, 'POST', 'accounts', { json: { name: 'Retried' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(2);
    expect(receiver.posts[1]!.json.OperationId).toBe(receiver.posts[0]!.json.OperationId);
    expect(emu.webhooks).toMatchObject({ delivered: 1, retries: 1, failed: 0 });

    receiver.answer(() => ({ status: 504 }));
    await call(emu, 'POST', 'accounts', { json: { name: 'Twice down' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(4);
    expect(emu.webhooks).toMatchObject({ delivered: 1, retries: 2, failed: 1 });
  });

  it('a 500 or a 429 is not retried', async () => {
    const { emu, receiver } = await setup();
    receiver.answer((index) => ({ status: index === 0 ? 500 : 429 }));
    await call(emu, 'POST', 'accounts', { json: { name: 'One' } });
    await emu.webhooksIdle();
    await call(emu, 'POST', 'accounts', { json: { name: 'Two' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(2);
    expect(emu.webhooks).toMatchObject({ failed: 2, retries: 0 });
  });

  it('HttpHeader sends the key in x-webhook-key, HttpQueryString as ?key=', async () => {
    const byHeader = await setup({ auth: 'HttpHeader' });
    await call(byHeader.emu, 'POST', 'accounts', { json: { name: 'Header' } });
    await byHeader.emu.webhooksIdle();
    expect(byHeader.receiver.posts[0]!.path).toBe('/hooks/dataverse');
    expect(byHeader.receiver.posts[0]!.headers['x-webhook-key']).toBe(KEY);

    const byQuery = await setup({ auth: 'HttpQueryString' });
    await call(byQuery.emu, 'POST', 'accounts', { json: { name: 'Query' } });
    await byQuery.emu.webhooksIdle();
    expect(byQuery.receiver.posts[0]!.path).toBe(`/hooks/dataverse?key=${KEY}`);
    expect(byQuery.receiver.posts[0]!.headers['x-webhook-key']).toBeUndefined();
  });

  it('dropRate 1 posts nothing; 0.5 loses the same contexts in every run', async () => {
    const all = await setup({ dropRate: 1 });
    await call(all.emu, 'POST', 'accounts', { json: { name: 'Lost' } });
    await all.emu.webhooksIdle();
    expect(all.receiver.posts).toHaveLength(0);
    expect(all.emu.webhooks).toMatchObject({ queued: 1, dropped: 1, pending: 0 });

    const received: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const { emu, receiver } = await setup({ dropRate: 0.5 });
      for (let k = 0; k < 40; k++) await call(emu, 'POST', 'accounts', { json: { name: `Account ${k}` } });
      await emu.webhooksIdle();
      expect(emu.webhooks.dropped).toBeGreaterThan(8);
      expect(emu.webhooks.dropped).toBeLessThan(32);
      received.push(receiver.posts.map((post) => attributesOf(post.json).name as string).sort());
    }
    expect(received[0]).toEqual(received[1]);
  });

  it('options are checked at start', async () => {
    await expect(dynamics({ webhooks: { url: 'ftp://example.com/', key: KEY } })).rejects.toThrow('webhooks.url must be an http or https URL');
    await expect(dynamics({ webhooks: { url: 'http://127.0.0.1:1/', auth: 'HttpHeader' } })).rejects.toThrow('webhooks.auth needs webhooks.key');
    await expect(dynamics({ webhooks: { url: 'http://127.0.0.1:1/', dropRate: -0.1 } })).rejects.toThrow('webhooks.dropRate must be a number from 0 to 1');
  });

  it('setWebhooks starts deliveries after the start and stops them', async () => {
    const emu = await dynamics();
    const receiver = await startReceiver();
    receivers.push(receiver);
    await call(emu, 'POST', 'accounts', { json: { name: 'Before' } });
    emu.setWebhooks({ url: `${receiver.url}/hooks/dataverse`, key: KEY });
    await call(emu, 'POST', 'accounts', { json: { name: 'During' } });
    await emu.webhooksIdle();
    emu.setWebhooks(undefined);
    await call(emu, 'POST', 'accounts', { json: { name: 'After' } });
    await emu.webhooksIdle();
    expect(receiver.posts.map((post) => attributesOf(post.json).name)).toEqual(['During']);
    expect(receiver.posts[0]!.path).toBe(`/hooks/dataverse?code=${KEY}`);
  });
});
