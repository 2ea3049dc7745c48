/**
 * Column values: how Dataverse writes them in JSON, reads them from write payloads and
 * compares them in $filter/$orderby.
 *
 * Held internally per ValueKind: strings, numbers, booleans, datetimes as epoch ms
 * (second precision, as Dataverse stores them), date-only columns as 'YYYY-MM-DD',
 * GUIDs lower-case. JSON: numbers (money and decimals too) as JSON numbers, datetimes as
 * 'YYYY-MM-DDTHH:MM:SSZ', date-only as 'YYYY-MM-DD', lookups as the target's GUID.
 */
import { toIso } from '../shared/iso-time.js';
import { ERROR_CODES, DataverseError, odataError } from './errors.js';
import type { Column, EntityModel, ValueKind } from './table-definitions.js';

export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$/;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** 'YYYY-MM-DDTHH:MM:SSZ' (Dataverse returns datetimes to the second, in UTC). */
export function isoSeconds(ms: number): string {
  return toIso(ms).slice(0, 19) + 'Z';
}

/** Epoch ms of an ISO-8601 datetime with a zone ('Z' or ±hh:mm), NaN otherwise. */
export function parseIsoDateTime(text: string): number {
  const match = ISO_DATETIME.exec(text);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi] = match;
  if (!validDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(match[6] ?? 0) > 59) return Number.NaN;
  return Date.parse(text);
}

