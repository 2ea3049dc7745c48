/**
 * The emulator's in-memory CRM: one table per object type.
 *
 * Layout, chosen so a million seeded records stay small and fast:
 * - Seeded records occupy the id range [SEED_FIRST_ID, SEED_FIRST_ID + count). Until a
 *   record is first written it is not stored at all: its properties are regenerated from
 *   the seed whenever it is read, and only its creation and modification times are kept,
 *   in two Float64Arrays (search filters and sorts on them without generating anything).
 * - A record that has been written is "materialized": the table keeps its current
 *   version (an immutable object) in a Map, and ids outside the seeded range in two
 *   sorted arrays, so records are always enumerable in id order.
 * - The search index lags writes by `searchLagMs`: every version remembers the version
 *   the search index showed before it (`prev`) and the instant it becomes searchable
 *   (`visibleAt`). Reads other than search always see the current version.
 * - List pages are written straight to JSON (`pageJson`): a seeded record's requested
 *   properties are generated directly into its JSON text, written records go through
 *   JSON.stringify. The last few pages are kept as bytes until the next write, so the
 *   server can prepare the page a client will ask for next while it reads this one.
 */
import { HubSpotApiError, notFound, validationError } from './errors.js';
import {
  AssociationDefinitions,
  AssociationStore,
  typesOf,
  type AssociationPair,
  type AssociationTarget,
  type AssociationType,
} from './associations.js';
import { DEFAULT_CUSTOM_OBJECTS, DEFAULT_PORTAL_ID, defineCustomObject, objectSchema, type CustomObjectDefinition } from './custom-objects.js';
import { alwaysReturned, ObjectTypeRegistry, type ObjectTypeDefinition, type PropertyDefinition } from './object-types.js';
import {
  SEED_FIRST_ID,
  SEED_TEXT_JSON_SAFE,
  SeedContext,
  seedTimestamps,
  seederFor,
  typeSalt,
  type FieldGenerator,
  type ObjectSeeder,
  type PropertyValues,
} from './seed.js';
import { normalizeWrite, numericValue, parseDateTime } from './values.js';
import { toIso } from '../shared/iso-time.js';

export type { PropertyValues } from './seed.js';

/** A record as the store hands it out: a copy, safe to keep and modify. */
export interface EmulatedRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

/** Input of `put`: a raw record. Timestamps default from the properties (or now). */
export interface PutRecord {
  id: string | number;
  properties: Record<string, string | null>;
  createdAt?: string;
  updatedAt?: string;
  archived?: boolean;
  archivedAt?: string;
}

export interface StoreOptions {
  /** Records to generate per object type (name, type id or, for custom objects, fully qualified name). */
  seed?: Record<string, number>;
  /** Custom object types; default DEFAULT_CUSTOM_OBJECTS (appointments, divisions), [] for none. */
  customObjects?: readonly CustomObjectDefinition[];
  /** The portal id in custom objects' fully qualified names ('p<portalId>_<name>'); default 12345678. */
  portalId?: number;
  seedValue?: number;
  searchLagMs?: number;
  now?: () => number;
}

/** A record's content as one reader sees it (the current version, or the search index's). */
export interface Snapshot {
  readonly id: number;
  readonly props: PropertyValues;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly archivedAt: number | null;
}

/** One stored version of a materialized record. Never mutated, except `prev` pruning. */
interface Version extends Snapshot {
  /** createdate and the modification property as epoch ms, for search. */
  readonly createMs: number;
  readonly modMs: number;
  /** From this instant the search index shows this version. */
  readonly visibleAt: number;
  /** What the search index shows until then (null: nothing, for a new record). */
  prev: Version | null;
}

/** The HubSpot object JSON (SimplePublicObject). */
/** A record as the API sends it: the same envelope as EmulatedRecord, with only the requested properties. */
export type ApiObject = EmulatedRecord;

/** Where a seeded record's value of an output property comes from (OutputPlan.sources). */
const FROM_FIELD = 0;
const FROM_ID = 1;
const FROM_CREATED = 2;
const FROM_MODIFIED = 3;
const FROM_NOWHERE = 4;

/**
 * How records are written as JSON for one list of output property names (compiled once
 * per list and table, see ObjectTable.outputPlan).
 */
export interface OutputPlan {
  /** The names comma-joined: identifies the plan. */
  readonly key: string;
  /** The property names, as outputProperties returns them (sorted). */
  readonly names: readonly string[];
  /**
   * The JSON text between values, four variants per name at [4k + 2·(previous value is
   * a string) + (this value is a string)]: the previous value's closing quote, the
   * separator, the name and either this value's opening quote or `null`.
   */
  readonly joints: readonly string[];
  /** Per name, where a seeded record's value comes from (FROM_*). */
  readonly sources: readonly number[];
  /** Per name, the seed generator (FROM_FIELD only). */
  readonly generators: readonly (FieldGenerator | null)[];
}

/** Distinct property lists whose plans a table keeps (more are recompiled). */
const MAX_PLANS = 64;
/** Serialized list pages a table keeps (the latest ones). */
const MAX_CACHED_PAGES = 16;

