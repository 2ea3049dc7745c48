import { createHash } from 'node:crypto';
import type { ObjectMapping } from '../config/load.js';
import type { FieldProblem, MappedRecord, RecordShape, RejectedRecord } from '../records.js';
import { fieldParser, readableText } from './field-types.js';

/**
 * A record's id and property values: only these are required; values are checked field by
 * field against mappings.yaml. Checked by hand rather than with a zod schema because it
 * runs for every record.
 */
interface Envelope {
  id: string;
  properties: Record<string, unknown>;
  updatedAt?: unknown;
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw);
}

/** A flat row: its keys are its properties, the key among them (annotations too, unmapped). */
function readFlatRow(raw: unknown): Envelope | string {
  return isPlainObject(raw) ? { id: '', properties: raw } : 'record is not an object';
}

/** An envelope: { id, properties: {...}, createdAt, updatedAt, archived }. */
function readEnvelope(raw: unknown): Envelope | string {
  if (!isPlainObject(raw)) return 'record is not an object';
  const { id, properties, updatedAt } = raw;
  if (!((typeof id === 'string' && id !== '') || typeof id === 'number')) return 'id is missing';
  if (properties !== undefined && (properties === null || typeof properties !== 'object' || Array.isArray(properties))) {
    return 'properties is not an object';
  }
  return { id: String(id), properties: (properties ?? {}) as Record<string, unknown>, updatedAt };
}

/** The property values of a record as received, or undefined when it has none to read. */
export function propertiesOf(raw: unknown, shape: RecordShape): Record<string, unknown> | undefined {
  const properties = shape.layout === 'flat' ? raw : isPlainObject(raw) ? raw.properties : undefined;
  return isPlainObject(properties) ? properties : undefined;
}

export type MapResult = { ok: true; record: MappedRecord } | { ok: false; rejected: RejectedRecord };

const modificationTime = fieldParser({ type: 'datetime', required: true });

/** Builds the pure function that turns one API record into a local row or a rejection. */
export function createRecordMapper(mapping: ObjectMapping, shape: RecordShape): (raw: unknown) => MapResult {
  const fields = mapping.fields.map((field) => ({ ...field, parse: fieldParser(field, shape.jsonScalars) }));
  const lenient = mapping.validation === 'lenient';
  const flat = shape.layout === 'flat';
  const read = flat ? readFlatRow : readEnvelope;
  const keyInProperties = flat || mapping.primaryKey !== shape.idProperty;

  return (raw) => {
    const envelope = read(raw);
    if (typeof envelope === 'string') {
      return reject(idOf(raw, flat ? mapping.primaryKey : 'id'), raw, [{ column: '(record)', property: '(record)', value: null, reason: `malformed record: ${envelope}` }]);
    }
    const { properties } = envelope;
    const sourceId = keyInProperties ? String(properties[mapping.primaryKey] ?? '') : envelope.id;
    const problems: FieldProblem[] = [];
    if (!sourceId) {
      problems.push({ column: '(key)', property: mapping.primaryKey, value: null, reason: 'primary key is empty' });
    }
    const modified = modificationTime(properties[mapping.modifiedProperty] ?? envelope.updatedAt);
    if (!modified.ok) {
      problems.push({
        column: '(modified)',
        property: mapping.modifiedProperty,
        value: properties[mapping.modifiedProperty] ?? null,
        reason: `modification time ${modified.reason}`,
      });
    }

    const row: Record<string, unknown> = {};
    const warnings: FieldProblem[] = [];
    for (const field of fields) {
      const value = properties[field.property];
      const parsed = field.parse(value);
      if (parsed.ok) {
        row[field.column] = parsed.value;
        continue;
      }
      const problem = { column: field.column, property: field.property, value: value ?? null, reason: parsed.reason };
      if (lenient && value !== undefined && value !== null && value !== '') {
        row[field.column] = typeof value === 'string' ? readableText(value) : value;
        warnings.push(problem);
      } else {
        problems.push(problem);
      }
    }
    if (problems.length > 0 || !modified.ok) return reject(sourceId || null, raw, problems);
    return { ok: true, record: { sourceId, modifiedAt: modified.value as string, fields: row, raw, warnings } };
  };
}

function reject(sourceId: string | null, raw: unknown, reasons: FieldProblem[]): MapResult {
  return { ok: false, rejected: { sourceId, raw, reasons } };
}

function idOf(raw: unknown, key: string): string | null {
  const id = isPlainObject(raw) ? raw[key] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/**
 * A fingerprint of everything in a mapping that decides what the mapper makes of a record:
 * which object and properties are read, the key and modification time, every field's
 * column, property, type, values and whether it is required, and the validation. Rows
 * saved under another fingerprint may not follow the current mapping.
 */
export function mappingFingerprint(mapping: ObjectMapping): string {
  const fields = mapping.fields.map(({ column, property, type, required, values }) => [column, property, type, required ?? false, values ?? null]);
  const { remoteName, primaryKey, modifiedProperty, properties, validation } = mapping;
  const content = JSON.stringify({ remoteName, primaryKey, modifiedProperty, properties, validation, fields });
  return createHash('sha1').update(content).digest('hex').slice(0, 16);
}

/** "email: not a valid email address (value "x@")" — for logs and rejected_records. */
export function describeProblem(problem: FieldProblem): string {
  const value = problem.value === null || problem.value === undefined ? '' : ` (value ${JSON.stringify(problem.value)})`;
  return `${problem.property}: ${problem.reason}${value}`;
}
