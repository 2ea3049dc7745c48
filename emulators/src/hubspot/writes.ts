/**
 * The CRM v3 write endpoints: create and update one record, and the batch create, update
 * and upsert endpoints (paths and bodies as in HubSpot's objects-v3 OpenAPI document).
 *
 * A batch fails in one of two ways:
 * - As a whole (the default): invalid values in any input are one 400 "Property values
 *   were not valid" listing the problems of every input; a unique value that a record
 *   already holds is one 409 naming the first such record (only the first, as HubSpot's
 *   users report it). Nothing is written.
 * - Input by input (multi-status), when every input carries an `objectWriteTraceId`:
 *   inputs are written in order, each valid one is, and the answer is 207 with one error
 *   per failed input whose `context.objectWriteTraceId` names it; `numErrors` counts
 *   them. HubSpot's error-handling guide ("Multi-status errors") documents this for batch
 *   create, with the error `{status, category, message, context: {objectWriteTraceId}}`;
 *   its batch update and upsert references link the same guide, and a published probe
 *   saw upsert answer the same way - for update and upsert this is an assumption. So is
 *   answering as a whole when only some inputs carry a trace id. A conflict's error adds
 *   `context.existingId` (as published 207 answers of batch create show it).
 * Malformed requests (no `inputs`, more than 100, a missing id, ids twice, an idProperty
 * without unique values, bad associations) are a 400 for the whole batch either way.
 */
import { applyCreateAssociations, parseCreateAssociations, type CreateAssociation } from './api-v4.js';
import { batchInputs, inputId, notFoundIds } from './api-v3.js';
import { alreadyExists, duplicateIds, nonUniqueIdProperty, notFound, propertyValuesError, validationError, type PropertyValidationProblem } from './errors.js';
import { batchReply, isObject, type ApiRequest, type Reply } from './http.js';
import { parseId, type ObjectTable, type Snapshot, type Version } from './object-table.js';
import type { ApiObject } from './record-json.js';
import type { PropertyValues } from './seed.js';
import type { ServerContext } from './server.js';
import { checkWrite, normalizeWrite } from './values.js';

/** One batch input, checked: what it would write where, or the problems that stop it. */
interface PlannedWrite {
  traceId?: string;
  /** The record to update; undefined: a new record. */
  key?: number;
  values: PropertyValues;
  problems: PropertyValidationProblem[];
  associations: CreateAssociation[];
}

/** The properties a write response shows: every property the record has. */
function writtenObject(table: ObjectTable, snapshot: Snapshot): ApiObject {
  return table.toApiObject(snapshot, Object.keys(snapshot.props).sort());
}

function traceIdOf(input: Record<string, unknown>): string | undefined {
  const traceId = input.objectWriteTraceId;
  return typeof traceId === 'string' && traceId !== '' ? traceId : undefined;
}

/**
 * The record an update addresses: by id, or with `idProperty` by a property with unique
 * values (undefined when none matches). Any other idProperty - hs_object_id included -
 * is HubSpot's 400 "Unable to perform update/upsert by non-unique …"; for an unknown
 * property name that answer is an assumption.
 */
function updateTarget(table: ObjectTable, id: string, idProperty: string | undefined): number | undefined {
  if (idProperty === undefined) return parseId(id);
  const property = table.def.byName.get(idProperty);
  if (!property?.hasUniqueValue) throw nonUniqueIdProperty(table.def.objectTypeId, idProperty);
  return table.findByUnique(idProperty, id);
}

function idPropertyOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function rejectDuplicateIds(ids: string[]): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of ids) {
    const key = id.toLowerCase();
    if (seen.has(key)) duplicates.add(id);
    seen.add(key);
  }
  if (duplicates.size > 0) throw duplicateIds([...duplicates]);
}

/** Rejects a batch that would give two records the same unique value (409, nothing written). */
function rejectSharedUniqueValues(table: ObjectTable, plans: PlannedWrite[]): void {
  for (const property of table.def.properties) {
    if (!property.hasUniqueValue) continue;
    const seen = new Set<string>();
    for (const { values } of plans) {
      const value = values[property.name]?.toLowerCase();
      if (value === undefined) continue;
      if (seen.has(value)) throw alreadyExists(table.def.singular);
      seen.add(value);
    }
  }
}