/** A list page as JSON (see ObjectTable.pageJson). */
export interface PageJson {
  /**
   * The page's SimplePublicObjects, comma-separated (the inside of `results`), UTF-8
   * encoded: bytes outside the JS heap, so cached pages add no work for the GC.
   */
  readonly json: Buffer;
  /** The smallest id of the next page, undefined on the last page. */
  readonly nextMinId?: number;
  /** The table's generation the page was built at: any write makes it stale. */
  readonly generation: number;
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== value) list.splice(lo, 0, value);
}

function removeSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] === value) list.splice(lo, 1);
}

/** Index of the first element >= value. */
export function lowerBound(list: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Parses a record id: HubSpot ids are positive integers (sent as strings). */
export function parseId(id: string | number): number | undefined {
  const text = String(id).trim();
  if (!/^\d{1,15}$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
}

/**
 * Reusable cursor over one record for search evaluation: reads values from a version,
 * or from the seed (generating the record only if a filter needs a non-timestamp value).
 */
export class RecordView {
  id = 0;
  private index = -1;
  private version: Version | null = null;
  private props: PropertyValues | null = null;

  constructor(private readonly table: ObjectTable) {}

  setSeeded(id: number, index: number): void {
    this.id = id;
    this.index = index;
    this.version = null;
    this.props = null;
  }

  setVersion(version: Version): void {
    this.id = version.id;
    this.index = -1;
    this.version = version;
    this.props = version.props;
  }

  get(name: string): string | null {
    const value = this.props === null ? this.table.seededValue(this.index, name) : this.props[name];
    return value === undefined || value === '' ? null : value;
  }

  /** The value as search compares numbers (epoch ms for dates); NaN when unset. */
  num(property: PropertyDefinition): number {
    const name = property.name;
    if (name === 'hs_object_id') return this.id;
    const table = this.table;
    if (this.version !== null) {
      if (name === table.creationProperty) return this.version.createMs;
      if (name === table.modificationProperty) return this.version.modMs;
    } else {
      if (name === table.creationProperty) return table.seedCreated[this.index] as number;
      if (name === table.modificationProperty) return table.seedModified[this.index] as number;
    }
    return numericValue(property, this.get(name));
  }
}

export class ObjectTable {
  readonly def: ObjectTypeDefinition;
  /** 'createdate' ('hs_createdate' on custom objects). */
  readonly creationProperty: string;
  readonly modificationProperty: string;
  readonly seedFirstId = SEED_FIRST_ID;
  readonly seedCount: number;
  readonly seedCreated: Float64Array;
  readonly seedModified: Float64Array;
  /** Bumped by every write: search results and list pages cached at another generation are stale. */
  generation = 0;
  /** Search results cached per query (see search.ts). */
  readonly searchCache = new Map<string, unknown>();

  private readonly seeder: ObjectSeeder;
  /** Seeded values can be written into JSON between plain quotes (see seededJson). */
  private readonly jsonSafe: boolean;
  private readonly fields: [name: string, generate: FieldGenerator][];
  private readonly seedContext: SeedContext;
  private readonly materialized: Uint8Array;
  private readonly rows = new Map<number, Version>();
  private readonly idsBelowSeed: number[] = [];
  private readonly idsAboveSeed: number[] = [];
  private readonly archivedIds: number[] = [];
  private readonly uniqueProperties: PropertyDefinition[];
  private readonly uniqueIndex = new Map<string, Map<string, number>>();
  private readonly createdateDef: PropertyDefinition;
  private readonly modificationDef: PropertyDefinition;
  /** Instants at which pending writes become searchable, in write order (non-decreasing). */
  private readonly pending: number[] = [];
  private pendingHead = 0;
  /** Output plans by the comma-joined property names. */
  private readonly plans = new Map<string, OutputPlan>();
  /** Serialized pages by plan, archived flag, limit and first id, oldest first. */
  private readonly pageCache = new Map<string, PageJson>();
  private nextId: number;
  private readonly lagMs: number;
  private readonly now: () => number;

  constructor(def: ObjectTypeDefinition, seedCount: number, seedValue: number, lagMs: number, now: () => number) {
    this.def = def;
    this.creationProperty = def.creationProperty;
    this.modificationProperty = def.modificationProperty;
    this.seeder = seederFor(def);
    this.jsonSafe = SEED_TEXT_JSON_SAFE && this.seeder.jsonSafe !== false;
    this.fields = Object.entries(this.seeder.fields);
    this.seedContext = new SeedContext(seedValue, typeSalt(def));
    this.seedCount = seedCount;
    const times = seedTimestamps(seedValue, def, seedCount);
    this.seedCreated = times.created;
    this.seedModified = times.modified;
    this.materialized = new Uint8Array(seedCount);
    this.nextId = SEED_FIRST_ID + seedCount;
    this.lagMs = lagMs;
    this.now = now;
    this.uniqueProperties = def.properties.filter((property) => property.hasUniqueValue);
    for (const property of this.uniqueProperties) this.uniqueIndex.set(property.name, new Map());
    this.createdateDef = def.byName.get(def.creationProperty) as PropertyDefinition;
    this.modificationDef = def.byName.get(def.modificationProperty) as PropertyDefinition;
  }

  // ---- enumeration in id order -------------------------------------------------------

  /** Number of records, archived included. */
  get size(): number {
    return this.idsBelowSeed.length + this.seedCount + this.idsAboveSeed.length;
  }

  get archivedCount(): number {
    return this.archivedIds.length;
  }

  /** The k-th smallest id. */
  idAt(k: number): number {
    const below = this.idsBelowSeed.length;
    if (k < below) return this.idsBelowSeed[k] as number;
    k -= below;
    if (k < this.seedCount) return this.seedFirstId + k;
    return this.idsAboveSeed[k - this.seedCount] as number;
  }

  /** Position of the first id >= minId. */
  positionOf(minId: number): number {
    const below = this.idsBelowSeed.length;
    // Every seeded id and every id above the seed range is >= seedFirstId.
    if (minId < this.seedFirstId) return lowerBound(this.idsBelowSeed, minId);
    if (minId < this.seedFirstId + this.seedCount) return below + (minId - this.seedFirstId);
    return below + this.seedCount + lowerBound(this.idsAboveSeed, minId);
  }

  private seedIndex(id: number): number {
    const index = id - this.seedFirstId;
    return index >= 0 && index < this.seedCount ? index : -1;
  }

  // ---- reads ---------------------------------------------------------------------------

  private seedContextAt(index: number): SeedContext {
    return this.seedContext.at(index, this.seedFirstId + index, this.seedCreated[index] as number, this.seedModified[index] as number);
  }

  /** Properties of seeded record `index` as generated (all keys, unset ones null). */
  seededProps(index: number): PropertyValues {
    const context = this.seedContextAt(index);
    const props: PropertyValues = {};
    for (const [name, generate] of this.fields) props[name] = generate(context);
    props.hs_object_id = String(context.id);
    props[this.creationProperty] = toIso(context.createdMs);
    props[this.modificationProperty] = toIso(context.modifiedMs);
    return props;
  }

  /** One property of seeded record `index` (generates only that property). */
  seededValue(index: number, name: string): string | null {
    if (name === 'hs_object_id') return String(this.seedFirstId + index);
    if (name === this.creationProperty) return toIso(this.seedCreated[index] as number);
    if (name === this.modificationProperty) return toIso(this.seedModified[index] as number);
    const generate = this.seeder.fields[name];
    return generate ? generate(this.seedContextAt(index)) : null;
  }

  private seededSnapshot(index: number): Snapshot {
    return {
      id: this.seedFirstId + index,
      props: this.seededProps(index),
      createdAt: this.seedCreated[index] as number,
      updatedAt: this.seedModified[index] as number,
      archivedAt: null,
    };
  }

  /** The current version of a record, archived or not. */
  current(id: number): Snapshot | undefined {
    const index = this.seedIndex(id);
    if (index >= 0 && this.materialized[index] === 0) return this.seededSnapshot(index);
    return this.rows.get(id);
  }

  /** True when the record exists and is not archived (cheap: generates nothing). */
  isActive(id: number): boolean {
    const index = this.seedIndex(id);
    if (index >= 0 && this.materialized[index] === 0) return true;
    const row = this.rows.get(id);
    return row !== undefined && row.archivedAt === null;
  }

  /** The ids of one page of active (or archived) records with ids >= minId, in id order. */
  pageIds(minId: number, limit: number, archived: boolean): { ids: number[]; nextMinId?: number } {
    const ids: number[] = [];
    if (archived) {
      let k = lowerBound(this.archivedIds, minId);
      while (k < this.archivedIds.length && ids.length < limit) ids.push(this.archivedIds[k++] as number);
      const last = ids[ids.length - 1];
      return { ids, nextMinId: k < this.archivedIds.length && last !== undefined ? last + 1 : undefined };
    }
    const size = this.size;
    let k = this.positionOf(minId);
    while (k < size && ids.length < limit) {
      const id = this.idAt(k++);
      if (this.isActive(id)) ids.push(id);
    }
    // A next page exists only if another active record follows.
    while (k < size && !this.isActive(this.idAt(k))) k++;
    const last = ids[ids.length - 1];
    return { ids, nextMinId: k < size && last !== undefined ? last + 1 : undefined };
  }

  /** One page of active (or archived) records with ids >= minId, in id order. */
  page(minId: number, limit: number, archived: boolean): { records: Snapshot[]; nextMinId?: number } {
    const { ids, nextMinId } = this.pageIds(minId, limit, archived);
    return { records: ids.map((id) => this.current(id) as Snapshot), nextMinId };
  }

  /**
   * `page()` as JSON text: the page's SimplePublicObjects for `plan`, comma-separated
   * (the inside of the `results` array), exactly as JSON.stringify would write them.
   * Pages are cached until the next write (a retried or prefetched page costs nothing).
   */
  pageJson(minId: number, limit: number, archived: boolean, plan: OutputPlan): PageJson {
    const key = `${archived ? 'a' : 'l'}${limit}:${minId}:${plan.key}`;
    const cached = this.pageCache.get(key);
    if (cached !== undefined && cached.generation === this.generation) return cached;
    const { ids, nextMinId } = this.pageIds(minId, limit, archived);
    let json = '';
    for (let k = 0; k < ids.length; k++) {
      if (k > 0) json += ',';
      json += this.recordJson(ids[k] as number, plan);
    }
    const page: PageJson = { json: Buffer.from(json, 'utf8'), nextMinId, generation: this.generation };
    this.pageCache.delete(key);
    if (this.pageCache.size >= MAX_CACHED_PAGES) {
      // Drop stale pages first, then the oldest.
      for (const [other, entry] of this.pageCache) if (entry.generation !== this.generation) this.pageCache.delete(other);
      if (this.pageCache.size >= MAX_CACHED_PAGES) this.pageCache.delete(this.pageCache.keys().next().value as string);
    }
    this.pageCache.set(key, page);
    return page;
  }

  /** Every record in id order. */
  *snapshots(includeArchived: boolean): Generator<Snapshot> {
    const size = this.size;
    for (let k = 0; k < size; k++) {
      const snapshot = this.current(this.idAt(k)) as Snapshot;
      if (includeArchived || snapshot.archivedAt === null) yield snapshot;
    }
  }

  // ---- the lagging search index ---------------------------------------------------------

  private searchVersion(row: Version, now: number): Version | null {
    let version: Version | null = row;
    while (version !== null && version.visibleAt > now) version = version.prev;
    // Older versions can never be shown again: the clock only moves forward.
    if (version !== null) version.prev = null;
    return version;
  }

  /** The record as the search index shows it at `now` (null: not searchable). */
  searchSnapshot(id: number, now: number): Snapshot | null {
    const index = this.seedIndex(id);
    if (index >= 0 && this.materialized[index] === 0) return this.seededSnapshot(index);
    const row = this.rows.get(id);
    if (!row) return null;
    const version = this.searchVersion(row, now);
    return version !== null && version.archivedAt === null ? version : null;
  }

  /**
   * Calls `visit` for every record the search index holds at `now` (archived ones
   * excluded), in id order, with `view` positioned on it.
   */
  scanSearchable(now: number, view: RecordView, visit: (view: RecordView) => void): void {
    const visitRow = (id: number): void => {
      const row = this.rows.get(id);
      if (!row) return;
      const version = this.searchVersion(row, now);
      if (version !== null && version.archivedAt === null) {
        view.setVersion(version);
        visit(view);
      }
    };
    for (const id of this.idsBelowSeed) visitRow(id);
    const first = this.seedFirstId;
    const materialized = this.materialized;
    for (let index = 0; index < this.seedCount; index++) {
      if (materialized[index] === 0) {
        view.setSeeded(first + index, index);
        visit(view);
      } else visitRow(first + index);
    }
    for (const id of this.idsAboveSeed) visitRow(id);
  }

  /**
   * The next instant (> now) at which a pending write becomes searchable, or Infinity.
   * Search results computed at `now` stay valid until then (or until the next write).
   */
  nextSearchChange(now: number): number {
    while (this.pendingHead < this.pending.length && (this.pending[this.pendingHead] as number) <= now) this.pendingHead++;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    return this.pendingHead < this.pending.length ? (this.pending[this.pendingHead] as number) : Infinity;
  }

  // ---- unique properties ------------------------------------------------------------------

  /** The active record whose unique property `name` equals `value` (case-insensitive). */
  findByUnique(name: string, value: string): number | undefined {
    const key = value.trim().toLowerCase();
    const indexed = this.uniqueIndex.get(name)?.get(key);
    if (indexed !== undefined) {
      const row = this.rows.get(indexed);
      if (row && row.archivedAt === null && (row.props[name] ?? '').toLowerCase() === key) return indexed;
    }
    const matchesSeed = (index: number): boolean => this.materialized[index] === 0 && (this.seededValue(index, name) ?? '').toLowerCase() === key;
    if (this.seeder.candidateId) {
      const candidate = this.seeder.candidateId(name, key);
      const index = candidate === undefined ? -1 : this.seedIndex(candidate);
      return index >= 0 && matchesSeed(index) ? candidate : undefined;
    }
    for (let index = 0; index < this.seedCount; index++) if (matchesSeed(index)) return this.seedFirstId + index;
    return undefined;
  }

  /** Looks a record up by id or, with idProperty, by a unique property value. */
  resolveId(idOrValue: string, idProperty?: string): number | undefined {
    if (idProperty === undefined || idProperty === '' || idProperty === 'hs_object_id') return parseId(idOrValue);
    const property = this.def.byName.get(idProperty);
    if (!property || !property.hasUniqueValue) {
      throw validationError(`Property "${idProperty}" cannot be used as idProperty: it is not a property with unique values on ${this.def.name}.`);
    }
    return this.findByUnique(idProperty, idOrValue);
  }

  /** Throws 409 CONFLICT if a unique value in `values` belongs to another active record. */
  assertUnique(values: PropertyValues, selfId: number | undefined): void {
    for (const property of this.uniqueProperties) {
      const value = values[property.name];
      if (value === undefined || value === null) continue;
      const existing = this.findByUnique(property.name, value);
      if (existing !== undefined && existing !== selfId) {
        const noun = this.def.singular.charAt(0) + this.def.singular.slice(1).toLowerCase();
        throw new HubSpotApiError(409, 'CONFLICT', `${noun} already exists. Existing ID: ${existing}`);
      }
    }
  }

  private reindexUnique(previous: Snapshot | undefined, next: Version): void {
    for (const property of this.uniqueProperties) {
      const index = this.uniqueIndex.get(property.name) as Map<string, number>;
      const before = previous?.props[property.name];
      if (before && index.get(before.toLowerCase()) === next.id) index.delete(before.toLowerCase());
      const after = next.props[property.name];
      if (after && next.archivedAt === null) index.set(after.toLowerCase(), next.id);
    }
  }

  // ---- writes ----------------------------------------------------------------------------

  /** The stored version of a record, materializing a seeded one first. */
  private materialize(id: number): Version | undefined {
    const index = this.seedIndex(id);
    if (index >= 0 && this.materialized[index] === 0) {
      const props = this.seededProps(index);
      for (const key of Object.keys(props)) if (props[key] === null) delete props[key];
      const base = this.makeVersion(id, props, this.seedCreated[index] as number, this.seedModified[index] as number, null, -Infinity, null);
      this.rows.set(id, base);
      this.materialized[index] = 1;
      this.reindexUnique(undefined, base);
      return base;
    }
    return this.rows.get(id);
  }

  private makeVersion(
    id: number,
    props: PropertyValues,
    createdAt: number,
    updatedAt: number,
    archivedAt: number | null,
    visibleAt: number,
    prev: Version | null,
  ): Version {
    return {
      id,
      props,
      createdAt,
      updatedAt,
      archivedAt,
      createMs: numericValue(this.createdateDef, props[this.creationProperty]),
      modMs: numericValue(this.modificationDef, props[this.modificationProperty]),
      visibleAt,
      prev,
    };
  }

  /** Stores a new version; `immediate` skips the search lag (put()). */
  private commit(id: number, props: PropertyValues, createdAt: number, updatedAt: number, archivedAt: number | null, now: number, immediate: boolean): Version {
    const previous = this.rows.get(id);
    const lagged = !immediate && this.lagMs > 0;
    const version = this.makeVersion(id, props, createdAt, updatedAt, archivedAt, lagged ? now + this.lagMs : -Infinity, lagged ? (previous ?? null) : null);
    const index = this.seedIndex(id);
    if (index >= 0) this.materialized[index] = 1;
    else if (!previous) insertSorted(id < this.seedFirstId ? this.idsBelowSeed : this.idsAboveSeed, id);
    this.rows.set(id, version);
    const wasArchived = previous !== undefined && previous.archivedAt !== null;
    if (wasArchived && archivedAt === null) removeSorted(this.archivedIds, id);
    if (!wasArchived && archivedAt !== null) insertSorted(this.archivedIds, id);
    this.reindexUnique(previous, version);
    if (id >= this.nextId) this.nextId = id + 1;
    if (lagged) this.pending.push(version.visibleAt);
    this.generation++;
    return version;
  }

  create(values: PropertyValues): Version {
    this.assertUnique(values, undefined);
    const now = this.now();
    const id = this.nextId;
    const props: PropertyValues = {};
    for (const [name, value] of Object.entries(values)) if (value !== null) props[name] = value;
    // createdate may be set explicitly (imports do); otherwise it is now.
    const created = props[this.creationProperty];
    const createdAt = created ? parseDateTime(created) : now;
    props.hs_object_id = String(id);
    props[this.creationProperty] = toIso(createdAt);
    props[this.modificationProperty] = toIso(now);
    return this.commit(id, props, createdAt, now, null, now, false);
  }

  update(id: number, values: PropertyValues): Version {
    const current = this.materialize(id);
    if (!current || current.archivedAt !== null) throw notFound();
    this.assertUnique(values, id);
    const now = this.now();
    const props: PropertyValues = { ...current.props };
    for (const [name, value] of Object.entries(values)) {
      if (value === null) delete props[name];
      else props[name] = value;
    }
    const created = values[this.creationProperty];
    const createdAt = created ? parseDateTime(created) : current.createdAt;
    props.hs_object_id = String(id);
    props[this.creationProperty] = props[this.creationProperty] ?? toIso(createdAt);
    props[this.modificationProperty] = toIso(now);
    return this.commit(id, props, createdAt, now, null, now, false);
  }

  /**
   * Moves a record to the recycle bin. HubSpot quirk: archiving does NOT bump the
   * modification property (nor updatedAt) - a sync that only asks for records modified
   * since its last run never sees archivals; it must list `archived=true` separately.
   * Returns false when the record was already archived.
   */
  archive(id: number): boolean {
    const current = this.materialize(id);
    if (!current) throw notFound();
    if (current.archivedAt !== null) return false;
    const now = this.now();
    this.commit(id, current.props, current.createdAt, current.updatedAt, now, now, false);
    return true;
  }

  /** Takes a record out of the recycle bin; unlike archiving this bumps the modification time. */
  restore(id: number): Version {
    const current = this.materialize(id);
    if (!current) throw notFound();
    if (current.archivedAt === null) return current;
    this.assertUnique(current.props, id);
    const now = this.now();
    const props: PropertyValues = { ...current.props, [this.modificationProperty]: toIso(now) };
    return this.commit(id, props, current.createdAt, now, null, now, false);
  }

  /** Raw insert/replace: no validation, no timestamp bump, immediately searchable. */
  put(record: PutRecord): Version {
    const id = parseId(record.id);
    if (id === undefined) throw new Error(`put(): record id must be a positive integer, got ${JSON.stringify(record.id)}`);
    const now = this.now();
    const existing = this.rows.get(id);
    const props: PropertyValues = {};
    for (const [name, value] of Object.entries(record.properties ?? {})) if (value !== null && value !== undefined) props[name] = value;
    props.hs_object_id = String(id);
    const fromProps = (name: string): number | undefined => (props[name] ? parseDateTime(props[name] as string) : undefined);
    const createdAt = record.createdAt ? Date.parse(record.createdAt) : (fromProps(this.creationProperty) ?? existing?.createdAt ?? now);
    const updatedAt = record.updatedAt ? Date.parse(record.updatedAt) : (fromProps(this.modificationProperty) ?? createdAt);
    props[this.creationProperty] ??= toIso(createdAt);
    props[this.modificationProperty] ??= toIso(updatedAt);
    const archivedAt = record.archived || record.archivedAt ? (record.archivedAt ? Date.parse(record.archivedAt) : now) : null;
    return this.commit(id, props, createdAt, updatedAt, archivedAt, now, true);
  }

  // ---- output ------------------------------------------------------------------------------

  /** The JSON plan for outputProperties(requested). */
  outputPlan(requested: readonly string[] | undefined): OutputPlan {
    const names = this.outputProperties(requested);
    const key = names.join(',');
    let plan = this.plans.get(key);
    if (plan === undefined) {
      if (this.plans.size >= MAX_PLANS) this.plans.clear();
      plan = this.compilePlan(names);
      this.plans.set(key, plan);
    }
    return plan;
  }

  private compilePlan(names: readonly string[]): OutputPlan {
    const fields = this.seeder.fields;
    // The precedence of seededProps: the system properties over the generated ones.
    const sources = names.map((name) => {
      if (name === 'hs_object_id') return FROM_ID;
      if (name === this.creationProperty) return FROM_CREATED;
      if (name === this.modificationProperty) return FROM_MODIFIED;
      return Object.hasOwn(fields, name) ? FROM_FIELD : FROM_NOWHERE;
    });
    return {
      key: names.join(','),
      names: [...names],
      joints: names.flatMap((name, k) =>
        [false, true].flatMap((previousString) =>
          [false, true].map((string) => `${k === 0 ? '{' : previousString ? '",' : ','}${JSON.stringify(name)}:${string ? '"' : 'null'}`),
        ),
      ),
      sources,
      generators: names.map((name, k) => (sources[k] === FROM_FIELD ? (fields[name] as FieldGenerator) : null)),
    };
  }

  /** JSON.stringify(toApiObject(current(id), plan.names)) of an active or archived record. */
  recordJson(id: number, plan: OutputPlan): string {
    const index = this.seedIndex(id);
    if (index >= 0 && this.materialized[index] === 0) return this.seededJson(index, plan);
    const row = this.rows.get(id);
    if (!row) throw new Error(`recordJson: no record ${id}`);
    return JSON.stringify(this.toApiObject(row, plan.names));
  }

  /**
   * The SimplePublicObject JSON of unwritten seeded record `index`, generated straight
   * into text: only the plan's properties are generated, no objects are built, and the
   * text is byte for byte JSON.stringify(toApiObject(seededSnapshot(index), plan.names)).
   */
  seededJson(index: number, plan: OutputPlan): string {
    const context = this.seedContextAt(index);
    const created = toIso(context.createdMs);
    const modified = toIso(context.modifiedMs);
    const { joints, sources, generators } = plan;
    const count = sources.length;
    let json = '{"id":"' + context.id + '","properties":';
    let previousString = 0;
    for (let k = 0; k < count; k++) {
      let value: string | null;
      switch (sources[k]) {
        case FROM_FIELD:
          value = (generators[k] as FieldGenerator)(context);
          break;
        case FROM_ID:
          value = String(context.id);
          break;
        case FROM_CREATED:
          value = created;
          break;
        case FROM_MODIFIED:
          value = modified;
          break;
        default:
          value = null;
      }
      // toApiObject shows '' as null; seeded words need no escaping (SEED_TEXT_JSON_SAFE).
      if (value === null || value === '') {
        json += joints[4 * k + 2 * previousString] as string;
        previousString = 0;
      } else {
        json += joints[4 * k + 2 * previousString + 1] as string;
        json += this.jsonSafe ? value : JSON.stringify(value).slice(1, -1);
        previousString = 1;
      }
    }
    json += count === 0 ? '{}' : previousString === 1 ? '"}' : '}';
    return json + ',"createdAt":"' + created + '","updatedAt":"' + modified + '","archived":false}';
  }

  /** Property names to return: the requested known ones (or the defaults) plus the system ones, sorted. */
  outputProperties(requested: readonly string[] | undefined): string[] {
    const names = new Set<string>(alwaysReturned(this.def));
    const wanted = requested && requested.length > 0 ? requested : this.def.defaultProperties;
    // Unknown requested properties are silently left out, as HubSpot does.
    for (const name of wanted) if (this.def.byName.has(name)) names.add(name);
    return [...names].sort();
  }

  /** The SimplePublicObject JSON of a snapshot with the given properties. */
  toApiObject(snapshot: Snapshot, names: readonly string[]): ApiObject {
    const properties: Record<string, string | null> = {};
    for (const name of names) {
      const value = snapshot.props[name];
      properties[name] = value === undefined || value === '' ? null : value;
    }
    return envelope(snapshot, properties);
  }

  /** Every property of a snapshot (defined ones first, unset ones null), as the store API returns it. */
  toRecord(snapshot: Snapshot): EmulatedRecord {
    const properties: Record<string, string | null> = {};
    for (const property of this.def.properties) properties[property.name] = snapshot.props[property.name] ?? null;
    for (const [name, value] of Object.entries(snapshot.props)) if (!(name in properties)) properties[name] = value;
    return envelope(snapshot, properties);
  }
}

/** id, properties, timestamps and archive state, as HubSpot's SimplePublicObject has them. */
function envelope(snapshot: Snapshot, properties: Record<string, string | null>): EmulatedRecord {
  const record: EmulatedRecord = {
    id: String(snapshot.id),
    properties,
    createdAt: toIso(snapshot.createdAt),
    updatedAt: toIso(snapshot.updatedAt),
    archived: snapshot.archivedAt !== null,
  };
  if (snapshot.archivedAt !== null) record.archivedAt = toIso(snapshot.archivedAt);
  return record;
}

/**
 * Direct access to the emulated CRM, without HTTP, auth or rate limits. `type` is an
 * object name ('contacts', 'appointments'), a type id ('0-1', '2-1234567') or a custom
 * object's fully qualified name ('p12345678_appointments'). Writes (create/update/archive/restore)
 * behave exactly like their HTTP counterparts - same validation, timestamps and search
 * lag - except put(), which stores a raw record as given.
 */
export class HubSpotStore {
  /** The portal id in custom objects' fully qualified names. */
  readonly portalId: number;
  /** The object types (standard and custom) of this portal. */
  readonly types: ObjectTypeRegistry;
  /** Association types and links (emulator internals; see associate/associations). */
  readonly links: AssociationStore;
  private readonly tables = new Map<string, ObjectTable>();

  constructor(options: StoreOptions = {}) {
    const seedValue = options.seedValue ?? 42;
    const now = options.now ?? Date.now;
    const lag = Math.max(0, options.searchLagMs ?? 0);
    const portalId = options.portalId ?? DEFAULT_PORTAL_ID;
    if (!Number.isSafeInteger(portalId) || portalId <= 0) throw new Error(`portalId must be a positive integer, got ${portalId}`);
    this.portalId = portalId;
    const custom = (options.customObjects ?? DEFAULT_CUSTOM_OBJECTS).map((definition) => defineCustomObject(definition, portalId));
    this.types = new ObjectTypeRegistry(custom);
    const counts = new Map<ObjectTypeDefinition, number>();
    for (const [name, count] of Object.entries(options.seed ?? {})) {
      const def = this.types.find(name);
      if (!def) throw new Error(`seed: unknown object type "${name}" (known: ${this.types.all.map((type) => type.name).join(', ')})`);
      if (!Number.isInteger(count) || count < 0) throw new Error(`seed: ${name} count must be a non-negative integer, got ${count}`);
      counts.set(def, count);
    }
    for (const def of this.types.all) this.tables.set(def.name, new ObjectTable(def, counts.get(def) ?? 0, seedValue, lag, now));
    this.links = new AssociationStore(new AssociationDefinitions(this.types), this.types, (def) => this.tables.get(def.name) as ObjectTable, seedValue);
  }

  /** The definition of an object type by name, type id or fully qualified name (undefined if unknown). */
  findType(type: string): ObjectTypeDefinition | undefined {
    return this.types.find(type);
  }

  /** The table of an object type (emulator internals; throws 404 for unknown types). */
  table(type: string): ObjectTable {
    const def = this.types.find(type);
    const table = def && this.tables.get(def.name);
    if (!table) throw notFound(`Unable to infer object type from: ${type}`);
    return table;
  }

  objectTypes(): string[] {
    return [...this.tables.keys()];
  }

  objectTypeId(type: string): string {
    return this.table(type).def.objectTypeId;
  }

  count(type: string, options: { archived?: boolean } = {}): number {
    const table = this.table(type);
    return options.archived ? table.archivedCount : table.size - table.archivedCount;
  }

  all(type: string, options: { includeArchived?: boolean } = {}): EmulatedRecord[] {
    const table = this.table(type);
    const out: EmulatedRecord[] = [];
    for (const snapshot of table.snapshots(options.includeArchived ?? false)) out.push(table.toRecord(snapshot));
    return out;
  }

  /** A record by id, archived or not. */
  get(type: string, id: string | number): EmulatedRecord | undefined {
    const table = this.table(type);
    const key = parseId(id);
    const snapshot = key === undefined ? undefined : table.current(key);
    return snapshot && table.toRecord(snapshot);
  }

  /** An active record by a unique property value (e.g. a contact's email). */
  findBy(type: string, property: string, value: string): EmulatedRecord | undefined {
    const table = this.table(type);
    const id = table.resolveId(value, property);
    return id === undefined ? undefined : this.get(type, id);
  }

  create(type: string, properties: Record<string, unknown>): EmulatedRecord {
    const table = this.table(type);
    return table.toRecord(table.create(normalizeWrite(table.def, properties)));
  }

  update(type: string, id: string | number, properties: Record<string, unknown>): EmulatedRecord {
    const table = this.table(type);
    const key = parseId(id);
    if (key === undefined) throw notFound();
    return table.toRecord(table.update(key, normalizeWrite(table.def, properties)));
  }

  archive(type: string, id: string | number): void {
    const key = parseId(id);
    if (key === undefined) throw notFound();
    this.table(type).archive(key);
  }

  restore(type: string, id: string | number): EmulatedRecord {
    const table = this.table(type);
    const key = parseId(id);
    if (key === undefined) throw notFound();
    return table.toRecord(table.restore(key));
  }

  put(type: string, record: PutRecord): EmulatedRecord {
    const table = this.table(type);
    return table.toRecord(table.put(record));
  }

  modificationProperty(type: string): string {
    return this.table(type).def.modificationProperty;
  }

  properties(type: string): PropertyDefinition[] {
    return this.table(type).def.properties.map((property) => structuredClone(property));
  }

  // ---- custom object schemas ------------------------------------------------------------

  /** The names of the custom object types. */
  customObjectTypes(): string[] {
    return this.types.custom.map((type) => type.name);
  }

  /**
   * The schemas API's `ObjectSchema` of a custom object (by name, type id or fully
   * qualified name), or of every custom object without `type`.
   */
  schemas(): Record<string, unknown>[] {
    return this.types.custom.map((type) => objectSchema(type, this.links.definitions.schemaAssociations(type)));
  }

  schema(type: string): Record<string, unknown> | undefined {
    const def = this.types.find(type);
    return def?.custom ? objectSchema(def, this.links.definitions.schemaAssociations(def)) : undefined;
  }

  // ---- associations -------------------------------------------------------------------------

  /** The association types from one object type to another (throws 400 when they cannot be associated). */
  associationPair(fromType: string, toType: string): AssociationPair {
    const from = this.table(fromType).def;
    const to = this.table(toType).def;
    const pair = this.links.definitions.pair(from, to);
    if (!pair) throw validationError(`${from.name} cannot be associated with ${to.name}: there is no association type between ${from.objectTypeId} and ${to.objectTypeId}.`);
    return pair;
  }

  /** The association types (labels) from one object type to another, by type id. */
  associationTypes(fromType: string, toType: string): AssociationType[] {
    const pair = this.associationPair(fromType, toType);
    return typesOf(pair, pair.types.map((type) => type.typeId));
  }

  /**
   * Associates two active records, both ways (HubSpot's associations are symmetric):
   * with `typeId` (and the unlabeled type with it), or the pair's default type. Like on
   * HubSpot, neither record's modification time changes. Returns the types now linking
   * from -> to. Throws 404 for a missing or archived record, 400 for a type not of the pair.
   */
  associate(fromType: string, fromId: string | number, toType: string, toId: string | number, typeId?: number): AssociationType[] {
    const pair = this.associationPair(fromType, toType);
    const from = this.recordId(pair.from, fromId);
    const to = this.recordId(pair.to, toId);
    return typesOf(pair, this.links.associate(pair, from, to, typeId));
  }

  /**
   * Removes the association of type `typeId` between two records, or (without one, or
   * for the unlabeled type) every association between them; both ways. Modification
   * times do not change. Returns false when there was nothing to remove.
   */
  unassociate(fromType: string, fromId: string | number, toType: string, toId: string | number, typeId?: number): boolean {
    const pair = this.associationPair(fromType, toType);
    const from = parseId(fromId);
    const to = parseId(toId);
    if (from === undefined || to === undefined) return false;
    return this.links.unassociate(pair, from, to, typeId);
  }

  /** The active records of `toType` associated with a record, by id, with the types linking them. */
  associations(fromType: string, fromId: string | number, toType: string): AssociationTarget[] {
    const pair = this.associationPair(fromType, toType);
    const from = parseId(fromId);
    if (from === undefined) return [];
    return this.links.list(pair, from).map((link) => ({ toId: String(link.toId), associationTypes: typesOf(pair, link.typeIds) }));
  }

  private recordId(type: ObjectTypeDefinition, id: string | number): number {
    const key = parseId(id);
    if (key === undefined) throw notFound(`No ${type.name} record with id ${JSON.stringify(String(id))} exists.`);
    return key;
  }
}
