/**
 * The Azure AD (Microsoft Entra ID) side: the v2.0 client-credentials token endpoint,
 * the OpenID configuration and instance discovery documents MSAL reads, the signing
 * keys, and the access tokens the Web API accepts.
 *
 * AAD errors have the shape
 *   {error, error_description: "AADSTSnnnn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
 *    error_codes: [nnnn], timestamp, trace_id, correlation_id, error_uri}
 * and never repeat the client secret. The correlation id is the client's
 * `client-request-id` header when it sends one (MSAL does).
 */
import { createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { EMULATOR_PRIVATE_KEY } from './certificate.js';

export interface IdentityConfig {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  tokenLifetimeSeconds: number;
}

interface IssuedToken {
  clientId: string;
  expiresAt: number;
  generation: number;
}

export type TokenCheck = { ok: true; clientId: string } | { ok: false; reason: 'missing' | 'unknown' | 'expired' | 'revoked' };

const base64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/** Access tokens issued so far. A token is valid until its `exp` (emulator clock) unless revoked since. */
export class TokenRegistry {
  private readonly tokens = new Map<string, IssuedToken>();
  private generation = 0;
  private readonly key: KeyObject = createPrivateKey(EMULATOR_PRIVATE_KEY);
  readonly keyId: string;
  readonly jwk: Record<string, unknown>;

  constructor(
    private readonly config: IdentityConfig,
    private readonly resource: () => string,
  ) {
    const jwk = createPublicKey(this.key).export({ format: 'jwk' }) as Record<string, unknown>;
    this.keyId = base64url(Buffer.from(`${jwk.x as string}`).subarray(0, 20));
    this.jwk = { kty: jwk.kty, use: 'sig', kid: this.keyId, crv: jwk.crv, x: jwk.x, y: jwk.y };
  }

  /**
   * A JWT shaped like AAD's v1.0 app-only tokens for Dataverse (aud = the organisation
   * URL, appid, tid, roles-free), signed ES256 with the emulator's key (AAD signs RS256;
   * clients never validate it themselves).
   */
  issue(nowMs: number, lifetimeSeconds = this.config.tokenLifetimeSeconds): { token: string; expiresIn: number } {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + lifetimeSeconds;
    const header = { typ: 'JWT', alg: 'ES256', kid: this.keyId };
    const payload = {
      aud: this.resource(),
      iss: `https://sts.windows.net/${this.config.tenantId}/`,
      iat,
      nbf: iat,
      exp,
      aio: base64url(randomUUID()),
      app_displayname: 'crmsync',
      appid: this.config.clientId,
      appidacr: '1',
      idp: `https://sts.windows.net/${this.config.tenantId}/`,
      idtyp: 'app',
      oid: this.config.clientId,
      sub: this.config.clientId,
      tid: this.config.tenantId,
      uti: base64url(randomUUID()),
      ver: '1.0',
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${base64url(signature)}`;
    this.tokens.set(token, { clientId: this.config.clientId, expiresAt: exp * 1000, generation: this.generation });
    return { token, expiresIn: lifetimeSeconds };
  }

  check(header: string | undefined, nowMs: number): TokenCheck {
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return { ok: false, reason: 'missing' };
    const issued = this.tokens.get(match[1] as string);
    if (!issued) return { ok: false, reason: 'unknown' };
    if (issued.generation !== this.generation) return { ok: false, reason: 'revoked' };
    if (nowMs >= issued.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, clientId: issued.clientId };
  }

  /** Every token issued so far is refused from now on. */
  revokeAll(): void {
    this.generation++;
    this.tokens.clear();
  }
}

export interface IdentityResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface IdentityRequest {
  method: string;
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  now: number;
  origin: string;
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' };

/** "2024-05-01 10:20:30Z", AAD's timestamp format. */
function aadTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function aadError(request: IdentityRequest, status: number, error: string, code: number, message: string): IdentityResponse {
  const traceId = randomUUID();
  const clientRequestId = request.headers['client-request-id'];
  const correlationId = typeof clientRequestId === 'string' && clientRequestId !== '' ? clientRequestId : randomUUID();
  const timestamp = aadTimestamp(request.now);
  return {
    status,
    headers: { ...JSON_HEADERS, 'x-ms-request-id': traceId, 'client-request-id': correlationId },
    body: {
      error,
      error_description: `AADSTS${code}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${request.origin}/error?code=${code}`,
    },
  };
}

function tenantNotFound(request: IdentityRequest, tenant: string, error: string): IdentityResponse {
  return aadError(
    request,
    400,
    error,
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

function openIdConfiguration(origin: string, tenant: string, v2: boolean): Record<string, unknown> {
  const root = `${origin}/${tenant}`;
  const oauth = v2 ? `${root}/oauth2/v2.0` : `${root}/oauth2`;
  return {
    token_endpoint: `${oauth}/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: v2 ? `${root}/discovery/v2.0/keys` : `${root}/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['ES256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? `${root}/v2.0` : `${root}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${oauth}/authorize`,
    device_authorization_endpoint: `${oauth}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${oauth}/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${root}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/** Scopes AAD adds for OpenID Connect; a client-credentials request may carry them alongside the resource's. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Answers an identity request, or returns null when the path is not an identity path. */
export function handleIdentity(config: IdentityConfig, tokens: TokenRegistry, resource: string, request: IdentityRequest, countToken: () => void): IdentityResponse | null {
  const [tenant, ...rest] = request.segments;
  if (tenant === undefined || tenant === '') return null;
  const path = rest.join('/');
  const knownTenant = tenant.toLowerCase() === config.tenantId.toLowerCase();
  const origin = request.origin;

  if (request.method === 'GET' && (path === 'discovery/instance' || path === 'discovery/instance/')) {
    // Instance discovery (api-version 1.1): where the tenant's metadata lives and which hosts are aliases.
    const endpoint = request.query.get('authorization_endpoint') ?? '';
    const tenantInEndpoint = /^https:\/\/[^/]+\/([^/]+)\//.exec(endpoint)?.[1] ?? 'common';
    const host = new URL(origin).host;
    return {
      status: 200,
      headers: JSON_HEADERS,
      body: {
        tenant_discovery_endpoint: `${origin}/${tenantInEndpoint}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host, host.replace(/^127\.0\.0\.1/, 'localhost')] }],
      },
    };
  }
  if (request.method === 'GET' && (path === 'v2.0/.well-known/openid-configuration' || path === '.well-known/openid-configuration')) {
    if (!knownTenant) return tenantNotFound(request, tenant, 'invalid_tenant');
    return { status: 200, headers: JSON_HEADERS, body: openIdConfiguration(origin, config.tenantId, path.startsWith('v2.0')) };
  }
  if (request.method === 'GET' && (path === 'discovery/v2.0/keys' || path === 'discovery/keys')) {
    return { status: 200, headers: JSON_HEADERS, body: { keys: [tokens.jwk] } };
  }
  if (path === 'oauth2/v2.0/token') {
    countToken();
    if (request.method !== 'POST') return aadError(request, 400, 'invalid_request', 900561, 'The endpoint only accepts POST requests. Received a GET request.');
    return tokenRequest(config, tokens, resource, request, tenant, knownTenant);
  }
  return null;
}

function tokenRequest(config: IdentityConfig, tokens: TokenRegistry, resource: string, request: IdentityRequest, tenant: string, knownTenant: boolean): IdentityResponse {
  if (!knownTenant) return tenantNotFound(request, tenant, 'invalid_request');
  const form = new URLSearchParams(request.body);
  // client_secret_basic: the id and secret may come in an Authorization: Basic header instead.
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^Basic\s+/i.test(authorization)) {
    const [id, secret] = Buffer.from(authorization.replace(/^Basic\s+/i, ''), 'base64').toString('utf8').split(':');
    if (id !== undefined && !form.has('client_id')) form.set('client_id', decodeURIComponent(id));
    if (secret !== undefined && !form.has('client_secret')) form.set('client_secret', decodeURIComponent(secret));
  }
  const missing = (name: string) => aadError(request, 400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
  const grantType = form.get('grant_type');
  if (!grantType) return missing('grant_type');
  if (grantType !== 'client_credentials') {
    return aadError(request, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
  }
  const clientId = form.get('client_id');
  if (!clientId) return missing('client_id');
  const scope = form.get('scope');
  if (!scope) return missing('scope');
  const scopes = scope.split(/\s+/).filter((s) => s !== '' && !OIDC_SCOPES.has(s.toLowerCase()));
  const notDefault = scopes.find((s) => !s.endsWith('/.default'));
  if (scopes.length === 0 || notDefault !== undefined) {
    return aadError(
      request,
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${notDefault ?? scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  if (clientId.toLowerCase() !== config.clientId.toLowerCase()) {
    return aadError(
      request,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${config.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const secret = form.get('client_secret');
  if (secret === null || secret === '') {
    return aadError(request, 401, 'invalid_client', 7000218, `The request body must contain the following parameter: 'client_assertion' or 'client_secret'.`);
  }
  if (secret !== config.clientSecret) {
    return aadError(
      request,
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${config.clientId}'.`,
    );
  }
  const resources = scopes.map((s) => s.slice(0, -'/.default'.length).replace(/\/+$/, ''));
  const unknown = resources.find((r) => !sameResource(r, resource));
  if (unknown !== undefined || resources.length !== 1) {
    return aadError(
      request,
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${unknown ?? resources.join(' ')} was not found in the tenant named ${config.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }
  const { token, expiresIn } = tokens.issue(request.now);
  return {
    status: 200,
    headers: { ...JSON_HEADERS, 'x-ms-request-id': randomUUID() },
    body: { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
  };
}

/** The organisation URL, compared as AAD compares resource identifiers (scheme and host case-insensitive; localhost and 127.0.0.1 alike here). */
function sameResource(candidate: string, resource: string): boolean {
  try {
    const a = new URL(candidate);
    const b = new URL(resource);
    const host = (url: URL) => url.host.toLowerCase().replace(/^localhost(?=:|$)/, '127.0.0.1');
    return a.protocol === b.protocol && host(a) === host(b) && a.pathname.replace(/\/+$/, '') === b.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}
