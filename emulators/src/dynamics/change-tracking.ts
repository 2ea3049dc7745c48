/**
 * Dataverse change tracking (`Prefer: odata.track-changes`): the initial read of every
 * row ending with a deltaLink, and delta reads of what was created, updated or deleted
 * since a link's version.
 */
import { DataverseError, ERROR_CODES, odataError } from './errors.js';
import { cookiePosition, decodePagingCookie, dotnetEncode, encodePagingCookie, withSkipToken } from './paging-cookie.js';
import { firstAfter, parseSelect, type SortKey } from './query.js';
import type { StoredRow, Table } from './store.js';
import type { Column, EntityModel } from './table-definitions.js';
import { jsonResponse, preferenceApplied, rowsJson, selectSuffix, type ApiRequest, type ApiResponse, type QueryOptions, type WebApiContext } from './webapi-request.js';

function trackingOptionError(option: string): DataverseError {
  return odataError(`The "${option}" query parameter isn't supported when Change Tracking is enabled.`);
}

function requireChangeTracking(model: EntityModel): void {
  if (!model.def.changeTracking) {
    throw new DataverseError(400, ERROR_CODES.changeTrackingNotEnabled, `Entity ${model.logicalName} isn't enabled for change tracking.`);
  }
}

/** A read with change tracking: the initial read, a page of it, or a delta read. */
export function changeTrackingRead(ctx: WebApiContext, table: Table, request: ApiRequest, options: QueryOptions): ApiResponse {
  for (const option of ['$filter', '$orderby', '$expand', '$top']) if (options.has(option)) throw trackingOptionError(option);
  requireChangeTracking(table.model);
  if (options.has('$skip')) throw odataError('The query parameter $skip is not supported.');
  const deltaToken = options.get('$deltatoken');
  return deltaToken !== null ? deltaRead(ctx, table, request, options, deltaToken) : trackingRead(ctx, table, request, options);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `<version>!<MM/dd/yyyy HH:mm:ss>` (UTC): the change version the read began at and when the token was issued. */
export function formatDeltaToken(version: number, nowMs: number): string {
  const d = new Date(nowMs);
  return `${version}!${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function parseDeltaToken(token: string, currentVersion: number): { version: number; issuedMs: number } {
  const match = /^(\d{1,15})!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(token);
  const invalid = () => new DataverseError(400, ERROR_CODES.invalidArgument, `The delta token '${token}' is not valid. Use the @odata.deltaLink URL exactly as returned.`);
  if (!match) throw invalid();
  const [, version, month, day, year, hour, minute, second] = match.map(Number) as number[];
  const issuedMs = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
  if (Number.isNaN(issuedMs) || (month as number) < 1 || (month as number) > 12 || (version as number) > currentVersion) throw invalid();
  return { version: version as number, issuedMs };
}

/**
 * The deltaLink for changes after `version`. In a live organisation the database's
 * version keeps moving (other tables, system jobs), so no two delta links are alike; the
 * emulator moves it on by one whenever it hands out a link, which changes no row.
 */
function deltaLinkFor(ctx: WebApiContext, request: ApiRequest, model: EntityModel, selection: readonly Column[] | null, version: number): string {
  const select = selection ? `$select=${selection.map((column) => column.name).join(',')}&` : '';
  const link = `${request.base}/${model.entitySet}?${select}$deltatoken=${dotnetEncode(formatDeltaToken(version, ctx.now()))}`;
  ctx.store.advanceVersion();
  return link;
}

/**
 * The initial change-tracking read: every row (keyset-paged on the key), and on the last
 * page a deltaLink whose version is the change version when the read BEGAN, so rows
 * changed while the client was paging come again in the next delta.
 */
function trackingRead(ctx: WebApiContext, table: Table, request: ApiRequest, options: QueryOptions): ApiResponse {
  const model = table.model;
  const selection = parseSelect(model, options.get('$select'));
  const order: SortKey[] = [{ field: model.key, descending: false }];
  const fields = [model.key];
  const prefs = request.prefs;
  const pageSize = Math.min(prefs.maxPageSize ?? ctx.maxPageSize, ctx.maxPageSize);
  const rows = table.ordered();
  let start = 0;
  let pageNumber = 1;
  let version = ctx.store.version;
  const skipToken = options.get('$skiptoken');
  if (skipToken !== null) {
    const cookie = decodePagingCookie(skipToken, fields);
    if (!cookie.tracking || cookie.version === undefined) throw odataError('The $skiptoken value is not a valid paging cookie. Use the @odata.nextLink URL exactly as returned.');
    start = firstAfter(order, rows, cookiePosition(cookie, fields));
    pageNumber = cookie.pageNumber;
    version = cookie.version;
  }
  const page = rows.slice(start, start + pageSize);
  const more = start + page.length < rows.length && page.length > 0;
  const columns = selection ?? model.defaultSelection;
  let body = `{"@odata.context":${JSON.stringify(`${request.base}/$metadata#${model.entitySet}${selectSuffix(selection)}`)}`;
  body += `,"value":[${rowsJson(page, columns, model.key)}]`;
  if (more) {
    const cookie = encodePagingCookie(
      {
        pageNumber: pageNumber + 1,
        tracking: true,
        version,
        names: [model.key.name],
        last: [(page[page.length - 1] as StoredRow).id],
        first: [(page[0] as StoredRow).id],
      },
      fields,
    );
    body += `,"@odata.nextLink":${JSON.stringify(`${request.base}/${model.entitySet}?${withSkipToken(request.rawQuery, cookie)}`)}`;
  } else {
    body += `,"@odata.deltaLink":${JSON.stringify(deltaLinkFor(ctx, request, model, selection, version))}`;
  }
  body += '}';
  return jsonResponse(200, body, preferenceApplied(prefs, pageSize, true));
}

interface Change {
  /** 0: created or updated (the row), 1: deleted. */
  phase: 0 | 1;
  version: number;
  id: string;
  row?: StoredRow;
}

/**
 * A deltaLink: rows created or updated since the token's version (current values, new
 * or updated first, by version), then rows deleted since then as $deletedEntity entries.
 * More changes than the page size are paged (the nextLink keeps the delta position); the
 * last page carries a new deltaLink. The token stays replayable until it expires.
 */
function deltaRead(ctx: WebApiContext, table: Table, request: ApiRequest, options: QueryOptions, deltaToken: string): ApiResponse {
  const model = table.model;
  const store = ctx.store;
  const { version: since, issuedMs } = parseDeltaToken(deltaToken, store.version);
  if (issuedMs < ctx.now() - ctx.retentionMs || since < ctx.deltaMinVersion()) {
    throw new DataverseError(400, ERROR_CODES.expiredVersionStamp, 'Version stamp associated with the client has expired. Please perform a full sync.');
  }
  const selection = parseSelect(model, options.get('$select'));
  const prefs = request.prefs;
  const pageSize = Math.min(prefs.maxPageSize ?? ctx.maxPageSize, ctx.maxPageSize);
  const versionField = model.versionnumber;
  let until = store.version;
  let after: { phase: number; version: number } | undefined;
  let pageNumber = 1;
  const skipToken = options.get('$skiptoken');
  if (skipToken !== null) {
    const cookie = decodePagingCookie(skipToken, [versionField]);
    if (!cookie.tracking || cookie.version === undefined || cookie.phase === undefined || typeof cookie.last[0] !== 'number') {
      throw odataError('The $skiptoken value is not a valid paging cookie. Use the @odata.nextLink URL exactly as returned.');
    }
    until = cookie.version;
    after = { phase: cookie.phase, version: cookie.last[0] };
    pageNumber = cookie.pageNumber;
  }

  const changes: Change[] = [];
  const upserted = new Set<string>();
  for (const row of table.rows.values()) {
    if (row.version > since && row.version <= until) {
      changes.push({ phase: 0, version: row.version, id: row.id, row });
      upserted.add(row.id);
    }
  }
  const deletions: Change[] = [];
  for (const [id, version] of table.tombstones) {
    if (version > since && version <= until && !upserted.has(id)) deletions.push({ phase: 1, version, id });
  }
  changes.sort((a, b) => a.version - b.version);
  deletions.sort((a, b) => a.version - b.version);
  changes.push(...deletions);

  let start = 0;
  if (after) {
    const position = after;
    start = changes.findIndex((change) => change.phase > position.phase || (change.phase === position.phase && change.version > position.version));
    if (start < 0) start = changes.length;
  }
  const page = changes.slice(start, start + pageSize);
  const more = start + page.length < changes.length && page.length > 0;
  const columns = selection ?? model.defaultSelection;
  const deletedContext = JSON.stringify(`${request.base}/$metadata#${model.entitySet}/$deletedEntity`);
  const items = page.map((change) =>
    change.row ? change.row.json(columns, model.key) : `{"@odata.context":${deletedContext},"id":${JSON.stringify(change.id)},"reason":"deleted"}`,
  );
  let body = `{"@odata.context":${JSON.stringify(`${request.base}/$metadata#${model.entitySet}${selectSuffix(selection)}/$delta`)}`;
  body += `,"value":[${items.join(',')}]`;
  if (more) {
    const last = page[page.length - 1] as Change;
    const cookie = encodePagingCookie(
      { pageNumber: pageNumber + 1, tracking: true, version: until, phase: last.phase, names: [versionField.name], last: [last.version], first: [(page[0] as Change).version] },
      [versionField],
    );
    body += `,"@odata.nextLink":${JSON.stringify(`${request.base}/${model.entitySet}?${withSkipToken(request.rawQuery, cookie)}`)}`;
  } else {
    body += `,"@odata.deltaLink":${JSON.stringify(deltaLinkFor(ctx, request, model, selection, until))}`;
  }
  body += '}';
  return jsonResponse(200, body, preferenceApplied(prefs, pageSize, true));
}
