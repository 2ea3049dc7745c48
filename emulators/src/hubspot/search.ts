/**
 * `POST /crm/v3/objects/{objectType}/search`: request validation, filter evaluation,
 * sorting and paging, with HubSpot's limits.
 *
 * The sorted list of matching ids is cached per query (filters, sorts and query string;
 * not `after`, `limit` or `properties`), so paging through 10,000 results over a
 * million records scans the table once. A cached list stays valid until the next write
 * to the table or until a pending write becomes searchable (see the search lag).
 */
import { validationError } from './errors.js';
import type { ObjectTypeDefinition, PropertyDefinition } from './object-types.js';
import type { ObjectTable, Version } from './object-table.js';
import type { ApiObject } from './record-json.js';
import type { PropertyValues } from './seed.js';
import { isNumericType, numericValue, parseDateTime } from './values.js';

/** Results per page: default and maximum (PublicObjectSearchRequest.limit: "up to 200"). */
export const SEARCH_DEFAULT_LIMIT = 10;
export const SEARCH_MAX_LIMIT = 200;
/** HubSpot's search never pages past the 10,000th result of a query: 400 beyond. */
export const SEARCH_RESULT_CAP = 10_000;
/**
 * Filter limits. HubSpot's search guide states "a maximum of five filterGroups with up
 * to 6 filters in each group, with a maximum of 18 filters in total"; the August 2024
 * changelog ("Expanded Filtering Capabilities and Error Messaging in HubSpot's Search
 * API") announced 5 groups / 10 per group / 25 in total. The emulator enforces the
 * stricter documented figures, so a query accepted here is accepted by HubSpot too.
 */
export const MAX_FILTER_GROUPS = 5;
export const MAX_FILTERS_PER_GROUP = 6;
export const MAX_FILTERS_TOTAL = 18;
/** HubSpot accepts a single sort. */
export const MAX_SORTS = 1;

const OPERATORS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
] as const;
type Operator = (typeof OPERATORS)[number];

/**
 * Reusable cursor over one record for search evaluation: reads values from a version,
 * or from the seed (generating the record only if a filter needs a non-timestamp value).
 */
export class RecordView {
  id = 0;
  private index = -1;
  private version: Version | null = null;
  private props: PropertyValues | null = null;

  constructor(private readonly table: ObjectTable) {}

  setSeeded(id: number, index: number): void {
    this.id = id;
    this.index = index;
    this.version = null;
    this.props = null;
  }

  setVersion(version: Version): void {
    this.id = version.id;
    this.index = -1;
    this.version = version;
    this.props = version.props;
  }

  get(name: string): string | null {
    const value = this.props === null ? this.table.seededValue(this.index, name) : this.props[name];
    return value === undefined || value === '' ? null : value;
  }

  /** The value as search compares numbers (epoch ms for dates); NaN when unset. */
  num(property: PropertyDefinition): number {
    const name = property.name;
    if (name === 'hs_object_id') return this.id;
    const table = this.table;
    if (this.version !== null) {
      if (name === table.creationProperty) return this.version.createMs;
      if (name === table.modificationProperty) return this.version.modMs;
    } else {
      if (name === table.creationProperty) return table.seedCreated[this.index] as number;
      if (name === table.modificationProperty) return table.seedModified[this.index] as number;
    }
    return numericValue(property, this.get(name));
  }
}

type Predicate = (view: RecordView) => boolean;

interface SortSpec {
  property: PropertyDefinition;
  numeric: boolean;
  descending: boolean;
}

interface CompiledQuery {
  /** Cache key: everything that decides the result list. */
  key: string;
  predicate: Predicate | null;
  sort: SortSpec;
}

export interface SearchResponse {
  total: number;
  results: ApiObject[];
  paging?: { next: { after: string } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function scalarText(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  throw validationError(`${what} must be a string.`);
}

/** Lower-cased words, separated by single spaces: the tokens CONTAINS_TOKEN matches. */
function tokenText(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^\p{L}\p{N}*]+/gu, ' ')
    .trim();
}

