/**
 * Webhooks of the HubSpot emulator, received by a plain node:http server: v3 signatures
 * that verify, the events of creations, property changes and deletions (single, batch and
 * custom objects), batches of at most 100, HubSpot's retry rules and the seeded drop rate.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubSpotWebhookOptions } from '../src/hubspot/index.js';
import { closeAll, emulator, fakeClock, raw } from './helpers.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

const SECRET = 'app-client-secret';
const receivers: Receiver[] = [];

afterEach(async () => {
  await closeAll();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function setup(webhooks: Partial<HubSpotWebhookOptions> = {}, path = '/hooks/hubspot') {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const clock = fakeClock();
  const emu = await emulator({ seed: { contacts: 3 }, now: clock.now, webhooks: { url: `${receiver.url}${path}`, secret: SECRET, retryBaseMs: 10, ...webhooks } });
  return { emu, receiver, clock };
}

/** Every event received, in eventId order. */
const eventsOf = (receiver: Receiver): any[] => receiver.posts.flatMap((post) => post.json).sort((a, b) => a.eventId - b.eventId);

/** HubSpot's v3 check, written from its documentation rather than from the emulator's code. */
function verifies(receiver: Receiver, index: number, url: string): boolean {
  const post = receiver.posts[index]!;
  const timestamp = post.headers['x-hubspot-request-timestamp'] as string;
  const uri = url.replace(/%3A/gi, ':').replace(/%2F/gi, '/').replace(/%3F/gi, '?').replace(/%40/gi, '@').replace(/%2C/gi, ',');
  const expected = createHmac('sha256', SECRET).update('POST' + uri + post.body + timestamp).digest('base64');
  return expected === post.headers['x-hubspot-signature-v3'];
}

