/**
 * The HTTPS side: routing between the sign-in authority (Azure AD) and the Web API, and
 * the Web API pipeline: bearer auth, injected throttling and faults, service protection
 * limits, the handler, latency, and the headers every response carries.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { executeBatch } from './batch.js';
import { DataverseError, ERROR_CODES, odataError } from './errors.js';
import type { FaultInjector } from './faults.js';
import { handleIdentity, type IdentityConfig, type TokenRegistry } from './identity.js';
import { parsePrefer } from './query.js';
import { readBody } from '../shared/request-body.js';
import type { ServiceProtection } from './rate-limit.js';
import type { DynamicsStore } from './store.js';
import type { DataverseWebhooks } from './webhooks.js';
import { executeApi } from './webapi.js';
import { errorResponse, type ApiRequest, type ApiResponse, type WebApiContext } from './webapi-request.js';

/** Request counters. */
export interface DynamicsStats {
  /** Every HTTP request received (sign-in authority included), also those answered 401 or 429. */
  requests: number;
  /** POSTs to the token endpoint. */
  tokenRequests: number;
  /** Web API requests answered 429 (service protection, throttleNext, injected). */
  throttled: number;
  /** Requests per route, e.g. 'GET /api/data/v9.2/{entitySet}'; requests inside a $batch as '$batch: PATCH /api/data/v9.2/{entitySet}({id})'. */
  byRoute: Record<string, number>;
  /** Injected faults by kind ('throttle', 'serverError', 'reset'); kinds that never happened are absent. */
  faults: Record<string, number>;
  reset(): void;
}

export class Stats implements DynamicsStats {
  requests = 0;
  tokenRequests = 0;
  throttled = 0;
  byRoute: Record<string, number> = {};
  faults: Record<string, number> = {};

  count(route: string): void {
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
  }

  reset(): void {
    this.requests = 0;
    this.tokenRequests = 0;
    this.throttled = 0;
    for (const key of Object.keys(this.byRoute)) delete this.byRoute[key];
    for (const key of Object.keys(this.faults)) delete this.faults[key];
  }
}

