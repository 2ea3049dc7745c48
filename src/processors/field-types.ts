import { z } from 'zod';
import type { FieldType } from '../config/mappings-schema.js';
import { isCalendarDate } from './calendar.js';

/**
 * One parser per field type: from the value a CRM sends (HubSpot: always a string;
 * Dynamics 365: JSON numbers and booleans too) to the value stored locally. Pure, no I/O. These run for every
 * field of every record, so they are plain functions rather than zod schemas (zod's
 * per-call overhead was a quarter of a full sync's time); emails use zod's own pattern.
 */
export type FieldValue = string | number | boolean | null;
export type ParseResult = { ok: true; value: FieldValue } | { ok: false; reason: string };
type Parser = (text: string) => ParseResult;

const ok = (value: FieldValue): ParseResult => ({ ok: true, value });
const fail = (reason: string): ParseResult => ({ ok: false, reason });

// HubSpot sends epoch milliseconds for some datetimes and dates, ISO-8601 for others.
const EPOCH_MS = /^-?\d{10,}$/;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})/;

/** Epoch ms, or an ISO-8601 date/date-time whose calendar date exists (new Date() rolls 2025-02-30 over to March 2). */
function toMillis(text: string): number {
  if (EPOCH_MS.test(text)) return Number(text);
  const day = ISO_DAY.exec(text);
  if (!day || !isCalendarDate(Number(day[1]), Number(day[2]), Number(day[3]))) return Number.NaN;
  return Date.parse(text);
}

// What HubSpot usually sends and what crmsync stores: already normalised, kept as it is.
const CANONICAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const CANONICAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const isCanonical = (pattern: RegExp, text: string) => {
  const match = pattern.exec(text);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
};

const datetime: Parser = (text) => {
  if (isCanonical(CANONICAL_DATETIME, text)) return ok(text);
  const millis = toMillis(text.trim());
  return Number.isNaN(millis) ? fail('not a valid date-time') : ok(new Date(millis).toISOString());
};

const date: Parser = (text) => {
  if (isCanonical(CANONICAL_DATE, text)) return ok(text);
  const millis = toMillis(text.trim());
  return Number.isNaN(millis) ? fail('not a valid date') : ok(new Date(millis).toISOString().slice(0, 10));
};

const PHONE_FORMATTING = /[\s().\-/]/g;
// E.164 allows at most 15 digits; fewer than 7 is not a dialable number anywhere.
const PHONE = /^\+?\d{7,15}$/;
const phone: Parser = (text) => {
  const compact = text.trim().replace(PHONE_FORMATTING, '');
  return PHONE.test(compact) ? ok(compact) : fail('not a valid phone number');
};

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const url: Parser = (text) => {
  const trimmed = text.trim();
  try {
    const parsed = new URL(SCHEME.test(trimmed) ? trimmed : `https://${trimmed}`);
    if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname.includes('.')) return ok(trimmed);
  } catch {
    // not a URL at all
  }
  return fail('not a valid URL');
};

const decimal: Parser = (text) => {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed === '' || !Number.isFinite(value) ? fail('not a number') : ok(value);
};

const integer: Parser = (text) => {
  const parsed = decimal(text);
  if (!parsed.ok) return parsed;
  return Number.isSafeInteger(parsed.value) ? parsed : fail('not a whole number');
};

const boolean: Parser = (text) => {
  const normalised = text.trim().toLowerCase();
  if (normalised === 'true' || normalised === '1') return ok(true);
  if (normalised === 'false' || normalised === '0') return ok(false);
  return fail('not true or false');
};

const EMAIL = z.regexes.email;
const email: Parser = (text) => {
  const normalised = text.trim().toLowerCase();
  return EMAIL.test(normalised) ? ok(normalised) : fail('not a valid email address');
};

const PARSERS: Record<Exclude<FieldType, 'enumeration'>, Parser> = {
  string: ok,
  email,
  phone,
  url,
  date,
  datetime,
  decimal,
  integer,
  boolean,
};

/** HubSpot joins the values of a multi-select enumeration with ";". */
function enumeration(allowed?: string[]): Parser {
  if (!allowed) return ok;
  const known = new Set(allowed);
  const reason = `not one of the allowed values (${allowed.join(', ')})`;
  return (text) => (text.split(';').every((value) => known.has(value)) ? ok(text) : fail(reason));
}

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  values?: string[];
}

export type FieldParser = (raw: unknown) => ParseResult;

// SQLite's json_extract ends a text at a NUL and writes a lone UTF-16 surrogate as bytes no
// UTF-8 reader accepts, so a view would show a cut or unreadable value. Valid surrogate pairs
// match the quick test too; they are left as they are.
const SUSPECT_TEXT = /[\u0000\ud800-\udfff]/;
const UNREADABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text with each NUL and lone surrogate replaced by U+FFFD; the same string when it has none (the usual case, checked in one scan). */
export function readableText(text: string): string {
  return SUSPECT_TEXT.test(text) ? text.replace(UNREADABLE_TEXT, '\ufffd') : text;
}

/**
 * Builds the parser of one configured field; call once per field, not per record.
 * `acceptsJsonScalars`: the source sends numbers and booleans as JSON values (Dynamics
 * 365); for HubSpot, whose values are always strings, anything else is malformed.
 */
export function fieldParser(spec: FieldSpec, acceptsJsonScalars = false): FieldParser {
  const parse = spec.type === 'enumeration' ? enumeration(spec.values) : PARSERS[spec.type];
  return (raw) => {
    if (raw === null || raw === undefined || raw === '') {
      return spec.required ? fail('is required but empty') : ok(null);
    }
    if (typeof raw === 'string') return parse(readableText(raw));
    if (acceptsJsonScalars && (typeof raw === 'number' || typeof raw === 'boolean')) return parse(String(raw));
    return fail(`expected a ${acceptsJsonScalars ? 'string, number or boolean' : 'string'}, got ${typeof raw}`);
  };
}
