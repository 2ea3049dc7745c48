/**
 * The associations v4 endpoints (paths, bodies and responses as in HubSpot's
 * associations-v4 OpenAPI document, plus the labels endpoint of its association schema
 * API) and the custom object schemas endpoints (schemas-v3).
 */
import { typesOf, type AssociationPair, type Link } from './associations.js';
import { objectSchema, singularKey } from './custom-objects.js';
import { HubSpotApiError, notFound, validationError } from './errors.js';
import { batchReply, decodeCursor, encodeCursor, isObject, parseBoolean, type ApiRequest, type Reply } from './http.js';
import { parseId } from './object-table.js';
import type { ObjectTypeDefinition } from './object-types.js';
import type { ServerContext } from './server.js';
import { lowerBound } from './sorted-ids.js';

/** Association batch endpoints take at most this many inputs (400 beyond). */
export const ASSOCIATIONS_BATCH_MAX_INPUTS = 1000;
/** Associations of one record per page: batch read `to` lists and the per-object list (its `limit` maximum and default). */
export const ASSOCIATIONS_PAGE_LIMIT = 500;

// ---- request parsing -------------------------------------------------------------------------------

function associationInputs(body: unknown): Record<string, unknown>[] {
  if (!isObject(body) || !Array.isArray(body.inputs)) throw validationError('Invalid input JSON: the request body must be an object with an "inputs" array.');
  if (body.inputs.length > ASSOCIATIONS_BATCH_MAX_INPUTS) {
    throw validationError(`Too many inputs: ${body.inputs.length}. Association batch requests accept at most ${ASSOCIATIONS_BATCH_MAX_INPUTS} inputs.`, {
      context: { maxInputs: [String(ASSOCIATIONS_BATCH_MAX_INPUTS)] },
    });
  }
  return body.inputs.map((input: unknown, index: number) => {
    if (!isObject(input)) throw validationError(`inputs[${index}] must be an object.`);
    return input;
  });
}

/** The id of a PublicObjectId ({id}) or of a bare id. */
function objectId(value: unknown, where: string): string {
  const id = isObject(value) ? value.id : value;
  if (typeof id === 'string' && id.trim() !== '') return id.trim();
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  throw validationError(`${where} is required.`);
}

/** AssociationSpec list ([{associationCategory, associationTypeId}]) of `pair`. */
function associationSpecs(pair: AssociationPair, value: unknown, where: string): number[] {
  if (!Array.isArray(value) || value.length === 0) throw validationError(`${where} must be a non-empty array of {associationCategory, associationTypeId}.`);
  return value.map((spec: unknown, index: number) => {
    const typeId = isObject(spec) ? spec.associationTypeId : undefined;
    const category = isObject(spec) ? spec.associationCategory : undefined;
    const type = pair.types.find((candidate) => candidate.typeId === typeId);
    if (typeof typeId !== 'number' || !type) {
      throw validationError(
        `${where}[${index}].associationTypeId ${JSON.stringify(typeId ?? null)} is not an association type from ${pair.from.name} to ${pair.to.name} (valid: ${pair.types.map((candidate) => candidate.typeId).join(', ')}).`,
      );
    }
    if (category !== type.category) throw validationError(`${where}[${index}].associationCategory must be ${type.category} for association type ${typeId}, got ${JSON.stringify(category ?? null)}.`);
    return typeId;
  });
}

function pairOf(ctx: ServerContext, params: Record<string, string>): AssociationPair {
  return ctx.store.associationPair(params.type as string, params.toType as string);
}

/** An error entry of a batch response (StandardError). */
function batchError(error: HubSpotApiError, context: Record<string, string[]>): Record<string, unknown> {
  return { status: 'error', category: error.category, message: error.message, context, errors: [], links: {} };
}

function labelsBetween(ctx: ServerContext, pair: AssociationPair, fromId: number, toId: number): Record<string, unknown> {
  const types = typesOf(pair, ctx.store.links.typesBetween(pair, fromId, toId));
  return {
    fromObjectTypeId: pair.from.objectTypeId,
    fromObjectId: fromId,
    toObjectTypeId: pair.to.objectTypeId,
    toObjectId: toId,
    labels: types.flatMap((type) => (type.label === null ? [] : [type.label])),
  };
}

/** The record id of a path or input, 404 when it cannot be one. */
function recordId(type: ObjectTypeDefinition, raw: string): number {
  const id = parseId(raw);
  if (id === undefined) throw notFound(`No ${singularKey(type)} with id ${JSON.stringify(raw)} exists.`);
  return id;
}

