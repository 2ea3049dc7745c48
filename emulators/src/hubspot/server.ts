/**
 * The HTTP side of the emulator: routing, auth, scopes, rate limits, fault injection and
 * the request pipeline. The endpoint handlers are in api-v3.ts, writes.ts and api-v4.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../shared/request-body.js';
import { archiveObject, batchArchive, batchRead, getObject, getProperty, listObjects, listProperties, search } from './api-v3.js';
import {
  associationLabels,
  associationsBatchRead,
  batchArchiveAssociations,
  batchArchiveLabels,
  batchCreateAssociations,
  batchCreateDefaultAssociations,
  createDefaultAssociation,
  createLabelledAssociation,
  deleteAssociation,
  getSchema,
  listSchemas,
  objectAssociations,
  schemaNotFound,
} from './api-v4.js';
import { HubSpotApiError, notFound, unknownObjectType, validationError } from './errors.js';
import type { FaultInjector, FaultKind, HeldSockets, RequestFault } from './faults.js';
import { isObject, JsonBytes, serialize, type ApiRequest, type Reply } from './http.js';
import type { ObjectTypeDefinition } from './object-types.js';
import type { RateLimiter } from './rate-limit.js';
import type { ApiObject } from './record-json.js';
import type { HubSpotStore } from './store.js';
import type { HubSpotWebhooks } from './webhooks.js';
import { batchCreate, batchUpdate, batchUpsert, createObject, updateObject } from './writes.js';

/** Request counters. */
export interface EmulatorStats {
  /** Every HTTP request received, including those answered 401 or 429. */
  requests: number;
  /** Requests per route template, e.g. 'POST /crm/v3/objects/{type}/search'. */
  byRoute: Record<string, number>;
  /** Requests the rate limiter answered 429 (injected 429s count in `faults['429']` only). */
  rateLimited: number;
  /**
   * Injected faults by kind: '429', '5xx', 'reset', 'truncated', 'timeout', 'permanent'
   * (requests) and 'wrong-types' (records returned malformed). Kinds that never
   * happened are absent.
   */
  faults: Record<string, number>;
  reset(): void;
}

export class Stats implements EmulatorStats {
  requests = 0;
  byRoute: Record<string, number> = {};
  rateLimited = 0;
  faults: Record<string, number> = {};

  countFault(kind: FaultKind, n = 1): void {
    if (n > 0) this.faults[kind] = (this.faults[kind] ?? 0) + n;
  }

  reset(): void {
    this.requests = 0;
    this.rateLimited = 0;
    for (const key of Object.keys(this.byRoute)) delete this.byRoute[key];
    for (const key of Object.keys(this.faults)) delete this.faults[key];
  }
}

