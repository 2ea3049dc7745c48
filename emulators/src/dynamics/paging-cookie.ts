import { odataError } from './errors.js';
import type { Field, ValueKind } from './table-definitions.js';
import { foldText, guidSortKey, isoSeconds, parseIsoDateTime } from './values.js';

/**
 * The $skiptoken of a nextLink, in the shape Dataverse uses:
 *   <cookie pagenumber="2" pagingcookie="<url-encoded inner cookie>" istracking="False" />
 * where the inner cookie lists the last and first row's values of every sort column,
 *   <cookie page="1"><lastname last="Smith" first="Adams" /><contactid last="{GUID}" first="{GUID}" /></cookie>
 * so the next page starts right after the last row (keyset paging): rows changed or
 * added between pages are neither repeated nor skipped wrongly.
 */
export interface PagingCookie {
  pageNumber: number;
  tracking: boolean;
  /** Change version the (change-tracking) read began at. */
  version?: number;
  /** Change-tracking delta pages: 0 new/updated rows, 1 deletions. */
  phase?: number;
  /** Names of the sort columns and the last row's values (held form; null allowed). */
  names: string[];
  last: unknown[];
  first: unknown[];
}

/** URL-encodes like .NET's HttpUtility.UrlEncode with %20 (lower-case escapes). */
export function dotnetEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16)}`)
    .replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const escapeXml = (text: string) => text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] as string);
const unescapeXml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name] as string);

function cookieValue(kind: ValueKind, value: unknown): string {
  switch (kind) {
    case 'guid':
      return `{${(value as string).toUpperCase()}}`;
    case 'boolean':
      return value ? '1' : '0';
    case 'datetime':
      return isoSeconds(value as number);
    default:
      return String(value);
  }
}

function parseCookieValue(kind: ValueKind, text: string): unknown {
  switch (kind) {
    case 'guid': {
      const guid = text.replace(/^\{(.*)\}$/, '$1').toLowerCase();
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(guid)) throw badSkipToken();
      return guid;
    }
    case 'boolean':
      if (text !== '0' && text !== '1') throw badSkipToken();
      return text === '1';
    case 'datetime': {
      const ms = parseIsoDateTime(text);
      if (Number.isNaN(ms)) throw badSkipToken();
      return ms;
    }
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) throw badSkipToken();
      return value;
    }
    default:
      return text;
  }
}

export function badSkipToken(): Error {
  return odataError('The $skiptoken value is not a valid paging cookie. Use the @odata.nextLink URL exactly as returned.');
}

/** The $skiptoken value (not yet URL-encoded as a query parameter). */
export function encodePagingCookie(cookie: PagingCookie, fields: readonly Field[]): string {
  let inner = `<cookie page="${cookie.pageNumber - 1}"`;
  if (cookie.version !== undefined) inner += ` version="${cookie.version}"`;
  if (cookie.phase !== undefined) inner += ` phase="${cookie.phase}"`;
  inner += '>';
  fields.forEach((field, k) => {
    const last = cookie.last[k] ?? null;
    const first = cookie.first[k] ?? null;
    inner += `<${field.name}`;
    inner += last === null ? ' lastnull="1"' : ` last="${escapeXml(cookieValue(field.kind, last))}"`;
    inner += first === null ? ' firstnull="1"' : ` first="${escapeXml(cookieValue(field.kind, first))}"`;
    inner += ' />';
  });
  inner += '</cookie>';
  return `<cookie pagenumber="${cookie.pageNumber}" pagingcookie="${dotnetEncode(inner)}" istracking="${cookie.tracking ? 'True' : 'False'}" />`;
}

/** Parses a $skiptoken; `fields` are the sort columns the query has now (they must match the cookie's). */
export function decodePagingCookie(token: string, fields: readonly Field[]): PagingCookie {
  const outer = /^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)" istracking="(True|False)" \/>$/.exec(token.trim());
  if (!outer) throw badSkipToken();
  let inner: string;
  try {
    inner = decodeURIComponent(outer[2] as string);
  } catch {
    throw badSkipToken();
  }
  const body = /^<cookie page="(\d+)"(?: version="(\d+)")?(?: phase="([01])")?>(.*)<\/cookie>$/s.exec(inner);
  if (!body) throw badSkipToken();
  const elements = [...(body[4] as string).matchAll(/<([A-Za-z_][A-Za-z0-9_]*)((?:\s+[a-z]+="[^"]*")*)\s*\/>/g)];
  if (elements.length !== fields.length) throw badSkipToken();
  const last: unknown[] = [];
  const first: unknown[] = [];
  elements.forEach((element, k) => {
    const field = fields[k] as Field;
    if (element[1] !== field.name) throw badSkipToken();
    const attributes = Object.fromEntries([...(element[2] as string).matchAll(/([a-z]+)="([^"]*)"/g)].map((m) => [m[1], unescapeXml(m[2] as string)]));
    last.push(attributes.lastnull === '1' ? null : attributes.last === undefined ? badSkipTokenThrow() : parseCookieValue(field.kind, attributes.last));
    first.push(attributes.firstnull === '1' ? null : attributes.first === undefined ? null : parseCookieValue(field.kind, attributes.first));
  });
  return {
    pageNumber: Number(outer[1]),
    tracking: outer[3] === 'True',
    version: body[2] === undefined ? undefined : Number(body[2]),
    phase: body[3] === undefined ? undefined : Number(body[3]),
    names: fields.map((field) => field.name),
    last,
    first,
  };
}

function badSkipTokenThrow(): never {
  throw badSkipToken();
}

/** The comparable position of a cookie's last row (for firstAfter). */
export function cookiePosition(cookie: PagingCookie, fields: readonly Field[]): unknown[] {
  return fields.map((field, k) => {
    const value = cookie.last[k] ?? null;
    if (value === null) return null;
    if (field.kind === 'string') return foldText(value as string);
    if (field.kind === 'guid') return guidSortKey(value as string);
    if (field.kind === 'boolean') return value ? 1 : 0;
    return value;
  });
}

/** The query string of a nextLink: the request's own options (as sent) with the new $skiptoken. */
export function withSkipToken(rawQuery: string, skipToken: string): string {
  const kept = rawQuery
    .split('&')
    .filter((part) => part !== '' && !/^(\$|%24)skiptoken=/i.test(part));
  kept.push(`$skiptoken=${encodeURIComponent(skipToken).replace(/%3D/g, '=')}`);
  return kept.join('&');
}
