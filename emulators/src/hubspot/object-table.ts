/**
 * One object type's records: the emulator's in-memory table.
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
import { toIso } from '../shared/iso-time.js';
import { alreadyExists, notFound, validationError } from './errors.js';
import { alwaysReturned, type ObjectTypeDefinition, type PropertyDefinition } from './object-types.js';
import { PropertyHistory } from './property-history.js';
import { compileOutputPlan, envelope, seededRecordJson, type ApiObject, type OutputPlan } from './record-json.js';
import type { RecordView } from './search.js';
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
import { insertSorted, lowerBound, removeSorted } from './sorted-ids.js';
import type { EmulatedRecord, PutRecord } from './store.js';
import { numericValue, parseDateTime } from './values.js';

/** A record's content as one reader sees it (the current version, or the search index's). */
export interface Snapshot {
  readonly id: number;
  readonly props: PropertyValues;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly archivedAt: number | null;
}

/** One stored version of a materialized record. Never mutated, except `prev` pruning. */
export interface Version extends Snapshot {
  /** createdate and the modification property as epoch ms, for search. */
  readonly createMs: number;
  readonly modMs: number;
  /** From this instant the search index shows this version. */
  readonly visibleAt: number;
  /** What the search index shows until then (null: nothing, for a new record). */
  prev: Version | null;
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

/** True when two property sets hold the same values. */
function sameValues(a: PropertyValues, b: PropertyValues): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => b[name] === a[name]);
}

/** Parses a record id: HubSpot ids are positive integers (sent as strings). */
export function parseId(id: string | number): number | undefined {
  const text = String(id).trim();
  if (!/^\d{1,15}$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
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
  /** Per-property versions (propertiesWithHistory). */
  readonly history: PropertyHistory;

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
  /** Seeded records removed for good (purge): their ids stay in the seeded range, unused. */
  private purgedSeeded = 0;
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
    this.history = new PropertyHistory(def.creationProperty, def.modificationProperty);
  }

  // ---- enumeration in id order -------------------------------------------------------

  /** Number of records, archived included. */
  get size(): number {
    return this.idsBelowSeed.length + this.seedCount + this.idsAboveSeed.length;
  }

  get archivedCount(): number {
    return this.archivedIds.length;
  }

  /** Number of records, archived included, purged ones not. */
  get recordCount(): number {
    return this.size - this.purgedSeeded;
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
      const snapshot = this.current(this.idAt(k));
      if (snapshot && (includeArchived || snapshot.archivedAt === null)) yield snapshot;
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

  /** The id of another active record that holds a unique value of `values`, if any. */
  conflictingRecord(values: PropertyValues, selfId: number | undefined): number | undefined {
    for (const property of this.uniqueProperties) {
      const value = values[property.name];
      if (value === undefined || value === null) continue;
      const existing = this.findByUnique(property.name, value);
      if (existing !== undefined && existing !== selfId) return existing;
    }
    return undefined;
  }

  /** Throws 409 CONFLICT if a unique value in `values` belongs to another active record. */
  assertUnique(values: PropertyValues, selfId: number | undefined): void {
    const existing = this.conflictingRecord(values, selfId);
    if (existing !== undefined) throw alreadyExists(this.def.singular, existing);
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
    this.history.created(id, props, now);
    return this.commit(id, props, createdAt, now, null, now, false);
  }

  /**
   * Writes `values` over a record. A write that changes no value leaves the record as it
   * was: no new version, no history, no modification bump. HubSpot keeps no history for
   * unchanged values; whether it still bumps the modification property is unconfirmed -
   * the emulator does not. `touch` bumps it all the same (the store API's update, with
   * which tests mark a record modified).
   */
  update(id: number, values: PropertyValues, options: { touch?: boolean } = {}): Version {
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
    if (!options.touch && sameValues(current.props, props)) return current;
    props[this.modificationProperty] = toIso(now);
    this.history.changed(current, props, now);
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
    this.history.changed(current, props, now);
    return this.commit(id, props, current.createdAt, now, null, now, false);
  }

  /**
   * Removes a record for good, archived or not, as HubSpot does when it empties its recycle
   * bin (90 days after archiving) or on a GDPR delete: no read finds it any more, the list
   * of archived records included. Returns false when there was no such record.
   */
  purge(id: number): boolean {
    const current = this.current(id);
    if (!current) return false;
    const index = this.seedIndex(id);
    if (index >= 0) {
      // Marked as written, with no row: every read of the seeded range skips it.
      this.materialized[index] = 1;
      this.purgedSeeded++;
    } else removeSorted(id < this.seedFirstId ? this.idsBelowSeed : this.idsAboveSeed, id);
    this.rows.delete(id);
    if (current.archivedAt !== null) removeSorted(this.archivedIds, id);
    for (const property of this.uniqueProperties) {
      const value = current.props[property.name];
      const byValue = this.uniqueIndex.get(property.name) as Map<string, number>;
      if (value && byValue.get(value.toLowerCase()) === id) byValue.delete(value.toLowerCase());
    }
    this.history.forget(id);
    this.generation++;
    return true;
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
    this.history.forget(id);
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
    return compileOutputPlan(names, this.seeder.fields, this.creationProperty, this.modificationProperty);
  }

  /** JSON.stringify(toApiObject(current(id), plan.names)) of an active or archived record. */
  recordJson(id: number, plan: OutputPlan): string {
    const index = this.seedIndex(id);
    if (index >= 0 && this.materialized[index] === 0) return this.seededJson(index, plan);
    const row = this.rows.get(id);
    if (!row) throw new Error(`recordJson: no record ${id}`);
    return JSON.stringify(this.toApiObject(row, plan.names));
  }

  /** The SimplePublicObject JSON of unwritten seeded record `index` (see seededRecordJson). */
  seededJson(index: number, plan: OutputPlan): string {
    return seededRecordJson(this.seedContextAt(index), plan, this.jsonSafe);
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