export interface ServerContext {
  store: HubSpotStore;
  token: string;
  /** Object type names the token has no scope for. */
  forbidden: Set<string>;
  latencyMs: number;
  limiter: RateLimiter;
  now: () => number;
  stats: Stats;
  /** The emulator's base URL (for paging links). */
  baseUrl: () => string;
  /** Fault injection, null when off (`setFaults` swaps it). */
  faults: FaultInjector | null;
  /** Sockets of requests hit by the `timeout` fault. */
  held: HeldSockets;
  /** Events of API writes, null while webhooks are off. */
  webhooks: HubSpotWebhooks | null;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

type Access = 'read' | 'write' | 'schema';
interface Route {
  key: string;
  access: Access;
  search?: boolean;
  /** Read routes whose records the wrong-types fault may malform: a `results` list or the body itself. */
  records?: 'results' | 'object';
  /**
   * The path parameters naming the object types whose scopes the route needs (default
   * ['type']); 'custom' for the schemas list, which needs crm.schemas.custom.read.
   */
  scopes?: readonly string[] | 'custom';
  /** The error for an object type the portal does not have (default HubSpot's 400). */
  unknownType?: (type: string) => HubSpotApiError;
  handler: (ctx: ServerContext, request: ApiRequest) => Reply;
}

// ---- routing -------------------------------------------------------------------------------------

const OBJECTS = '/crm/v3/objects/{type}';
const ROUTES = {
  list: { key: `GET ${OBJECTS}`, access: 'read', records: 'results', handler: listObjects },
  create: { key: `POST ${OBJECTS}`, access: 'write', handler: createObject },
  search: { key: `POST ${OBJECTS}/search`, access: 'read', search: true, records: 'results', handler: search },
  get: { key: `GET ${OBJECTS}/{id}`, access: 'read', records: 'object', handler: getObject },
  update: { key: `PATCH ${OBJECTS}/{id}`, access: 'write', handler: updateObject },
  archive: { key: `DELETE ${OBJECTS}/{id}`, access: 'write', handler: archiveObject },
  batchRead: { key: `POST ${OBJECTS}/batch/read`, access: 'read', records: 'results', handler: batchRead },
  batchCreate: { key: `POST ${OBJECTS}/batch/create`, access: 'write', handler: batchCreate },
  batchUpdate: { key: `POST ${OBJECTS}/batch/update`, access: 'write', handler: batchUpdate },
  batchUpsert: { key: `POST ${OBJECTS}/batch/upsert`, access: 'write', handler: batchUpsert },
  batchArchive: { key: `POST ${OBJECTS}/batch/archive`, access: 'write', handler: batchArchive },
  properties: { key: 'GET /crm/v3/properties/{type}', access: 'schema', handler: listProperties },
  property: { key: 'GET /crm/v3/properties/{type}/{name}', access: 'schema', handler: getProperty },
} satisfies Record<string, Route>;

const SCHEMAS = '/crm-object-schemas/v3/schemas';
const V4_PAIR = '/crm/v4/associations/{fromObjectType}/{toObjectType}';
const V4_OBJECT = '/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}';
const PAIR_SCOPES = ['type', 'toType'] as const;
const V4_ROUTES = {
  batchRead: { key: `POST ${V4_PAIR}/batch/read`, access: 'read', scopes: PAIR_SCOPES, handler: associationsBatchRead },
  batchCreate: { key: `POST ${V4_PAIR}/batch/create`, access: 'write', scopes: PAIR_SCOPES, handler: batchCreateAssociations },
  batchDefault: { key: `POST ${V4_PAIR}/batch/associate/default`, access: 'write', scopes: PAIR_SCOPES, handler: batchCreateDefaultAssociations },
  batchArchive: { key: `POST ${V4_PAIR}/batch/archive`, access: 'write', scopes: PAIR_SCOPES, handler: batchArchiveAssociations },
  batchLabelsArchive: { key: `POST ${V4_PAIR}/batch/labels/archive`, access: 'write', scopes: PAIR_SCOPES, handler: batchArchiveLabels },
  labels: { key: `GET ${V4_PAIR}/labels`, access: 'read', scopes: PAIR_SCOPES, handler: associationLabels },
  list: { key: `GET ${V4_OBJECT}`, access: 'read', scopes: PAIR_SCOPES, handler: objectAssociations },
  create: { key: `PUT ${V4_OBJECT}/{toObjectId}`, access: 'write', scopes: PAIR_SCOPES, handler: createLabelledAssociation },
  archive: { key: `DELETE ${V4_OBJECT}/{toObjectId}`, access: 'write', scopes: PAIR_SCOPES, handler: deleteAssociation },
  createDefault: {
    key: 'PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}',
    access: 'write',
    scopes: PAIR_SCOPES,
    handler: createDefaultAssociation,
  },
} satisfies Record<string, Route>;
const SCHEMA_ROUTES = {
  list: { key: `GET ${SCHEMAS}`, access: 'schema', scopes: 'custom', handler: listSchemas },
  get: { key: `GET ${SCHEMAS}/{objectType}`, access: 'schema', unknownType: schemaNotFound, handler: getSchema },
  aliasList: { key: 'GET /crm/v3/schemas', access: 'schema', scopes: 'custom', handler: listSchemas },
  aliasGet: { key: 'GET /crm/v3/schemas/{objectType}', access: 'schema', unknownType: schemaNotFound, handler: getSchema },
} satisfies Record<string, Route>;

const BATCH_ROUTES: Record<string, Route> = {
  read: ROUTES.batchRead,
  create: ROUTES.batchCreate,
  update: ROUTES.batchUpdate,
  upsert: ROUTES.batchUpsert,
  archive: ROUTES.batchArchive,
};

interface Match {
  route?: Route;
  /** The path exists but not for this method. */
  methodNotAllowed?: boolean;
  params: Record<string, string>;
}

const NO_MATCH: Match = { params: {} };

function match(method: string, pathname: string): Match {
  let segments: string[];
  try {
    segments = pathname.split('/').filter((segment) => segment !== '').map(decodeURIComponent);
  } catch {
    return NO_MATCH;
  }
  const byMethod = (candidates: Record<string, Route>, params: Record<string, string>): Match => {
    const route = candidates[method];
    return route ? { route, params } : { methodNotAllowed: true, params };
  };
  const [root, version, kind, ...rest] = segments;
  const schemas = (list: Route, get: Route): Match => {
    if (rest.length === 0) return byMethod({ GET: list }, {});
    if (rest.length === 1) return byMethod({ GET: get }, { type: rest[0] as string });
    return NO_MATCH;
  };
  if (root === 'crm-object-schemas' && version === 'v3' && kind === 'schemas') return schemas(SCHEMA_ROUTES.list, SCHEMA_ROUTES.get);
  if (root !== 'crm') return NO_MATCH;
  if (version === 'v3') {
    if (kind === 'schemas') return schemas(SCHEMA_ROUTES.aliasList, SCHEMA_ROUTES.aliasGet);
    const [type, fourth, fifth, ...more] = rest;
    if (type === undefined || more.length > 0) return NO_MATCH;
    if (kind === 'objects') {
      if (fourth === undefined) return byMethod({ GET: ROUTES.list, POST: ROUTES.create }, { type });
      if (fifth === undefined) {
        if (fourth === 'search' && method === 'POST') return { route: ROUTES.search, params: { type } };
        return byMethod({ GET: ROUTES.get, PATCH: ROUTES.update, DELETE: ROUTES.archive }, { type, id: fourth });
      }
      if (fourth === 'batch' && BATCH_ROUTES[fifth]) return byMethod({ POST: BATCH_ROUTES[fifth] as Route }, { type });
      return NO_MATCH;
    }
    if (kind === 'properties' && fifth === undefined) {
      if (fourth === undefined) return byMethod({ GET: ROUTES.properties }, { type });
      return byMethod({ GET: ROUTES.property }, { type, name: fourth });
    }
    return NO_MATCH;
  }
  if (version === 'v4' && kind === 'associations') {
    const [type, toType, ...tail] = rest;
    if (type === undefined || toType === undefined) return NO_MATCH;
    const params = { type, toType };
    const path = tail.join('/');
    if (path === 'labels') return byMethod({ GET: V4_ROUTES.labels }, params);
    const batch: Record<string, Route> = {
      'batch/read': V4_ROUTES.batchRead,
      'batch/create': V4_ROUTES.batchCreate,
      'batch/associate/default': V4_ROUTES.batchDefault,
      'batch/archive': V4_ROUTES.batchArchive,
      'batch/labels/archive': V4_ROUTES.batchLabelsArchive,
    };
    const route = Object.hasOwn(batch, path) ? batch[path] : undefined;
    return route ? byMethod({ POST: route }, params) : NO_MATCH;
  }
  if (version === 'v4' && kind === 'objects') {
    const [type, id, associations, ...tail] = rest;
    if (type === undefined || id === undefined || associations !== 'associations') return NO_MATCH;
    if (tail.length === 1) return byMethod({ GET: V4_ROUTES.list }, { type, id, toType: tail[0] as string });
    if (tail.length === 2) return byMethod({ PUT: V4_ROUTES.create, DELETE: V4_ROUTES.archive }, { type, id, toType: tail[0] as string, toId: tail[1] as string });
    if (tail.length === 3 && tail[0] === 'default') return byMethod({ PUT: V4_ROUTES.createDefault }, { type, id, toType: tail[1] as string, toId: tail[2] as string });
    return NO_MATCH;
  }
  return NO_MATCH;
}

// ---- the request pipeline ----------------------------------------------------------------------

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw validationError(`Invalid input JSON: ${(error as Error).message}`);
  }
}

