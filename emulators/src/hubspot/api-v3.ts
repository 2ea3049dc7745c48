/**
 * The CRM v3 read endpoints: objects (list, get, archive), batch read and archive, search,
 * and properties (paths, bodies and responses as in HubSpot's objects-v3 and properties-v3
 * OpenAPI documents). Creates, updates and upserts are in writes.ts.
 */
import { notFound, validationError } from './errors.js';
import { parseId, type ObjectTable, type Snapshot } from './object-table.js';
import type { ApiObject } from './record-json.js';
import { batchReply, decodeCursor, encodeCursor, isObject, JsonBytes, parseBoolean, type ApiRequest, type Reply } from './http.js';
import { bodyHistory, hasReadOptions, HISTORY_LIST_MAX_LIMIT, queryNames, queryReadOptions, withReadOptions, type ReadOptions } from './read-options.js';
import { executeSearch } from './search.js';
import type { ServerContext } from './server.js';

/** Batch endpoints take at most this many inputs (HubSpot guide: "up to 100"). */
export const BATCH_MAX_INPUTS = 100;
/** Objects list page size: default and maximum. */
export const LIST_DEFAULT_LIMIT = 10;
export const LIST_MAX_LIMIT = 100;

// ---- request parsing helpers -------------------------------------------------------------

function parseListLimit(query: URLSearchParams, withHistory: boolean): number {
  const raw = query.get('limit');
  if (raw === null || raw === '') return LIST_DEFAULT_LIMIT;
  if (!/^\d+$/.test(raw.trim())) throw validationError(`limit must be an integer, got ${JSON.stringify(raw)}.`);
  const limit = Number(raw);
  if (limit < 1 || limit > LIST_MAX_LIMIT) throw validationError(`limit must be between 1 and ${LIST_MAX_LIMIT}, got ${limit}.`);
  if (withHistory && limit > HISTORY_LIST_MAX_LIMIT) {
    throw validationError(`limit must be at most ${HISTORY_LIST_MAX_LIMIT} when propertiesWithHistory is requested, got ${limit}.`);
  }
  return limit;
}

export function batchInputs(body: unknown): Record<string, unknown>[] {
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

export function inputId(input: Record<string, unknown>, index: number): string {
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

export function notFoundIds(table: ObjectTable, ids: string[]): Record<string, unknown> {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `Could not get some ${table.def.singular} objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids },
    errors: [],
    links: {},
  };
}

// ---- handlers ----------------------------------------------------------------------------------

const RESULTS_OPEN = Buffer.from('{"results":[');

/** A list page's `paging`, for the page starting at `nextMinId`. */
function nextPage(ctx: ServerContext, type: string, query: URLSearchParams, nextMinId: number): { next: { after: string; link: string } } {
  const after = encodeCursor(nextMinId);
  const next = new URLSearchParams(query);
  next.set('after', after);
  return { next: { after, link: `${ctx.baseUrl()}/crm/v3/objects/${encodeURIComponent(type)}?${next.toString()}` } };
}

export function listObjects(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const options = queryReadOptions(ctx, table, query);
  const limit = parseListLimit(query, options.history.length > 0);
  const minId = decodeCursor(query.get('after'));
  const archived = parseBoolean(query, 'archived');
  const requested = [...queryNames(query, 'properties'), ...options.history];
  if (hasReadOptions(options)) return listWithReadOptions(ctx, table, { params, query }, { minId, limit, archived, requested, options });
  const plan = table.outputPlan(requested);
  const page = table.pageJson(minId, limit, archived, plan);
  // JSON.stringify({ results, paging? }), with the records already serialized.
  let tail = ']';
  if (page.nextMinId !== undefined) {
    // Clients page sequentially: serialize the next page while this one is on its way
    // (and the client busy with it), so its request is answered from the page cache.
    const nextMinId = page.nextMinId;
    setImmediate(() => table.pageJson(nextMinId, limit, archived, plan));
    tail += ',"paging":' + JSON.stringify(nextPage(ctx, params.type as string, query, page.nextMinId));
  }
  return { status: 200, body: new JsonBytes([RESULTS_OPEN, page.json, Buffer.from(tail + '}', 'utf8')]) };
}

/** A list page with history or associations: built as objects, not from the JSON page cache. */
function listWithReadOptions(
  ctx: ServerContext,
  table: ObjectTable,
  { params, query }: Pick<ApiRequest, 'params' | 'query'>,
  page: { minId: number; limit: number; archived: boolean; requested: string[]; options: ReadOptions },
): Reply {
  const names = table.outputProperties(page.requested);
  const { records, nextMinId } = table.page(page.minId, page.limit, page.archived);
  const body: Record<string, unknown> = { results: records.map((snapshot) => withReadOptions(ctx, table, snapshot, table.toApiObject(snapshot, names), page.options)) };
  if (nextMinId !== undefined) body.paging = nextPage(ctx, params.type as string, query, nextMinId);
  return { status: 200, body };
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

export function getObject(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const options = queryReadOptions(ctx, table, query);
  const snapshot = findRecord(table, params.id as string, query.get('idProperty'), parseBoolean(query, 'archived'));
  const object = table.toApiObject(snapshot, table.outputProperties([...queryNames(query, 'properties'), ...options.history]));
  return { status: 200, body: withReadOptions(ctx, table, snapshot, object, options) };
}

/** Archives a record through the API (its deletion event queued); unknown and archived ids do nothing. */
function archiveRecord(ctx: ServerContext, table: ObjectTable, id: number | undefined): void {
  if (id === undefined || !table.current(id) || !table.archive(id)) return;
  ctx.webhooks?.deleted(table.def, id, ctx.now());
}

export function archiveObject(ctx: ServerContext, { params }: ApiRequest): Reply {
  // Archiving is idempotent: unknown and already-archived ids also get 204.
  archiveRecord(ctx, ctx.store.table(params.type as string), parseId(params.id as string));
  return { status: 204 };
}

export function search(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  return { status: 200, body: executeSearch(ctx.store.table(params.type as string), body, now) };
}

export function batchRead(ctx: ServerContext, { params, query, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const request = body as Record<string, unknown>;
  const idProperty = typeof request.idProperty === 'string' && request.idProperty !== '' ? request.idProperty : undefined;
  const archived = parseBoolean(query, 'archived');
  const history = bodyHistory(table, request);
  const names = table.outputProperties([...(requestProperties(request) ?? []), ...history]);
  const options: ReadOptions = { history, associations: [] };
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
      results.push(withReadOptions(ctx, table, snapshot, table.toApiObject(snapshot, names), options));
    }
  });
  return batchReply(200, now, ctx.now(), results, missing.length > 0 ? [notFoundIds(table, missing)] : []);
}

export function batchArchive(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const ids = inputs.map((input, index) => parseId(inputId(input, index)));
  for (const id of ids) archiveRecord(ctx, table, id);
  return { status: 204 };
}

export function listProperties(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  // The emulator has no archived property definitions.
  return { status: 200, body: { results: parseBoolean(query, 'archived') ? [] : ctx.store.properties(table.def.name) } };
}

export function getProperty(ctx: ServerContext, { params }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const property = ctx.store.properties(table.def.name).find((candidate) => candidate.name === params.name);
  if (!property) throw notFound(`Unable to find property with name '${params.name}' on object type ${table.def.objectTypeId} (${table.def.name}).`);
  return { status: 200, body: property };
}
