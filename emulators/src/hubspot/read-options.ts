/**
 * What a v3 read may add to each record beyond `properties`: `propertiesWithHistory`
 * (list, get and batch read) and `associations` (list and get), as in the
 * SimplePublicObjectWithAssociations schema of HubSpot's objects-v3 OpenAPI document.
 */
import { singularKey } from './custom-objects.js';
import type { AssociationPair } from './associations.js';
import { unknownObjectType, validationError } from './errors.js';
import type { ObjectTable, Snapshot } from './object-table.js';
import type { ObjectTypeDefinition } from './object-types.js';
import type { ApiObject } from './record-json.js';
import type { ServerContext } from './server.js';

/**
 * A list page with propertiesWithHistory holds at most this many records ("usage of
 * this parameter will reduce the maximum number of objects that can be read by a single
 * request", objects-v3.json; HubSpot answers a larger limit with 400).
 */
export const HISTORY_LIST_MAX_LIMIT = 50;

export interface ReadOptions {
  /** Known property names to return with their versions, sorted. */
  history: string[];
  /** Object types to list associated record ids of: the response key and the pair. */
  associations: { key: string; pair: AssociationPair }[];
}

/** A query parameter that may be repeated and/or comma-separated. */
export function queryNames(query: URLSearchParams, name: string): string[] {
  return query
    .getAll(name)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

/** Known property names of a request, sorted and distinct; unknown ones are left out, as HubSpot does. */
function knownProperties(table: ObjectTable, names: readonly string[]): string[] {
  return [...new Set(names.filter((name) => table.def.byName.has(name)))].sort();
}

/** The `propertiesWithHistory` array of a batch read body. */
export function bodyHistory(table: ObjectTable, body: Record<string, unknown>): string[] {
  const raw = body.propertiesWithHistory;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((name) => typeof name !== 'string')) throw validationError('propertiesWithHistory must be an array of property names.');
  return knownProperties(table, raw as string[]);
}

/** The key HubSpot gives an object type in `associations`: 'companies', 'line items', a custom object's fully qualified name. */
function associationKey(type: ObjectTypeDefinition): string {
  return type.custom ? type.custom.fullyQualifiedName : type.name.replace(/_/g, ' ');
}

/**
 * The `associations` parameter. HubSpot takes standard object names and type ids, and
 * a custom object by type id or fully qualified name; anything else, a custom object's
 * bare name included, is a 400 "Unable to infer object type". A type that cannot be
 * associated with the record's is left out.
 */
function associationRequests(ctx: ServerContext, table: ObjectTable, names: readonly string[]): ReadOptions['associations'] {
  const requests = new Map<string, AssociationPair>();
  for (const name of names) {
    const type = ctx.store.findType(name);
    if (!type || (type.custom && name.toLowerCase() === type.name.toLowerCase())) throw unknownObjectType(name);
    const pair = ctx.store.links.definitions.pair(table.def, type);
    if (pair) requests.set(associationKey(type), pair);
  }
  return [...requests].map(([key, pair]) => ({ key, pair }));
}

/** The read options of a GET (list or get by id). */
export function queryReadOptions(ctx: ServerContext, table: ObjectTable, query: URLSearchParams): ReadOptions {
  return {
    history: knownProperties(table, queryNames(query, 'propertiesWithHistory')),
    associations: associationRequests(ctx, table, queryNames(query, 'associations')),
  };
}

export function hasReadOptions(options: ReadOptions): boolean {
  return options.history.length > 0 || options.associations.length > 0;
}

/** The name the v3 APIs give an association type: 'contact_to_company', 'contact_to_company_unlabeled', 'contact_to_appointments'. */
function typeName(pair: AssociationPair, typeId: number): string {
  const key = (type: ObjectTypeDefinition) => (type.custom ? type.name : singularKey(type));
  const name = `${key(pair.from)}_to_${key(pair.to)}`;
  // Where a pair has a primary type, that one has the plain name.
  return pair.primaryType && typeId !== pair.primaryType.typeId ? `${name}_unlabeled` : name;
}

/**
 * The record with what the options ask for: `propertiesWithHistory` after `properties`,
 * `associations` (only types with associated records) at the end, in HubSpot's order.
 */
export function withReadOptions(ctx: ServerContext, table: ObjectTable, snapshot: Snapshot, object: ApiObject, options: ReadOptions): ApiObject {
  if (!hasReadOptions(options)) return object;
  const { id, properties, ...rest } = object;
  const out: Record<string, unknown> = { id, properties };
  if (options.history.length > 0) out.propertiesWithHistory = table.history.of(snapshot, options.history);
  Object.assign(out, rest);
  const associations: Record<string, unknown> = {};
  for (const { key, pair } of options.associations) {
    const results = ctx.store.links.list(pair, snapshot.id).flatMap((link) => link.typeIds.map((typeId) => ({ id: String(link.toId), type: typeName(pair, typeId) })));
    if (results.length > 0) associations[key] = { results };
  }
  if (Object.keys(associations).length > 0) out.associations = associations;
  return out as unknown as ApiObject;
}
