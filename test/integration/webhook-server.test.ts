import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { openStore, type Store } from '../../src/db/database.js';
import { healthReport } from '../../src/db/health.js';
import { storeExposition } from '../../src/db/metrics-exposition.js';
import { SyncHistoryRepository } from '../../src/db/sync-history.js';
import { WebhookEvents } from '../../src/db/webhook-events.js';
import { UsageError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { healthVerdict } from '../../src/server/probes.js';
import { startWebhookServer, type WebhookServer, type WebhookServerOptions } from '../../src/server/webhook-server.js';
import { tempDir } from '../helpers/cli.js';
import { dynamicsBody, hubspotBody, hubspotSignature, rawPost, stalledClient } from '../helpers/webhooks.js';

// The webhook server in this process on 127.0.0.1, storing into a database file of its own:
// every refusal leaves webhook_events empty, and neither the HubSpot client secret nor the
// Dataverse key ever reaches the log or any table.

const SECRET = 'hs-client-secret-4f0c9e2a-77b1';
const KEY = 'dv+key/with=special&chars-19ad';
const SECRETS = [SECRET, KEY, encodeURIComponent(KEY)];
const JSON_TYPE = { 'Content-Type': 'application/json' };

interface Running {
  server: WebhookServer;
  store: Store;
  dbPath: string;
  lines: string[];
  storedCalls: number[];
  /** The server's clock; tests move it. */
  clock: { now: number };
}

let running: Running | undefined;

async function start(overrides: Partial<WebhookServerOptions> = {}, store?: { path: string; readOnly: boolean }): Promise<Running> {
  const dbPath = store?.path ?? join(tempDir(), 'crmsync.db');
  const opened = openStore(dbPath, { readOnly: store?.readOnly ?? false });
  const lines: string[] = [];
  const storedCalls: number[] = [];
  const clock = { now: Date.now() };
  let server: WebhookServer;
  try {
    server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      hubspotSecret: SECRET,
      dynamicsKey: KEY,
      events: new WebhookEvents(opened),
      onStored: (count) => storedCalls.push(count),
      health: () => healthVerdict(opened),
      metrics: () => storeExposition(opened),
      log: createLogger('debug', (line) => lines.push(line)),
      now: () => clock.now,
      ...overrides,
    });
  } catch (error) {
    opened.close();
    throw error;
  }
  running = { server, store: opened, dbPath, lines, storedCalls, clock };
  return running;
}

afterEach(async () => {
  if (!running) return;
  const { server, store, lines } = running;
  running = undefined;
  await server.close();
  for (const secret of SECRETS) {
    expect(lines.join('')).not.toContain(secret);
    expect(everyValue(store)).not.toContain(secret);
  }
  store.close();
});

