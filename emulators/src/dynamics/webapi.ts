/**
 * The Dataverse Web API v9.x endpoints (everything under /api/data/v9.x/ except $batch,
 * which calls back into `executeApi`): queries with paging (change tracking in
 * change-tracking.ts), single rows, writes with ETags, EntityDefinitions and WhoAmI. Handlers run synchronously,
 * so a $batch change set cannot interleave with other requests.
 */
import { changeTrackingRead } from './change-tracking.js';
import { DataverseError, ERROR_CODES, odataError, rowNotFound, segmentNotFound } from './errors.js';
import { entityDefinitions, whoAmI } from './metadata.js';
import { parseFilter } from './odata-filter.js';
import { cookiePosition, decodePagingCookie, encodePagingCookie, withSkipToken } from './paging-cookie.js';
import { compareRows, firstAfter, parseOrderBy, parseSelect, parseTop, totalOrder, wantsAnnotation } from './query.js';
import type { StoredRow, Table } from './store.js';
import { isLookup, type Column, type EntityModel } from './table-definitions.js';
import { GUID, parseWriteValue } from './values.js';
import {
  errorResponse,
  jsonResponse,
  preferenceApplied,
  QueryOptions,
  rowsJson,
  selectSuffix,
  JSON_CONTENT_TYPE,
  type ApiRequest,
  type ApiResponse,
  type WebApiContext,
} from './webapi-request.js';

/** The most rows `$count` reports and `$top` accepts. */
export const COUNT_LIMIT = 5000;

/** Runs one Web API request; Dataverse errors become error responses. */
export function executeApi(ctx: WebApiContext, request: ApiRequest): ApiResponse {
  try {
    return dispatch(ctx, request);
  } catch (error) {
    if (error instanceof DataverseError) return errorResponse(error);
    throw error;
  }
}

function methodNotAllowed(method: string): DataverseError {
  return odataError(`The requested resource does not support http method '${method}'.`, 405);
}

function dispatch(ctx: WebApiContext, request: ApiRequest): ApiResponse {
  const { method } = request;
  const segments = request.path === '' ? [] : request.path.split('/');
  const [first, ...rest] = segments;
  if (first === undefined || (first === '' && rest.length === 0)) {
    if (method !== 'GET') throw methodNotAllowed(method);
    return serviceDocument(ctx, request);
  }
  if (first === '$batch') {
    if (method !== 'POST') throw methodNotAllowed(method);
    return ctx.batch(request);
  }
  const match = /^([A-Za-z_$][A-Za-z0-9_.]*)(?:\((.*)\))?$/s.exec(first);
  if (!match) throw segmentNotFound(first);
  const [, name, key] = match as unknown as [string, string, string | undefined];
  if (name === 'WhoAmI') {
    if (method !== 'GET') throw methodNotAllowed(method);
    if (rest.length > 0 || (key !== undefined && key !== '')) throw segmentNotFound(request.path);
    return jsonResponse(200, JSON.stringify(whoAmI(request.base, ctx.store.organisation)));
  }
  if (name === 'EntityDefinitions') {
    if (method !== 'GET') throw methodNotAllowed(method);
    const options = new QueryOptions(request.query);
    const body = entityDefinitions(
      ctx.store.allTables().map((table) => table.model),
      request.base,
      key,
      rest,
      { select: options.get('$select'), filter: options.get('$filter'), orderby: options.get('$orderby'), top: options.get('$top'), expand: options.get('$expand') },
    );
    return jsonResponse(200, JSON.stringify(body));
  }
  const table = ctx.store.findTable(name);
  if (!table) throw segmentNotFound(name);
  if (key === undefined) {
    if (rest.length === 1 && rest[0] === '$count') {
      if (method !== 'GET') throw methodNotAllowed(method);
      return countRows(table, request);
    }
    if (rest.length > 0) throw segmentNotFound(rest[0] as string);
    if (method === 'GET') return listRows(ctx, table, request);
    if (method === 'POST') return createRow(ctx, table, request);
    throw methodNotAllowed(method);
  }
  const id = parseKey(key);
  if (rest.length > 0) throw segmentNotFound(rest[0] as string);
  switch (method) {
    case 'GET':
      return getRow(table, id, request);
    case 'PATCH':
      return upsertRow(ctx, table, id, request);
    case 'DELETE':
      return deleteRow(ctx, table, id, request);
    default:
      throw methodNotAllowed(method);
  }
}

