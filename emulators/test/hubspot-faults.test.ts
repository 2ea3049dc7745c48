/**
 * Fault injection: every fault kind happens and looks as specified, faults are decided
 * by a seeded PRNG (reproducible), can be switched at run time, count in stats.faults,
 * and the CLI spec parser accepts/rejects specs with clear messages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FaultInjector, type RequestFault } from '../src/hubspot/faults.js';
import { parseFaultSpec, startHubSpotEmulator, type FaultOptions, type HubSpotEmulator } from '../src/hubspot/index.js';
import { UUID, closeAll, emulator, failure, fakeClock, rawText, sdk } from './helpers.js';

afterEach(closeAll);

type Answer = Awaited<ReturnType<typeof rawText>>;
/** A plain fetch that keeps the body as text (it may be cut off or HTML). */
const call = rawText;

/** One word per outcome, for comparing fault sequences. */
async function outcome(emu: HubSpotEmulator, method: string, path: string, body?: unknown): Promise<string> {
  let answer: Answer;
  try {
    answer = await call(emu, method, path, body);
  } catch {
    return 'reset';
  }
  if (answer.text === '') return String(answer.status);
  if ((answer.headers.get('content-type') ?? '').startsWith('text/html')) return `${answer.status} html`;
  try {
    JSON.parse(answer.text);
  } catch {
    return `${answer.status} truncated`;
  }
  return String(answer.status);
}

/** The first n decisions of a fault setting, straight from the injector. */
function draws(options: FaultOptions, n: number): (RequestFault | null)[] {
  const injector = new FaultInjector(options);
  return Array.from({ length: n }, () => injector.draw());
}

const LIST = '/crm/v3/objects/contacts';
const TEN_SECONDLY_MESSAGE = 'You have reached your ten_secondly_rolling limit.';

describe('429 faults', () => {
  it('answer 429 with the ten-secondly body, half with Retry-After: 1 and half without', async () => {
    const options: FaultOptions = { rate429: 1, seed: 3 };
    const emu = await emulator({ seed: { contacts: 5 }, faults: options });
    const expected = draws(options, 40);
    const retryAfter: (string | null)[] = [];
    for (let i = 0; i < 40; i++) {
      const answer = await call(emu, 'GET', LIST);
      expect(answer.status).toBe(429);
      const body = JSON.parse(answer.text);
      expect(body).toEqual({
        status: 'error',
        message: TEN_SECONDLY_MESSAGE,
        errorType: 'RATE_LIMIT',
        correlationId: answer.headers.get('x-hubspot-correlation-id'),
        policyName: 'TEN_SECONDLY_ROLLING',
      });
      expect(body.correlationId).toMatch(UUID);
      expect(answer.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
      retryAfter.push(answer.headers.get('retry-after'));
    }
    expect(retryAfter).toEqual(expected.map((fault) => (fault?.kind === '429' && fault.retryAfter ? '1' : null)));
    const withHeader = retryAfter.filter((value) => value === '1').length;
    expect(withHeader).toBeGreaterThan(10);
    expect(withHeader).toBeLessThan(30);
    expect(emu.stats.faults).toEqual({ '429': 40 });
    // Injected 429s are not the rate limiter's.
    expect(emu.stats.rateLimited).toBe(0);
    expect(emu.stats.requests).toBe(40);
  });

  it('use the secondly body for search, reach the SDK as 429, and stop writes', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { rate429: 1 } });
    const search = await call(emu, 'POST', `${LIST}/search`, {});
    expect(search.status).toBe(429);
    expect(JSON.parse(search.text)).toEqual({
      status: 'error',
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
      correlationId: search.headers.get('x-hubspot-correlation-id'),
      policyName: 'SECONDLY',
    });
    // Search responses carry no X-HubSpot-RateLimit headers, faulted or not.
    expect(search.headers.get('x-hubspot-ratelimit-max')).toBeNull();

    const error = await failure(() => sdk(emu).crm.contacts.basicApi.getPage());
    expect(error.code).toBe(429);
    expect(error.body.policyName).toBe('TEN_SECONDLY_ROLLING');

    expect((await call(emu, 'POST', LIST, { properties: { email: 'new@example.com' } })).status).toBe(429);
    expect(emu.store.count('contacts')).toBe(5);
    expect(emu.stats.faults).toEqual({ '429': 3 });
  });
});

