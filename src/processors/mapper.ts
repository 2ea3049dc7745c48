import type { ObjectConfig } from '../config/load.js';
import { fieldParser, type FieldValue } from './field-types.js';

/**
 * The envelope of a record from the HubSpot objects API: only the id and a properties
 * object are required; property values are checked field by field against mappings.yaml.
 * Checked by hand rather than with a zod schema because it runs for every record.
 */
interface SourceRecord {
  id: string;
  properties: Record<string, unknown>;
  updatedAt?: unknown;
}

function readEnvelope(raw: unknown): SourceRecord | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'record is not an object';
  const { id, properties, updatedAt } = raw as Record<string, unknown>;
  if (!((typeof id === 'string' && id !== '') || typeof id === 'number')) return 'id is missing';
  if (properties !== undefined && (properties === null || typeof properties !== 'object' || Array.isArray(properties))) {
    return 'properties is not an object';
  }
  return { id: String(id), properties: (properties ?? {}) as Record<string, unknown>, updatedAt };
}

export interface FieldProblem {
  column: string;
  property: string;
  value: unknown;
  reason: string;
}

export interface MappedRecord {
  sourceId: string;
  /** ISO-8601 modification time from the object's modification property. */
  modifiedAt: string;
  fields: Record<string, FieldValue | unknown>;
  raw: unknown;
  /** Lenient mode: fields stored as received because they did not parse. */
  warnings: FieldProblem[];
}

export interface RejectedRecord {
  sourceId: string | null;
  raw: unknown;
  reasons: FieldProblem[];
}

export type MapResult = { ok: true; record: MappedRecord } | { ok: false; rejected: RejectedRecord };

const modificationTime = fieldParser({ type: 'datetime', required: true });

/** Builds the pure function that turns one API record into a local row or a rejection. */
export function createRecordMapper(object: ObjectConfig): (raw: unknown) => MapResult {
  const fields = object.fields.map((field) => ({ ...field, parse: fieldParser(field) }));
  const lenient = object.validation === 'lenient';

  return (raw) => {
    const envelope = readEnvelope(raw);
    if (typeof envelope === 'string') {
      return reject(idOf(raw), raw, [{ column: '(record)', property: '(record)', value: null, reason: `malformed record: ${envelope}` }]);
    }
    const { properties } = envelope;
    const sourceId = object.primaryKey === 'hs_object_id' ? envelope.id : String(properties[object.primaryKey] ?? '');
    const problems: FieldProblem[] = [];
    if (!sourceId) {
      problems.push({ column: '(key)', property: object.primaryKey, value: null, reason: 'primary key is empty' });
    }
    const modified = modificationTime(properties[object.modifiedProperty] ?? envelope.updatedAt);
    if (!modified.ok) {
      problems.push({
        column: '(modified)',
        property: object.modifiedProperty,
        value: properties[object.modifiedProperty] ?? null,
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
        row[field.column] = value;
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

function idOf(raw: unknown): string | null {
  const id = raw && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/** "email: not a valid email address (value "x@")" — for logs and rejected_records. */
export function describeProblem(problem: FieldProblem): string {
  const value = problem.value === null || problem.value === undefined ? '' : ` (value ${JSON.stringify(problem.value)})`;
  return `${problem.property}: ${problem.reason}${value}`;
}