/**
 * Whole-batch checks: the problems of every input (`otherProblems`: of inputs not
 * planned, such as updates of missing records) in one 400, then the first conflict as a 409.
 */
function rejectInvalidBatch(table: ObjectTable, plans: PlannedWrite[], otherProblems: PropertyValidationProblem[]): void {
  const problems = [...plans.flatMap((plan) => plan.problems), ...otherProblems];
  if (problems.length > 0) throw propertyValuesError(problems);
  for (const plan of plans) table.assertUnique(plan.values, plan.key);
  rejectSharedUniqueValues(table, plans);
}

/** Multi-status is on when every input carries an objectWriteTraceId. */
function isMultiStatus(inputs: Record<string, unknown>[]): boolean {
  return inputs.length > 0 && inputs.every((input) => traceIdOf(input) !== undefined);
}

/** One failed input of a multi-status batch. */
function inputError(category: string, message: string, traceId: string, context: Record<string, string[]> = {}): Record<string, unknown> {
  return { status: 'error', category, message, context: { objectWriteTraceId: [traceId], ...context } };
}

interface Written {
  version: Version;
  isNew: boolean;
}

/** Creates a record through the API: its creation event queued. */
function createRecord(ctx: ServerContext, table: ObjectTable, values: PropertyValues): Version {
  const version = table.create(values);
  ctx.webhooks?.created(table.def, version, version.updatedAt);
  return version;
}

/** Updates a record through the API: an event per changed property queued. */
function updateRecord(ctx: ServerContext, table: ObjectTable, key: number, values: PropertyValues): Version {
  const before = table.current(key);
  const after = table.update(key, values);
  if (before) ctx.webhooks?.changed(table.def, before, after, after.updatedAt);
  return after;
}

/** Writes one planned input: its new or updated record. */
function writePlan(ctx: ServerContext, table: ObjectTable, plan: PlannedWrite): Written {
  if (plan.key !== undefined) return { version: updateRecord(ctx, table, plan.key, plan.values), isNew: false };
  const version = createRecord(ctx, table, plan.values);
  applyCreateAssociations(ctx, version.id, plan.associations);
  return { version, isNew: true };
}

/** Writes a multi-status batch input by input, in order: the records written and an error per failed input. */
function writeEachInput(ctx: ServerContext, table: ObjectTable, plans: PlannedWrite[]): { written: Written[]; errors: Record<string, unknown>[] } {
  const written: Written[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const plan of plans) {
    const traceId = plan.traceId as string;
    if (plan.problems.length > 0) {
      errors.push(inputError('VALIDATION_ERROR', propertyValuesError(plan.problems).message, traceId));
      continue;
    }
    // Records written earlier in this batch count: the second of two inputs sharing a value fails.
    const existing = table.conflictingRecord(plan.values, plan.key);
    if (existing !== undefined) {
      errors.push(inputError('CONFLICT', alreadyExists(table.def.singular, existing).message, traceId, { existingId: [String(existing)] }));
      continue;
    }
    written.push(writePlan(ctx, table, plan));
  }
  return { written, errors };
}

/** Writes a batch: input by input when `multiStatus`, else all or nothing. */
function writeBatch(
  ctx: ServerContext,
  table: ObjectTable,
  plans: PlannedWrite[],
  multiStatus: boolean,
  otherProblems: PropertyValidationProblem[] = [],
): { written: Written[]; errors: Record<string, unknown>[] } {
  if (multiStatus) return writeEachInput(ctx, table, plans);
  rejectInvalidBatch(table, plans, otherProblems);
  return { written: plans.map((plan) => writePlan(ctx, table, plan)), errors: [] };
}

// ---- handlers ----------------------------------------------------------------------------------

export function createObject(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  if (!isObject(body) || !isObject(body.properties)) throw validationError('Invalid input JSON: the request body must be an object with "properties".');
  const values = normalizeWrite(table.def, body.properties);
  const associations = parseCreateAssociations(ctx, table.def, body.associations, 'associations');
  const version = createRecord(ctx, table, values);
  applyCreateAssociations(ctx, version.id, associations);
  return { status: 201, body: writtenObject(table, version) };
}