describe('5xx faults', () => {
  it('answer 500, 502 and 503 evenly, 500 as HubSpot JSON, 502/503 as JSON or a proxy HTML page', async () => {
    const options: FaultOptions = { rate5xx: 1, seed: 5 };
    const emu = await emulator({ seed: { contacts: 5 }, faults: options });
    const expected = draws(options, 60);
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) {
      const answer = await call(emu, 'GET', `${LIST}/1001`);
      const html = (answer.headers.get('content-type') ?? '').startsWith('text/html');
      seen.push(`${answer.status}${html ? ' html' : ''}`);
      if (html) {
        const title = answer.status === 502 ? '502 Bad Gateway' : '503 Service Temporarily Unavailable';
        expect(answer.text).toContain(`<head><title>${title}</title></head>`);
        expect(answer.text).toContain(`<center><h1>${title}</h1></center>`);
        expect(answer.headers.get('x-hubspot-correlation-id')).toBeNull();
      } else {
        const correlationId = answer.headers.get('x-hubspot-correlation-id');
        expect(correlationId).toMatch(UUID);
        const message = { 500: 'internal error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable' }[answer.status];
        expect(JSON.parse(answer.text)).toEqual({ status: 'error', message, correlationId });
      }
    }
    expect(seen).toEqual(expected.map((fault) => (fault?.kind === '5xx' ? `${fault.status}${fault.html ? ' html' : ''}` : 'none')));
    for (const variant of ['500', '502', '502 html', '503', '503 html']) expect(seen).toContain(variant);
    const statuses = seen.map((entry) => entry.slice(0, 3));
    for (const status of ['500', '502', '503']) {
      const n = statuses.filter((value) => value === status).length;
      expect(n).toBeGreaterThan(10);
      expect(n).toBeLessThan(30);
    }
    expect(emu.stats.faults).toEqual({ '5xx': 60 });
  });

  it('happen before the handler: a faulted write is not made', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { rate5xx: 1 } });
    const answer = await call(emu, 'PATCH', `${LIST}/1001`, { properties: { city: 'Oslo' } });
    expect([500, 502, 503]).toContain(answer.status);
    expect((await call(emu, 'POST', `${LIST}/batch/create`, { inputs: [{ properties: { email: 'a@example.com' } }] })).status).toBeGreaterThanOrEqual(500);
    expect(emu.store.get('contacts', 1001)?.properties.city).not.toBe('Oslo');
    expect(emu.store.count('contacts')).toBe(5);
  });
});

describe('connection faults', () => {
  it('reset: the connection is destroyed without a response and nothing is written', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { rateReset: 1 } });
    const error = await failure(() => call(emu, 'GET', LIST));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.cause.code).toBe('UND_ERR_SOCKET');
    await failure(() => call(emu, 'POST', LIST, { properties: { email: 'reset@example.com' } }));
    expect(emu.store.count('contacts')).toBe(5);
    expect(emu.stats.faults).toEqual({ reset: 2 });
    expect(emu.stats.requests).toBe(2);
  });

  it('truncated: 200 with the right headers and a prefix of the body; the write did happen', async () => {
    const emu = await emulator({ seed: { contacts: 30 } });
    const whole = await call(emu, 'GET', `${LIST}?limit=20`);
    emu.setFaults({ rateTruncated: 1, seed: 9 });
    const cut = await call(emu, 'GET', `${LIST}?limit=20`);
    expect(cut.status).toBe(200);
    expect(cut.headers.get('content-type')).toBe('application/json;charset=utf-8');
    expect(cut.headers.get('x-hubspot-ratelimit-max')).toBe(whole.headers.get('x-hubspot-ratelimit-max'));
    expect(Number(cut.headers.get('content-length'))).toBe(Buffer.byteLength(cut.text));
    expect(cut.text.length).toBeGreaterThan(0);
    expect(cut.text.length).toBeLessThan(whole.text.length);
    expect(whole.text.startsWith(cut.text)).toBe(true);
    expect(() => JSON.parse(cut.text)).toThrow(SyntaxError);

    // The SDK fails to parse it too.
    expect(await failure(() => sdk(emu).crm.contacts.basicApi.getPage(5))).toBeInstanceOf(SyntaxError);

    // A truncated write is like a lost response: it was made.
    const created = await call(emu, 'POST', LIST, { properties: { email: 'truncated@example.com' } });
    expect(created.status).toBe(201);
    expect(() => JSON.parse(created.text)).toThrow(SyntaxError);
    expect(emu.store.count('contacts')).toBe(31);
    expect(emu.store.findBy('contacts', 'email', 'truncated@example.com')).toBeDefined();
    expect(emu.stats.faults).toEqual({ truncated: 3 });
  });

  it('timeout: the request never gets an answer, and close() still resolves promptly', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { rateTimeout: 1 } });
    const started = Date.now();
    const error = await failure(() => call(emu, 'GET', LIST, undefined, { signal: AbortSignal.timeout(300) }));
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // A faulted write is not made.
    await failure(() => call(emu, 'POST', LIST, { properties: { email: 'timeout@example.com' } }, { signal: AbortSignal.timeout(300) }));
    expect(emu.store.count('contacts')).toBe(5);

    // One more held request, still waiting when the emulator closes.
    const pending = call(emu, 'GET', LIST).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = Date.now();
    await emu.close();
    expect(Date.now() - closing).toBeLessThan(1_000);
    expect(await pending).toBe('dropped');
    expect(emu.stats.faults).toEqual({ timeout: 3 });
  });
});

