/**
 * Property value rules: what a write may set and how values compare in search.
 * HubSpot's wire format is string-only; numbers and booleans sent as JSON numbers or
 * booleans are accepted and stringified, as the real API does.
 */
import { DAY_MS, toIso, toIsoDate } from '../shared/iso-time.js';
import { propertyProblem, propertyValuesError, validationError, type PropertyValidationProblem } from './errors.js';
import type { ObjectTypeDefinition, PropertyDefinition } from './object-types.js';
import type { PropertyValues } from './seed.js';

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Epoch ms of a datetime given as ms ("1704067200000") or ISO-8601 ("2024-01-01",
 * "2024-01-01T00:00:00Z"; without an offset the time is taken as UTC). NaN otherwise.
 */
export function parseDateTime(value: string): number {
  const text = value.trim();
  if (INTEGER.test(text)) return Number(text);
  if (ISO_DATE.test(text)) return Date.parse(text);
  if (!ISO_DATETIME.test(text)) return NaN;
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`);
}

/** True for the property types search compares as numbers (epoch ms for dates). */
export function isNumericType(property: PropertyDefinition): boolean {
  return property.type === 'number' || property.type === 'date' || property.type === 'datetime';
}

/** A stored value as the number search compares: the number, or epoch ms for dates; NaN when unset. */
export function numericValue(property: PropertyDefinition, value: string | null | undefined): number {
  if (value === null || value === undefined || value === '') return NaN;
  return property.type === 'number' ? Number(value) : parseDateTime(value);
}

function normalizeNumber(text: string): string {
  const value = Number(text);
  // Keep long integers verbatim: a double would round them.
  if (INTEGER.test(text) && !Number.isSafeInteger(value)) return text.replace(/^\+/, '');
  return String(value);
}

function describeTime(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCHours()}:${date.getUTCMinutes()}:${date.getUTCSeconds()}.${date.getUTCMilliseconds()}`;
}

/**
 * Validates and normalises one value. Returns the stored string (null clears the
 * property) or a problem in HubSpot's "Property values were not valid" format.
 */
function normalizeValue(objectType: ObjectTypeDefinition, property: PropertyDefinition, raw: unknown): string | null | PropertyValidationProblem {
  const name = property.name;
  if (raw === null) return null;
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else if (typeof raw === 'boolean') text = String(raw);
  else return propertyProblem(name, 'INVALID_PROPERTY_VALUE', `${JSON.stringify(raw)} is not a valid value for property "${name}": values must be strings.`);
  // An empty string clears the property.
  if (text === '') return null;

  switch (property.type) {
    case 'number':
      if (!NUMBER.test(text.trim())) return propertyProblem(name, 'INVALID_FLOAT', `${text} was not a valid number.`);
      return normalizeNumber(text.trim());
    case 'bool': {
      const lower = text.trim().toLowerCase();
      if (lower !== 'true' && lower !== 'false') return propertyProblem(name, 'INVALID_BOOLEAN', `${text} was not a valid boolean; use "true" or "false".`);
      return lower;
    }
    case 'enumeration': {
      // Multiple-checkbox properties hold several options joined with ';'.
      const values = property.fieldType === 'checkbox' ? text.split(';') : [text];
      const allowed = new Set(property.options.map((option) => option.value));
      const bad = values.find((value) => !allowed.has(value));
      if (bad !== undefined) {
        const list = property.options.map((option) => option.value).join(', ');
        return propertyProblem(name, 'INVALID_OPTION', `${bad} was not one of the allowed options: [${list}]`);
      }
      return text;
    }
    case 'date': {
      // Date properties take midnight UTC, as epoch ms or (also accepted) YYYY-MM-DD;
      // any other time of day is rejected, as HubSpot does.
      const ms = parseDateTime(text);
      if (Number.isNaN(ms)) return propertyProblem(name, 'INVALID_DATE', `${text} was not a valid date.`);
      if (((ms % DAY_MS) + DAY_MS) % DAY_MS !== 0) return propertyProblem(name, 'INVALID_DATE', `${text} is at ${describeTime(ms)} UTC, not midnight!`);
      return toIsoDate(ms);
    }
    case 'datetime': {
      const ms = parseDateTime(text);
      if (Number.isNaN(ms)) return propertyProblem(name, 'INVALID_DATETIME', `${text} was not a valid datetime; use epoch milliseconds or ISO-8601.`);
      return toIso(ms);
    }
    default:
      if (objectType.name === 'contacts' && name === 'email') {
        const email = text.trim();
        if (!EMAIL.test(email)) return propertyProblem(name, 'INVALID_EMAIL', `Email address ${text} is invalid`);
        // HubSpot stores contact emails in lower case.
        return email.toLowerCase();
      }
      if (text.length > 65_536) return propertyProblem(name, 'INVALID_STRING_LENGTH', `Property "${name}" is longer than 65536 characters.`);
      return text;
  }
}

/** A write's `properties` checked: the values to store, and every problem found (none: all valid). */
export interface CheckedWrite {
  values: PropertyValues;
  problems: PropertyValidationProblem[];
}

/**
 * Checks a write's `properties` object: every name must be a defined, writable property
 * and every value valid for its type. Problems are returned, not thrown, so a batch can
 * report them per input; a `properties` that is not an object is a 400 for the request.
 */
export function checkWrite(objectType: ObjectTypeDefinition, input: unknown): CheckedWrite {
  if (input === undefined) return { values: {}, problems: [] };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw validationError('Invalid input JSON: "properties" must be an object of property names to string values.');
  }
  const values: PropertyValues = {};
  const problems: PropertyValidationProblem[] = [];
  for (const [name, raw] of Object.entries(input as Record<string, unknown>)) {
    const property = objectType.byName.get(name);
    if (!property) {
      problems.push(propertyProblem(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`));
      continue;
    }
    if (property.modificationMetadata.readOnlyValue) {
      problems.push(propertyProblem(name, 'READ_ONLY_VALUE', `"${name}" is a read only property; its value cannot be set.`));
      continue;
    }
    const value = normalizeValue(objectType, property, raw);
    if (value !== null && typeof value === 'object') problems.push(value);
    else values[name] = value;
  }
  return { values, problems };
}

/**
 * Validates a write's `properties` object (see checkWrite). Throws one VALIDATION_ERROR
 * listing all problems (nothing is written), like HubSpot.
 */
export function normalizeWrite(objectType: ObjectTypeDefinition, input: unknown): PropertyValues {
  const { values, problems } = checkWrite(objectType, input);
  if (problems.length > 0) throw propertyValuesError(problems);
  return values;
}