/** Every value of every row of every table, as one text. */
function everyValue(store: Store): string {
  const tables = store.sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  return tables.map((table) => JSON.stringify(store.sqlite.prepare(`SELECT * FROM "${table}"`).all())).join('\n');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const storedEvents = (store: Store) => store.sqlite.prepare('SELECT count(*) FROM webhook_events').pluck().get() as number;

/** POSTs a HubSpot delivery signed for `signedPath` (default: the path posted to) at `timestamp`. */
async function postHubspot(
  app: Running,
  body: string,
  options: { timestamp?: number; secret?: string; path?: string; signedUri?: string; signature?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const path = options.path ?? '/webhooks/hubspot';
  const timestamp = options.timestamp ?? app.clock.now;
  const signature = options.signature ?? hubspotSignature(options.secret ?? SECRET, options.signedUri ?? `${app.server.url}${path}`, body, timestamp);
  return fetch(`${app.server.url}${path}`, {
    method: 'POST',
    headers: { ...JSON_TYPE, 'X-HubSpot-Signature-v3': signature, 'X-HubSpot-Request-Timestamp': String(timestamp), ...options.headers },
    body,
  });
}

async function expectRefused(answer: Response, status: number, message: RegExp): Promise<void> {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(await answer.json()).toEqual({ message: expect.stringMatching(message) });
}

describe('HubSpot deliveries', () => {
  test('a signed delivery is stored before the 200 that counts it; onStored hears of it', async () => {
    const app = await start();
    const answer = await postHubspot(app, hubspotBody([9001, 9002]));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ stored: 2, duplicates: 0 });
    expect(storedEvents(app.store)).toBe(2);
    expect(new WebhookEvents(app.store).find('hubspot', '9001')).toMatchObject({ kind: 'contact.propertyChange', objectType: 'contact', objectId: '501' });
    expect(app.storedCalls).toEqual([2]);
    expect(app.lines.join('')).toContain('debug: webhook hubspot: stored=2 duplicates=0');
  });

  test('a replayed eventId is answered 200 again and stored once; onStored is not called for it', async () => {
    const app = await start();
    const body = hubspotBody([9100]);
    expect(await (await postHubspot(app, body)).json()).toEqual({ stored: 1, duplicates: 0 });
    app.clock.now += 30_000;
    const again = await postHubspot(app, body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ stored: 0, duplicates: 1 });
    expect(storedEvents(app.store)).toBe(1);
    expect(app.storedCalls).toEqual([1]);
  });

  test('a forged signature, the wrong secret, missing headers: 401, one warn line without any header value, nothing stored', async () => {
    const app = await start();
    const body = hubspotBody([9200]);
    const forged = 'Zm9yZ2VkLXNpZ25hdHVyZS12YWx1ZS0xMjM0NTY3ODkwYWI=';
    await expectRefused(await postHubspot(app, body, { signature: forged }), 401, /^X-HubSpot-Signature-v3 does not match$/);
    await expectRefused(await postHubspot(app, body, { secret: 'another-apps-secret' }), 401, /does not match/);
    const tampered = hubspotSignature(SECRET, `${app.server.url}/webhooks/hubspot`, body, app.clock.now);
    await expectRefused(await postHubspot(app, hubspotBody([9201]), { signature: tampered }), 401, /does not match/);
    const unsigned = await fetch(`${app.server.url}/webhooks/hubspot`, { method: 'POST', headers: JSON_TYPE, body });
    await expectRefused(unsigned, 401, /^no X-HubSpot-Signature-v3 header$/);
    await expectRefused(await postHubspot(app, body, { headers: { 'X-HubSpot-Request-Timestamp': '' } }), 401, /^no X-HubSpot-Request-Timestamp header$/);
    expect(storedEvents(app.store)).toBe(0);
    const warnings = app.lines.filter((line) => line.includes('warn: '));
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toMatch(/warn: POST \/webhooks\/hubspot refused: 401 X-HubSpot-Signature-v3 does not match\n$/);
    expect(app.lines.join('')).not.toContain(forged);
    expect(app.lines.join('')).not.toContain(String(app.clock.now));
  });

  test('a timestamp over 5 minutes old or over 5 minutes ahead is refused, even correctly signed; within 5 minutes either way it is accepted', async () => {
    const app = await start();
    const now = app.clock.now;
    await expectRefused(await postHubspot(app, hubspotBody([9300]), { timestamp: now - 300_001 }), 401, /more than 5 minutes old/);
    await expectRefused(await postHubspot(app, hubspotBody([9301]), { timestamp: now + 300_001 }), 401, /more than 5 minutes in the future/);
    await expectRefused(await postHubspot(app, hubspotBody([9302]), { timestamp: Math.floor(now / 1000) - 1 }), 401, /more than 5 minutes old/);
    expect(storedEvents(app.store)).toBe(0);
    expect((await postHubspot(app, hubspotBody([9303]), { timestamp: now - 299_000 })).status).toBe(200);
    expect((await postHubspot(app, hubspotBody([9304]), { timestamp: now + 299_000 })).status).toBe(200);
    expect(storedEvents(app.store)).toBe(2);
  });

  test('a URI with escapes is checked as HubSpot signs it, those escapes decoded; signed as sent it is refused', async () => {
    const app = await start();
    const path = '/webhooks/hubspot?a=b%3Ac&d=%40x&e=%2f%20';
    const decoded = `${app.server.url}/webhooks/hubspot?a=b:c&d=@x&e=/%20`;
    await expectRefused(await postHubspot(app, hubspotBody([9400]), { path, signedUri: `${app.server.url}${path}` }), 401, /does not match/);
    expect(storedEvents(app.store)).toBe(0);
    expect((await postHubspot(app, hubspotBody([9401]), { path, signedUri: decoded })).status).toBe(200);
    expect(storedEvents(app.store)).toBe(1);
  });

  test('behind a proxy the signed URI is the public origin with the path requested', async () => {
    const app = await start({ publicUrl: 'https://sync.example.com/ignored/path' });
    await expectRefused(await postHubspot(app, hubspotBody([9500])), 401, /does not match/);
    expect((await postHubspot(app, hubspotBody([9501]), { signedUri: 'https://sync.example.com/webhooks/hubspot' })).status).toBe(200);
    expect(storedEvents(app.store)).toBe(1);
  });

  test("a signature whose '+' a proxy turned into spaces, even a leading one that is then trimmed, is accepted", async () => {
    const app = await start();
    const uri = `${app.server.url}/webhooks/hubspot`;
    const signedWith = (body: string, wanted: (signature: string) => boolean) => {
      for (let back = 0; back < 20_000; back++) {
        const timestamp = app.clock.now - back;
        const signature = hubspotSignature(SECRET, uri, body, timestamp);
        if (wanted(signature)) return { timestamp, signature };
      }
      throw new Error('no such signature within 20,000 timestamps');
    };
    const inside = hubspotBody([9600]);
    const plusInside = signedWith(inside, (signature) => signature.slice(1).includes('+') && !signature.startsWith('+'));
    const answer = await postHubspot(app, inside, { timestamp: plusInside.timestamp, signature: plusInside.signature.replaceAll('+', ' ') });
    expect(answer.status).toBe(200);
    const leading = hubspotBody([9601]);
    const plusFirst = signedWith(leading, (signature) => signature.startsWith('+'));
    expect((await postHubspot(app, leading, { timestamp: plusFirst.timestamp, signature: plusFirst.signature.replaceAll('+', ' ') })).status).toBe(200);
    expect(storedEvents(app.store)).toBe(2);
  });

  test('without HUBSPOT_CLIENT_SECRET the route answers 404 and says what to set', async () => {
    const app = await start({ hubspotSecret: undefined });
    await expectRefused(await postHubspot(app, hubspotBody([9700])), 404, /^HubSpot webhooks are not configured \(set HUBSPOT_CLIENT_SECRET\)$/);
    expect(storedEvents(app.store)).toBe(0);
  });
});