/** PATCH one record, by id or (`?idProperty=email`) by a unique value; an empty string clears a value. */
export function updateObject(ctx: ServerContext, { params, query, body }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  if (!isObject(body) || !isObject(body.properties)) throw validationError('Invalid input JSON: the request body must be an object with "properties".');
  const idProperty = idPropertyOf(query.get('idProperty'));
  const key = updateTarget(table, params.id as string, idProperty);
  const values = normalizeWrite(table.def, body.properties);
  if (key === undefined || !table.isActive(key)) throw notFound(key === undefined && idProperty === undefined ? 'Object not found.  objectId are usually numeric.' : 'resource not found');
  return { status: 200, body: writtenObject(table, updateRecord(ctx, table, key, values)) };
}

export function batchCreate(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const plans = inputs.map((input, index): PlannedWrite => {
    const associations = parseCreateAssociations(ctx, table.def, input.associations, `inputs[${index}].associations`);
    return { traceId: traceIdOf(input), ...checkWrite(table.def, input.properties ?? {}), associations };
  });
  const { written, errors } = writeBatch(ctx, table, plans, isMultiStatus(inputs));
  return batchReply(201, now, ctx.now(), written.map(({ version }) => writtenObject(table, version)), errors);
}

export function batchUpdate(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const ids = inputs.map((input, index) => inputId(input, index));
  rejectDuplicateIds(ids);
  const missing: string[] = [];
  const missingProblems: PropertyValidationProblem[] = [];
  const plans: PlannedWrite[] = [];
  inputs.forEach((input, index) => {
    const id = ids[index] as string;
    const key = updateTarget(table, id, idPropertyOf(input.idProperty));
    const checked = checkWrite(table.def, input.properties ?? {});
    if (key !== undefined && table.isActive(key)) plans.push({ traceId: traceIdOf(input), key, ...checked, associations: [] });
    else {
      missing.push(id);
      missingProblems.push(...checked.problems);
    }
  });
  // Invalid values fail a whole batch whether or not their record exists.
  const { written, errors } = writeBatch(ctx, table, plans, isMultiStatus(inputs), missingProblems);
  if (missing.length > 0) errors.push(notFoundIds(table, missing));
  return batchReply(200, now, ctx.now(), written.map(({ version }) => writtenObject(table, version)), errors);
}

/** One upsert input: the record its unique value names (updated) or a new one holding that value. */
function planUpsert(table: ObjectTable, input: Record<string, unknown>, id: string): PlannedWrite {
  // Without idProperty the id would be a record id, and hs_object_id is no unique-value property (assumption).
  const idProperty = idPropertyOf(input.idProperty) ?? 'hs_object_id';
  const property = table.def.byName.get(idProperty);
  if (!property?.hasUniqueValue) throw nonUniqueIdProperty(table.def.objectTypeId, idProperty);
  // The id is the unique value itself: it must be valid for the property (an email...).
  const idCheck = checkWrite(table.def, { [idProperty]: id });
  const checked = checkWrite(table.def, input.properties ?? {});
  const problems = [...idCheck.problems, ...checked.problems];
  const idValue = idCheck.values[idProperty];
  const key = idValue ? table.findByUnique(idProperty, idValue) : undefined;
  const values = key === undefined && idValue ? { ...checked.values, [idProperty]: idValue } : checked.values;
  return { traceId: traceIdOf(input), key, values, problems, associations: [] };
}

export function batchUpsert(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const table = ctx.store.table(params.type as string);
  const inputs = batchInputs(body);
  const ids = inputs.map((input, index) => inputId(input, index));
  rejectDuplicateIds(ids);
  const plans = inputs.map((input, index) => planUpsert(table, input, ids[index] as string));
  const { written, errors } = writeBatch(ctx, table, plans, isMultiStatus(inputs));
  const results = written.map(({ version, isNew }) => ({ ...writtenObject(table, version), new: isNew }));
  return batchReply(200, now, ctx.now(), results, errors);
}
