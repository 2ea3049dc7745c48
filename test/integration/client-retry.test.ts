import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { HubSpotClient } from '../../src/clients/hubspot/client.js';
import { AuthError, ApiError } from '../../src/errors.js';

type Reply = { status: number; body?: string; headers?: Record<string, string>; reset?: boolean };
const FAST = { retries: 4, minDelayMs: 1, maxDelayMs: 5, timeoutMs: 2_000, rateLimitWaitMs: 10 };
const page = JSON.stringify({ results: [{ id: '1', properties: {} }] });
let server: Server | undefined;

/** A server that answers with the scripted replies in order, then 200 with one record. */
async function scripted(replies: Reply[]): Promise<{ url: string; seen: () => number }> {
  let count = 0;
  server = createServer((request, response) => {
    const reply = replies[count++] ?? { status: 200, body: page };
    if (reply.reset) {
      request.socket.destroy();
      return;
    }
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    response.end(reply.body ?? '');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => count };
}
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

const TOKEN = 'pat-secret-token-value';
const list = (client: HubSpotClient) => client.listPage('contacts', { limit: 10, properties: ['email'] });

describe('the retry policy', () => {
  test('transient failures are retried and counted', async () => {
    const { url, seen } = await scripted([
      { status: 502, body: '<html>bad gateway</html>' },
      { status: 503, body: '{"status":"error","message":"unavailable"}' },
      { reset: true, status: 0 },
      { status: 200, body: '{"results":[{"id":"1"' },
    ]);
    const client = new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST });
    const result = await list(client);
    expect(result.results).toHaveLength(1);
    expect(seen()).toBe(5);
    expect(client.metrics).toMatchObject({ requests: 5, retries: 4, rateLimited: 0 });
  });

  test('a 429 waits at least Retry-After', async () => {
    const { url } = await scripted([
      { status: 429, headers: { 'retry-after': '1' }, body: JSON.stringify({ status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' }) },
    ]);
    const client = new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST });
    const started = performance.now();
    await list(client);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(client.metrics).toMatchObject({ requests: 2, retries: 1, rateLimited: 1 });
  });

  test('retries are bounded', async () => {
    const { url, seen } = await scripted(Array.from({ length: 10 }, () => ({ status: 500, body: '{}' })));
    const client = new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST });
    await expect(list(client)).rejects.toThrow(ApiError);
    await expect(list(new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST }))).rejects.toThrow(/list contacts still failing after 5 attempts: HubSpot answered 500/);
    expect(seen()).toBe(10);
  });

  test.each([
    [401, { status: 'error', message: `Authentication credentials not found. token ${TOKEN}`, category: 'INVALID_AUTHENTICATION' }, /HubSpot rejected HUBSPOT_ACCESS_TOKEN \(401 INVALID_AUTHENTICATION\)/],
    [
      403,
      { status: 'error', message: 'scopes', category: 'MISSING_SCOPES', errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.contacts.read'] } }] },
      /HubSpot refused list contacts \(403 MISSING_SCOPES\): HUBSPOT_ACCESS_TOKEN lacks a scope; grant the private app the scope crm\.objects\.contacts\.read/,
    ],
  ])('%i fails at once with a message saying what to fix, without the token', async (status, body, message) => {
    const { url, seen } = await scripted([{ status, body: JSON.stringify(body) }]);
    const client = new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST });
    const error = await list(client).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(seen()).toBe(1);
  });

  test('a 400 fails at once with HubSpot\'s message', async () => {
    const { url, seen } = await scripted([{ status: 400, body: JSON.stringify({ status: 'error', message: 'limit must be <= 100', category: 'VALIDATION_ERROR' }) }]);
    const client = new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST });
    await expect(list(client)).rejects.toThrow('list contacts: HubSpot rejected the request (400 VALIDATION_ERROR): limit must be <= 100');
    expect(seen()).toBe(1);
  });
});

describe('the daily quota', () => {
  test("the latest answer's X-HubSpot-RateLimit-Daily headers are kept in the metrics, a 429's too; an answer without them changes nothing", async () => {
    const daily = (remaining: string) => ({ 'X-HubSpot-RateLimit-Daily': '250000', 'X-HubSpot-RateLimit-Daily-Remaining': remaining });
    const { url } = await scripted([
      { status: 200, body: page, headers: daily('1200') },
      { status: 429, headers: { 'retry-after': '0', ...daily('1199') }, body: JSON.stringify({ status: 'error', message: 'limit', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' }) },
      { status: 200, body: page, headers: daily('1198') },
      { status: 200, body: page },
    ]);
    const client = new HubSpotClient({ baseUrl: url, accessToken: TOKEN }, { retry: FAST });
    expect(client.metrics.hubspotDailyRemaining).toBeUndefined();
    await list(client);
    expect(client.metrics).toMatchObject({ hubspotDailyRemaining: 1200, hubspotDailyLimit: 250_000 });
    await list(client);
    expect(client.metrics).toMatchObject({ requests: 3, rateLimited: 1, hubspotDailyRemaining: 1198, hubspotDailyLimit: 250_000 });
    await list(client);
    expect(client.metrics).toMatchObject({ requests: 4, hubspotDailyRemaining: 1198, hubspotDailyLimit: 250_000 });
  });
});