describe('events', () => {
  it('a create, an update and a delete give creation, one propertyChange per changed property, and deletion', async () => {
    const { emu, receiver, clock } = await setup();
    const created = await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'ada@example.com', firstname: 'Ada' } });
    const id = Number(created.body.id);
    const createdAt = clock.now();
    clock.advance(1000);
    // firstname unchanged, lastname new, email changed: two events.
    await raw(emu, 'PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { firstname: 'Ada', lastname: 'Lovelace', email: 'ada@lovelace.org' } });
    // Nothing changes: no event.
    await raw(emu, 'PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { firstname: 'Ada' } });
    clock.advance(1000);
    expect((await raw(emu, 'DELETE', `/crm/v3/objects/contacts/${id}`)).status).toBe(204);
    // Archiving again changes nothing: no second deletion.
    await raw(emu, 'DELETE', `/crm/v3/objects/contacts/${id}`);
    await emu.webhooksIdle();

    const events = eventsOf(receiver);
    expect(events.map((event) => [event.subscriptionType, event.propertyName])).toEqual([
      ['contact.creation', undefined],
      ['contact.propertyChange', 'email'],
      ['contact.propertyChange', 'lastname'],
      ['contact.deletion', undefined],
    ]);
    const [creation, email, lastname, deletion] = events;
    expect(creation).toEqual({
      eventId: creation.eventId,
      subscriptionId: creation.subscriptionId,
      portalId: 12345678,
      appId: 1160452,
      occurredAt: createdAt,
      subscriptionType: 'contact.creation',
      attemptNumber: 0,
      objectId: id,
      changeSource: 'INTEGRATION',
      sourceId: '1160452',
      changeFlag: 'CREATED',
    });
    expect(email).toMatchObject({ objectId: id, propertyName: 'email', propertyValue: 'ada@lovelace.org', occurredAt: createdAt + 1000 });
    expect(email.changeFlag).toBeUndefined();
    expect(lastname).toMatchObject({ propertyValue: 'Lovelace' });
    expect(email.subscriptionId).not.toBe(lastname.subscriptionId);
    expect(deletion).toMatchObject({ objectId: id, changeFlag: 'DELETED', occurredAt: createdAt + 2000 });
    expect(new Set(events.map((event) => event.eventId)).size).toBe(4);
    expect(emu.webhooks).toMatchObject({ queued: 4, delivered: 4, dropped: 0, failed: 0, retries: 0, pending: 0 });
  });

  it('each POST is a JSON array signed with the v3 signature over the full URL', async () => {
    const path = '/hooks/hubspot?source=hub%3Aspot&x=%2Fy';
    const { emu, receiver } = await setup({}, path);
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'sig@example.com' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(1);
    const post = receiver.posts[0]!;
    expect(post.path).toBe(path);
    expect(post.headers['content-type']).toBe('application/json');
    expect(Array.isArray(post.json)).toBe(true);
    expect(Math.abs(Number(post.headers['x-hubspot-request-timestamp']) - Date.now())).toBeLessThan(60_000);
    expect(verifies(receiver, 0, `${receiver.url}${path}`)).toBe(true);
  });

  it('batch writes, upserts and archives queue events; store writes do not', async () => {
    const { emu, receiver } = await setup();
    emu.store.create('contacts', { email: 'direct@example.com' });
    const batch = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [{ properties: { email: 'b1@example.com' } }, { properties: { email: 'b2@example.com' } }],
    });
    const [first, second] = batch.body.results.map((result: any) => Number(result.id));
    await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: String(first), properties: { firstname: 'One' } }] });
    const upsert = await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { id: 'b2@example.com', idProperty: 'email', properties: { jobtitle: 'Engineer' } },
        { id: 'new@example.com', idProperty: 'email', properties: {} },
      ],
    });
    await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: String(first) }, { id: '999999' }] });
    await emu.webhooksIdle();
    const events = eventsOf(receiver).map((event) => [event.subscriptionType, event.objectId, event.propertyName]);
    const created = Number(upsert.body.results.find((result: any) => result.new).id);
    expect(events).toEqual([
      ['contact.creation', first, undefined],
      ['contact.creation', second, undefined],
      ['contact.propertyChange', first, 'firstname'],
      ['contact.propertyChange', second, 'jobtitle'],
      ['contact.creation', created, undefined],
      ['contact.deletion', first, undefined],
    ]);
  });

  it('line items and custom objects use the generic object.* types with their objectTypeId', async () => {
    const { emu, receiver } = await setup();
    const item = await raw(emu, 'POST', '/crm/v3/objects/line_items', { properties: { name: 'Widget' } });
    const appointment = await raw(emu, 'POST', '/crm/v3/objects/appointments', { properties: { appointment_name: 'Visit' } });
    expect(appointment.status).toBe(201);
    await raw(emu, 'PATCH', `/crm/v3/objects/2-1234567/${appointment.body.id}`, { properties: { appointment_name: 'Second visit' } });
    await emu.webhooksIdle();
    expect(eventsOf(receiver).map((event) => [event.subscriptionType, event.objectTypeId, event.objectId])).toEqual([
      ['object.creation', '0-8', Number(item.body.id)],
      ['object.creation', '2-1234567', Number(appointment.body.id)],
      ['object.propertyChange', '2-1234567', Number(appointment.body.id)],
    ]);
  });

  it('a burst is sent in POSTs of at most 100 events', async () => {
    const { emu, receiver } = await setup({ batchDelayMs: 200 });
    for (let round = 0; round < 3; round++) {
      const inputs = Array.from({ length: 50 }, (_, k) => ({ properties: { email: `burst${round}-${k}@example.com` } }));
      await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', { inputs });
    }
    await emu.webhooksIdle();
    expect(receiver.posts.map((post) => post.json.length)).toEqual([100, 50]);
    expect(emu.webhooks.delivered).toBe(150);
  });
});