/** `contacts(<guid>)`: the key must be a GUID (alternate keys are not emulated). */
function parseKey(key: string): string {
  const text = key.trim();
  if (GUID.test(text)) return text.toLowerCase();
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) throw odataError(`The key used is not defined for this entity. Alternate keys are not available in this organization.`);
  throw odataError(`Bad Request - Error in query syntax.`);
}

function serviceDocument(ctx: WebApiContext, request: ApiRequest): ApiResponse {
  const value = ctx.store.entitySets().map((name) => ({ name, kind: 'EntitySet', url: name }));
  value.push({ name: 'EntityDefinitions', kind: 'EntitySet', url: 'EntityDefinitions' });
  return jsonResponse(200, JSON.stringify({ '@odata.context': `${request.base}/$metadata`, value }));
}

function countRows(table: Table, request: ApiRequest): ApiResponse {
  const options = new QueryOptions(request.query);
  const predicate = parseFilter(table.model, options.get('$filter'));
  let count = 0;
  if (!predicate) count = table.rows.size;
  else for (const row of table.rows.values()) if (predicate(row) === true) count++;
  return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: String(Math.min(count, COUNT_LIMIT)) };
}

// ---- queries -------------------------------------------------------------------------------------

function listRows(ctx: WebApiContext, table: Table, request: ApiRequest): ApiResponse {
  const options = new QueryOptions(request.query);
  const skipToken = options.get('$skiptoken');
  const trackingPage = skipToken !== null && /istracking="True"/.test(skipToken);
  if (options.get('$deltatoken') !== null || request.prefs.trackChanges || trackingPage) return changeTrackingRead(ctx, table, request, options);
  if (options.has('$skip')) throw odataError('The query parameter $skip is not supported.');
  if (options.has('$expand')) throw odataError('$expand is not supported by this endpoint.');
  const model = table.model;
  const selection = parseSelect(model, options.get('$select'));
  const filterText = options.get('$filter');
  const predicate = parseFilter(model, filterText);
  const orderText = options.get('$orderby');
  const order = totalOrder(parseOrderBy(model, orderText), model.key);
  const top = parseTop(options.get('$top'));
  const countText = options.get('$count');
  if (countText !== null && countText !== 'true' && countText !== 'false') {
    throw odataError(`'${countText}' is not a valid count option.`);
  }
  const prefs = request.prefs;
  if (top !== null && prefs.maxPageSize === undefined && top > COUNT_LIMIT) {
    throw odataError(`The $top query option value ${top} exceeds the maximum of ${COUNT_LIMIT}.`);
  }
  // $top is ignored when odata.maxpagesize is sent.
  const paged = prefs.maxPageSize !== undefined || top === null;
  const pageSize = prefs.maxPageSize !== undefined ? Math.min(prefs.maxPageSize, ctx.maxPageSize) : (top ?? ctx.maxPageSize);

  const rows =
    predicate === null && orderText === null
      ? table.ordered()
      : table.cachedResult(`${filterText ?? ''}\u0000${orderText ?? ''}`, () => {
          const matching: StoredRow[] = [];
          for (const row of table.rows.values()) if (predicate === null || predicate(row) === true) matching.push(row);
          return matching.sort((a, b) => compareRows(order, a, b));
        });

  const fields = order.map((key) => key.field);
  let start = 0;
  let pageNumber = 1;
  if (skipToken !== null) {
    const cookie = decodePagingCookie(skipToken, fields);
    start = firstAfter(order, rows, cookiePosition(cookie, fields));
    pageNumber = cookie.pageNumber;
  }
  const page = rows.slice(start, start + pageSize);
  const more = paged && start + page.length < rows.length && page.length > 0;

  const columns = selection ?? model.defaultSelection;
  let body = `{"@odata.context":${JSON.stringify(`${request.base}/$metadata#${model.entitySet}${selectSuffix(selection)}`)}`;
  if (countText === 'true') body += `,"@odata.count":${Math.min(rows.length, COUNT_LIMIT)}`;
  if (wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.totalrecordcount')) {
    body += `,"@Microsoft.Dynamics.CRM.totalrecordcount":${countText === 'true' ? Math.min(rows.length, COUNT_LIMIT) : -1}`;
  }
  if (wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded')) {
    body += `,"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded":${countText === 'true' && rows.length > COUNT_LIMIT}`;
  }
  body += `,"value":[${rowsJson(page, columns, model.key)}]`;
  if (more) {
    const cookie = encodePagingCookie(
      {
        pageNumber: pageNumber + 1,
        tracking: false,
        names: fields.map((field) => field.name),
        last: fields.map((field) => (page[page.length - 1] as StoredRow).values[field.index] ?? null),
        first: fields.map((field) => (page[0] as StoredRow).values[field.index] ?? null),
      },
      fields,
    );
    body += `,"@odata.nextLink":${JSON.stringify(`${request.base}/${model.entitySet}?${withSkipToken(request.rawQuery, cookie)}`)}`;
  }
  body += '}';
  return jsonResponse(200, body, preferenceApplied(prefs, pageSize, false));
}

