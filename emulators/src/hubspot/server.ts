/**
 * The HTTP side of the emulator: routing, auth, scopes, rate limits and the CRM v3
 * endpoints (paths, bodies and responses as in HubSpot's objects-v3 and properties-v3
 * OpenAPI documents).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HubSpotApiError, notFound, validationError } from './errors.js';
import type { FaultInjector, FaultKind, HeldSockets, RequestFault } from './faults.js';
import type { RateLimiter } from './rate-limit.js';
import { readBody } from '../shared/request-body.js';
import { executeSearch } from './search.js';
import { parseId, type ApiObject, type HubSpotStore, type ObjectTable, type Snapshot } from './store.js';
import type { ObjectTypeDefinition } from './object-types.js';
import type { PropertyValues } from './seed.js';
import {
  applyCreateAssociations,
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
  parseCreateAssociations,
  type CreateAssociation,
} from './api-v4.js';
import { batchReply, decodeCursor, encodeCursor, isObject, parseBoolean, type ApiRequest, type Reply } from './http.js';
import { normalizeWrite } from './values.js';

export { decodeCursor, encodeCursor } from './http.js';

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
}

/** Batch endpoints take at most this many inputs (HubSpot guide: "up to 100"). */
export const BATCH_MAX_INPUTS = 100;
/** Objects list page size: default and maximum. */
export const LIST_DEFAULT_LIMIT = 10;
export const LIST_MAX_LIMIT = 100;
const MAX_BODY_BYTES = 16 * 1024 * 1024;


/**
 * A response body already serialized: UTF-8 JSON in consecutive parts, byte for byte
 * what JSON.stringify gives for the value it stands for (the list endpoint writes its
 * pages straight to JSON, and sends a cached page without copying it).
 */
class JsonBytes {
  constructor(readonly parts: readonly Buffer[]) {}

  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  value(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}

/** The UTF-8 JSON of a response body. */
function serialize(body: unknown): Buffer {
  return body instanceof JsonBytes ? body.bytes : Buffer.from(JSON.stringify(body), 'utf8');
}
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
  handler: (ctx: ServerContext, request: ApiRequest) => Reply;
}

// ---- request parsing helpers -------------------------------------------------------------