/**
 * CONTAINS_TOKEN: the value is a word (or run of words) of the property, case-insensitive;
 * `*` is a wildcard, e.g. "*@hubspot.com" on email.
 */
function tokenMatcher(pattern: string): (text: string) => boolean {
  const lowered = pattern.toLowerCase().trim();
  if (lowered.includes('*')) {
    const source = lowered
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    const regex = new RegExp(`^${source}$`, 's');
    return (text) => {
      const lower = text.toLowerCase();
      return regex.test(lower) || lower.split(/[^\p{L}\p{N}]+/u).some((token) => regex.test(token));
    };
  }
  const needle = ` ${tokenText(lowered)} `;
  return (text) => ` ${tokenText(text)} `.includes(needle);
}

function compileFilter(def: ObjectTypeDefinition, raw: unknown): Predicate {
  if (!isObject(raw)) throw validationError('Each filter must be an object with propertyName and operator.');
  const { propertyName, operator } = raw;
  if (typeof propertyName !== 'string' || propertyName === '') throw validationError('Filter propertyName is required.');
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator)) {
    throw validationError(`Unknown filter operator ${JSON.stringify(operator)} on ${propertyName}; expected one of ${OPERATORS.join(', ')}.`);
  }
  const property = def.byName.get(propertyName);
  if (!property) throw validationError(`Cannot filter on property "${propertyName}": it does not exist on ${def.name}.`);
  const op = operator as Operator;
  const name = property.name;
  const numeric = isNumericType(property);

  const requireValue = (field: 'value' | 'highValue'): string => {
    if (raw[field] === undefined || raw[field] === null) throw validationError(`Filter ${propertyName} ${op} requires "${field}".`);
    return scalarText(raw[field], `Filter ${field}`);
  };
  const requireValues = (): string[] => {
    const values = raw.values;
    if (!Array.isArray(values) || values.length === 0) throw validationError(`Filter ${propertyName} ${op} requires a non-empty "values" array.`);
    return values.map((value) => scalarText(value, 'Filter values'));
  };
  /** A filter value as the number stored values compare against (epoch ms for dates). */
  const toNumber = (text: string): number => {
    const value = property.type === 'number' ? (text.trim() === '' ? NaN : Number(text)) : parseDateTime(text);
    if (Number.isNaN(value)) {
      const expected = property.type === 'number' ? 'a number' : 'epoch milliseconds or an ISO-8601 date';
      throw validationError(`Filter value ${JSON.stringify(text)} for ${propertyName} is not valid: expected ${expected}.`);
    }
    return value;
  };

  switch (op) {
    case 'HAS_PROPERTY':
      return (view) => view.get(name) !== null;
    case 'NOT_HAS_PROPERTY':
      return (view) => view.get(name) === null;
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const matches = tokenMatcher(requireValue('value'));
      const negate = op === 'NOT_CONTAINS_TOKEN';
      return (view) => {
        const value = view.get(name);
        const found = value !== null && matches(value);
        return negate ? !found : found;
      };
    }
    default:
      break;
  }

  if (numeric) {
    switch (op) {
      case 'EQ': {
        const x = toNumber(requireValue('value'));
        return (view) => view.num(property) === x;
      }
      case 'NEQ': {
        // Records without a value match NEQ (and NOT_IN), as in HubSpot.
        const x = toNumber(requireValue('value'));
        return (view) => view.num(property) !== x;
      }
      case 'LT': {
        const x = toNumber(requireValue('value'));
        return (view) => view.num(property) < x;
      }
      case 'LTE': {
        const x = toNumber(requireValue('value'));
        return (view) => view.num(property) <= x;
      }
      case 'GT': {
        const x = toNumber(requireValue('value'));
        return (view) => view.num(property) > x;
      }
      case 'GTE': {
        const x = toNumber(requireValue('value'));
        return (view) => view.num(property) >= x;
      }
      case 'BETWEEN': {
        const low = toNumber(requireValue('value'));
        const high = toNumber(requireValue('highValue'));
        return (view) => {
          const n = view.num(property);
          return n >= low && n <= high;
        };
      }
      case 'IN': {
        const set = new Set(requireValues().map(toNumber));
        return (view) => set.has(view.num(property));
      }
      case 'NOT_IN': {
        const set = new Set(requireValues().map(toNumber));
        return (view) => !set.has(view.num(property));
      }
    }
  }

  // Strings, enumerations, booleans, phone numbers: compared case-insensitively.
  const lower = (view: RecordView): string | null => {
    const value = view.get(name);
    return value === null ? null : value.toLowerCase();
  };
  switch (op) {
    case 'EQ': {
      const x = requireValue('value').toLowerCase();
      return (view) => lower(view) === x;
    }
    case 'NEQ': {
      const x = requireValue('value').toLowerCase();
      return (view) => lower(view) !== x;
    }
    case 'LT': {
      const x = requireValue('value').toLowerCase();
      return (view) => {
        const v = lower(view);
        return v !== null && v < x;
      };
    }
    case 'LTE': {
      const x = requireValue('value').toLowerCase();
      return (view) => {
        const v = lower(view);
        return v !== null && v <= x;
      };
    }
    case 'GT': {
      const x = requireValue('value').toLowerCase();
      return (view) => {
        const v = lower(view);
        return v !== null && v > x;
      };
    }
    case 'GTE': {
      const x = requireValue('value').toLowerCase();
      return (view) => {
        const v = lower(view);
        return v !== null && v >= x;
      };
    }
    case 'BETWEEN': {
      const low = requireValue('value').toLowerCase();
      const high = requireValue('highValue').toLowerCase();
      return (view) => {
        const v = lower(view);
        return v !== null && v >= low && v <= high;
      };
    }
    case 'IN': {
      const set = new Set(requireValues().map((value) => value.toLowerCase()));
      return (view) => {
        const v = lower(view);
        return v !== null && set.has(v);
      };
    }
    case 'NOT_IN': {
      const set = new Set(requireValues().map((value) => value.toLowerCase()));
      return (view) => {
        const v = lower(view);
        return v === null || !set.has(v);
      };
    }
    default:
      throw validationError(`Unsupported operator ${op}.`);
  }
}