// ---- single rows and writes ------------------------------------------------------------------------

/** Whether an If-Match / If-None-Match list names the row's ETag (weak comparison). */
function etagMatches(header: string, row: StoredRow): boolean {
  return header.split(',').some((tag) => {
    const value = tag.trim();
    return value === '*' || value === row.etag || value === `"${row.version}"`;
  });
}

/** A header that is absent, empty or the literal `null` (which Dataverse's docs tell clients to send) sets no condition. */
function condition(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  return text === '' || text.toLowerCase() === 'null' ? undefined : text;
}

function entityJson(request: ApiRequest, model: EntityModel, row: StoredRow, selection: readonly Column[] | null): string {
  const context = JSON.stringify(`${request.base}/$metadata#${model.entitySet}${selectSuffix(selection)}/$entity`);
  return `{"@odata.context":${context},${row.json(selection ?? model.defaultSelection, model.key).slice(1)}`;
}

function getRow(table: Table, id: string, request: ApiRequest): ApiResponse {
  const options = new QueryOptions(request.query);
  if (options.has('$expand')) throw odataError('$expand is not supported by this endpoint.');
  const model = table.model;
  const selection = parseSelect(model, options.get('$select'));
  const row = table.rows.get(id);
  if (!row) throw rowNotFound(model.logicalName, id);
  const ifNoneMatch = condition(request.headers['if-none-match']);
  // Conditional retrieval: an unchanged row is 304 (never with annotations requested).
  if (ifNoneMatch !== undefined && request.prefs.includeAnnotations === undefined && etagMatches(ifNoneMatch, row)) {
    return { status: 304, headers: { 'Content-Type': JSON_CONTENT_TYPE, ETag: row.etag } };
  }
  return jsonResponse(200, entityJson(request, model, row, selection), { ETag: row.etag });
}

