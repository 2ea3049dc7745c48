/**
 * The emulator's in-memory CRM: one table per object type (object-table.ts), the custom
 * object schemas and the associations between records, behind HubSpotStore.
 */
import {
  AssociationDefinitions,
  AssociationStore,
  typesOf,
  type AssociationPair,
  type AssociationTarget,
  type AssociationType,
} from './associations.js';
import { DEFAULT_CUSTOM_OBJECTS, DEFAULT_PORTAL_ID, defineCustomObject, objectSchema, type CustomObjectDefinition } from './custom-objects.js';
import { notFound, unknownObjectType, validationError } from './errors.js';
import { ObjectTable, parseId } from './object-table.js';
import { ObjectTypeRegistry, type ObjectTypeDefinition, type PropertyDefinition } from './object-types.js';
import { normalizeWrite } from './values.js';

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

/**
 * Direct access to the emulated CRM, without HTTP, auth or rate limits. `type` is an
 * object name ('contacts', 'appointments'), a type id ('0-1', '2-1234567') or a custom
 * object's fully qualified name ('p12345678_appointments'). Writes (create/update/archive/restore)
 * behave like their HTTP counterparts - same validation, timestamps and search lag -
 * except that update() always bumps the modification time (an API write that changes no
 * value does not), and put(), which stores a raw record as given.
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

  /** The table of an object type (emulator internals; throws HubSpot's 400 for unknown types). */
  table(type: string): ObjectTable {
    const def = this.types.find(type);
    const table = def && this.tables.get(def.name);
    if (!table) throw unknownObjectType(type);
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
    return options.archived ? table.archivedCount : table.recordCount - table.archivedCount;
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
    // Always a modification, even when no value changes (unlike an API write): tests use it to mark records modified.
    return table.toRecord(table.update(key, normalizeWrite(table.def, properties), { touch: true }));
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

  /**
   * Removes a record for good (HubSpot's recycle bin emptied, or a GDPR delete): unlike
   * archive(), the list of archived records no longer has it either, so a client learns
   * of it only by missing it. Returns false when there was no such record.
   */
  purge(type: string, id: string | number): boolean {
    const key = parseId(id);
    return key === undefined ? false : this.table(type).purge(key);
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