export interface ServerContext {
  store: DynamicsStore;
  identity: IdentityConfig;
  tokens: TokenRegistry;
  limiter: ServiceProtection;
  faults: FaultInjector | null;
  /** throttleNext(): how many Web API requests still get a 429, and their Retry-After. */
  throttleQueue: { remaining: number; retryAfterSeconds: number };
  stats: Stats;
  now: () => number;
  latencyMs: number;
  maxPageSize: number;
  retentionMs: number;
  /** Delta tokens below this version are expired (expireDeltaTokens()). */
  deltaMinVersion: number;
  /** https://127.0.0.1:PORT */
  origin: () => string;
  /** Contexts of Web API writes, null while webhooks are off. */
  webhooks: DataverseWebhooks | null;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

function headerRecord(request: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** The route template of a Web API path, for stats.byRoute. */
function routeOf(method: string, version: string, path: string): string {
  const prefix = `${method} /api/data/${version}/`;
  if (path === '') return prefix;
  const segments = path.split('/');
  const first = segments[0] as string;
  const name = /^([^(]*)(\(.*\))?$/.exec(first);
  const base = name?.[1] ?? first;
  const keyed = name?.[2] !== undefined;
  if (base === '$batch' || base === 'WhoAmI' || base === '$metadata') return prefix + base;
  if (base === 'EntityDefinitions') return prefix + (keyed ? 'EntityDefinitions({key})' : 'EntityDefinitions') + (segments.length > 1 ? '/Attributes' : '');
  return prefix + (keyed ? '{entitySet}({id})' : '{entitySet}') + (segments[1] === '$count' ? '/$count' : '');
}

function send(response: ServerResponse, status: number, headers: Record<string, string | string[]>, body?: string): void {
  if (response.writableEnded || response.destroyed) return;
  const out: Record<string, string | string[]> = { ...headers };
  if (body !== undefined && status !== 304 && status !== 204) {
    const payload = Buffer.from(body, 'utf8');
    out['Content-Length'] = String(payload.length);
    response.writeHead(status, out);
    response.end(payload);
    return;
  }
  out['Content-Length'] = '0';
  response.writeHead(status, out);
  response.end();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The node:https request listener of the emulator. */
export function createHandler(ctx: ServerContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void handle(ctx, request, response).catch((error: unknown) => {
      // Last resort (the response could not even be built): never crash the server.
      send(response, 500, { 'Content-Type': 'application/json; odata.metadata=minimal' }, JSON.stringify({ error: { code: ERROR_CODES.unexpected, message: `Emulator failure: ${String(error)}` } }));
    });
  };
}

async function handle(ctx: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  ctx.stats.requests++;
  const method = (request.method ?? 'GET').toUpperCase();
  const url = new URL(request.url ?? '/', 'https://emulator');
  let body: string;
  try {
    body = await readBody(request, MAX_BODY_BYTES, (limit) => odataError(`The request body is larger than ${limit} bytes.`, 413));
  } catch (error) {
    if (!(error instanceof DataverseError)) throw error;
    const out = errorResponse(error);
    send(response, out.status, { 'OData-Version': '4.0', ...out.headers }, out.body);
    return;
  }
  const api = /^\/api\/data\/(v9\.[0-2])(?:\/(.*))?$/.exec(url.pathname);
  if (api || url.pathname === '/api/data' || url.pathname.startsWith('/api/data/')) {
    await handleWebApi(ctx, request, response, method, url, body, api);
    return;
  }
  // The sign-in authority.
  let segments: string[];
  try {
    segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    segments = [];
  }
  const result = handleIdentity(
    ctx.identity,
    ctx.tokens,
    ctx.origin(),
    { method, segments, query: url.searchParams, headers: request.headers, body, now: ctx.now(), origin: ctx.origin() },
    () => ctx.stats.tokenRequests++,
  );
  const route = result === null ? `${method} (unmatched)` : `${method} /{tenant}/${segments.slice(1).join('/')}`.replace('/{tenant}/discovery/instance', '/common/discovery/instance');
  ctx.stats.count(route);
  if (ctx.latencyMs > 0) await sleep(ctx.latencyMs);
  if (result === null) {
    send(response, 404, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify({ error: 'not_found', error_description: `No endpoint at ${method} ${url.pathname}.` }));
    return;
  }
  send(response, result.status, result.headers, JSON.stringify(result.body));
}

async function handleWebApi(
  ctx: ServerContext,
  request: IncomingMessage,
  response: ServerResponse,
  method: string,
  url: URL,
  body: string,
  api: RegExpExecArray | null,
): Promise<void> {
  const started = performance.now();
  const origin = ctx.origin();
  const version = api?.[1] ?? 'v9.2';
  let path = api?.[2] ?? '';
  let badPath = api === null;
  try {
    path = decodeURIComponent(path);
  } catch {
    badPath = true;
  }
  ctx.stats.count(badPath ? `${method} (unmatched)` : routeOf(method, version, path));
  const baseHeaders: Record<string, string | string[]> = { 'OData-Version': '4.0', REQ_ID: randomUUID() };

  const reply = async (status: number, headers: Record<string, string | string[]>, text?: string) => {
    if (ctx.latencyMs > 0) await sleep(ctx.latencyMs);
    send(response, status, { ...baseHeaders, ...headers }, text);
  };

  // Auth: a missing, unknown, expired or revoked token is a bare 401 with the challenge
  // naming the authority and the resource to ask a token for.
  const now = ctx.now();
  const auth = ctx.tokens.check(request.headers.authorization, now);
  if (!auth.ok) {
    await reply(401, {
      'WWW-Authenticate': `Bearer authorization_uri=${origin}/${ctx.identity.tenantId}/oauth2/authorize, resource_id=${origin}/`,
    });
    return;
  }

  const throttled = (error: DataverseError) => {
    ctx.stats.throttled++;
    const out = errorResponse(error);
    return reply(out.status, out.headers, out.body);
  };
  const executionLimit = (seconds: number) =>
    new DataverseError(
      429,
      ERROR_CODES.executionTimeLimit,
      'Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.',
      { 'Retry-After': String(seconds) },
    );

  if (ctx.throttleQueue.remaining > 0) {
    ctx.throttleQueue.remaining--;
    await throttled(executionLimit(ctx.throttleQueue.retryAfterSeconds));
    return;
  }
  // One fault draw per authenticated request, in arrival order; a request the limits
  // refuse is answered its real 429 and not faulted (the draw is spent all the same).
  const injector = ctx.faults;
  const fault = injector?.draw() ?? null;
  const admission = ctx.limiter.admit(auth.clientId, now);
  if (!admission.ok) {
    await throttled(admission.error);
    return;
  }
  Object.assign(baseHeaders, admission.headers);
  try {
    if (fault !== null && injector !== null) {
      ctx.stats.faults[fault] = (ctx.stats.faults[fault] ?? 0) + 1;
      if (fault === 'throttle') {
        await throttled(executionLimit(injector.retryAfterSeconds));
        return;
      }
      if (fault === 'serverError') {
        const out = errorResponse(new DataverseError(503, ERROR_CODES.unexpected, 'The service is temporarily unavailable. Please try again later.'));
        await reply(out.status, out.headers, out.body);
        return;
      }
      if (ctx.latencyMs > 0) await sleep(ctx.latencyMs);
      request.socket.destroy();
      return;
    }
    let out: ApiResponse;
    if (badPath) {
      out = errorResponse(new DataverseError(404, ERROR_CODES.odata, `Resource not found for the segment '${url.pathname}'.`));
    } else {
      const apiRequest: ApiRequest = {
        method,
        path,
        rawQuery: url.search.replace(/^\?/, ''),
        query: url.searchParams,
        headers: headerRecord(request),
        body,
        base: `${origin}/api/data/${version}`,
        prefs: parsePrefer(request.headers.prefer),
      };
      out = executeApi(webContext(ctx), apiRequest);
    }
    await reply(out.status, out.headers, out.body);
  } finally {
    admission.release(ctx.now(), performance.now() - started);
  }
}

/** The context Web API handlers run in (a $batch runs its requests through the same one). */
export function webContext(ctx: ServerContext): WebApiContext {
  const web: WebApiContext = {
    store: ctx.store,
    now: ctx.now,
    maxPageSize: ctx.maxPageSize,
    retentionMs: ctx.retentionMs,
    deltaMinVersion: () => ctx.deltaMinVersion,
    webhooks: ctx.webhooks,
    batch: (request) =>
      executeBatch(
        {
          store: ctx.store,
          atomically: (fn) => (ctx.webhooks ? ctx.webhooks.atomically(fn) : fn()),
          run: (inner) => {
            ctx.stats.count(`$batch: ${routeOf(inner.method, inner.base.slice(inner.base.lastIndexOf('/') + 1), inner.path)}`);
            return executeApi(web, inner);
          },
        },
        request,
      ),
  };
  return web;
}