function parseBody(request: ApiRequest): Record<string, unknown> {
  if (request.body.trim() === '') throw odataError('The request body is empty. A JSON object with the column values is expected.');
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch (error) {
    throw odataError(`Invalid JSON. ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw odataError('Invalid JSON. A JSON object with the column values is expected.');
  return body as Record<string, unknown>;
}

/** A row a lookup may point at: in a served table, or in a table known only by its ids (users, teams, ...). */
interface Reference {
  logicalName: string;
  id: string;
  table?: Table;
}

/** `/accounts(<guid>)`, `accounts(<guid>)`, an absolute URL or a change-set reference `$1`. */
function resolveReference(ctx: WebApiContext, request: ApiRequest, raw: string): Reference {
  let text = raw.trim();
  if (text.startsWith('$')) {
    const url = request.references?.get(text);
    if (url === undefined) throw odataError(`Content-ID Reference: '${text}' does not exist in the batch context.`);
    text = url;
  }
  const match = /^(?:https?:\/\/[^/]+)?\/?(?:api\/data\/v9\.[0-2]\/)?([A-Za-z_][A-Za-z0-9_]*)\(([^)]*)\)$/.exec(text);
  if (!match) throw odataError(`The value '${raw}' of an @odata.bind annotation is not a valid entity reference.`);
  const entitySet = match[1] as string;
  const key = (match[2] as string).trim();
  const table = ctx.store.findTable(entitySet);
  const logicalName = table?.model.logicalName ?? ctx.store.organisation.logicalNameOf(entitySet);
  if (logicalName === undefined) throw segmentNotFound(entitySet);
  if (!GUID.test(key)) throw odataError(`Bad Request - Error in query syntax.`);
  return { logicalName, id: key.toLowerCase(), table };
}

/** The logical names of the tables a lookup may point at (its targets, or the table guessed from its name). */
function lookupTargets(ctx: WebApiContext, model: EntityModel, column: Column): readonly string[] {
  if (column.targets.length > 0 && model.def.lookupTargets?.[column.name] === undefined) return column.targets;
  const guessed = ctx.store.findTable(ctx.store.lookupTarget(model, column) ?? '');
  return guessed ? [guessed.model.logicalName] : [];
}

/**
 * `<navigation>@odata.bind`: the lookup column it sets and the row it points at (null
 * clears it). Customer lookups have one navigation property per target table
 * (`parentcustomerid_account`); the row must exist.
 */
function bindLookup(ctx: WebApiContext, table: Table, request: ApiRequest, navigation: string, raw: unknown): { column: Column; id: string | null } {
  const model = table.model;
  const bound = model.lookupForNavigation(navigation);
  const targets = bound === undefined ? [] : lookupTargets(ctx, model, bound.column);
  if (!bound || (bound.target !== undefined && !targets.includes(bound.target))) {
    throw odataError(
      `An undeclared property '${navigation}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
    );
  }
  if (raw === null) return { column: bound.column, id: null };
  if (typeof raw !== 'string') throw odataError(`The value of an @odata.bind annotation for '${navigation}' must be a string.`);
  const reference = resolveReference(ctx, request, raw);
  const expected = bound.target !== undefined ? [bound.target] : targets;
  if (expected.length > 0 && !expected.includes(reference.logicalName)) {
    throw odataError(`The navigation property '${navigation}' refers to ${expected.join(' or ')} rows, not ${reference.logicalName} rows.`);
  }
  const exists = reference.table ? reference.table.rows.has(reference.id) : ctx.store.organisation.has(reference.logicalName, reference.id);
  if (!exists) throw rowNotFound(reference.logicalName, reference.id);
  return { column: bound.column, id: reference.id };
}

interface Payload {
  assigned: Map<number, unknown>;
  key?: string;
}

/**
 * A write payload: columns by Web API name, lookups through `<navigation>@odata.bind`.
 * Columns only the platform sets (createdon, modifiedon, createdby, versionnumber, the
 * computed fullname, ...) are ignored; `_x_value` lookup properties cannot be written
 * directly.
 */