/** `properties` may be repeated and/or comma-separated. */
function parseProperties(query: URLSearchParams): string[] {
  return query
    .getAll('properties')
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

function parseListLimit(query: URLSearchParams): number {
  const raw = query.get('limit');
  if (raw === null || raw === '') return LIST_DEFAULT_LIMIT;
  if (!/^\d+$/.test(raw.trim())) throw validationError(`limit must be an integer, got ${JSON.stringify(raw)}.`);
  const limit = Number(raw);
  if (limit < 1 || limit > LIST_MAX_LIMIT) throw validationError(`limit must be between 1 and ${LIST_MAX_LIMIT}, got ${limit}.`);
  return limit;
}

function batchInputs(body: unknown): Record<string, unknown>[] {
  if (!isObject(body) || !Array.isArray(body.inputs)) throw validationError('Invalid input JSON: the request body must be an object with an "inputs" array.');
  if (body.inputs.length > BATCH_MAX_INPUTS) {
    throw validationError(`Too many inputs: ${body.inputs.length}. Batch requests accept at most ${BATCH_MAX_INPUTS} inputs.`, {
      context: { maxInputs: [String(BATCH_MAX_INPUTS)] },
    });
  }
  return body.inputs.map((input: unknown, index: number) => {
    if (!isObject(input)) throw validationError(`inputs[${index}] must be an object.`);
    return input;
  });
}

function inputId(input: Record<string, unknown>, index: number): string {
  const id = input.id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  throw validationError(`inputs[${index}].id is required.`);
}

function requestProperties(body: Record<string, unknown>): string[] | undefined {
  if (body.properties === undefined || body.properties === null) return undefined;
  if (!Array.isArray(body.properties) || body.properties.some((name) => typeof name !== 'string')) {
    throw validationError('properties must be an array of property names.');
  }
  return body.properties as string[];
}

/** The properties a write response shows: every property the record has. */
function writtenObject(table: ObjectTable, snapshot: Snapshot): ApiObject {
  return table.toApiObject(snapshot, Object.keys(snapshot.props).sort());
}

function notFoundIds(table: ObjectTable, ids: string[]): Record<string, unknown> {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `Could not get some ${table.def.singular} objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids },
    errors: [],
    links: {},
  };
}

function rejectDuplicateIds(ids: string[]): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of ids) {
    const key = id.toLowerCase();
    if (seen.has(key)) duplicates.add(id);
    seen.add(key);
  }
  if (duplicates.size > 0) throw validationError(`Duplicate IDs found in batch input: [${[...duplicates].join(', ')}]. IDs must be unique`);
}

/** Rejects a batch whose inputs would give two records the same unique value. */
function rejectDuplicateUniqueValues(table: ObjectTable, list: PropertyValues[]): void {
  for (const property of table.def.properties) {
    if (!property.hasUniqueValue) continue;
    const seen = new Set<string>();
    for (const values of list) {
      const value = values[property.name];
      if (value === undefined || value === null) continue;
      if (seen.has(value.toLowerCase())) throw new HubSpotApiError(409, 'CONFLICT', `Duplicate ${property.name} values found in batch input: ${value}`);
      seen.add(value.toLowerCase());
    }
  }
}

// ---- handlers ----------------------------------------------------------------------------------

const RESULTS_OPEN = Buffer.from('{"results":[');

function listObjects(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const limit = parseListLimit(query);
  const minId = decodeCursor(query.get('after'));
  const archived = parseBoolean(query, 'archived');
  const plan = table.outputPlan(parseProperties(query));
  const page = table.pageJson(minId, limit, archived, plan);
  // JSON.stringify({ results, paging? }), with the records already serialized.
  let tail = ']';
  if (page.nextMinId !== undefined) {
    // Clients page sequentially: serialize the next page while this one is on its way
    // (and the client busy with it), so its request is answered from the page cache.
    const nextMinId = page.nextMinId;
    setImmediate(() => table.pageJson(nextMinId, limit, archived, plan));
    const after = encodeCursor(page.nextMinId);
    const next = new URLSearchParams(query);
    next.set('after', after);
    tail += ',"paging":' + JSON.stringify({ next: { after, link: `${ctx.baseUrl()}/crm/v3/objects/${encodeURIComponent(params.type as string)}?${next.toString()}` } });
  }
  return { status: 200, body: new JsonBytes([RESULTS_OPEN, page.json, Buffer.from(tail + '}', 'utf8')]) };
}

function findRecord(table: ObjectTable, id: string, idProperty: string | null, archived: boolean): Snapshot {
  const key = table.resolveId(id, idProperty ?? undefined);
  const snapshot = key === undefined ? undefined : table.current(key);
  // `archived=true` looks among archived records only; otherwise among active ones.
  if (!snapshot || (snapshot.archivedAt !== null) !== archived) {
    throw notFound(key === undefined && idProperty === null ? 'Object not found.  objectId are usually numeric.' : 'resource not found');
  }
  return snapshot;
}

function getObject(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const snapshot = findRecord(table, params.id as string, query.get('idProperty'), parseBoolean(query, 'archived'));
  return { status: 200, body: table.toApiObject(snapshot, table.outputProperties(parseProperties(query))) };
}

function createObject(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  if (!isObject(body) || !isObject(body.properties)) throw validationError('Invalid input JSON: the request body must be an object with "properties".');
  const values = normalizeWrite(table.def, body.properties);
  const associations = parseCreateAssociations(ctx, table.def, body.associations, 'associations');
  const version = table.create(values);
  applyCreateAssociations(ctx, version.id, associations);
  return { status: 201, body: writtenObject(table, version) };
}

function updateObject(ctx: ServerContext, { params, query, body }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  if (!isObject(body) || !isObject(body.properties)) throw validationError('Invalid input JSON: the request body must be an object with "properties".');
  const values = normalizeWrite(table.def, body.properties);
  const snapshot = findRecord(table, params.id as string, query.get('idProperty'), false);
  return { status: 200, body: writtenObject(table, table.update(snapshot.id, values)) };
}

function archiveObject(ctx: ServerContext, { params }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const id = parseId(params.id as string);
  // Archiving is idempotent: unknown and already-archived ids also get 204.
  if (id !== undefined && table.current(id)) table.archive(id);
  return { status: 204 };
}

function search(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  return { status: 200, body: executeSearch(ctx.store.table(params.type as string), body, now) };
}

function batchRead(ctx: ServerContext, { params, query, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const request = body as Record<string, unknown>;
  const idProperty = typeof request.idProperty === 'string' && request.idProperty !== '' ? request.idProperty : undefined;
  const archived = parseBoolean(query, 'archived');
  const names = table.outputProperties(requestProperties(request));
  const results: ApiObject[] = [];
  const missing: string[] = [];
  const seen = new Set<number>();
  inputs.forEach((input, index) => {
    const id = inputId(input, index);
    const key = table.resolveId(id, idProperty);
    const snapshot = key === undefined ? undefined : table.current(key);
    if (!snapshot || (snapshot.archivedAt !== null) !== archived) missing.push(id);
    else if (!seen.has(snapshot.id)) {
      seen.add(snapshot.id);
      results.push(table.toApiObject(snapshot, names));
    }
  });
  return batchReply(200, now, ctx.now(), results, missing.length > 0 ? [notFoundIds(table, missing)] : []);
}

function batchCreate(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  // The whole batch is validated first: one bad input fails it and nothing is written.
  const list = inputs.map((input) => normalizeWrite(table.def, input.properties ?? {}));
  const associations = inputs.map((input, index) => parseCreateAssociations(ctx, table.def, input.associations, `inputs[${index}].associations`));
  rejectDuplicateUniqueValues(table, list);
  for (const values of list) table.assertUnique(values, undefined);
  const results = list.map((values, index) => {
    const version = table.create(values);
    applyCreateAssociations(ctx, version.id, associations[index] as CreateAssociation[]);
    return writtenObject(table, version);
  });
  return batchReply(201, now, ctx.now(), results, []);
}

function batchUpdate(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const parsed = inputs.map((input, index) => {
    const id = inputId(input, index);
    const idProperty = typeof input.idProperty === 'string' && input.idProperty !== '' ? input.idProperty : undefined;
    return { id, idProperty, values: normalizeWrite(table.def, input.properties ?? {}) };
  });
  rejectDuplicateIds(parsed.map((input) => input.id));
  const missing: string[] = [];
  const found: { key: number; values: PropertyValues }[] = [];
  for (const input of parsed) {
    const key = table.resolveId(input.id, input.idProperty);
    if (key === undefined || !table.isActive(key)) missing.push(input.id);
    else found.push({ key, values: input.values });
  }
  rejectDuplicateUniqueValues(table, found.map((entry) => entry.values));
  for (const entry of found) table.assertUnique(entry.values, entry.key);
  const results = found.map((entry) => writtenObject(table, table.update(entry.key, entry.values)));
  return batchReply(200, now, ctx.now(), results, missing.length > 0 ? [notFoundIds(table, missing)] : []);
}

function batchUpsert(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const parsed = inputs.map((input, index) => {
    const id = inputId(input, index);
    const idProperty = input.idProperty;
    const property = typeof idProperty === 'string' ? table.def.byName.get(idProperty) : undefined;
    if (!property || !property.hasUniqueValue) {
      throw validationError(
        `inputs[${index}].idProperty must name a property with unique values on ${table.def.name} (got ${JSON.stringify(idProperty ?? null)}).`,
      );
    }
    // The id is the unique value itself; it must be valid for the property (an email...).
    const idValue = normalizeWrite(table.def, { [property.name]: id })[property.name] as string;
    const values = normalizeWrite(table.def, input.properties ?? {});
    return { id: idValue, idProperty: property.name, values };
  });
  rejectDuplicateIds(parsed.map((input) => input.id));
  const plan = parsed.map((input) => {
    const key = table.findByUnique(input.idProperty, input.id);
    const values = key === undefined ? { ...input.values, [input.idProperty]: input.id } : input.values;
    return { key, values };
  });
  rejectDuplicateUniqueValues(table, plan.map((entry) => entry.values));
  for (const entry of plan) table.assertUnique(entry.values, entry.key);
  const results = plan.map(({ key, values }) => {
    const version = key === undefined ? table.create(values) : table.update(key, values);
    return { ...writtenObject(table, version), new: key === undefined };
  });
  return batchReply(200, now, ctx.now(), results, []);
}

function batchArchive(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const ids = inputs.map((input, index) => parseId(inputId(input, index)));
  for (const id of ids) if (id !== undefined && table.current(id)) table.archive(id);
  return { status: 204 };
}

function listProperties(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  // The emulator has no archived property definitions.
  return { status: 200, body: { results: parseBoolean(query, 'archived') ? [] : ctx.store.properties(table.def.name) } };
}

function getProperty(ctx: ServerContext, { params }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const property = ctx.store.properties(table.def.name).find((candidate) => candidate.name === params.name);
  if (!property) throw notFound(`Unable to find property with name '${params.name}' on object type ${table.def.objectTypeId} (${table.def.name}).`);
  return { status: 200, body: property };
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
  get: { key: `GET ${SCHEMAS}/{objectType}`, access: 'schema', handler: getSchema },
  aliasList: { key: 'GET /crm/v3/schemas', access: 'schema', scopes: 'custom', handler: listSchemas },
  aliasGet: { key: 'GET /crm/v3/schemas/{objectType}', access: 'schema', handler: getSchema },
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
 * among the route's. Throws 404 for an unknown object type.
 */
function requiredScope(ctx: ServerContext, route: Route, params: Record<string, string>): { scope?: string; missing: boolean } {
  if (route.scopes === 'custom') {
    // The schemas list: the token lacks the custom objects' scope when any custom type is forbidden.
    return { scope: 'crm.schemas.custom.read', missing: ctx.store.customObjectTypes().some((name) => ctx.forbidden.has(name)) };
  }
  let first: string | undefined;
  for (const name of route.scopes ?? ['type']) {
    const def = ctx.store.table(params[name] as string).def;
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