describe('Dataverse deliveries', () => {
  const OPERATION = '3c2f7a10-5b8e-4d71-9f0a-aa11bb22cc33';
  const post = (app: Running, query: string, headers: Record<string, string> = {}, body = dynamicsBody(OPERATION)) =>
    fetch(`${app.server.url}/webhooks/dynamics${query}`, { method: 'POST', headers: { ...JSON_TYPE, ...headers }, body });

  test('the key in the code query parameter (escaped or not) or in the x-webhook-key header is accepted; a redelivery is stored once', async () => {
    const app = await start();
    const answer = await post(app, `?code=${encodeURIComponent(KEY)}`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ stored: 1, duplicates: 0 });
    expect(new WebhookEvents(app.store).find('dynamics', OPERATION)).toMatchObject({ kind: 'Update', objectType: 'contact' });
    expect(await (await post(app, '', { 'x-webhook-key': KEY })).json()).toEqual({ stored: 0, duplicates: 1 });
    // The characters Dataverse may leave unescaped in the query: '+' stays a plus, not a space.
    expect((await post(app, `?code=${KEY.replaceAll('&', '%26')}`, {}, dynamicsBody('3c2f7a10-5b8e-4d71-9f0a-aa11bb22cc34'))).status).toBe(200);
    expect(storedEvents(app.store)).toBe(2);
    expect(app.storedCalls).toEqual([1, 1]);
  });

  test('a wrong or missing key is 401 and stores nothing; without D365_WEBHOOK_KEY the route is 404', async () => {
    const app = await start();
    await expectRefused(await post(app, '?code=not-the-key'), 401, /^the key does not match D365_WEBHOOK_KEY$/);
    await expectRefused(await post(app, '', { 'x-webhook-key': `${KEY}x` }), 401, /does not match/);
    await expectRefused(await post(app, ''), 401, /^no key: /);
    expect(storedEvents(app.store)).toBe(0);
    expect(app.lines.join('')).not.toContain('not-the-key');
    await app.server.close();
    const bare = await start({ dynamicsKey: undefined }, { path: app.dbPath, readOnly: false });
    app.store.close();
    await expectRefused(await post(bare, `?code=${encodeURIComponent(KEY)}`), 404, /^Dynamics 365 webhooks are not configured \(set D365_WEBHOOK_KEY\)$/);
  });
});