describe('wrong-typed records', () => {
  /** Every contact through the list endpoint, page by page. */
  async function listAll(emu: HubSpotEmulator): Promise<any[]> {
    const records: any[] = [];
    let after: string | undefined;
    do {
      const answer = await call(emu, 'GET', `${LIST}?limit=100${after ? `&after=${after}` : ''}`);
      expect(answer.status).toBe(200);
      const body = JSON.parse(answer.text);
      records.push(...body.results);
      after = body.paging?.next?.after;
    } while (after);
    return records;
  }

  it('malform a stable share of records, the same way on every read, and leave the rest untouched', async () => {
    const clean = await emulator({ seed: { contacts: 3000 } });
    // Default fault seed (1).
    const faulty = await emulator({ seed: { contacts: 3000 }, faults: { wrongTypes: 0.05 } });
    const expected = await listAll(clean);
    const first = await listAll(faulty);
    expect(first).toHaveLength(3000);

    const malformed = new Map<string, any>();
    first.forEach((record, index) => {
      const original = expected[index];
      expect(record.id).toBe(original.id);
      const changed = Object.keys(record.properties).filter((name) => record.properties[name] !== original.properties[name]);
      if (changed.length === 0) {
        expect(record).toEqual(original);
        return;
      }
      // Exactly one property, now a number or an object; everything else as it was.
      expect(changed).toHaveLength(1);
      const name = changed[0] as string;
      const value = record.properties[name];
      const before = original.properties[name];
      if (typeof value === 'number') {
        if (before !== null && before.trim() !== '' && Number.isFinite(Number(before))) expect(value).toBe(Number(before));
      } else {
        expect(value).toEqual({ value: before });
      }
      expect({ ...record, properties: { ...record.properties, [name]: before } }).toEqual(original);
      malformed.set(record.id, record);
    });
    // About 5% of 3000: exactly 149 for this seed.
    expect(malformed.size).toBe(149);
    expect(faulty.stats.faults).toEqual({ 'wrong-types': 149 });
    const kinds = [...malformed.values()].map((record) => Object.values(record.properties).some((value) => typeof value === 'number'));
    expect(kinds).toContain(true);
    expect(kinds).toContain(false);

    // The same records, malformed the same way, on a second pass and via get, batch read and search.
    expect(await listAll(faulty)).toEqual(first);
    const ids = [...malformed.keys()].slice(0, 5);
    for (const id of ids) {
      const record = malformed.get(id);
      expect(JSON.parse((await call(faulty, 'GET', `${LIST}/${id}`)).text)).toEqual(record);
      const batch = JSON.parse((await call(faulty, 'POST', `${LIST}/batch/read`, { inputs: [{ id }] })).text);
      expect(batch.results).toEqual([record]);
      const search = JSON.parse(
        (await call(faulty, 'POST', `${LIST}/search`, { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: id }] }] })).text,
      );
      expect(search.results).toEqual([record]);
    }
    // An untouched record stays untouched everywhere.
    const fine = first.find((record) => !malformed.has(record.id));
    expect(JSON.parse((await call(faulty, 'GET', `${LIST}/${fine.id}`)).text)).toEqual(fine);

    // Direct store access is never faulted.
    const stored = faulty.store.get('contacts', ids[0] as string);
    expect(Object.values(stored?.properties ?? {}).every((value) => value === null || typeof value === 'string')).toBe(true);
  });
});