const INVALID_TOKEN_MESSAGE =
  'The access token provided is invalid or has expired. Check that the request uses the current access token of this private app.';

function authenticate(ctx: ServerContext, request: IncomingMessage): void {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new HubSpotApiError(
      401,
      'INVALID_AUTHENTICATION',
      'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
    );
  }
  if (match[1] !== ctx.token) throw new HubSpotApiError(401, 'INVALID_AUTHENTICATION', INVALID_TOKEN_MESSAGE);
}

/** 403 MISSING_SCOPES naming the granular scope needed (when there is a known one). */
function missingScopes(scope: string | undefined): HubSpotApiError {
  return new HubSpotApiError(
    403,
    'MISSING_SCOPES',
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
    scope === undefined ? {} : { errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [scope] } }] },
  );
}

/** The granular scope an access to an object type needs (custom objects share theirs). */
function scopeName(def: ObjectTypeDefinition, access: Access): string {
  if (def.custom) return access === 'schema' ? 'crm.schemas.custom.read' : `crm.objects.custom.${access}`;
  return access === 'schema' ? `crm.schemas.${def.name}.read` : `crm.objects.${def.name}.${access}`;
}

/**
 * The scope a route needs that the token lacks (or, when it lacks none, the first one
 * the route needs; undefined for none): the scope of the first forbidden object type
 * among the route's. Throws the route's error for an unknown object type (HubSpot's 400).
 */