describe('bad requests', () => {
  test('wrong method, wrong content type, malformed JSON, the wrong shape, an unknown path: each refused with its status, nothing stored', async () => {
    const app = await start();
    const get = await fetch(`${app.server.url}/webhooks/hubspot`);
    await expectRefused(get, 405, /only POST/);
    expect(get.headers.get('allow')).toBe('POST');
    await expectRefused(await postHubspot(app, hubspotBody([9800]), { headers: { 'Content-Type': 'text/plain' } }), 415, /Content-Type: application\/json/);
    expect((await postHubspot(app, hubspotBody([9801]), { headers: { 'Content-Type': 'Application/JSON; charset=utf-8' } })).status).toBe(200);
    await expectRefused(await postHubspot(app, '[{"eventId": 1,'), 400, /^the body is not JSON$/);
    await expectRefused(await postHubspot(app, '{"eventId": 1}'), 400, /^the body is not a HubSpot webhook: expected a JSON array of events$/);
    await expectRefused(await postHubspot(app, '[{"eventId": 7}]'), 400, /event 0 has no subscriptionType/);
    const dynamics = await fetch(`${app.server.url}/webhooks/dynamics`, { method: 'POST', headers: { ...JSON_TYPE, 'x-webhook-key': KEY }, body: '[]' });
    await expectRefused(dynamics, 400, /^the body is not a Dynamics 365 webhook: /);
    await expectRefused(await fetch(`${app.server.url}/webhooks/other`, { method: 'POST' }), 404, /^no such path/);
    expect(storedEvents(app.store)).toBe(1);
  });

  test('a body over the cap is 413: at once from its Content-Length, and chunked once the cap is passed, without reading on', async () => {
    const app = await start({ limits: { maxBodyBytes: 64 * 1024 } });
    const headers = { ...JSON_TYPE, 'X-HubSpot-Signature-v3': 'x', 'X-HubSpot-Request-Timestamp': String(app.clock.now) };
    const declared = await rawPost(`${app.server.url}/webhooks/hubspot`, { ...headers, 'Content-Length': String(64 * 1024 + 1) }, []);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toEqual({ message: 'the body is larger than 65536 bytes' });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const chunked = await rawPost(`${app.server.url}/webhooks/hubspot`, headers, Array.from({ length: 640 }, () => chunk));
    expect(chunked.status).toBe(413);
    expect(chunked.headers.connection).toBe('close');
    expect(chunked.written).toBeLessThan(640 * chunk.length);
    const dynamics = await rawPost(`${app.server.url}/webhooks/dynamics?code=${encodeURIComponent(KEY)}`, JSON_TYPE, Array.from({ length: 640 }, () => chunk));
    expect(dynamics.status).toBe(413);
    expect(storedEvents(app.store)).toBe(0);
    expect((await postHubspot(app, hubspotBody([9900]))).status).toBe(200);
  });

  test('a client that never finishes its headers is answered 408 and closed; others are served meanwhile', async () => {
    const app = await start({ limits: { headersTimeoutMs: 400, requestTimeoutMs: 1_000 } });
    const stalled = stalledClient(app.server.port, 'POST /webhooks/hubspot HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n');
    expect((await postHubspot(app, hubspotBody([9950]))).status).toBe(200);
    const { received, closedAfterMs } = await stalled;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(350);
    expect(closedAfterMs).toBeLessThan(5_000);
    expect((await postHubspot(app, hubspotBody([9951]))).status).toBe(200);
    expect(storedEvents(app.store)).toBe(2);
  });

  test('a failure to store is 500 (the CRM sends it again), logged at error', async () => {
    const dbPath = join(tempDir(), 'crmsync.db');
    openStore(dbPath).close();
    const app = await start({}, { path: dbPath, readOnly: true });
    await expectRefused(await postHubspot(app, hubspotBody([9990])), 500, /^the events could not be stored; send them again$/);
    expect(app.lines.join('')).toMatch(/error: webhook hubspot: 1 events not stored: /);
    expect(app.storedCalls).toEqual([]);
  });
});