function parsePayload(ctx: WebApiContext, table: Table, request: ApiRequest, body: Record<string, unknown>): Payload {
  const model = table.model;
  const assigned = new Map<number, unknown>();
  let key: string | undefined;
  for (const [name, raw] of Object.entries(body)) {
    const at = name.indexOf('@');
    if (at >= 0) {
      if (at === 0 || name.slice(at + 1) !== 'odata.bind') continue;
      const { column, id } = bindLookup(ctx, table, request, name.slice(0, at), raw);
      if (!column.readOnly) assigned.set(column.index, id);
      continue;
    }
    const column = model.byName.get(name);
    if (!column) {
      throw odataError(`The property '${name}' does not exist on type '${model.typeName}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    }
    if (isLookup(column)) throw odataError('CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.');
    if (column === model.key) {
      if (typeof raw !== 'string' || !GUID.test(raw)) throw odataError(`Cannot convert the literal '${String(raw)}' to the expected type 'Edm.Guid'.`);
      key = raw.toLowerCase();
      continue;
    }
    if (column.readOnly) continue;
    if (model.fullName !== undefined && column.index === model.fullName.full) continue;
    assigned.set(column.index, parseWriteValue(model, column, raw));
  }
  return { assigned, key };
}

function entityId(request: ApiRequest, model: EntityModel, id: string): string {
  return `${request.base}/${model.entitySet}(${id})`;
}

function writeResponse(request: ApiRequest, model: EntityModel, row: StoredRow, created: boolean): ApiResponse {
  const headers: Record<string, string> = { 'OData-EntityId': entityId(request, model, row.id) };
  if (request.prefs.returnRepresentation) {
    const selection = parseSelect(model, new QueryOptions(request.query).get('$select'));
    return jsonResponse(created ? 201 : 200, entityJson(request, model, row, selection), { ...headers, ETag: row.etag, 'Preference-Applied': 'return=representation' });
  }
  return { status: 204, headers };
}

function createRow(ctx: WebApiContext, table: Table, request: ApiRequest): ApiResponse {
  const model = table.model;
  const payload = parsePayload(ctx, table, request, parseBody(request));
  const id = payload.key ?? ctx.store.newId(table);
  const row = ctx.store.insertRow(table, id, payload.assigned);
  ctx.webhooks?.created(table, row);
  return writeResponse(request, model, row, true);
}

/**
 * PATCH is an upsert: it creates the row when the id is free. `If-Match: *` forbids the
 * create (404), `If-None-Match: *` forbids the update (412), `If-Match: W/"n"` applies
 * optimistic concurrency (412 when the row changed).
 */
function upsertRow(ctx: WebApiContext, table: Table, id: string, request: ApiRequest): ApiResponse {
  const model = table.model;
  const payload = parsePayload(ctx, table, request, parseBody(request));
  if (payload.key !== undefined && payload.key !== id) throw odataError(`The key value in the request body does not match the key in the URL.`);
  const existing = table.rows.get(id);
  const ifMatch = condition(request.headers['if-match']);
  const ifNoneMatch = condition(request.headers['if-none-match']);
  if (ifMatch !== undefined) {
    if (!existing) throw rowNotFound(model.logicalName, id);
    if (!etagMatches(ifMatch, existing)) throw new DataverseError(412, ERROR_CODES.versionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");
  }
  if (ifNoneMatch === '*' && existing) throw new DataverseError(412, ERROR_CODES.duplicateRecord, 'A record with matching key values already exists.');
  const row = existing ? ctx.store.updateRow(table, existing, payload.assigned) : ctx.store.insertRow(table, id, payload.assigned);
  if (existing) ctx.webhooks?.updated(table, existing, row, payload.assigned);
  else ctx.webhooks?.created(table, row);
  return writeResponse(request, model, row, !existing);
}

function deleteRow(ctx: WebApiContext, table: Table, id: string, request: ApiRequest): ApiResponse {
  const model = table.model;
  const existing = table.rows.get(id);
  if (!existing) throw rowNotFound(model.logicalName, id);
  const ifMatch = condition(request.headers['if-match']);
  if (ifMatch !== undefined && !etagMatches(ifMatch, existing)) {
    throw new DataverseError(412, ERROR_CODES.versionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");
  }
  ctx.store.deleteRow(table, id);
  ctx.webhooks?.deleted(table, id);
  return { status: 204, headers: {} };
}
