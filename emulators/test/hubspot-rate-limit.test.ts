/**
 * Rate limiting: the rolling ten-second window, the search API's own per-second limit,
 * the 429 bodies and headers. The emulator's windows run on its clock, so a fake clock
 * makes them deterministic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UUID, closeAll, emulator, failure, fakeClock, raw, sdk, sdkSearch } from './helpers.js';

afterEach(closeAll);

const rateHeaders = (headers: Headers) => ({
  max: headers.get('x-hubspot-ratelimit-max'),
  remaining: headers.get('x-hubspot-ratelimit-remaining'),
  interval: headers.get('x-hubspot-ratelimit-interval-milliseconds'),
  daily: headers.get('x-hubspot-ratelimit-daily'),
  dailyRemaining: headers.get('x-hubspot-ratelimit-daily-remaining'),
});

describe('ten-secondly rolling window', () => {
  it('admits perInterval requests per interval, then answers 429 with Retry-After', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 4, intervalMs: 10_000 } });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await raw(emu, 'GET', '/crm/v3/objects/contacts');
      expect(response.status).toBe(200);
      remaining.push(response.headers.get('x-hubspot-ratelimit-remaining'));
      clock.advance(1_000);
    }
    expect(remaining).toEqual(['3', '2', '1', '0']);

    // t = 4 s: the first request leaves the window at t = 10 s.
    const limited = await raw(emu, 'GET', '/crm/v3/objects/contacts/1001');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: limited.body.correlationId,
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(limited.body.correlationId).toMatch(UUID);
    expect(limited.headers.get('retry-after')).toBe('6');
    expect(rateHeaders(limited.headers)).toEqual({ max: '4', remaining: '0', interval: '10000', daily: '250000', dailyRemaining: '249996' });

    clock.advance(5_500);
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts')).headers.get('retry-after')).toBe('1');
    clock.advance(500);
    // t = 10 s: one slot is free again.
    const again = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    expect(again.status).toBe(200);
    expect(again.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    expect((await raw(emu, 'POST', '/crm/v3/objects/contacts', { properties: { email: 'x@example.com' } })).status).toBe(429);

    expect(emu.stats.rateLimited).toBe(3);
    expect(emu.stats.requests).toBe(8);
    // Refused writes did nothing.
    expect(emu.store.count('contacts')).toBe(5);
  });

  it('reaches the SDK as an ApiException with code 429', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, rateLimit: { perInterval: 1 } });
    const client = sdk(emu);
    await client.crm.contacts.basicApi.getPage();
    const error = await failure(() => client.crm.contacts.basicApi.getPage());
    expect(error.code).toBe(429);
    expect(error.body.message).toBe('You have reached your ten_secondly_rolling limit.');
    expect(error.headers['retry-after']).toBe('10');
  });

  it('can leave out Retry-After', async () => {
    const emu = await emulator({ rateLimit: { perInterval: 1, retryAfter: false } });
    await raw(emu, 'GET', '/crm/v3/objects/contacts');
    const limited = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
  });

  it('does not count unauthenticated requests against the window', async () => {
    const emu = await emulator({ rateLimit: { perInterval: 1 } });
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts', undefined, { token: 'wrong' })).status).toBe(401);
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts')).status).toBe(200);
  });

  it('sends generous rate-limit headers when limiting is off', async () => {
    const emu = await emulator();
    const response = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    const headers = rateHeaders(response.headers);
    expect(headers.interval).toBe('10000');
    expect(Number(headers.max)).toBeGreaterThanOrEqual(100_000);
    expect(Number(headers.remaining)).toBe(Number(headers.max) - 1);
    expect(Number(headers.daily)).toBeGreaterThanOrEqual(1_000_000);
    for (let i = 0; i < 150; i++) expect((await raw(emu, 'GET', '/crm/v3/properties/contacts/email')).status).toBe(200);
    expect(emu.stats.rateLimited).toBe(0);
  });
});

describe('search secondly limit', () => {
  it('limits search per second, separately from the rolling window', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 3, searchPerSecond: 2 } });
    const search = () => raw(emu, 'POST', '/crm/v3/objects/contacts/search', { limit: 1 });
    const first = await search();
    expect(first.status).toBe(200);
    // Search responses carry no X-HubSpot-RateLimit headers.
    expect(first.headers.get('x-hubspot-ratelimit-max')).toBeNull();
    clock.advance(400);
    expect((await search()).status).toBe(200);
    const limited = await search();
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      status: 'error',
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
      correlationId: limited.body.correlationId,
      policyName: 'SECONDLY',
    });
    expect(limited.headers.get('retry-after')).toBe('1');

    // Searches did not use the ten-secondly window.
    const list = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    expect(list.status).toBe(200);
    expect(list.headers.get('x-hubspot-ratelimit-remaining')).toBe('2');

    clock.advance(600);
    // t = 1 s: the first search left the window.
    expect((await search()).status).toBe(200);
    expect((await search()).status).toBe(429);

    const error = await failure(() => sdkSearch(sdk(emu), {}));
    expect(error.code).toBe(429);
    expect(error.body.message).toBe('You have reached your secondly limit.');
    expect(emu.stats.rateLimited).toBe(3);
  });
});