describe('flood limit', () => {
  test('past the limit HubSpot is told 429 and Dataverse 503, both with Retry-After and nothing stored; a second later both are accepted again', async () => {
    const app = await start({ limits: { requestsPerSecond: 5 } });
    const answers = [];
    for (let index = 0; index < 14; index++) answers.push(await postHubspot(app, hubspotBody([10_000 + index])));
    expect(answers.map((answer) => answer.status)).toEqual([...Array(10).fill(200), 429, 429, 429, 429]);
    expect(answers[10].headers.get('retry-after')).toBe('1');
    await expectRefused(answers[10], 429, /too many requests/);
    expect(storedEvents(app.store)).toBe(10);
    const dynamics = (operation: string) =>
      fetch(`${app.server.url}/webhooks/dynamics`, { method: 'POST', headers: { ...JSON_TYPE, 'x-webhook-key': KEY }, body: dynamicsBody(operation) });
    for (let index = 0; index < 10; index++) expect((await dynamics(`00000000-0000-0000-0000-0000000000${10 + index}`)).status).toBe(200);
    const refused = await dynamics('00000000-0000-0000-0000-000000000099');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(storedEvents(app.store)).toBe(20);
    app.clock.now += 1_000;
    expect((await postHubspot(app, hubspotBody([10_100]))).status).toBe(200);
    expect((await dynamics('00000000-0000-0000-0000-000000000099')).status).toBe(200);
    expect(storedEvents(app.store)).toBe(22);
    // One warn line a route while the flood lasts, not one a refusal.
    expect(app.lines.filter((line) => line.includes('warn: '))).toEqual([
      expect.stringMatching(/warn: POST \/webhooks\/hubspot refused: 429 past the flood limit, 1 since the last such line\n$/),
      expect.stringMatching(/warn: POST \/webhooks\/dynamics refused: 503 past the flood limit, 1 since the last such line\n$/),
    ]);
  });

  test('the limit comes before the signature: unsigned requests past it are 429 too', async () => {
    const app = await start({ limits: { requestsPerSecond: 1 } });
    const unsigned = () => fetch(`${app.server.url}/webhooks/hubspot`, { method: 'POST', headers: JSON_TYPE, body: '[]' });
    expect([(await unsigned()).status, (await unsigned()).status, (await unsigned()).status]).toEqual([401, 401, 429]);
  });
});

describe('starting', () => {
  test('a port in use and a --public-url that is not an http(s) URL are one UsageError line each', async () => {
    const app = await start();
    const second = start({ port: app.server.port });
    await expect(second).rejects.toThrow(new UsageError(`cannot listen on 127.0.0.1:${app.server.port}: the port is in use; stop what holds it or choose another with --port`));
    await expect(start({ publicUrl: 'sync.example.com' })).rejects.toThrow(
      new UsageError('--public-url "sync.example.com" is not an http(s) URL: give the address the CRMs post to, such as https://sync.example.com'),
    );
  });
});

describe('health, metrics and closing', () => {
  test('/healthz is the verdict of crmsync health as JSON, 503 before any run and 200 once one finished; /metrics is Prometheus text', async () => {
    const app = await start();
    const before = await fetch(`${app.server.url}/healthz`);
    expect(before.status).toBe(503);
    expect(before.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await before.json()).toEqual({ healthy: false, message: expect.stringMatching(/^no sync runs recorded in /) });
    const history = new SyncHistoryRepository(app.store);
    const { runId } = history.begin('hubspot', 'contacts', () => ({ entity: 'contacts', source: 'hubspot', syncMode: 'full', configuration: {}, watermark: null }));
    history.finish(runId, { status: 'success', metrics: {} });
    const after = await fetch(`${app.server.url}/healthz`);
    expect(after.status).toBe(200);
    const { checkedAt, ...report } = healthReport(app.store);
    expect(await after.json()).toEqual({ ...report, checkedAt: expect.any(String) });
    expect(checkedAt).toEqual(expect.any(String));
    const metrics = await fetch(`${app.server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await metrics.text()).toContain('crmsync_last_run_status{object="contacts",source="hubspot",status="success"} 1');
    await expectRefused(await fetch(`${app.server.url}/metrics`, { method: 'POST' }), 405, /only GET/);
  });

  test('close() lets a delivery in progress finish and be stored, then refuses new connections', async () => {
    const app = await start();
    const body = Buffer.from(hubspotBody([11_000]));
    const timestamp = app.clock.now;
    const headers = {
      ...JSON_TYPE,
      'Content-Length': String(body.length),
      'X-HubSpot-Signature-v3': hubspotSignature(SECRET, `${app.server.url}/webhooks/hubspot`, body.toString(), timestamp),
      'X-HubSpot-Request-Timestamp': String(timestamp),
    };
    const delivery = httpRequest(`${app.server.url}/webhooks/hubspot`, { method: 'POST', headers });
    const answered = new Promise<{ status?: number; body: string }>((resolve) =>
      delivery.on('response', (response) => {
        let text = '';
        response.on('data', (data: Buffer) => (text += data.toString()));
        response.on('end', () => resolve({ status: response.statusCode, body: text }));
      }),
    );
    delivery.write(body.subarray(0, 40));
    await pause(100);
    let closed = false;
    const closing = app.server.close().then(() => (closed = true));
    await pause(100);
    expect(closed).toBe(false);
    await expect(fetch(`${app.server.url}/healthz`)).rejects.toThrow();
    delivery.end(body.subarray(40));
    expect(await answered).toEqual({ status: 200, body: '{"stored":1,"duplicates":0}' });
    await closing;
    expect(storedEvents(app.store)).toBe(1);
    expect(app.storedCalls).toEqual([1]);
  });
});
