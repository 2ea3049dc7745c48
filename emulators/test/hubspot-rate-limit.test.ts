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

describe('daily quota', () => {
  it('counts every request against a configurable daily limit, answers 429 DAILY once it is used up, and resets at midnight UTC', async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 23, 59, 0));
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 100, daily: 3 } });
    const list = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    expect(rateHeaders(list.headers)).toMatchObject({ daily: '3', dailyRemaining: '2' });
    const search = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { filterGroups: [], limit: 1 });
    expect(search.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('1');
    expect((await raw(emu, 'GET', '/crm/v3/objects/contacts/1001')).status).toBe(200);

    const refused = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'DAILY', message: 'You have reached your daily limit.' });
    expect(rateHeaders(refused.headers)).toMatchObject({ daily: '3', dailyRemaining: '0' });
    // Retry-After: the 60 seconds to midnight UTC.
    expect(refused.headers.get('retry-after')).toBe('60');
    const searchRefused = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', { filterGroups: [], limit: 1 });
    expect(searchRefused.body).toMatchObject({ policyName: 'DAILY' });

    clock.advance(60_000);
    const nextDay = await raw(emu, 'GET', '/crm/v3/objects/contacts');
    expect(nextDay.status).toBe(200);
    expect(nextDay.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('2');
  });
});

describe('search secondly limit', () => {
  it('limits search per second, separately from the rolling window', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 3, searchPerSecond: 2 } });
    const search = () => raw(emu, 'POST', '/crm/v3/objects/contacts/search', { limit: 1 });
    const first = await search();
    expect(first.status).toBe(200);
    // Search responses carry no ten-secondly window headers (the daily ones only).
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

describe('rate-limit headers', () => {
  const secondly = (headers: Record<string, string>) => ({
    secondly: headers['x-hubspot-ratelimit-secondly'],
    remaining: headers['x-hubspot-ratelimit-secondly-remaining'],
  });

  it('send the per-second pair next to the window and daily headers, counting down within the second', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 100, intervalMs: 10_000 } });
    const basicApi = sdk(emu).crm.contacts.basicApi;
    const first = await basicApi.getPageWithHttpInfo(2);
    expect(first.headers).toMatchObject({
      'x-hubspot-ratelimit-max': '100',
      'x-hubspot-ratelimit-remaining': '99',
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-daily': '250000',
      'x-hubspot-ratelimit-daily-remaining': '249999',
      // 100 per 10 s is 10 per second, as HubSpot reports it.
      'x-hubspot-ratelimit-secondly': '10',
      'x-hubspot-ratelimit-secondly-remaining': '9',
    });
    clock.advance(400);
    expect(secondly((await basicApi.getByIdWithHttpInfo('1001')).headers)).toEqual({ secondly: '10', remaining: '8' });
    clock.advance(600);
    // t = 1 s: the first request has left the last second, the second has not.
    const later = await basicApi.getPageWithHttpInfo(1);
    expect(secondly(later.headers)).toEqual({ secondly: '10', remaining: '8' });
    expect(later.headers['x-hubspot-ratelimit-remaining']).toBe('97');
    clock.advance(1_000);
    expect(secondly((await basicApi.getPageWithHttpInfo(1)).headers)).toEqual({ secondly: '10', remaining: '9' });
  });

  it('report the per-second share of the configured window, and 0 left once the second is used up', async () => {
    const clock = fakeClock();
    const emu = await emulator({ now: clock.now, rateLimit: { perInterval: 190, intervalMs: 10_000 } });
    const responses = [];
    for (let i = 0; i < 20; i++) responses.push(await raw(emu, 'GET', '/crm/v3/properties/contacts/email'));
    expect(responses.map((response) => response.headers.get('x-hubspot-ratelimit-secondly'))).toEqual(Array(20).fill('19'));
    expect(responses.slice(-3).map((response) => response.headers.get('x-hubspot-ratelimit-secondly-remaining'))).toEqual(['1', '0', '0']);
    // The per-second figure is reported, not enforced: the ten-secondly window decides.
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(responses[19]?.headers.get('x-hubspot-ratelimit-remaining')).toBe('170');
  });

  it('come on 429s of the ten-secondly window too', async () => {
    const emu = await emulator({ rateLimit: { perInterval: 1 } });
    await raw(emu, 'GET', '/crm/v3/objects/contacts');
    const limited = await failure(() => sdk(emu).crm.contacts.basicApi.getPage());
    expect(limited.code).toBe(429);
    expect(secondly(limited.headers)).toEqual({ secondly: '1', remaining: '0' });
    expect(limited.headers['x-hubspot-ratelimit-daily-remaining']).toBe('249999');
  });

  it('are generous when limiting is off', async () => {
    const emu = await emulator();
    const { headers } = await sdk(emu).crm.contacts.basicApi.getPageWithHttpInfo();
    expect(Number(headers['x-hubspot-ratelimit-secondly'])).toBeGreaterThanOrEqual(10_000);
    expect(Number(headers['x-hubspot-ratelimit-secondly-remaining'])).toBe(Number(headers['x-hubspot-ratelimit-secondly']) - 1);
  });

  it('on search: the daily pair only, and searches count against the daily quota', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 10, searchPerSecond: 2 } });
    const client = sdk(emu);
    const search = await client.crm.contacts.searchApi.doSearchWithHttpInfo({ filterGroups: [], limit: 1 } as never);
    expect(search.headers['x-hubspot-ratelimit-daily']).toBe('250000');
    expect(search.headers['x-hubspot-ratelimit-daily-remaining']).toBe('249999');
    for (const name of ['max', 'remaining', 'interval-milliseconds', 'secondly', 'secondly-remaining']) {
      expect(search.headers[`x-hubspot-ratelimit-${name}`]).toBeUndefined();
    }
    const list = await client.crm.contacts.basicApi.getPageWithHttpInfo(1);
    expect(list.headers['x-hubspot-ratelimit-daily-remaining']).toBe('249998');
    // Searches do not use the window or its per-second share.
    expect(secondly(list.headers)).toEqual({ secondly: '1', remaining: '0' });
    expect(list.headers['x-hubspot-ratelimit-remaining']).toBe('9');
    await client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 1 } as never);
    const refused = await failure(() => client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 1 } as never));
    expect(refused.code).toBe(429);
    expect(refused.headers['x-hubspot-ratelimit-daily-remaining']).toBe('249997');
  });
});
