/**
 * Service protection limits (the 5-minute request window with Retry-After, concurrent
 * requests), throttleNext(), injected faults and latency.
 */
import { afterEach, describe, expect, it, test } from 'vitest';
import { request } from 'undici';
import { parseDynamicsFaultSpec, type DynamicsEmulator } from '../src/dynamics/index.js';
import { call, closeAll, dispatcherOf, dynamics, fakeClock, header } from './dynamics-helpers.js';

afterEach(closeAll);

const TIME_REMAINING = /^\d{1,3}(,\d{3})*\.\d{2}$/;

describe('request window', () => {
  it('admits `requests` per window, then answers 429 with Retry-After until a slot frees', async () => {
    const clock = fakeClock();
    const emu = await dynamics({ seed: { contacts: 3 }, now: clock.now, rateLimit: { requests: 3, windowMs: 60_000 } });
    const token = emu.issueToken();
    const remaining: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await call(emu, 'GET', 'contacts', { token });
      expect(reply.status).toBe(200);
      remaining.push(header(reply, 'x-ms-ratelimit-burst-remaining-xrm-requests'));
      expect(header(reply, 'x-ms-ratelimit-time-remaining-xrm-requests')).toMatch(TIME_REMAINING);
      clock.advance(10_000);
    }
    expect(remaining).toEqual(['2', '1', '0']);

    // t = 30 s: the first request leaves the window at t = 60 s.
    const limited = await call(emu, 'POST', 'contacts', { token, json: { lastname: 'Refused' } });
    expect(limited.status).toBe(429);
    expect(header(limited, 'retry-after')).toBe('30');
    expect(limited.body).toEqual({ error: { code: '0x80072322', message: 'Number of requests exceeded the limit of 3 over time window of 60 seconds.' } });
    expect(emu.store.count('contacts')).toBe(3);

    clock.advance(29_500);
    expect(header(await call(emu, 'GET', 'contacts', { token }), 'retry-after')).toBe('1');
    clock.advance(500);
    expect((await call(emu, 'GET', 'contacts', { token })).status).toBe(200);
    expect((await call(emu, 'GET', 'contacts', { token })).status).toBe(429);
    expect(emu.stats.throttled).toBe(3);
  });

  it('uses Dataverse’s defaults: 6000 requests per 300 seconds', async () => {
    const emu = await dynamics({ rateLimit: {} });
    const reply = await call(emu, 'GET', 'WhoAmI');
    expect(header(reply, 'x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('5999');
    expect(header(reply, 'x-ms-ratelimit-time-remaining-xrm-requests')).toBe('1,200.00');
  });

  it('does not count unauthenticated requests nor the token endpoint, ', async () => {
    const emu = await dynamics({ rateLimit: { requests: 1 } });
    expect((await call(emu, 'GET', 'WhoAmI', { token: null })).status).toBe(401);
    for (let i = 0; i < 5; i++) {
      const response = await request(`${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: `${emu.url}/.default` }).toString(),
        dispatcher: dispatcherOf(emu),
      });
      expect(response.statusCode).toBe(200);
      await response.body.text();
    }
    expect((await call(emu, 'GET', 'WhoAmI')).status).toBe(200);
    expect((await call(emu, 'GET', 'WhoAmI')).status).toBe(429);
  });

  it('sends the limit headers with limits off too, counted against Dataverse’s defaults', async () => {
    const clock = fakeClock();
    const emu = await dynamics({ seed: { contacts: 3 }, now: clock.now });
    const token = emu.issueToken();
    const burst = async (path: string, status = 200) => {
      const reply = await call(emu, 'GET', path, { token });
      expect(reply.status).toBe(status);
      expect(header(reply, 'x-ms-ratelimit-time-remaining-xrm-requests')).toMatch(TIME_REMAINING);
      return header(reply, 'x-ms-ratelimit-burst-remaining-xrm-requests');
    };
    expect(await burst('WhoAmI')).toBe('5999');
    expect(await burst('contacts?$select=lastname')).toBe('5998');
    // Refused queries count too: they reached the service.
    expect(await burst('contacts?$select=nosuch', 400)).toBe('5997');
    clock.advance(300_000);
    expect(await burst('WhoAmI')).toBe('5999');
    expect(header(await call(emu, 'GET', 'WhoAmI', { token: null }), 'x-ms-ratelimit-burst-remaining-xrm-requests')).toBeUndefined();
  });
});

describe('concurrent requests', () => {
  it('refuses requests beyond the concurrency limit at once', async () => {
    const emu = await dynamics({ latencyMs: 300, rateLimit: { concurrent: 2 } });
    const token = emu.issueToken();
    const replies = await Promise.all(Array.from({ length: 5 }, () => call(emu, 'GET', 'WhoAmI', { token })));
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    const refused = replies.find((reply) => reply.status === 429)!;
    expect(refused.body).toEqual({ error: { code: '0x80072326', message: 'Number of concurrent requests exceeded the limit of 2.' } });
    expect(header(refused, 'retry-after')).toBe('1');
    expect((await call(emu, 'GET', 'WhoAmI', { token })).status).toBe(200);
  });
});

describe('throttleNext', () => {
  it('answers the next requests with the execution-time 429 and does not run them', async () => {
    const emu = await dynamics();
    emu.throttleNext(2, 7);
    const first = await call(emu, 'POST', 'contacts', { json: { lastname: 'Throttled' } });
    expect(first.status).toBe(429);
    expect(header(first, 'retry-after')).toBe('7');
    expect(first.body.error).toEqual({
      code: '0x80072321',
      message: 'Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.',
    });
    expect((await call(emu, 'GET', 'WhoAmI')).status).toBe(429);
    expect((await call(emu, 'GET', 'WhoAmI')).status).toBe(200);
    expect(emu.store.count('contacts')).toBe(0);
    expect(emu.stats.throttled).toBe(2);
  });
});

describe('fault injection', () => {
  type Outcome = number | 'reset';
  async function outcomes(emu: DynamicsEmulator, n: number): Promise<Outcome[]> {
    const token = emu.issueToken();
    const out: Outcome[] = [];
    for (let i = 0; i < n; i++) {
      try {
        const reply = await call(emu, 'GET', 'WhoAmI', { token });
        out.push(reply.status);
        if (reply.status === 503) expect(reply.body).toEqual({ error: { code: '0x80040216', message: 'The service is temporarily unavailable. Please try again later.' } });
        if (reply.status === 429) expect(header(reply, 'retry-after')).toBe('3');
      } catch (error) {
        expect((error as { code?: string }).code).toBe('UND_ERR_SOCKET');
        out.push('reset');
      }
    }
    return out;
  }

  it('injects 429s, 503s and resets from a seeded PRNG, reproducibly', async () => {
    const faults = { throttle: 0.2, serverError: 0.15, reset: 0.1, retryAfterSeconds: 3, seed: 7 };
    const first = await dynamics({ faults });
    const second = await dynamics({ faults });
    const a = await outcomes(first, 120);
    const b = await outcomes(second, 120);
    expect(a).toEqual(b);
    const count = (kind: Outcome) => a.filter((outcome) => outcome === kind).length;
    expect(count(429)).toBeGreaterThan(10);
    expect(count(503)).toBeGreaterThan(5);
    expect(count('reset')).toBeGreaterThan(3);
    expect(count(200)).toBeGreaterThan(50);
    expect(first.stats.faults).toEqual({ throttle: count(429), serverError: count(503), reset: count('reset') });
    expect(first.stats.throttled).toBe(count(429));

    first.setFaults(undefined);
    expect(await outcomes(first, 10)).toEqual(Array(10).fill(200));
    first.setFaults(faults);
    expect(await outcomes(first, 120)).toEqual(a);
  });

  test.each([
    [{ throttle: 1.5 }, 'faults.throttle must be a share between 0 and 1, got 1.5'],
    [{ throttle: 0.6, reset: 0.6 }, 'faults: throttle + serverError + reset add up to 1.2, more than 1'],
    [{ seed: 1.5 }, 'faults.seed must be an integer, got 1.5'],
  ])('rejects invalid fault options %j', async (faults, message) => {
    await expect(dynamics({ faults })).rejects.toThrow(message);
  });

  it('reads fault specs in the HubSpot emulator’s grammar', () => {
    expect(parseDynamicsFaultSpec('429=0.1, 5xx=0.05,reset=0.02,retry-after=3,seed=7')).toEqual({ throttle: 0.1, serverError: 0.05, reset: 0.02, retryAfterSeconds: 3, seed: 7 });
    expect(parseDynamicsFaultSpec('5xx=1')).toEqual({ serverError: 1 });
  });

  test.each([
    ['', 'expected key=value pairs such as "429=0.1,5xx=0.05,seed=7"'],
    ['429=0.1,timeout=0.1', 'unknown key "timeout" (known: 429, 5xx, reset, retry-after, seed)'],
    ['429=0.1,429=0.2', '"429" is given twice'],
    ['429=2', '429=2 is not a share between 0 and 1'],
    ['5xx=lots', '5xx=lots is not a share between 0 and 1'],
    ['429=0.6,reset=0.6', 'the shares (429 + 5xx + reset) add up to 1.2, more than 1'],
    ['retry-after=1.5', 'retry-after=1.5 is not a whole number of seconds'],
    ['seed=x', 'seed=x is not an integer'],
  ])('refuses the fault spec %j', (spec, reason) => {
    expect(() => parseDynamicsFaultSpec(spec)).toThrow(`Invalid fault spec ${JSON.stringify(spec)}: ${reason}`);
  });

  it('delays every response by latencyMs', async () => {
    const emu = await dynamics({ latencyMs: 150 });
    const started = performance.now();
    expect((await call(emu, 'GET', 'WhoAmI')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});