function requiredScope(ctx: ServerContext, route: Route, params: Record<string, string>): { scope?: string; missing: boolean } {
  if (route.scopes === 'custom') {
    // The schemas list: the token lacks the custom objects' scope when any custom type is forbidden.
    return { scope: 'crm.schemas.custom.read', missing: ctx.store.customObjectTypes().some((name) => ctx.forbidden.has(name)) };
  }
  let first: string | undefined;
  for (const name of route.scopes ?? ['type']) {
    const type = params[name] as string;
    const def = ctx.store.findType(type);
    if (!def) throw (route.unknownType ?? unknownObjectType)(type);
    const scope = scopeName(def, route.access);
    first ??= scope;
    if (ctx.forbidden.has(def.name)) return { scope, missing: true };
  }
  return { scope: first, missing: false };
}

function checkScope(ctx: ServerContext, route: Route, params: Record<string, string>): void {
  const { scope, missing } = requiredScope(ctx, route, params);
  if (missing) throw missingScopes(scope);
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (response.writableEnded || response.destroyed) return;
  if (body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  if (body instanceof JsonBytes) {
    sendParts(response, status, body.parts, 'application/json;charset=utf-8', headers);
    return;
  }
  sendRaw(response, status, serialize(body), 'application/json;charset=utf-8', headers);
}

/** sendRaw for a payload in parts: one writev of the head and every part, no copying. */
function sendParts(response: ServerResponse, status: number, parts: readonly Buffer[], contentType: string, headers: Record<string, string>): void {
  let length = 0;
  for (const part of parts) length += part.length;
  response.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': String(length) });
  // Corked, the parts are written together by end().
  response.cork();
  for (let k = 0; k < parts.length - 1; k++) response.write(parts[k]);
  response.end(parts[parts.length - 1]);
  response.uncork();
}

function sendRaw(response: ServerResponse, status: number, payload: Buffer, contentType: string, headers: Record<string, string>): void {
  if (response.writableEnded || response.destroyed) return;
  response.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': String(payload.length) });
  response.end(payload);
}

// ---- fault injection ---------------------------------------------------------------------------

/** HubSpot's body for an internal error (no category). */
function internalErrorBody(correlationId: string, message = 'internal error'): Record<string, unknown> {
  return { status: 'error', message, correlationId };
}

const GATEWAY_TEXT: Record<502 | 503, string> = { 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable' };

/** The HTML page a proxy in front of the API answers with. */
function proxyPage(status: 502 | 503): string {
  const title = `${status} ${GATEWAY_TEXT[status]}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`;
}

/** The response of a request-level fault that answers (429, 5xx, permanent). */
function faultReply(
  ctx: ServerContext,
  fault: Extract<RequestFault, { kind: '429' | '5xx' | 'permanent' }>,
  found: Match,
  correlationId: string,
  headers: Record<string, string>,
): { status: number; body?: unknown; html?: string; headers: Record<string, string> } {
  if (fault.kind === '429') {
    const search = found.route?.search === true;
    const out = { ...headers };
    // A 429 means the window is used up, whatever the limiter's (generous) headers said.
    if (out['X-HubSpot-RateLimit-Remaining'] !== undefined) out['X-HubSpot-RateLimit-Remaining'] = '0';
    if (fault.retryAfter) out['Retry-After'] = '1';
    const body = search
      ? { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId, policyName: 'SECONDLY' }
      : { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId, policyName: 'TEN_SECONDLY_ROLLING' };
    return { status: 429, body, headers: out };
  }
  if (fault.kind === '5xx') {
    if (fault.status === 500) return { status: 500, body: internalErrorBody(correlationId), headers };
    // A proxy page comes from in front of HubSpot: none of the API's headers.
    if (fault.html) return { status: fault.status, html: proxyPage(fault.status), headers: {} };
    return { status: fault.status, body: internalErrorBody(correlationId, GATEWAY_TEXT[fault.status]), headers };
  }
  if (fault.status === 500) return { status: 500, body: internalErrorBody(correlationId), headers };
  if (fault.status === 401) return { status: 401, body: new HubSpotApiError(401, 'INVALID_AUTHENTICATION', INVALID_TOKEN_MESSAGE).toBody(correlationId), headers };
  let scope: string | undefined;
  try {
    if (found.route) scope = requiredScope(ctx, found.route, found.params).scope;
  } catch {
    // Unknown object type or path: no particular scope to name.
  }
  return { status: 403, body: missingScopes(scope).toBody(correlationId), headers };
}

/** Replaces the wrong-typed records of a read response (counted in stats.faults). */
function corruptRecords(ctx: ServerContext, injector: FaultInjector, route: Route, params: Record<string, string>, body: unknown): unknown {
  if (injector.options.wrongTypes === undefined || injector.options.wrongTypes <= 0) return body;
  // Unchanged bodies are returned as they came (JsonBytes stay bytes).
  const value = body instanceof JsonBytes ? body.value() : body;
  if (!isObject(value)) return body;
  const objectType = ctx.store.table(params.type as string).def.name;
  if (route.records === 'object') {
    const wrong = injector.corrupt(objectType, value as unknown as ApiObject);
    if (!wrong) return body;
    ctx.stats.countFault('wrong-types');
    return wrong;
  }
  if (!Array.isArray(value.results)) return body;
  let count = 0;
  const results = (value.results as ApiObject[]).map((object) => {
    const wrong = injector.corrupt(objectType, object);
    if (wrong) count++;
    return wrong ?? object;
  });
  if (count === 0) return body;
  ctx.stats.countFault('wrong-types', count);
  return { ...value, results };
}

/** Paths that need the token (and may be faulted): /crm/... and /crm-object-schemas/... */
function isApiPath(pathname: string): boolean {
  return pathname === '/crm' || pathname.startsWith('/crm/') || pathname === '/crm-object-schemas' || pathname.startsWith('/crm-object-schemas/');
}

/** The node:http request listener of the emulator. */
export function createHandler(ctx: ServerContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void handle(ctx, request, response).catch((error: unknown) => {
      // Last resort (the response could not even be built): never crash the server.
      send(response, 500, { status: 'error', message: `Emulator failure: ${String(error)}`, correlationId: randomUUID(), category: 'INTERNAL_ERROR' }, {});
    });
  };
}

async function handle(ctx: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  ctx.stats.requests++;
  const method = (request.method ?? 'GET').toUpperCase();
  const url = new URL(request.url ?? '/', 'http://emulator');
  const found = match(method, url.pathname);
  const routeKey = found.route?.key ?? `${method} (unmatched)`;
  ctx.stats.byRoute[routeKey] = (ctx.stats.byRoute[routeKey] ?? 0) + 1;

  const correlationId = randomUUID();
  let headers: Record<string, string> = { 'X-HubSpot-Correlation-Id': correlationId };
  let status = 500;
  let body: unknown;
  let injector: FaultInjector | null = null;
  let fault: RequestFault | null = null;
  try {
    const text = await readBody(request, MAX_BODY_BYTES, (limit) => validationError(`Request body larger than ${limit} bytes.`));
    if (isApiPath(url.pathname)) {
      authenticate(ctx, request);
      // One draw for every authenticated /crm request, in arrival order.
      injector = ctx.faults;
      fault = injector?.draw() ?? null;
    }
    const now = ctx.now();
    if (found.route || found.methodNotAllowed) {
      const decision = ctx.limiter.admit(found.route?.search === true, now);
      headers = { ...headers, ...decision.headers };
      if (!decision.ok) {
        // A real 429 is not additionally faulted (the draw is spent all the same).
        fault = null;
        ctx.stats.rateLimited++;
        throw Object.assign(new HubSpotApiError(429, '', decision.message), { rateLimit: decision.policyName });
      }
    }
    // Request-level faults happen before the handler: a faulted write is not made.
    // `truncated` is the exception: the handler runs and only the response is lost.
    if (fault === null || fault.kind === 'truncated') {
      if (found.methodNotAllowed) throw new HubSpotApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on ${url.pathname}.`);
      if (!found.route) throw notFound(`No endpoint matches ${method} ${url.pathname}.`);
      checkScope(ctx, found.route, found.params);
      const reply = found.route.handler(ctx, { method, params: found.params, query: url.searchParams, body: parseJson(text), now });
      status = reply.status;
      body = reply.body;
      if (injector && found.route.records && (status === 200 || status === 207)) body = corruptRecords(ctx, injector, found.route, found.params, body);
    }
  } catch (error) {
    if (!(error instanceof HubSpotApiError)) throw error;
    status = error.status;
    const policyName = (error as HubSpotApiError & { rateLimit?: string }).rateLimit;
    // Rate-limit bodies have their own shape: errorType and policyName, no category.
    body = policyName
      ? { status: 'error', message: error.message, errorType: 'RATE_LIMIT', correlationId, policyName }
      : error.toBody(correlationId);
  }
  if (ctx.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, ctx.latencyMs));
  if (fault === null) {
    send(response, status, body, headers);
    return;
  }
  switch (fault.kind) {
    case 'reset':
      ctx.stats.countFault('reset');
      request.socket.destroy();
      return;
    case 'timeout':
      ctx.stats.countFault('timeout');
      ctx.held.hold(request.socket);
      return;
    case 'truncated': {
      if (body === undefined) {
        // Nothing to cut (204): the response goes out whole.
        send(response, status, body, headers);
        return;
      }
      ctx.stats.countFault('truncated');
      const payload = serialize(body);
      // Keep at least one byte and drop at least one: never valid JSON.
      const keep = 1 + Math.floor(fault.cut * Math.max(1, payload.length - 1));
      sendRaw(response, status, payload.subarray(0, Math.min(keep, payload.length - 1)), 'application/json;charset=utf-8', headers);
      return;
    }
    default: {
      ctx.stats.countFault(fault.kind);
      const reply = faultReply(ctx, fault, found, correlationId, headers);
      if (reply.html !== undefined) sendRaw(response, reply.status, Buffer.from(reply.html, 'utf8'), 'text/html', reply.headers);
      else send(response, reply.status, reply.body, reply.headers);
    }
  }
}