describe('permanent faults', () => {
  it('401: every authenticated /crm request gets INVALID_AUTHENTICATION', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { permanent: 401 } });
    for (const [method, path] of [
      ['GET', LIST],
      ['POST', `${LIST}/search`],
      ['GET', '/crm/v3/properties/deals'],
    ] as const) {
      const answer = await call(emu, method, path, method === 'POST' ? {} : undefined);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text)).toEqual({
        status: 'error',
        message: 'The access token provided is invalid or has expired. Check that the request uses the current access token of this private app.',
        correlationId: answer.headers.get('x-hubspot-correlation-id'),
        category: 'INVALID_AUTHENTICATION',
      });
    }
    const error = await failure(() => sdk(emu).crm.contacts.basicApi.getPage());
    expect(error.code).toBe(401);
    expect(error.body.category).toBe('INVALID_AUTHENTICATION');
    expect(emu.stats.faults).toEqual({ permanent: 4 });
  });

  it('403: MISSING_SCOPES naming the scope of the call', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { permanent: 403 } });
    const scopes: unknown[] = [];
    for (const [method, path, body] of [
      ['GET', LIST, undefined],
      ['POST', '/crm/v3/objects/deals', { properties: { dealname: 'x' } }],
      ['GET', '/crm/v3/properties/companies', undefined],
    ] as const) {
      const answer = await call(emu, method, path, body);
      expect(answer.status).toBe(403);
      const parsed = JSON.parse(answer.text);
      expect(parsed.category).toBe('MISSING_SCOPES');
      expect(parsed.message).toBe(
        "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
      );
      scopes.push(parsed.errors[0].context.requiredGranularScopes);
    }
    expect(scopes).toEqual([['crm.objects.contacts.read'], ['crm.objects.deals.write'], ['crm.schemas.companies.read']]);
    expect(emu.store.count('deals')).toBe(0);
  });

  it("500: HubSpot's internal error body; unauthenticated requests get the usual 401", async () => {
    const emu = await emulator({ seed: { contacts: 5 }, faults: { permanent: 500, rate429: 1 } });
    const answer = await call(emu, 'GET', `${LIST}/1001`);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text)).toEqual({ status: 'error', message: 'internal error', correlationId: answer.headers.get('x-hubspot-correlation-id') });

    const anonymous = await call(emu, 'GET', LIST, undefined, { token: null });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text).message).toMatch(/^Authentication credentials not found/);
    expect((await call(emu, 'GET', LIST, undefined, { token: 'pat-wrong' })).status).toBe(401);
    // Not a /crm path: not faulted.
    expect((await call(emu, 'GET', '/nothing-here')).status).toBe(404);
    expect(emu.stats.faults).toEqual({ permanent: 1 });
    expect(emu.stats.requests).toBe(4);
  });
});

