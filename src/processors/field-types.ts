import { z } from 'zod';
import type { FieldType } from '../config/schema.js';

/**
 * One zod schema per field type: from the string HubSpot sends (every property value
 * is a string on the wire) to the value stored locally. Pure, no I/O.
 */
export type FieldValue = string | number | boolean | null;

// HubSpot sends epoch milliseconds for some datetimes and dates, ISO-8601 for others.
const EPOCH_MS = /^-?\d{10,}$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function toInstant(text: string): Date | undefined {
  const date = EPOCH_MS.test(text) ? new Date(Number(text)) : new Date(text);
  if (Number.isNaN(date.getTime())) return undefined;
  if (!EPOCH_MS.test(text)) {
    // new Date() rolls impossible calendar dates over (2025-02-30 → March 2); refuse them.
    const day = ISO_DATE.exec(text.slice(0, 10));
    if (!day || !isCalendarDate(Number(day[1]), Number(day[2]), Number(day[3]))) return undefined;
  }
  return date;
}

export function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const datetime = z.string().transform((text, ctx) => {
  const instant = toInstant(text.trim());
  if (!instant) {
    ctx.addIssue({ code: 'custom', message: 'not a valid date-time' });
    return z.NEVER;
  }
  return instant.toISOString();
});

const date = z.string().transform((text, ctx) => {
  const trimmed = text.trim();
  const instant = toInstant(trimmed);
  if (!instant) {
    ctx.addIssue({ code: 'custom', message: 'not a valid date' });
    return z.NEVER;
  }
  return instant.toISOString().slice(0, 10);
});

const PHONE_FORMATTING = /[\s().\-/]/g;
const phone = z.string().transform((text, ctx) => {
  const compact = text.trim().replace(PHONE_FORMATTING, '');
  // E.164 allows at most 15 digits; fewer than 7 is not a dialable number anywhere.
  if (!/^\+?\d{7,15}$/.test(compact)) {
    ctx.addIssue({ code: 'custom', message: 'not a valid phone number' });
    return z.NEVER;
  }
  return compact;
});

const url = z.string().transform((text, ctx) => {
  const trimmed = text.trim();
  try {
    const parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
    if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname.includes('.')) return trimmed;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: 'custom', message: 'not a valid URL' });
  return z.NEVER;
});

const decimal = z.string().transform((text, ctx) => {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) {
    ctx.addIssue({ code: 'custom', message: 'not a number' });
    return z.NEVER;
  }
  return value;
});

const integer = decimal.refine(Number.isSafeInteger, 'not a whole number');

const boolean = z.string().transform((text, ctx) => {
  const normalised = text.trim().toLowerCase();
  if (normalised === 'true' || normalised === '1') return true;
  if (normalised === 'false' || normalised === '0') return false;
  ctx.addIssue({ code: 'custom', message: 'not true or false' });
  return z.NEVER;
});

const email = z
  .string()
  .transform((text) => text.trim().toLowerCase())
  .pipe(z.email({ message: 'not a valid email address' }));

const BASE_SCHEMAS: Record<Exclude<FieldType, 'enumeration'>, z.ZodType<FieldValue, string>> = {
  string: z.string(),
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
function enumeration(allowed?: string[]): z.ZodType<FieldValue, string> {
  if (!allowed) return z.string();
  const known = new Set(allowed);
  return z.string().refine(
    (text) => text.split(';').every((value) => known.has(value)),
    `not one of the allowed values (${allowed.join(', ')})`,
  );
}

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  values?: string[];
}

export type ParseResult = { ok: true; value: FieldValue } | { ok: false; reason: string };

export interface FieldParser {
  (raw: unknown): ParseResult;
}

/** Builds the parser of one configured field; call once per field, not per record. */
export function fieldParser(spec: FieldSpec): FieldParser {
  const schema = spec.type === 'enumeration' ? enumeration(spec.values) : BASE_SCHEMAS[spec.type];
  return (raw) => {
    if (raw === null || raw === undefined || raw === '') {
      return spec.required ? { ok: false, reason: 'is required but empty' } : { ok: true, value: null };
    }
    if (typeof raw !== 'string') return { ok: false, reason: `expected a string, got ${typeof raw}` };
    const parsed = schema.safeParse(raw);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: parsed.error.issues[0].message };
  };
}
