/**
 * OData query options as Dataverse's Web API takes them: $select, $orderby, $top, the
 * Prefer header, and the order rows are paged in. $filter is in odata-filter.ts, the
 * $skiptoken paging cookie in paging-cookie.ts.
 *
 * Error messages are the OData library's ("Could not find a property named 'x' on type
 * 'Microsoft.Dynamics.CRM.contact'."), which Dataverse passes on with code 0x80060888.
 */
import { odataError, propertyNotFound } from './errors.js';
import type { Field, Shape } from './table-definitions.js';
import { compareComparable } from './values.js';

/** What $filter/$orderby read from a row. */
export interface Comparable {
  comparable(field: Field): unknown;
}

// ---- Prefer ------------------------------------------------------------------------------------

export interface Preferences {
  /** odata.maxpagesize, when sent (and a positive integer). */
  maxPageSize?: number;
  trackChanges: boolean;
  returnRepresentation: boolean;
  continueOnError: boolean;
  /** odata.include-annotations="..." */
  includeAnnotations?: string;
}

/** Splits a header on commas outside double quotes. */
function splitPreferences(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/** Parses one or more Prefer headers (RFC 7240: comma-separated preferences, case-insensitive names). */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const prefs: Preferences = { trackChanges: false, returnRepresentation: false, continueOnError: false };
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of splitPreferences(text)) {
    const equals = part.indexOf('=');
    const name = (equals < 0 ? part : part.slice(0, equals)).trim().toLowerCase();
    const value = equals < 0 ? '' : part.slice(equals + 1).trim().replace(/^"(.*)"$/, '$1');
    if (name === 'odata.maxpagesize' || name === 'maxpagesize') {
      if (/^\d+$/.test(value) && Number(value) > 0) prefs.maxPageSize = Number(value);
    } else if (name === 'odata.track-changes' || name === 'track-changes') prefs.trackChanges = true;
    else if (name === 'return' && value.toLowerCase() === 'representation') prefs.returnRepresentation = true;
    else if (name === 'odata.continue-on-error' || name === 'continue-on-error') prefs.continueOnError = value.toLowerCase() !== 'false';
    else if (name === 'odata.include-annotations') prefs.includeAnnotations = value;
  }
  return prefs;
}

/** Whether an odata.include-annotations preference asks for an annotation (wildcards allowed). */
export function wantsAnnotation(prefs: Preferences, term: string): boolean {
  if (prefs.includeAnnotations === undefined) return false;
  return prefs.includeAnnotations.split(',').some((pattern) => {
    const p = pattern.trim();
    if (p === '*' ) return true;
    if (p.endsWith('.*')) return term.startsWith(p.slice(0, -1));
    return p === term;
  });
}

// ---- $select / $orderby / $top -----------------------------------------------------------------

/** $select: the listed properties (in order, without the key and duplicates); null = all. */
export function parseSelect<F extends Field>(shape: Shape & { fields: readonly F[] }, text: string | null): F[] | null {
  if (text === null || text.trim() === '') return null;
  const out: F[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '*') return null;
    const field = shape.byName.get(name) as F | undefined;
    if (!field) throw propertyNotFound(shape.typeName, name);
    if (field !== shape.key && !out.includes(field)) out.push(field);
  }
  return out;
}

export interface SortKey {
  field: Field;
  descending: boolean;
}

/** $orderby: `name [asc|desc], ...`. */
export function parseOrderBy(shape: Shape, text: string | null): SortKey[] {
  if (text === null || text.trim() === '') return [];
  const keys: SortKey[] = [];
  let offset = 0;
  for (const item of text.split(',')) {
    const match = /^(\s*)(\S+)(?:\s+(\S+))?\s*$/.exec(item);
    if (!match) throw odataError(`Expression expected at position ${offset + item.length} in '${text}'.`);
    const name = match[2] as string;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw odataError(`Syntax error at position ${offset + (match[1] as string).length} in '${text}'.`);
    const field = shape.byName.get(name);
    if (!field) throw propertyNotFound(shape.typeName, name);
    const direction = match[3]?.toLowerCase();
    if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
      throw odataError(`Syntax error at position ${offset + item.indexOf(match[3] as string)} in '${text}'.`);
    }
    keys.push({ field, descending: direction === 'desc' });
    offset += item.length + 1;
  }
  return keys;
}

/** $top: a non-negative integer. */
export function parseTop(text: string | null): number | null {
  if (text === null) return null;
  if (!/^\s*\d+\s*$/.test(text)) throw odataError(`Invalid value '${text}' for $top query option found. The $top query option requires a non-negative integer value.`);
  return Number(text);
}

/** Sort keys plus the key ascending as the final tiebreak (every order is total). */
export function totalOrder(keys: readonly SortKey[], key: Field): SortKey[] {
  return keys.some((k) => k.field === key) ? [...keys] : [...keys, { field: key, descending: false }];
}

export function compareRows(keys: readonly SortKey[], a: Comparable, b: Comparable): number {
  for (const { field, descending } of keys) {
    const c = compareComparable(a.comparable(field), b.comparable(field));
    if (c !== 0) return descending ? -c : c;
  }
  return 0;
}

/** Compares a row with a keyset position (the comparable values of the sort keys). */
export function compareToPosition(keys: readonly SortKey[], row: Comparable, position: readonly unknown[]): number {
  for (let k = 0; k < keys.length; k++) {
    const { field, descending } = keys[k] as SortKey;
    const c = compareComparable(row.comparable(field), position[k] ?? null);
    if (c !== 0) return descending ? -c : c;
  }
  return 0;
}

/** Index of the first row (of rows sorted by `keys`) after the position. */
export function firstAfter(keys: readonly SortKey[], rows: readonly Comparable[], position: readonly unknown[]): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareToPosition(keys, rows[mid] as Comparable, position) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