// ---- reading associations -----------------------------------------------------------------------------

function toObjects(pair: AssociationPair, links: Link[]): Record<string, unknown>[] {
  // toObjectId is a JSON number on HubSpot (the OpenAPI document types it as a string).
  return links.map((link) => ({ toObjectId: link.toId, associationTypes: typesOf(pair, link.typeIds) }));
}

/** One page of a record's links from the cursor on: the links and the cursor of the next page. */
function linkPage(links: Link[], after: string | null | undefined, limit: number): { page: Link[]; next?: string } {
  const minId = decodeCursor(after);
  let start = 0;
  if (minId > 0) {
    const ids = links.map((link) => link.toId);
    start = lowerBound(ids, minId);
  }
  const page = links.slice(start, start + limit);
  const following = links[start + limit];
  return { page, next: following === undefined ? undefined : encodeCursor(following.toId) };
}

/**
 * `POST /crm/v4/associations/{from}/{to}/batch/read`: per input id its associated
 * records (at most 500, then `paging.next.after` to pass back with the id). Ids with no
 * associations - also unknown and archived ids - are errors (NO_ASSOCIATIONS_FOUND, one
 * per id) in a 207, as on HubSpot.
 */
export function associationsBatchRead(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const inputs = associationInputs(body);
  const results: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  inputs.forEach((input, index) => {
    const id = objectId(input, `inputs[${index}].id`);
    if (input.after !== undefined && input.after !== null && typeof input.after !== 'string') throw validationError(`inputs[${index}].after must be a string.`);
    const after = (input.after as string | null | undefined) ?? undefined;
    const key = `${id}\u0000${after ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    const fromId = parseId(id);
    const links = fromId === undefined ? [] : ctx.store.links.list(pair, fromId);
    const { page, next } = linkPage(links, after, ASSOCIATIONS_PAGE_LIMIT);
    if (page.length === 0) {
      const from = singularKey(pair.from);
      const to = singularKey(pair.to);
      errors.push({
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
        message: `No ${to} is associated with ${from} ${id}.`,
        context: { fromObjectId: [id], fromObjectType: [from], toObjectType: [to] },
        errors: [],
        links: {},
      });
      return;
    }
    const result: Record<string, unknown> = { from: { id: String(fromId) }, to: toObjects(pair, page) };
    if (next !== undefined) result.paging = { next: { after: next } };
    results.push(result);
  });
  return batchReply(200, now, ctx.now(), results, errors);
}

/** `GET /crm/v4/objects/{type}/{id}/associations/{toType}?limit&after`: one record's associations, paged (limit 1..500, default 500). */
export function objectAssociations(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const raw = query.get('limit');
  let limit = ASSOCIATIONS_PAGE_LIMIT;
  if (raw !== null && raw !== '') {
    if (!/^\d+$/.test(raw.trim())) throw validationError(`limit must be an integer, got ${JSON.stringify(raw)}.`);
    limit = Number(raw);
    if (limit < 1 || limit > ASSOCIATIONS_PAGE_LIMIT) throw validationError(`limit must be between 1 and ${ASSOCIATIONS_PAGE_LIMIT}, got ${limit}.`);
  }
  const fromId = parseId(params.id as string);
  // An unknown or archived record simply has no associations.
  const links = fromId === undefined ? [] : ctx.store.links.list(pair, fromId);
  const { page, next } = linkPage(links, query.get('after'), limit);
  const body: Record<string, unknown> = { results: toObjects(pair, page) };
  if (next !== undefined) body.paging = { next: { after: next } };
  return { status: 200, body };
}

/** `GET /crm/v4/associations/{from}/{to}/labels`: the association types of the pair. */
export function associationLabels(ctx: ServerContext, { params }: ApiRequest): Reply {
  return { status: 200, body: { results: ctx.store.associationTypes(params.type as string, params.toType as string) } };
}

// ---- writing associations -----------------------------------------------------------------------------

/** PublicDefaultAssociation entries of a default association, both ways. */
function defaultResults(pair: AssociationPair, fromId: number, toId: number): Record<string, unknown>[] {
  const entry = (p: AssociationPair, a: number, b: number) => ({
    from: { id: String(a) },
    to: { id: String(b) },
    associationSpec: { associationCategory: p.defaultType.category, associationTypeId: p.defaultType.typeId },
  });
  return [entry(pair, fromId, toId), entry(pair.inverse, toId, fromId)];
}

/**
 * `PUT /crm/v4/objects/{from}/{fromId}/associations/default/{to}/{toId}`: the default
 * association, both ways (200, the two directions in `results`); 404 for a missing record.
 */
export function createDefaultAssociation(ctx: ServerContext, { params, now }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const fromId = recordId(pair.from, params.id as string);
  const toId = recordId(pair.to, params.toId as string);
  ctx.store.links.associate(pair, fromId, toId);
  return batchReply(200, now, ctx.now(), defaultResults(pair, fromId, toId), []);
}

/**
 * `POST /crm/v4/associations/{from}/{to}/batch/associate/default`: default associations
 * of `{from: {id}, to: {id}}` pairs. Inputs whose records do not exist are listed in
 * `errors` (the status stays 200, the only one the document gives), the others are made.
 */
export function batchCreateDefaultAssociations(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const inputs = associationInputs(body).map((input, index) => [objectId(input.from, `inputs[${index}].from.id`), objectId(input.to, `inputs[${index}].to.id`)] as const);
  const results: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const [from, to] of inputs) {
    try {
      const fromId = recordId(pair.from, from);
      const toId = recordId(pair.to, to);
      ctx.store.links.associate(pair, fromId, toId);
      results.push(...defaultResults(pair, fromId, toId));
    } catch (error) {
      if (!(error instanceof HubSpotApiError)) throw error;
      errors.push(batchError(error, { fromObjectId: [from], toObjectId: [to] }));
    }
  }
  return batchReply(200, now, ctx.now(), results, errors, 200);
}

/**
 * `PUT /crm/v4/objects/{type}/{id}/associations/{toType}/{toId}` with a body of
 * AssociationSpecs: associations of the given types (labels), 201 LabelsBetweenObjectPair.
 */
export function createLabelledAssociation(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const typeIds = associationSpecs(pair, body, 'body');
  const fromId = recordId(pair.from, params.id as string);
  const toId = recordId(pair.to, params.toId as string);
  for (const typeId of typeIds) ctx.store.links.associate(pair, fromId, toId, typeId);
  return { status: 201, body: labelsBetween(ctx, pair, fromId, toId) };
}

/** `POST /crm/v4/associations/{from}/{to}/batch/create`: labelled associations; 201, or 207 with the inputs whose records do not exist. */
export function batchCreateAssociations(ctx: ServerContext, { params, body, now }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  // Every input is checked first: a bad type fails the whole batch.
  const inputs = associationInputs(body).map((input, index) => ({
    from: objectId(input.from, `inputs[${index}].from.id`),
    to: objectId(input.to, `inputs[${index}].to.id`),
    typeIds: associationSpecs(pair, input.types, `inputs[${index}].types`),
  }));
  const results: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const input of inputs) {
    try {
      const fromId = recordId(pair.from, input.from);
      const toId = recordId(pair.to, input.to);
      for (const typeId of input.typeIds) ctx.store.links.associate(pair, fromId, toId, typeId);
      results.push(labelsBetween(ctx, pair, fromId, toId));
    } catch (error) {
      if (!(error instanceof HubSpotApiError)) throw error;
      errors.push(batchError(error, { fromObjectId: [input.from], toObjectId: [input.to] }));
    }
  }
  return batchReply(201, now, ctx.now(), results, errors);
}

/** `DELETE /crm/v4/objects/{type}/{id}/associations/{toType}/{toId}`: removes every association between the two (204, also when there was none). */
export function deleteAssociation(ctx: ServerContext, { params }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const fromId = parseId(params.id as string);
  const toId = parseId(params.toId as string);
  if (fromId !== undefined && toId !== undefined) ctx.store.links.unassociate(pair, fromId, toId);
  return { status: 204 };
}

/** `POST /crm/v4/associations/{from}/{to}/batch/archive` `{inputs: [{from: {id}, to: [{id}]}]}`: removes every association of those pairs (204). */
export function batchArchiveAssociations(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const inputs = associationInputs(body).map((input, index) => {
    if (!Array.isArray(input.to)) throw validationError(`inputs[${index}].to must be an array of {id}.`);
    return { from: objectId(input.from, `inputs[${index}].from.id`), to: input.to.map((to: unknown, k: number) => objectId(to, `inputs[${index}].to[${k}].id`)) };
  });
  for (const input of inputs) {
    const fromId = parseId(input.from);
    if (fromId === undefined) continue;
    for (const to of input.to) {
      const toId = parseId(to);
      if (toId !== undefined) ctx.store.links.unassociate(pair, fromId, toId);
    }
  }
  return { status: 204 };
}

/**
 * `POST /crm/v4/associations/{from}/{to}/batch/labels/archive`: removes the given types
 * (removing the unlabeled type removes every association between the two records); 204.
 */
export function batchArchiveLabels(ctx: ServerContext, { params, body }: ApiRequest): Reply {
  const pair = pairOf(ctx, params);
  const inputs = associationInputs(body).map((input, index) => ({
    from: objectId(input.from, `inputs[${index}].from.id`),
    to: objectId(input.to, `inputs[${index}].to.id`),
    typeIds: associationSpecs(pair, input.types, `inputs[${index}].types`),
  }));
  for (const input of inputs) {
    const fromId = parseId(input.from);
    const toId = parseId(input.to);
    if (fromId === undefined || toId === undefined) continue;
    for (const typeId of input.typeIds) ctx.store.links.unassociate(pair, fromId, toId, typeId);
  }
  return { status: 204 };
}

// ---- associations on create (CRM v3) -------------------------------------------------------------------

/** An association requested with a v3 create: `{to: {id}, types: [{associationCategory, associationTypeId}]}`. */
export interface CreateAssociation {
  pair: AssociationPair;
  toId: number;
  typeIds: number[];
}

/**
 * Checks the `associations` of a v3 create (before anything is written): each type
 * must be one from `type` (the target type follows from it) and each target an active
 * record; 400 otherwise.
 */
export function parseCreateAssociations(ctx: ServerContext, type: ObjectTypeDefinition, raw: unknown, where: string): CreateAssociation[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw validationError(`${where} must be an array.`);
  return raw.map((entry: unknown, index: number) => {
    const at = `${where}[${index}]`;
    if (!isObject(entry)) throw validationError(`${at} must be an object with "to" and "types".`);
    const specs = Array.isArray(entry.types) ? entry.types : [];
    const first = specs[0];
    const typeId = isObject(first) ? first.associationTypeId : undefined;
    const pair = typeof typeId === 'number' ? ctx.store.links.definitions.pairOfType(typeId) : undefined;
    if (!pair || pair.from !== type) throw validationError(`${at}.types: ${JSON.stringify(typeId ?? null)} is not an association type from ${type.name}.`);
    const typeIds = associationSpecs(pair, entry.types, `${at}.types`);
    const target = objectId(entry.to, `${at}.to.id`);
    const toId = parseId(target);
    if (toId === undefined || !ctx.store.table(pair.to.name).isActive(toId)) {
      throw validationError(`${at}.to: no ${singularKey(pair.to)} with id ${JSON.stringify(target)} exists.`);
    }
    return { pair, toId, typeIds };
  });
}

/** Makes the associations of a created record. */
export function applyCreateAssociations(ctx: ServerContext, id: number, associations: CreateAssociation[]): void {
  for (const { pair, toId, typeIds } of associations) for (const typeId of typeIds) ctx.store.links.associate(pair, id, toId, typeId);
}

// ---- schemas ----------------------------------------------------------------------------------------------

function schemaOf(ctx: ServerContext, type: ObjectTypeDefinition, query: URLSearchParams): Record<string, unknown> {
  return objectSchema(type, ctx.store.links.definitions.schemaAssociations(type), {
    properties: parseBoolean(query, 'includePropertyDefinitions', true),
    associations: parseBoolean(query, 'includeAssociationDefinitions', true),
    audit: parseBoolean(query, 'includeAuditMetadata', true),
  });
}

/** `GET /crm-object-schemas/v3/schemas` (and `/crm/v3/schemas`): every custom object schema. */
export function listSchemas(ctx: ServerContext, { query }: ApiRequest): Reply {
  // The emulator has no archived schemas.
  if (parseBoolean(query, 'archived')) return { status: 200, body: { results: [] } };
  return { status: 200, body: { results: ctx.store.types.custom.map((type) => schemaOf(ctx, type, query)) } };
}

/** The schemas API answers a type that is not a custom object of the portal with 404. */
export function schemaNotFound(type: string): HubSpotApiError {
  return notFound(`Unable to infer object type from: ${type}`);
}

/** `GET /crm-object-schemas/v3/schemas/{objectType}` (and `/crm/v3/schemas/{objectType}`): by type id, fully qualified name or name. */
export function getSchema(ctx: ServerContext, { params, query }: ApiRequest): Reply {
  const type = ctx.store.findType(params.type as string);
  if (!type?.custom) throw schemaNotFound(params.type as string);
  return { status: 200, body: schemaOf(ctx, type, query) };
}
