/**
 * The in-memory organisation: one table per entity set, a global change version and the
 * change log change tracking reads.
 *
 * Dataverse stamps every row with a database rowversion: `versionnumber`, exposed as the
 * weak ETag `W/"<versionnumber>"`. It is global (one counter for all tables) and grows
 * with every create and update; change tracking's delta tokens carry it too, and "what
 * changed since token T" means "rows whose versionnumber is above T's version, and rows
 * deleted since". Rows are immutable snapshots; a write replaces a row's snapshot.
 */
import { Rng, mixSeed } from '../shared/prng.js';
import { DataverseError, ERROR_CODES, odataError, rowNotFound } from './errors.js';
import { Organisation } from './principals.js';
import { EntityModel, STATUS_OF_STATE, lookupLogicalName, type Column, type EntitySetDefinition, type Field } from './table-definitions.js';
import { guidFromWords, seedRows, type LookupSources, type SeededRow } from './seed.js';
import { GUID, comparable, fullNameOf, guidOrder, jsonFragment, parseWriteValue, toSecond, wireValue } from './values.js';

/** A row as the Web API returns it: flat columns plus "@odata.etag". */
export type DynamicsRow = Record<string, unknown>;

export interface CreateOptions {
  /** The row's GUID (default: a new one). */
  id?: string;
  /** modifiedon (and createdon) in epoch ms; default now(). */
  modifiedOn?: number;
}

export interface UpdateOptions {
  /** modifiedon in epoch ms; default now(). */
  modifiedOn?: number;
}

export interface StoreOptions {
  entitySets: readonly EntitySetDefinition[];
  seed?: Record<string, number>;
  seedValue?: number;
  now?: () => number;
  /** The users, teams, business unit and currency rows point at; default the organisation of seedValue and the default client id. */
  organisation?: Organisation;
}

/** Seeded rows get versions from here on, in modifiedon order. */
const SEED_VERSION_BASE = 1_000_000;

/** Indexes of the rows by modification time (then index), sorted as plain numbers where they fit. */
function modificationOrder(rows: readonly SeededRow[]): ArrayLike<number> & Iterable<number> {
  const SLOTS = 2 ** 21;
  if (rows.length > SLOTS) return [...rows.keys()].sort((a, b) => (rows[a] as SeededRow).modifiedMs - (rows[b] as SeededRow).modifiedMs || a - b);
  // Seconds since 2000 times 2^21 plus the index stays below 2^53: a typed-array sort without a comparator.
  const keys = new Float64Array(rows.length);
  rows.forEach((row, index) => {
    keys[index] = Math.floor((row.modifiedMs - 946_684_800_000) / 1000) * SLOTS + index;
  });
  keys.sort();
  return Uint32Array.from(keys, (key) => key % SLOTS);
}

/** One version of a row. Immutable: writes make a new one. */
export class StoredRow {
  /** SQL Server's order of the key (see guidOrder). */
  readonly order: [number, number, number];
  private fragments: (string | undefined)[] | undefined;
  private comparables: unknown[] | undefined;

  constructor(
    readonly id: string,
    readonly values: readonly unknown[],
    readonly version: number,
    order?: [number, number, number],
  ) {
    this.order = order ?? guidOrder(id);
  }

  get etag(): string {
    return `W/"${this.version}"`;
  }

  /** `"name":<json>`, cached. */
  fragment(column: Column): string {
    const cache = (this.fragments ??= new Array(this.values.length));
    let text = cache[column.index];
    if (text === undefined) cache[column.index] = text = jsonFragment(column, this.values[column.index]);
    return text;
  }

  /** The value as $filter/$orderby compare it (folded text, GUID sort key), cached. */
  comparable(field: Field): unknown {
    if (field.kind !== 'string' && field.kind !== 'guid' && field.kind !== 'boolean') return this.values[field.index] ?? null;
    const cache = (this.comparables ??= new Array(this.values.length).fill(undefined));
    let value = cache[field.index];
    if (value === undefined) cache[field.index] = value = comparable(field.kind, this.values[field.index]);
    return value;
  }