/** 'YYYY-MM-DD' when the text is a valid calendar date. */
export function isIsoDate(text: string): boolean {
  const match = ISO_DATE.exec(text);
  return match !== null && validDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Rounds epoch ms down to the second, as Dataverse stores datetimes. */
export function toSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** The JSON value of a held value. */
export function wireValue(kind: ValueKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return kind === 'datetime' ? isoSeconds(value as number) : value;
}

/** `"name":<json>` for one held value (rows are serialized from these fragments). */
export function jsonFragment(column: Column, value: unknown): string {
  if (value === null || value === undefined) return column.jsonKey + 'null';
  switch (column.kind) {
    case 'datetime':
      return column.jsonKey + '"' + isoSeconds(value as number) + '"';
    case 'number':
    case 'boolean':
      return column.jsonKey + String(value);
    case 'guid':
    case 'date':
      return column.jsonKey + '"' + (value as string) + '"';
    default:
      return column.jsonKey + JSON.stringify(value);
  }
}

/**
 * fullname is calculated from firstname and lastname (the organisation's full-name
 * format; "First Last" here) and cannot be set directly.
 */
export function fullNameOf(first: unknown, last: unknown): string | null {
  const a = typeof first === 'string' && first !== '' ? first : undefined;
  const b = typeof last === 'string' && last !== '' ? last : undefined;
  return a !== undefined && b !== undefined ? `${a} ${b}` : (a ?? b ?? null);
}

// ---- GUID order --------------------------------------------------------------------------------

/**
 * SQL Server orders uniqueidentifier values by their bytes in the order 10-15, 8-9, 7-6,
 * 5-4, 3-0 of the .NET byte layout: the last group of the text form weighs most, the
 * first group least. Dataverse's default order (and `$orderby=<key>`, and `gt`/`lt` on
 * GUIDs) follows it, so rows do not come back in the GUIDs' text order.
 */
export function guidSortKey(guid: string): string {
  const g = guid.toLowerCase();
  // aabbccdd-eeff-gghh-iijj-kkllmmnnoopp
  return g.slice(24, 36) + g.slice(19, 23) + g.slice(16, 18) + g.slice(14, 16) + g.slice(11, 13) + g.slice(9, 11) + g.slice(6, 8) + g.slice(4, 6) + g.slice(2, 4) + g.slice(0, 2);
}

function nibble(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code <= 57 ? code - 48 : (code | 32) - 87;
}

function byteAt(text: string, at: number): number {
  return nibble(text, at) * 16 + nibble(text, at + 1);
}

/**
 * The same order as guidSortKey, as three numbers (bytes 10-15; 8-9 and 7-4; 3-0), for
 * sorting many rows without building strings.
 */
export function guidOrder(guid: string): [number, number, number] {
  const word = (a: number, b: number, c: number, d: number) => ((byteAt(guid, a) << 24) | (byteAt(guid, b) << 16) | (byteAt(guid, c) << 8) | byteAt(guid, d)) >>> 0;
  const high = (byteAt(guid, 24) * 256 + byteAt(guid, 26)) * 4294967296 + word(28, 30, 32, 34);
  const middle = (byteAt(guid, 19) * 256 + byteAt(guid, 21)) * 4294967296 + word(16, 14, 11, 9);
  const low = word(6, 4, 2, 0);
  return [high, middle, low];
}

/** Compares GUIDs as SQL Server (and so Dataverse) orders them: < 0, 0, > 0. */
export function compareGuids(a: string, b: string): number {
  const x = guidSortKey(a);
  const y = guidSortKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---- text comparison ---------------------------------------------------------------------------

const ASCII = /^[\x00-\x7f]*$/;
const MARKS = /\p{M}/gu;

/**
 * Dataverse's default collation (Latin1_General_CI_AI) ignores case and accents:
 * `eq`, `contains` and `$orderby` treat 'müller', 'Muller' and 'MULLER' alike.
 */
export function foldText(text: string): string {
  return ASCII.test(text) ? text.toLowerCase() : text.normalize('NFD').replace(MARKS, '').toLowerCase();
}

/** A held value as it compares: folded text, the SQL key of a GUID, or the value itself. */
export function comparable(kind: ValueKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'string') return foldText(value as string);
  if (kind === 'guid') return guidSortKey(value as string);
  if (kind === 'boolean') return value ? 1 : 0;
  return value;
}

/** Compares comparable values; null sorts first (as SQL Server sorts NULL ascending). */
export function compareComparable(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return (a as number | string) < (b as number | string) ? -1 : (a as number | string) > (b as number | string) ? 1 : 0;
}

// ---- writes ------------------------------------------------------------------------------------

function cannotConvert(value: unknown, edm: string): DataverseError {
  const literal = typeof value === 'string' ? value : JSON.stringify(value);
  return odataError(`Cannot convert the literal '${literal}' to the expected type '${edm}'.`);
}

/**
 * The held value of a JSON payload value for a column, or a 400 as Dataverse words it.
 * Lookups are not accepted here (the Web API sets them through `@odata.bind`).
 */
export function parseWriteValue(model: EntityModel, column: Column, raw: unknown): unknown {
  if (raw === null) {
    if (column.type === 'state') throw invalidState(model, raw);
    if (column.type === 'status') throw outsideOptions(model, column, raw);
    return null;
  }
  switch (column.kind) {
    case 'string': {
      if (typeof raw !== 'string') throw odataError(`Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details.`);
      const max = column.maxLength;
      if (raw.length > max) {
        throw new DataverseError(
          400,
          ERROR_CODES.validation,
          `A validation error occurred.  The length of the '${column.name}' attribute of the '${model.logicalName}' entity exceeded the maximum allowed length of '${max}'.`,
        );
      }
      return raw;
    }
    case 'number': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw cannotConvert(raw, column.edm);
      if (column.integer) {
        if (!Number.isInteger(raw)) throw cannotConvert(raw, column.edm);
        if (column.edm === 'Edm.Int32' && (raw < INT32_MIN || raw > INT32_MAX)) throw cannotConvert(raw, column.edm);
      }
      if (column.type === 'state' && raw !== 0 && raw !== 1) throw invalidState(model, raw);
      if (column.options !== undefined && !column.options.includes(raw)) throw outsideOptions(model, column, raw);
      return raw;
    }
    case 'boolean':
      if (typeof raw !== 'boolean') throw cannotConvert(raw, column.edm);
      return raw;
    case 'datetime': {
      const ms = typeof raw === 'string' ? parseIsoDateTime(raw) : Number.NaN;
      if (Number.isNaN(ms)) throw cannotConvert(raw, column.edm);
      return toSecond(ms);
    }
    case 'date':
      if (typeof raw !== 'string' || !isIsoDate(raw)) throw cannotConvert(raw, column.edm);
      return raw;
    case 'guid':
      if (typeof raw !== 'string' || !GUID.test(raw)) throw cannotConvert(raw, column.edm);
      return raw.toLowerCase();
  }
}

function invalidState(model: EntityModel, raw: unknown): DataverseError {
  return new DataverseError(400, ERROR_CODES.invalidArgument, `${String(raw)} is not a valid state code on ${model.logicalName}.`);
}

/** A choice or status reason value the column does not have. */
function outsideOptions(model: EntityModel, column: Column, raw: unknown): DataverseError {
  return new DataverseError(
    400,
    ERROR_CODES.validation,
    `A validation error occurred. The value ${String(raw)} of '${column.name}' on record of type '${model.logicalName}' is outside the valid range. Accepted Values: ${(column.options ?? []).join(',')}`,
  );
}