describe('switching and counting', () => {
  it('setFaults switches faults on, changes them and turns them off; stats.reset clears the counts', async () => {
    const emu = await emulator({ seed: { contacts: 5 } });
    expect((await call(emu, 'GET', LIST)).status).toBe(200);
    expect(emu.stats.faults).toEqual({});

    emu.setFaults({ permanent: 403 });
    expect((await call(emu, 'GET', LIST)).status).toBe(403);
    emu.setFaults({ rate429: 1 });
    expect((await call(emu, 'GET', LIST)).status).toBe(429);
    expect(emu.stats.faults).toEqual({ permanent: 1, '429': 1 });

    emu.setFaults(undefined);
    for (let i = 0; i < 5; i++) expect((await call(emu, 'GET', LIST)).status).toBe(200);
    expect((await call(emu, 'POST', LIST, { properties: { email: 'ok@example.com' } })).status).toBe(201);
    expect(emu.stats.faults).toEqual({ permanent: 1, '429': 1 });

    emu.stats.reset();
    expect(emu.stats.faults).toEqual({});
    expect(emu.stats.requests).toBe(0);

    expect(() => emu.setFaults({ rate5xx: 1.5 })).toThrow('faults.rate5xx must be a share between 0 and 1, got 1.5');
    expect(() => emu.setFaults({ rate429: 0.6, rateReset: 0.5 })).toThrow(/add up to 1\.1, more than 1/);
    expect(() => emu.setFaults({ permanent: 404 as 401 })).toThrow('faults.permanent must be 401, 403 or 500, got 404');
    await expect(startHubSpotEmulator({ faults: { wrongTypes: -0.1 } })).rejects.toThrow('faults.wrongTypes must be a share between 0 and 1, got -0.1');
  });

  it('stats.faults counts each kind as it happens', async () => {
    const options: FaultOptions = { rate429: 0.2, rate5xx: 0.2, rateReset: 0.1, rateTruncated: 0.1, seed: 21 };
    const emu = await emulator({ seed: { contacts: 20 }, faults: options });
    const expected: Record<string, number> = {};
    for (const fault of draws(options, 200)) if (fault) expected[fault.kind] = (expected[fault.kind] ?? 0) + 1;
    const seen: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const result = await outcome(emu, 'GET', `${LIST}/${1001 + (i % 20)}`);
      seen[result] = (seen[result] ?? 0) + 1;
    }
    expect(emu.stats.faults).toEqual(expected);
    // Pinned, so a change to the fault PRNG shows up here.
    expect(expected).toEqual({ '429': 40, '5xx': 42, reset: 23, truncated: 14 });
    expect(emu.stats.requests).toBe(200);
    expect(seen.reset).toBe(expected.reset);
    expect(seen['200 truncated']).toBe(expected.truncated);
    expect(seen['429']).toBe(expected['429']);
    const fiveHundreds = (seen['500'] ?? 0) + (seen['502'] ?? 0) + (seen['503'] ?? 0) + (seen['502 html'] ?? 0) + (seen['503 html'] ?? 0);
    expect(fiveHundreds).toBe(expected['5xx']);
    expect(seen['200']).toBe(200 - Object.values(expected).reduce((a, b) => a + b, 0));
    // Roughly the configured shares.
    expect(expected['429']).toBeGreaterThan(25);
    expect(expected['429']).toBeLessThan(55);
    expect(expected.reset).toBeGreaterThan(8);
    expect(expected.reset).toBeLessThan(32);
  });

  it('is deterministic: the same seed and requests give the same faults, another seed others', async () => {
    const options: FaultOptions = { rate429: 0.1, rate5xx: 0.1, rateReset: 0.1, rateTruncated: 0.1, wrongTypes: 0.2, seed: 99 };
    const run = async (faults: FaultOptions) => {
      const clock = fakeClock();
      const emu = await emulator({ seed: { contacts: 50 }, now: clock.now, faults });
      const results: string[] = [];
      for (let i = 0; i < 120; i++) {
        clock.advance(1_000);
        const step = i % 4;
        if (step === 0) results.push(await outcome(emu, 'GET', `${LIST}?limit=7`));
        else if (step === 1) results.push(await outcome(emu, 'GET', `${LIST}/${1001 + (i % 50)}`));
        else if (step === 2) results.push(await outcome(emu, 'POST', `${LIST}/search`, { limit: 5 }));
        else results.push(await outcome(emu, 'POST', LIST, { properties: { email: `c${i}@example.com` } }));
      }
      return { results, faults: { ...emu.stats.faults }, count: emu.store.count('contacts') };
    };
    const a = await run(options);
    const b = await run(options);
    const c = await run({ ...options, seed: 100 });
    expect(b).toEqual(a);
    expect(c.results).not.toEqual(a.results);
    // The sequence is the injector's, request by request.
    const kinds = draws(options, 120).map((fault) => fault?.kind ?? 'none');
    expect(a.results.map((result, i) => (result === 'reset' ? 'reset' : result.endsWith('truncated') ? 'truncated' : result === '429' ? '429' : /^50[023]/.test(result) ? '5xx' : 'none' + i))).toEqual(
      kinds.map((kind, i) => (kind === 'none' ? 'none' + i : kind)),
    );
    // Creates that were faulted before the handler did not happen; truncated ones did.
    const creates = kinds.filter((_, i) => i % 4 === 3);
    expect(a.count).toBe(50 + creates.filter((kind) => kind === 'none' || kind === 'truncated').length);
    expect(a.faults['wrong-types']).toBeGreaterThan(0);
  });

  it('real rate limiting wins: a request the limiter refuses is answered 429 as before', async () => {
    const clock = fakeClock();
    const emu = await emulator({ seed: { contacts: 5 }, now: clock.now, rateLimit: { perInterval: 2 }, faults: { rate5xx: 1 } });
    expect((await call(emu, 'GET', LIST)).status).toBeGreaterThanOrEqual(500);
    expect((await call(emu, 'GET', LIST)).status).toBeGreaterThanOrEqual(500);
    const limited = await call(emu, 'GET', LIST);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('10');
    expect(JSON.parse(limited.text)).toEqual({
      status: 'error',
      message: TEN_SECONDLY_MESSAGE,
      errorType: 'RATE_LIMIT',
      correlationId: limited.headers.get('x-hubspot-correlation-id'),
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(emu.stats.rateLimited).toBe(1);
    expect(emu.stats.faults).toEqual({ '5xx': 2 });
  });

  it('keeps the configured latency on faulted responses', async () => {
    const emu = await emulator({ seed: { contacts: 5 }, latencyMs: 150, faults: { rate429: 1 } });
    const started = Date.now();
    expect((await call(emu, 'GET', LIST)).status).toBe(429);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });
});

describe('parseFaultSpec', () => {
  it('accepts the CLI examples', () => {
    expect(parseFaultSpec('429=0.1,5xx=0.05,reset=0.02,truncated=0.01,timeout=0.005,wrong-types=0.01,seed=7')).toEqual({
      rate429: 0.1,
      rate5xx: 0.05,
      rateReset: 0.02,
      rateTruncated: 0.01,
      rateTimeout: 0.005,
      wrongTypes: 0.01,
      seed: 7,
    });
    expect(parseFaultSpec('permanent=401')).toEqual({ permanent: 401 });
    expect(parseFaultSpec('permanent=403')).toEqual({ permanent: 403 });
    expect(parseFaultSpec(' 429 = 1 , seed=0 ,')).toEqual({ rate429: 1, seed: 0 });
    expect(parseFaultSpec('Reset=.5,wrong-types=0')).toEqual({ rateReset: 0.5, wrongTypes: 0 });
  });

  it('rejects bad specs with a clear one-line message', () => {
    const cases: [string, string][] = [
      ['foo=0.1', 'Invalid fault spec "foo=0.1": unknown key "foo" (known: 429, 5xx, reset, truncated, timeout, wrong-types, permanent, seed)'],
      ['429=1.5', 'Invalid fault spec "429=1.5": 429=1.5 is not a share between 0 and 1'],
      ['5xx=-0.1', 'Invalid fault spec "5xx=-0.1": 5xx=-0.1 is not a share between 0 and 1'],
      ['reset=lots', 'Invalid fault spec "reset=lots": reset=lots is not a share between 0 and 1'],
      ['truncated=10%', 'Invalid fault spec "truncated=10%": truncated=10% is not a share between 0 and 1'],
      ['permanent=404', 'Invalid fault spec "permanent=404": permanent=404 must be 401, 403 or 500'],
      ['permanent=', 'Invalid fault spec "permanent=": "permanent" has no value (write permanent=<value>)'],
      ['timeout', 'Invalid fault spec "timeout": "timeout" has no value (write timeout=<value>)'],
      ['seed=1.5', 'Invalid fault spec "seed=1.5": seed=1.5 is not an integer'],
      ['429=0.1,429=0.2', 'Invalid fault spec "429=0.1,429=0.2": "429" is given twice'],
      ['429=0.6,5xx=0.3,reset=0.2', 'Invalid fault spec "429=0.6,5xx=0.3,reset=0.2": the request shares (429 + 5xx + reset + truncated + timeout) add up to 1.1, more than 1'],
      ['', 'Invalid fault spec "": expected key=value pairs such as "429=0.1,5xx=0.05,seed=7"'],
    ];
    for (const [spec, message] of cases) {
      let error: unknown;
      try {
        parseFaultSpec(spec);
      } catch (caught) {
        error = caught;
      }
      expect(error, spec).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});
