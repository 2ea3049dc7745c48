import type { ObjectMapping } from '../config/load.js';
import { fieldParser, type FieldValue } from './field-types.js';

/**
 * The envelope of a record: only the id and the property values are required; values are
 * checked field by field against mappings.yaml. Checked by hand rather than with a zod
 * schema because it runs for every record.
 */
interface SourceRecord {
  id: string;
  properties: Record<string, unknown>;
  updatedAt?: unknown;
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw);
}

/** Dataverse rows are flat: attributes, the primary key among them, and @odata annotations. */
function readDynamicsRow(raw: unknown): SourceRecord | string {
  return isPlainObject(raw) ? { id: '', properties: raw } : 'record is not an object';
}

/** HubSpot's objects API: { id, properties: {...}, createdAt, updatedAt, archived }. */
function readHubSpotRecord(raw: unknown): SourceRecord | string {
  if (!isPlainObject(raw)) return 'record is not an object';
  const { id, properties, updatedAt } = raw;
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
export function createRecordMapper(object: ObjectMapping): (raw: unknown) => MapResult {
  const isDynamics = object.source === 'dynamics';
  const fields = object.fields.map((field) => ({ ...field, parse: fieldParser(field, isDynamics) }));
  const lenient = object.validation === 'lenient';
  const readEnvelope = isDynamics ? readDynamicsRow : readHubSpotRecord;
  const keyInProperties = isDynamics || object.primaryKey !== 'hs_object_id';

  return (raw) => {
    const envelope = readEnvelope(raw);
    if (typeof envelope === 'string') {
      return reject(idOf(raw, isDynamics ? object.primaryKey : 'id'), raw, [{ column: '(record)', property: '(record)', value: null, reason: `malformed record: ${envelope}` }]);
    }
    const { properties } = envelope;
    const sourceId = keyInProperties ? String(properties[object.primaryKey] ?? '') : envelope.id;
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

function idOf(raw: unknown, key = 'id'): string | null {
  const id = isPlainObject(raw) ? raw[key] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/** "email: not a valid email address (value "x@")" — for logs and rejected_records. */
export function describeProblem(problem: FieldProblem): string {
  const value = problem.value === null || problem.value === undefined ? '' : ` (value ${JSON.stringify(problem.value)})`;
  return `${problem.property}: ${problem.reason}${value}`;
}