function compileFilterGroups(def: ObjectTypeDefinition, raw: unknown): Predicate | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw validationError('filterGroups must be an array.');
  if (raw.length > MAX_FILTER_GROUPS) {
    throw validationError(`Too many filter groups: ${raw.length}. A search can have at most ${MAX_FILTER_GROUPS} filterGroups.`);
  }
  let total = 0;
  const groups: Predicate[][] = raw.map((group: unknown) => {
    if (!isObject(group) || !Array.isArray(group.filters)) throw validationError('Each filter group must be an object with a "filters" array.');
    if (group.filters.length > MAX_FILTERS_PER_GROUP) {
      throw validationError(`Too many filters in a filter group: ${group.filters.length}. A filter group can have at most ${MAX_FILTERS_PER_GROUP} filters.`);
    }
    total += group.filters.length;
    return group.filters.map((filter: unknown) => compileFilter(def, filter));
  });
  if (total > MAX_FILTERS_TOTAL) throw validationError(`Too many filters: ${total}. A search can have at most ${MAX_FILTERS_TOTAL} filters in total.`);
  if (groups.length === 0) return null;
  // Filters within a group are ANDed; groups are ORed.
  const all = (filters: Predicate[]): Predicate =>
    filters.length === 1 ? (filters[0] as Predicate) : (view) => filters.every((filter) => filter(view));
  const groupPredicates = groups.map(all);
  return groupPredicates.length === 1 ? (groupPredicates[0] as Predicate) : (view) => groupPredicates.some((group) => group(view));
}

