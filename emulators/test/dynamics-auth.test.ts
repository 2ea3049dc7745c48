/**
 * The sign-in side of the Dynamics 365 emulator: Microsoft's MSAL for Node signing in
 * against the emulated Azure AD authority, AAD's error bodies, and the Web API's 401s.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it, test } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '../src/dynamics/index.js';
import { GUID, call, closeAll, dispatcherOf, dynamics, fakeClock, header, msalSignIn } from './dynamics-helpers.js';

afterEach(closeAll);

async function tokenPost(emu: DynamicsEmulator, form: Record<string, string>, tenant = emu.tenantId) {
  const response = await request(`${emu.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001' },
    body: new URLSearchParams(form).toString(),
    dispatcher: dispatcherOf(emu),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, body: JSON.parse(text) };
}

function goodForm(emu: DynamicsEmulator): Record<string, string> {
  return { grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: `${emu.url}/.default` };
}

describe('MSAL client-credentials flow (@azure/msal-node against the emulated authority)', () => {
  it('signs in once and then answers from its cache; the token opens the Web API', async () => {
    const emu = await dynamics();
    const msal = msalSignIn(emu);
    const first = await msal.token();
    expect(emu.stats.tokenRequests).toBe(1);
    expect(await msal.token()).toBe(first);
    expect(emu.stats.tokenRequests).toBe(1);
    // MSAL read the tenant's OpenID configuration from the emulated authority.
    expect(emu.stats.byRoute['GET /{tenant}/v2.0/.well-known/openid-configuration']).toBe(1);

    const whoAmI = await call(emu, 'GET', 'WhoAmI', { token: first });
    expect(whoAmI.status).toBe(200);
    expect(whoAmI.body).toEqual({
      '@odata.context': `${emu.apiUrl}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: expect.stringMatching(GUID),
      UserId: expect.stringMatching(GUID),
      OrganizationId: expect.stringMatching(GUID),
    });
    expect(header(whoAmI, 'odata-version')).toBe('4.0');

    // skipCache asks the token endpoint again (after the API refused a token).
    const fresh = await msal.token(true);
    expect(fresh).not.toBe(first);
    expect(emu.stats.tokenRequests).toBe(2);
  });

  it('renews a token five minutes before it expires', async () => {
    const emu = await dynamics({ tokenLifetimeSeconds: 301 });
    const msal = msalSignIn(emu);
    const first = await msal.token();
    expect(await msal.token()).toBe(first);
    expect(emu.stats.tokenRequests).toBe(1);
    // 301 s of lifetime minus MSAL's 300 s renewal margin, counted in whole seconds from
    // the request: stale within 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const renewed = await msal.token();
    expect(renewed).not.toBe(first);
    expect(emu.stats.tokenRequests).toBe(2);
    expect((await call(emu, 'GET', 'WhoAmI', { token: renewed })).status).toBe(200);
  });

  // What MSAL reports is what an application can name the wrong setting from.
  test.each([
    { name: 'a wrong client secret', overrides: { clientSecret: 'wrong-secret-value-123' }, reports: 'AADSTS7000215' },
    { name: 'an unknown client id', overrides: { clientId: '00000000-1111-4222-8333-444444444444' }, reports: 'AADSTS700016' },
    { name: 'an unknown tenant', overrides: { tenantId: '99999999-8888-4777-8666-555555555555' }, reports: 'endpoints_resolution_error' },
    { name: 'another organisation URL', overrides: { resourceUrl: 'https://contoso.crm4.dynamics.com' }, reports: 'AADSTS500011' },
  ])('$name fails in MSAL with $reports and never the secret', async ({ overrides, reports }) => {
    const emu = await dynamics();
    const error = await msalSignIn(emu, overrides).token().then(
      () => undefined,
      (failure: Error & { errorCode?: string }) => failure,
    );
    expect(error).toBeInstanceOf(Error);
    expect(`${error?.errorCode} ${error?.message}`).toContain(reports);
    expect(error?.message).not.toContain(emu.clientSecret);
    expect(error?.message).not.toContain('wrong-secret-value-123');
  });
});

describe('token endpoint', () => {
  it('issues a Bearer JWT for the organisation', async () => {
    const emu = await dynamics();
    const reply = await tokenPost(emu, goodForm(emu));
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: expect.any(String) });
    const [head, payload, signature] = (reply.body.access_token as string).split('.');
    expect(signature).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(head as string, 'base64url').toString())).toMatchObject({ typ: 'JWT', alg: 'ES256' });
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    expect(claims).toMatchObject({ aud: emu.url, appid: emu.clientId, tid: emu.tenantId, ver: '1.0' });
    expect(claims.exp - claims.iat).toBe(3599);
    expect(reply.headers['cache-control']).toContain('no-store');
    // The resource with a trailing slash (`<url>//.default`) is the same resource.
    expect((await tokenPost(emu, { ...goodForm(emu), scope: `${emu.url}//.default` })).status).toBe(200);
  });

  test.each<{ name: string; form: Record<string, string>; tenant?: string; status: number; error: string; code: number; says: string }>([
    { name: 'wrong secret', form: { client_secret: 'not-the-secret' }, status: 401, error: 'invalid_client', code: 7000215, says: 'Invalid client secret provided' },
    { name: 'unknown client', form: { client_id: '00000000-1111-4222-8333-444444444444' }, status: 400, error: 'unauthorized_client', code: 700016, says: "Application with identifier '00000000-1111-4222-8333-444444444444' was not found" },
    { name: 'unknown tenant', form: {}, tenant: '99999999-8888-4777-8666-555555555555', status: 400, error: 'invalid_request', code: 90002, says: "Tenant '99999999-8888-4777-8666-555555555555' not found" },
    { name: 'another resource', form: { scope: 'https://contoso.crm.dynamics.com/.default' }, status: 400, error: 'invalid_resource', code: 500011, says: 'The resource principal named https://contoso.crm.dynamics.com was not found' },
    { name: 'scope without /.default', form: { scope: 'https://x.example/user_impersonation' }, status: 400, error: 'invalid_scope', code: 1002012, says: 'must have a scope value with /.default' },
    { name: 'password grant', form: { grant_type: 'password' }, status: 400, error: 'unsupported_grant_type', code: 70003, says: "unsupported grant type 'password'" },
    { name: 'no client_id', form: { client_id: '' }, status: 400, error: 'invalid_request', code: 900144, says: "parameter: 'client_id'" },
    { name: 'no secret', form: { client_secret: '' }, status: 401, error: 'invalid_client', code: 7000218, says: "'client_assertion' or 'client_secret'" },
  ])('$name: $status $error AADSTS$code', async ({ form, tenant, status, error, code, says }) => {
    const emu = await dynamics();
    const reply = await tokenPost(emu, { ...goodForm(emu), ...form }, tenant);
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual({
      error,
      error_description: expect.stringMatching(new RegExp(`^AADSTS${code}: .*\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: c0ffee00-0000-4000-8000-000000000001\\r\\nTimestamp: \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z$`, 's')),
      error_codes: [code],
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/),
      trace_id: expect.stringMatching(GUID),
      correlation_id: 'c0ffee00-0000-4000-8000-000000000001',
      error_uri: `${emu.authorityHost}/error?code=${code}`,
    });
    expect(reply.body.error_description).toContain(says);
    expect(reply.text).not.toContain(emu.clientSecret);
    expect(reply.text).not.toContain('not-the-secret');
    expect(emu.stats.tokenRequests).toBe(1);
  });

  it('serves the OpenID configuration and instance discovery on its own origin', async () => {
    const emu = await dynamics();
    const get = async (path: string) => {
      const response = await request(`${emu.authorityHost}${path}`, { dispatcher: dispatcherOf(emu) });
      return { status: response.statusCode, body: (await response.body.json()) as any };
    };
    const config = await get(`/${emu.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      issuer: `${emu.authorityHost}/${emu.tenantId}/v2.0`,
      token_endpoint: `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`,
      authorization_endpoint: `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/authorize`,
      jwks_uri: `${emu.authorityHost}/${emu.tenantId}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_post']),
      response_types_supported: expect.arrayContaining(['code']),
    });
    const keys = await get(`/${emu.tenantId}/discovery/v2.0/keys`);
    expect(keys.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig' });

    const unknown = await get('/99999999-8888-4777-8666-555555555555/v2.0/.well-known/openid-configuration');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_tenant');
    expect(unknown.body.error_codes).toEqual([90002]);

    const authorize = encodeURIComponent(`${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/authorize`);
    const discovery = await get(`/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`);
    expect(discovery.body).toEqual({
      tenant_discovery_endpoint: `${emu.authorityHost}/${emu.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: `127.0.0.1:${emu.port}`, preferred_cache: `127.0.0.1:${emu.port}`, aliases: [`127.0.0.1:${emu.port}`, `localhost:${emu.port}`] }],
    });
  });
});

describe('Web API authentication', () => {
  test.each([
    { name: 'no Authorization header', token: () => null },
    { name: 'an unknown token', token: () => 'eyJhbGciOiJub25lIn0.e30.' },
    { name: 'an expired token', token: (emu: DynamicsEmulator, clock: ReturnType<typeof fakeClock>) => {
      const token = emu.issueToken(60);
      clock.advance(60_000);
      return token;
    } },
    { name: 'a revoked token', token: (emu: DynamicsEmulator) => {
      const token = emu.issueToken();
      emu.revokeTokens();
      return token;
    } },
  ])('$name: 401 with an empty body and the Bearer challenge', async ({ token }) => {
    const clock = fakeClock();
    const emu = await dynamics({ now: clock.now, seed: { contacts: 3 } });
    const reply = await call(emu, 'GET', 'contacts', { token: token(emu, clock) });
    expect(reply.status).toBe(401);
    expect(reply.text).toBe('');
    expect(header(reply, 'www-authenticate')).toBe(`Bearer authorization_uri=${emu.authorityHost}/${emu.tenantId}/oauth2/authorize, resource_id=${emu.url}/`);
    // A token issued now works.
    expect((await call(emu, 'GET', 'contacts', { token: emu.issueToken() })).status).toBe(200);
  });

  it('a token from the token endpoint works until its lifetime ends (emulator clock)', async () => {
    const clock = fakeClock();
    const emu = await dynamics({ now: clock.now, tokenLifetimeSeconds: 600 });
    const { body } = await tokenPost(emu, goodForm(emu));
    expect((await call(emu, 'GET', 'WhoAmI', { token: body.access_token })).status).toBe(200);
    clock.advance(599_000);
    expect((await call(emu, 'GET', 'WhoAmI', { token: body.access_token })).status).toBe(200);
    clock.advance(1_000);
    expect((await call(emu, 'GET', 'WhoAmI', { token: body.access_token })).status).toBe(401);
  });
});

describe('the certificate to trust', () => {
  it('is written to a file of each emulator’s own, which its clients trust and close() removes', async () => {
    const [a, b] = await Promise.all([startDynamicsEmulator(), startDynamicsEmulator()]);
    try {
      expect(a.certificateFile).not.toBe(b.certificateFile);
      for (const emu of [a, b]) {
        expect(readFileSync(emu.certificateFile, 'utf8')).toBe(emu.certificate);
        // Readable by its owner only, in a directory no other emulator uses.
        expect(statSync(emu.certificateFile).mode & 0o077).toBe(0);
        const dispatcher = new Agent({ connect: { ca: readFileSync(emu.certificateFile, 'utf8') } });
        const reply = await request(`${emu.apiUrl}/WhoAmI`, { headers: { Authorization: `Bearer ${emu.issueToken()}` }, dispatcher });
        expect(reply.statusCode).toBe(200);
        await reply.body.text();
        await dispatcher.close();
      }
      await a.close();
      expect(existsSync(a.certificateFile)).toBe(false);
      expect(existsSync(dirname(a.certificateFile))).toBe(false);
      expect(readFileSync(b.certificateFile, 'utf8')).toBe(b.certificate);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(existsSync(b.certificateFile)).toBe(false);
  });

  it('is not trusted without being named: checks stay on', async () => {
    const emu = await dynamics();
    await expect(request(`${emu.apiUrl}/WhoAmI`)).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/) });
  });
});
