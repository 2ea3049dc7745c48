/**
 * What a Web API handler receives and returns: the request, its system query options,
 * and JSON responses in Dataverse's shape.
 */
import { DataverseError, odataError } from './errors.js';
import type { Preferences } from './query.js';
import type { DynamicsStore, StoredRow } from './store.js';
import type { DataverseWebhooks } from './webhooks.js';
import type { Column } from './table-definitions.js';

export interface ApiRequest {
  method: string;
  /** The path after /api/data/v9.x/, percent-decoded. */
  path: string;
  /** The query string as sent (without '?'). */
  rawQuery: string;
  query: URLSearchParams;
  /** Lower-case header names; repeated headers joined with ', '. */
  headers: Record<string, string | undefined>;
  body: string;
  /** https://host:port/api/data/v9.x */
  base: string;
  prefs: Preferences;
  /** Content-ID references of a $batch change set: '$1' → the entity URL it created. */
  references?: ReadonlyMap<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body?: string;
}

export interface WebApiContext {
  store: DynamicsStore;
  now: () => number;
  /** odata.maxpagesize cap and default. */
  maxPageSize: number;
  /** Delta tokens older than this are expired. */
  retentionMs: number;
  /** Delta tokens with a lower version were expired by expireDeltaTokens(). */
  deltaMinVersion: () => number;
  /** $batch (handled by batch.ts). */
  batch: (request: ApiRequest) => ApiResponse;
  /** Contexts of Web API writes, null without the webhooks option. */
  webhooks: DataverseWebhooks | null;
}

export const JSON_CONTENT_TYPE = 'application/json; odata.metadata=minimal';

const SYSTEM_QUERY_OPTIONS = new Set(['$select', '$filter', '$orderby', '$top', '$count', '$skiptoken', '$deltatoken', '$expand', '$skip', '$apply', '$search', '$compute', '$format', '$levels']);

/**
 * Dataverse's own query parameters: a FetchXML query, or a system or personal view run
 * by id. Each replaces the OData query, so ignoring one would answer with the whole
 * table; the emulator refuses them instead.
 */
const NOT_EMULATED_PARAMETERS: Record<string, string> = {
  fetchxml: 'FetchXML queries',
  savedquery: 'saved (system) views',
  userquery: 'personal views',
};

/** Query options by lower-cased name; each system query option at most once. */
export class QueryOptions {
  private readonly values = new Map<string, string>();

  constructor(query: URLSearchParams) {
    for (const [name, value] of query) {
      const key = name.toLowerCase();
      const notEmulated = NOT_EMULATED_PARAMETERS[key];
      if (notEmulated !== undefined) {
        throw odataError(`The query parameter '${name}' is not emulated: ${notEmulated} are not supported by this Dataverse emulator. Use $select, $filter and $orderby.`);
      }
      if (!key.startsWith('$')) continue;
      if (!SYSTEM_QUERY_OPTIONS.has(key)) throw odataError(`The query parameter '${name}' is not supported.`);
      if (this.values.has(key)) throw odataError(`Query option '${name}' was specified more than once, but it must be specified at most once.`);
      this.values.set(key, value);
    }
    for (const unsupported of ['$apply', '$search', '$compute', '$levels']) {
      if (this.values.has(unsupported)) throw odataError(`The query parameter '${unsupported}' is not supported by this endpoint.`);
    }
  }

  get(name: string): string | null {
    return this.values.get(name) ?? null;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

export function jsonResponse(status: number, body: string, headers: Record<string, string | string[]> = {}): ApiResponse {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers }, body };
}

export function errorResponse(error: DataverseError): ApiResponse {
  return jsonResponse(error.status, JSON.stringify(error.toBody()), error.headers);
}

export function selectSuffix(selection: readonly Column[] | null): string {
  return selection ? `(${selection.map((column) => column.name).join(',')})` : '';
}

export function rowsJson(rows: readonly StoredRow[], columns: readonly Column[], key: Column): string {
  let text = '';
  for (let k = 0; k < rows.length; k++) {
    if (k > 0) text += ',';
    text += (rows[k] as StoredRow).json(columns, key);
  }
  return text;
}

export function preferenceApplied(prefs: Preferences, pageSize: number | undefined, tracking: boolean): Record<string, string | string[]> {
  const applied: string[] = [];
  if (prefs.maxPageSize !== undefined && pageSize !== undefined) applied.push(`odata.maxpagesize=${pageSize}`);
  if (tracking && prefs.trackChanges) applied.push('odata.track-changes');
  if (applied.length === 0) return {};
  return { 'Preference-Applied': applied.length === 1 ? (applied[0] as string) : applied };
}