function compileSort(def: ObjectTypeDefinition, raw: unknown): SortSpec {
  const createdate = def.byName.get(def.creationProperty) as PropertyDefinition;
  // Without a sort HubSpot returns results in creation order (oldest first).
  const fallback: SortSpec = { property: createdate, numeric: true, descending: false };
  if (raw === undefined || raw === null) return fallback;
  if (!Array.isArray(raw)) throw validationError('sorts must be an array.');
  if (raw.length === 0) return fallback;
  if (raw.length > MAX_SORTS) throw validationError(`Too many sorts: ${raw.length}. A search can have at most ${MAX_SORTS} sort.`);
  const entry: unknown = raw[0];
  let propertyName: unknown;
  let direction: unknown = 'ASCENDING';
  // The documented form is {propertyName, direction}; a bare property name sorts
  // ascending. The SDK types sorts as strings, and code that JSON.stringify()s the sort
  // object to satisfy that type sends a string HubSpot silently ignores (results come
  // back unsorted: hubspot-api-nodejs#14, hubspot-api-ruby#257) - so does the emulator.
  if (typeof entry === 'string') {
    if (entry.trim().startsWith('{')) return fallback;
    propertyName = entry;
  } else if (isObject(entry)) {
    propertyName = entry.propertyName;
    direction = entry.direction ?? 'ASCENDING';
  } else throw validationError('Each sort must be a property name or {propertyName, direction}.');
  if (typeof propertyName !== 'string' || propertyName === '') throw validationError('Sort propertyName is required.');
  const property = def.byName.get(propertyName);
  if (!property) throw validationError(`Cannot sort on property "${propertyName}": it does not exist on ${def.name}.`);
  if (direction !== 'ASCENDING' && direction !== 'DESCENDING') {
    throw validationError(`Invalid sort direction ${JSON.stringify(direction)}; expected ASCENDING or DESCENDING.`);
  }
  return { property, numeric: isNumericType(property), descending: direction === 'DESCENDING' };
}

function compileQuery(def: ObjectTypeDefinition, raw: unknown): Predicate | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string') throw validationError('query must be a string.');
  if (raw.length > 3000) throw validationError('query is limited to 3000 characters.');
  // Approximation of HubSpot's full-text search: a case-insensitive substring of any of
  // the object's default searchable properties.
  const needle = raw.trim().toLowerCase();
  const names = def.searchableProperties;
  return (view) => names.some((name) => (view.get(name) ?? '').toLowerCase().includes(needle));
}

function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === null) return SEARCH_DEFAULT_LIMIT;
  const limit = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw validationError(`limit must be a non-negative integer, got ${JSON.stringify(raw)}.`);
  if (limit > SEARCH_MAX_LIMIT) throw validationError(`limit must be at most ${SEARCH_MAX_LIMIT}, got ${limit}.`);
  return limit;
}

/** Search `after` is the numeric offset of the next result, as a string. */
function parseAfter(raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') return 0;
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) throw validationError(`after must be a non-negative integer offset, got ${JSON.stringify(raw)}.`);
  return Number(text);
}

function compile(def: ObjectTypeDefinition, body: Record<string, unknown>): CompiledQuery {
  const filters = compileFilterGroups(def, body.filterGroups);
  const query = compileQuery(def, body.query);
  const sort = compileSort(def, body.sorts);
  const predicate = filters && query ? (view: RecordView) => query(view) && filters(view) : (filters ?? query);
  const key = JSON.stringify([body.filterGroups ?? null, body.sorts ?? null, body.query ?? null]);
  return { key, predicate, sort };
}

interface CacheEntry {
  generation: number;
  validUntil: number;
  ids: Float64Array;
}
const MAX_CACHED_QUERIES = 16;