describe('delivery', () => {
  it('a 500 is retried, signed anew, with rising attemptNumber, until a 2xx', async () => {
    const { emu, receiver } = await setup();
    receiver.answer((index) => ({ status: index < 2 ? 500 : 204 }));
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'retry@example.com' } });
    await emu.webhooksIdle();
    expect(receiver.posts.map((post) => post.json[0].attemptNumber)).toEqual([0, 1, 2]);
    expect(new Set(receiver.posts.map((post) => post.json[0].eventId)).size).toBe(1);
    for (let k = 0; k < 3; k++) expect(verifies(receiver, k, `${receiver.url}/hooks/hubspot`)).toBe(true);
    // Doubling backoff from 10 ms: the second wait is the longer.
    const [a, b, c] = receiver.posts.map((post) => post.at);
    expect(c! - b!).toBeGreaterThanOrEqual(b! - a! - 5);
    expect(emu.webhooks).toMatchObject({ delivered: 1, retries: 2, failed: 0, pending: 0 });
  });

  it('gives up after maxAttempts, and never retries a 400', async () => {
    const { emu, receiver } = await setup({ maxAttempts: 3 });
    receiver.answer(() => ({ status: 503 }));
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'down@example.com' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(3);
    expect(emu.webhooks).toMatchObject({ failed: 1, retries: 2, delivered: 0 });

    receiver.answer(() => ({ status: 400 }));
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'bad@example.com' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(4);
    expect(emu.webhooks).toMatchObject({ failed: 2, retries: 2 });
  });

  it('a 429 waits for its Retry-After', async () => {
    const { emu, receiver } = await setup();
    receiver.answer((index) => (index === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 }));
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'slow@example.com' } });
    await emu.webhooksIdle();
    expect(receiver.posts).toHaveLength(2);
    expect(receiver.posts[1]!.at - receiver.posts[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('a receiver that is down is retried; the API answers at once all the same', async () => {
    const receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    const emu = await emulator({ webhooks: { url, secret: SECRET, retryBaseMs: 5, maxAttempts: 2 } });
    const started = Date.now();
    expect((await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'nobody@example.com' } })).status).toBe(201);
    expect(Date.now() - started).toBeLessThan(1000);
    await emu.webhooksIdle();
    expect(emu.webhooks).toMatchObject({ failed: 1, retries: 1, pending: 0 });
  });

  it('close() abandons a pending retry without waiting for it', async () => {
    const { emu, receiver } = await setup({ retryBaseMs: 60_000 });
    receiver.answer(() => ({ status: 500 }));
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'later@example.com' } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(emu.webhooks).toMatchObject({ retries: 1, pending: 1 });
    const started = Date.now();
    await emu.close();
    await emu.webhooksIdle();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('dropRate', () => {
  async function createContacts(emu: Awaited<ReturnType<typeof emulator>>, count: number): Promise<void> {
    for (let start = 0; start < count; start += 100) {
      const inputs = Array.from({ length: Math.min(100, count - start) }, (_, k) => ({ properties: { email: `drop${start + k}@example.com` } }));
      await raw(emu, 'POST', '/crm/v3/objects/contacts/batch/create', { inputs });
    }
    await emu.webhooksIdle();
  }

  it('1 delivers nothing', async () => {
    const { emu, receiver } = await setup({ dropRate: 1 });
    await createContacts(emu, 20);
    expect(receiver.posts).toHaveLength(0);
    expect(emu.webhooks).toMatchObject({ queued: 20, dropped: 20, delivered: 0, pending: 0 });
  });

  it('0.2 loses about a fifth, the same events in every run', async () => {
    const received: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const { emu, receiver } = await setup({ dropRate: 0.2 });
      await createContacts(emu, 500);
      expect(emu.webhooks.dropped).toBeGreaterThan(70);
      expect(emu.webhooks.dropped).toBeLessThan(130);
      expect(emu.webhooks.delivered + emu.webhooks.dropped).toBe(500);
      received.push(eventsOf(receiver).map((event) => event.eventId));
      await closeAll();
    }
    expect(received[0]).toEqual(received[1]);
  });
});

describe('options', () => {
  it('are checked at start', async () => {
    await expect(emulator({ webhooks: { url: 'not a url', secret: SECRET } })).rejects.toThrow('webhooks.url must be an http or https URL');
    await expect(emulator({ webhooks: { url: 'http://127.0.0.1:1/', secret: '' } })).rejects.toThrow('webhooks.secret');
    await expect(emulator({ webhooks: { url: 'http://127.0.0.1:1/', secret: SECRET, dropRate: 1.5 } })).rejects.toThrow('webhooks.dropRate must be a number from 0 to 1');
  });

  it('without webhooks the counters stay 0 and webhooksIdle resolves', async () => {
    const emu = await emulator();
    await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'quiet@example.com' } });
    await emu.webhooksIdle();
    expect(emu.webhooks).toEqual({ queued: 0, delivered: 0, dropped: 0, failed: 0, retries: 0, pending: 0 });
  });

  it('setWebhooks starts deliveries after the start, points them elsewhere, and stops them; invalid options change nothing', async () => {
    const emu = await emulator();
    const [first, second] = [await startReceiver(), await startReceiver()];
    receivers.push(first, second);
    const create = (email: string) => raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email } });
    await create('before@example.com');
    emu.setWebhooks({ url: `${first.url}/hooks`, secret: SECRET });
    await create('first@example.com');
    await emu.webhooksIdle();
    expect(() => emu.setWebhooks({ url: 'not a url', secret: SECRET })).toThrow('webhooks.url must be an http or https URL');
    emu.setWebhooks({ url: `${second.url}/hooks`, secret: SECRET });
    await create('second@example.com');
    await emu.webhooksIdle();
    expect(emu.webhooks).toMatchObject({ queued: 1, delivered: 1 });
    emu.setWebhooks(undefined);
    await create('after@example.com');
    await emu.webhooksIdle();
    expect([first, second].map((receiver) => eventsOf(receiver).map((event) => event.subscriptionType))).toEqual([['contact.creation'], ['contact.creation']]);
    expect(verifies(second, 0, `${second.url}/hooks`)).toBe(true);
    expect(emu.webhooks.queued).toBe(0);
  });
});