  /** The row's JSON with the given columns (the key is always added, last). */
  json(columns: readonly Column[], key: Column): string {
    let text = `{"@odata.etag":"W/\\"${this.version}\\""`;
    for (const column of columns) text += ',' + this.fragment(column);
    return text + ',' + this.fragment(key) + '}';
  }
}

function compareKeys(a: StoredRow, b: StoredRow): number {
  const x = a.order;
  const y = b.order;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** A table's rows and change log. */
export class Table {
  readonly rows = new Map<string, StoredRow>();
  /** Deleted row ids and the change version of their deletion. */
  readonly tombstones = new Map<string, number>();
  /** Bumped by every write: cached query results carry it. */
  generation = 0;
  private orderedRows: { generation: number; rows: StoredRow[] } | undefined;
  private readonly results = new Map<string, { generation: number; rows: StoredRow[] }>();

  constructor(readonly model: EntityModel) {}

  /** Every row in the default order (the key, as SQL Server orders GUIDs). */
  ordered(): StoredRow[] {
    if (this.orderedRows?.generation !== this.generation) {
      const rows = [...this.rows.values()].sort(compareKeys);
      this.orderedRows = { generation: this.generation, rows };
    }
    return this.orderedRows.rows;
  }

  /** A query's filtered, sorted rows, cached until the next write (a client pages through one query at a time). */
  cachedResult(key: string, build: () => StoredRow[]): StoredRow[] {
    const hit = this.results.get(key);
    if (hit && hit.generation === this.generation) return hit.rows;
    const rows = build();
    this.results.delete(key);
    this.results.set(key, { generation: this.generation, rows });
    if (this.results.size > 16) this.results.delete(this.results.keys().next().value as string);
    return rows;
  }
}

interface JournalEntry {
  table: Table;
  id: string;
  row: StoredRow | undefined;
  tombstone: number | undefined;
}

/**
 * Direct access to the emulated organisation: no HTTP, auth or limits. Writes behave as
 * over the Web API (new change version, modifiedon, versionnumber/ETag, change tracking),
 * except that lookups (`_x_value`) may be set directly.
 */
export class DynamicsStore {
  private readonly tables = new Map<string, Table>();
  private readonly byLogicalName = new Map<string, Table>();
  private changeVersion = SEED_VERSION_BASE;
  private journal: JournalEntry[] | null = null;
  private readonly idRng: Rng;
  readonly seedValue: number;
  readonly now: () => number;
  readonly organisation: Organisation;

  constructor(options: StoreOptions) {
    this.seedValue = options.seedValue ?? 42;
    this.now = options.now ?? Date.now;
    this.organisation = options.organisation ?? new Organisation(this.seedValue);
    this.idRng = new Rng(mixSeed(this.seedValue, 0x1d5eed));
    for (const def of options.entitySets) {
      const table = new Table(new EntityModel(def));
      if (this.byLogicalName.has(def.logicalName)) throw new Error(`entity sets "${def.entitySet}" and "${this.byLogicalName.get(def.logicalName)?.model.entitySet}" share the logical name "${def.logicalName}"`);
      this.tables.set(def.entitySet, table);
      this.byLogicalName.set(def.logicalName, table);
    }
    for (const table of this.tables.values()) {
      for (const [name, target] of Object.entries(table.model.def.lookupTargets ?? {})) {
        if (!this.tables.has(target)) throw new Error(`entity set definition "${table.model.entitySet}": lookupTargets.${name} names unknown entity set "${target}"`);
      }
    }
    this.seed(options.seed ?? {});
  }

  private seed(counts: Record<string, number>): void {
    const seedCounts = new Map<string, number>();
    for (const [entitySet, count] of Object.entries(counts)) {
      if (!this.tables.has(entitySet)) throw new Error(`seed: unknown entity set "${entitySet}" (known: ${this.entitySets().join(', ')})`);
      if (!Number.isSafeInteger(count) || count < 0) throw new Error(`seed.${entitySet} must be a non-negative integer, got ${String(count)}`);
      seedCounts.set(entitySet, count);
    }
    const tables: Table[] = [];
    const rows: SeededRow[] = [];
    const users = this.organisation.ids('systemuser');
    for (const [entitySet, count] of seedCounts) {
      const table = this.tables.get(entitySet) as Table;
      const sources: LookupSources = {
        seedValue: this.seedValue,
        seedCounts,
        target: (column) => this.lookupTarget(table.model, column),
        references: (column) => column.targets.flatMap((target) => this.organisation.ids(target)),
      };
      for (const row of seedRows(table.model, count, sources, users)) {
        tables.push(table);
        rows.push(row);
      }
    }
    // Versions follow modification order, as rowversions would have.
    for (const k of modificationOrder(rows)) {
      const table = tables[k] as Table;
      const row = rows[k] as SeededRow;
      const version = ++this.changeVersion;
      (row.values as unknown[])[table.model.versionnumber.index] = version;
      table.rows.set(row.id, new StoredRow(row.id, row.values, version));
    }
    for (const table of this.tables.values()) table.generation++;
  }

  /** The current (latest) change version. */
  get version(): number {
    return this.changeVersion;
  }

  /** Moves the change version on without changing any row (delta tokens issued before stay below it). */
  advanceVersion(): number {
    return ++this.changeVersion;
  }

  entitySets(): string[] {
    return [...this.tables.keys()];
  }

  definition(entitySet: string): EntitySetDefinition {
    return this.table(entitySet).model.def;
  }

  /** Rows in the table (deleted rows are gone; inactive rows, statecode 1, count). */
  count(entitySet: string): number {
    return this.table(entitySet).rows.size;
  }

  get(entitySet: string, id: string): DynamicsRow | undefined {
    const table = this.table(entitySet);
    const row = table.rows.get(id.toLowerCase());
    return row ? this.wire(table, row) : undefined;
  }

  /** Every row, in the Web API's default order (the key, as SQL Server orders GUIDs). */
  all(entitySet: string): DynamicsRow[] {
    const table = this.table(entitySet);
    return table.ordered().map((row) => this.wire(table, row));
  }

  create(entitySet: string, values: Record<string, unknown>, options: CreateOptions = {}): DynamicsRow {
    const table = this.table(entitySet);
    const assigned = this.parseStoreValues(table, values);
    let id = options.id;
    const keyValue = assigned.get(table.model.key.index) as string | undefined;
    assigned.delete(table.model.key.index);
    if (id !== undefined && keyValue !== undefined && id.toLowerCase() !== keyValue) throw new Error(`create: options.id ${id} and ${table.model.key.name} ${keyValue} differ`);
    id ??= keyValue;
    if (id !== undefined && !GUID.test(id)) throw new Error(`create: ${id} is not a GUID`);
    const row = this.insertRow(table, id?.toLowerCase() ?? this.newId(table), assigned, options.modifiedOn);
    return this.wire(table, row);
  }

  update(entitySet: string, id: string, values: Record<string, unknown>, options: UpdateOptions = {}): DynamicsRow {
    const table = this.table(entitySet);
    const current = table.rows.get(id.toLowerCase());
    if (!current) throw rowNotFound(table.model.logicalName, id);
    const assigned = this.parseStoreValues(table, values);
    const keyValue = assigned.get(table.model.key.index);
    if (keyValue !== undefined && keyValue !== current.id) throw new Error(`update: ${table.model.key.name} cannot change`);
    assigned.delete(table.model.key.index);
    return this.wire(table, this.updateRow(table, current, assigned, options.modifiedOn));
  }

  delete(entitySet: string, id: string): boolean {
    return this.deleteRow(this.table(entitySet), id.toLowerCase());
  }

  // ---- for the Web API ---------------------------------------------------------------------------

  findTable(entitySet: string): Table | undefined {
    return this.tables.get(entitySet);
  }

  tableByLogicalName(logicalName: string): Table | undefined {
    return this.byLogicalName.get(logicalName);
  }

  allTables(): Table[] {
    return [...this.tables.values()];
  }

  table(entitySet: string): Table {
    const table = this.tables.get(entitySet);
    if (!table) throw new Error(`unknown entity set "${entitySet}" (known: ${this.entitySets().join(', ')})`);
    return table;
  }

  /**
   * The served entity set a lookup column points at: lookupTargets, the first of its
   * targets the organisation has a table for, or the table whose logical name the
   * column's name contains.
   */
  lookupTarget(model: EntityModel, column: Column): string | undefined {
    const explicit = model.def.lookupTargets?.[column.name];
    if (explicit !== undefined) return explicit;
    if (column.targets.length > 0) {
      for (const target of column.targets) {
        const table = this.byLogicalName.get(target);
        if (table) return table.model.entitySet;
      }
      return undefined;
    }
    const logical = lookupLogicalName(column.name).toLowerCase();
    let best: Table | undefined;
    for (const table of this.tables.values()) {
      const name = table.model.logicalName.toLowerCase();
      if (logical === `${name}id` || logical === name) return table.model.entitySet;
      if (logical.includes(name) && (best === undefined || name.length > best.model.logicalName.length)) best = table;
    }
    return best?.model.entitySet;
  }

  /** A new row id: deterministic for a given seed and sequence of creates. */
  newId(table: Table): string {
    for (;;) {
      const rng = this.idRng;
      const id = guidFromWords(rng.int(2 ** 32), rng.int(2 ** 32), rng.int(2 ** 32), rng.int(2 ** 32));
      if (!table.rows.has(id) && !table.tombstones.has(id)) return id;
    }
  }

  /** The row as JSON-able object: "@odata.etag", the columns, the key last. */
  wire(table: Table, row: StoredRow): DynamicsRow {
    const out: DynamicsRow = { '@odata.etag': row.etag };
    for (const column of table.model.defaultSelection) out[column.name] = wireValue(column.kind, row.values[column.index]);
    out[table.model.key.name] = row.id;
    return out;
  }

  /** Creates a row (the id must be free). `assigned` maps column index → held value. */
  insertRow(table: Table, id: string, assigned: ReadonlyMap<number, unknown>, modifiedOn?: number): StoredRow {
    const model = table.model;
    if (table.rows.has(id)) throw new DataverseError(412, ERROR_CODES.duplicateRecord, 'A record with matching key values already exists.');
    const values: unknown[] = new Array(model.fields.length).fill(null);
    const organisation = this.organisation;
    for (const column of model.fields) {
      // Two-option (boolean) columns always have a value: false unless given. The caller
      // owns the rows it creates, in its business unit.
      if (column.kind === 'boolean' && !column.system) values[column.index] = false;
      else if (column.type === 'owner') values[column.index] = organisation.userId;
      else if (column.name === '_owningbusinessunit_value') values[column.index] = organisation.businessUnitId;
    }
    values[model.statecode.index] = 0;
    values[model.statuscode.index] = STATUS_OF_STATE[0];
    for (const [index, value] of assigned) values[index] = value;
    settleState(model, id, values, assigned);
    values[model.key.index] = id;
    const time = toSecond(modifiedOn ?? this.now());
    values[model.createdon.index] = time;
    values[model.createdby.index] = organisation.userId;
    return this.commit(table, id, values, time);
  }

  updateRow(table: Table, current: StoredRow, assigned: ReadonlyMap<number, unknown>, modifiedOn?: number): StoredRow {
    const values = [...current.values];
    for (const [index, value] of assigned) values[index] = value;
    settleState(table.model, current.id, values, assigned);
    return this.commit(table, current.id, values, toSecond(modifiedOn ?? this.now()));
  }

  private commit(table: Table, id: string, values: unknown[], modifiedMs: number): StoredRow {
    const model = table.model;
    if (model.fullName) values[model.fullName.full] = fullNameOf(values[model.fullName.first], values[model.fullName.last]);
    const currency = model.byName.get('_transactioncurrencyid_value');
    // A row with a money value is in a currency: the organisation's base one unless given.
    if (currency !== undefined && values[currency.index] === null && model.fields.some((column) => column.type === 'money' && values[column.index] !== null)) {
      values[currency.index] = this.organisation.currencyId;
    }
    this.record(table, id);
    const version = ++this.changeVersion;
    values[model.modifiedon.index] = modifiedMs;
    values[model.modifiedby.index] = this.organisation.userId;
    values[model.versionnumber.index] = version;
    const row = new StoredRow(id, values, version, table.rows.get(id)?.order);
    table.rows.set(id, row);
    table.generation++;
    return row;
  }

  deleteRow(table: Table, id: string): boolean {
    if (!table.rows.has(id)) return false;
    this.record(table, id);
    table.rows.delete(id);
    table.tombstones.set(id, ++this.changeVersion);
    table.generation++;
    return true;
  }

  /**
   * Runs `fn` atomically: when it throws, every row it created, updated or deleted is put
   * back as it was (a $batch change set). Change versions used meanwhile stay used.
   */
  transaction<T>(fn: () => T): T {
    if (this.journal) return fn();
    this.journal = [];
    try {
      const result = fn();
      this.journal = null;
      return result;
    } catch (error) {
      const journal = this.journal ?? [];
      this.journal = null;
      for (let k = journal.length - 1; k >= 0; k--) {
        const { table, id, row, tombstone } = journal[k] as JournalEntry;
        if (row) table.rows.set(id, row);
        else table.rows.delete(id);
        if (tombstone === undefined) table.tombstones.delete(id);
        else table.tombstones.set(id, tombstone);
        table.generation++;
      }
      throw error;
    }
  }

  private record(table: Table, id: string): void {
    this.journal?.push({ table, id, row: table.rows.get(id), tombstone: table.tombstones.get(id) });
  }

  /** Store writes take Web API values, and lookups as plain GUIDs; columns only the platform sets are ignored. */
  private parseStoreValues(table: Table, values: Record<string, unknown>): Map<number, unknown> {
    const model = table.model;
    const assigned = new Map<number, unknown>();
    for (const [name, raw] of Object.entries(values)) {
      if (name.startsWith('@') || name.includes('@')) continue;
      const column = model.byName.get(name);
      if (!column) throw odataError(`The property '${name}' does not exist on type '${model.typeName}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
      if (column.readOnly) continue;
      assigned.set(column.index, parseWriteValue(model, column, raw));
    }
    return assigned;
  }
}

/**
 * statecode and statuscode move together: a write of one sets the other to match (a
 * state's default status reason, a status reason's state); a write of both must name
 * a pair that belongs together.
 */
function settleState(model: EntityModel, id: string, values: unknown[], assigned: ReadonlyMap<number, unknown>): void {
  const state = model.statecode.index;
  const status = model.statuscode.index;
  if (assigned.has(state) && !assigned.has(status)) values[status] = STATUS_OF_STATE[values[state] as number];
  else if (assigned.has(status) && !assigned.has(state)) values[state] = STATUS_OF_STATE.indexOf(values[status] as number);
  else if (assigned.has(state) && STATUS_OF_STATE[values[state] as number] !== values[status]) {
    const name = `${model.def.logicalName[0]?.toUpperCase()}${model.def.logicalName.slice(1)}State.${values[state] === 0 ? 'Active' : 'Inactive'}`;
    throw new DataverseError(400, ERROR_CODES.invalidArgument, `${String(values[status])} is not a valid status code for state code ${name} on ${model.logicalName} with Id ${id}.`);
  }
}