/** Ids matching the query at `now`, in result order. */
function matchingIds(table: ObjectTable, query: CompiledQuery, now: number): Float64Array {
  const cache = table.searchCache as Map<string, CacheEntry>;
  const hit = cache.get(query.key);
  if (hit && hit.generation === table.generation && now < hit.validUntil) {
    cache.delete(query.key);
    cache.set(query.key, hit);
    return hit.ids;
  }
  const validUntil = table.nextSearchChange(now);
  const ids: number[] = [];
  const { property, numeric, descending } = query.sort;
  const byId = property.name === 'hs_object_id';
  const numericKeys: number[] = [];
  const textKeys: (string | null)[] = [];
  const predicate = query.predicate;
  const view = new RecordView(table);
  table.scanSearchable(now, view, (record) => {
    if (predicate !== null && !predicate(record)) return;
    ids.push(record.id);
    if (byId) return;
    if (numeric) numericKeys.push(record.num(property));
    else textKeys.push(record.get(property.name)?.toLowerCase() ?? null);
  });

  for (const [key, entry] of cache) if (entry.generation !== table.generation) cache.delete(key);
  const sorted = byId ? idOrder(ids, descending) : sortedIds(ids, numeric ? numericKeys : textKeys, numeric, descending);
  cache.set(query.key, { generation: table.generation, validUntil, ids: sorted });
  while (cache.size > MAX_CACHED_QUERIES) cache.delete(cache.keys().next().value as string);
  return sorted;
}

/**
 * Sorted by id, as keyset paging over hs_object_id asks: the scan already yields ids in
 * ascending order, so a million-record table is not sorted again for every page.
 */
function idOrder(ids: number[], descending: boolean): Float64Array {
  const sorted = Float64Array.from(ids);
  return descending ? sorted.reverse() : sorted;
}

/** Ids (ascending) ordered by their sort keys. */
function sortedIds(ids: number[], keys: number[] | (string | null)[], numeric: boolean, descending: boolean): Float64Array {
  const numericKeys = keys as number[];
  const textKeys = keys as (string | null)[];
  // Ids arrive ascending, so comparing positions breaks ties by id ascending. (HubSpot
  // itself promises no order among equal sort values; a fixed one keeps tests stable.)
  const order = new Uint32Array(ids.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const sign = descending ? -1 : 1;
  // Records without a value sort last in either direction.
  const compare = numeric
    ? (a: number, b: number): number => {
        const x = numericKeys[a] as number;
        const y = numericKeys[b] as number;
        const xMissing = Number.isNaN(x);
        const yMissing = Number.isNaN(y);
        if (xMissing || yMissing) return xMissing === yMissing ? a - b : xMissing ? 1 : -1;
        return x === y ? a - b : (x < y ? -1 : 1) * sign;
      }
    : (a: number, b: number): number => {
        const x = textKeys[a] as string | null;
        const y = textKeys[b] as string | null;
        if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1;
        return x === y ? a - b : (x < y ? -1 : 1) * sign;
      };
  order.sort(compare);
  const sorted = new Float64Array(ids.length);
  for (let i = 0; i < order.length; i++) sorted[i] = ids[order[i] as number] as number;
  return sorted;
}

/** Runs a search request body against a table, as the search endpoint does. */
export function executeSearch(table: ObjectTable, rawBody: unknown, now: number): SearchResponse {
  const body = rawBody === undefined || rawBody === null ? {} : rawBody;
  if (!isObject(body)) throw validationError('Invalid input JSON: the search request must be an object.');
  const limit = parseLimit(body.limit);
  const after = parseAfter(body.after);
  if (after + limit > SEARCH_RESULT_CAP) {
    throw validationError(
      `The search API returns at most ${SEARCH_RESULT_CAP} results per query: after (${after}) + limit (${limit}) goes past the 10000 result limit. Narrow the filters to page further.`,
    );
  }
  let properties: string[] | undefined;
  if (body.properties !== undefined && body.properties !== null) {
    if (!Array.isArray(body.properties) || body.properties.some((name) => typeof name !== 'string')) throw validationError('properties must be an array of property names.');
    properties = body.properties as string[];
  }
  const query = compile(table.def, body);
  const ids = matchingIds(table, query, now);
  const names = table.outputProperties(properties);
  const results: ApiObject[] = [];
  const end = Math.min(ids.length, after + limit);
  for (let i = after; i < end; i++) {
    const snapshot = table.searchSnapshot(ids[i] as number, now);
    if (snapshot) results.push(table.toApiObject(snapshot, names));
  }
  const response: SearchResponse = { total: ids.length, results };
  if (end < ids.length) response.paging = { next: { after: String(end) } };
  return response;
}
