/**
 * Associations between records (CRM associations v4): the association types of each
 * pair of object types, and the links between records.
 *
 * - Types: HubSpot's default (HUBSPOT_DEFINED) type ids for the standard pairs, with
 *   their 'Primary' variants where HubSpot has one (a contact's, deal's or ticket's one
 *   primary company); for every pair involving a custom object a USER_DEFINED type in
 *   each direction, numbered from USER_DEFINED_TYPE_ID_START in the order of the custom
 *   object definitions and their `associatedObjects`.
 * - Links are symmetric: linking A to B with type t links B to A with t's inverse.
 * - Seeded links are a pure function of (seedValue, pair, record index), like seeded
 *   properties: they are computed for a pair the first time it is read, into compact
 *   arrays (CSR: offsets + targets, both directions), never as objects. A record whose
 *   links change gets its own explicit list, which from then on replaces the seeded one.
 * - Links to archived records are kept but not shown (restoring the record shows them
 *   again). Changing links never touches a record's modification time (HubSpot quirk).
 */
import { notFound, validationError } from './errors.js';
import { singularKey, SCHEMA_DEFINED_AT, type SchemaAssociation } from './custom-objects.js';
import { hashString, mixSeed } from '../shared/prng.js';
import type { ObjectTypeDefinition, ObjectTypeRegistry } from './object-types.js';
import { SEED_FIRST_ID } from './seed.js';

export type AssociationCategory = 'HUBSPOT_DEFINED' | 'USER_DEFINED';

/** One association type, as the v4 API shows it (AssociationSpecWithLabel). */
export interface AssociationType {
  category: AssociationCategory;
  typeId: number;
  /** null for the unlabeled default type; 'Primary' for the primary one. */
  label: string | null;
}

/** One associated record and the types linking to it (store API). */
export interface AssociationTarget {
  toId: string;
  associationTypes: AssociationType[];
}

/** The association types from one object type to another (one direction). */
export interface AssociationPair {
  readonly from: ObjectTypeDefinition;
  readonly to: ObjectTypeDefinition;
  /** The unlabeled type a default association creates. */
  readonly defaultType: AssociationType;
  /** The 'Primary' type, on pairs that have one. */
  readonly primaryType?: AssociationType;
  /** True when a `from` record has at most one primary `to` record (contact -> company). */
  readonly ownsPrimary: boolean;
  /** Every type of the pair, by type id. */
  readonly types: readonly AssociationType[];
  /** The same association seen from the other side. */
  readonly inverse: AssociationPair;
}

/** The standard pairs: from, to, default type id from->to and to->from, primary ids. */
const HUBSPOT_DEFINED_PAIRS: readonly [from: string, to: string, typeId: number, inverseTypeId: number, primary?: readonly [number, number]][] = [
  ['contacts', 'companies', 279, 280, [1, 2]],
  ['deals', 'contacts', 3, 4],
  ['deals', 'companies', 341, 342, [5, 6]],
  ['tickets', 'contacts', 16, 15],
  ['tickets', 'companies', 339, 340, [26, 25]],
  ['deals', 'tickets', 27, 28],
  ['deals', 'line_items', 19, 20],
];

/** The first type id handed out to custom object pairs (USER_DEFINED). */
export const USER_DEFINED_TYPE_ID_START = 10_001;

/** The association types of one portal. */
export class AssociationDefinitions {
  private readonly pairs = new Map<string, AssociationPair>();
  private readonly byTypeId = new Map<number, AssociationPair>();

  constructor(registry: ObjectTypeRegistry) {
    const find = (name: string) => registry.find(name) as ObjectTypeDefinition;
    for (const [from, to, typeId, inverseTypeId, primary] of HUBSPOT_DEFINED_PAIRS) this.define(find(from), find(to), 'HUBSPOT_DEFINED', typeId, inverseTypeId, primary);
    let next = USER_DEFINED_TYPE_ID_START;
    for (const type of registry.custom) {
      for (const name of type.custom?.associatedObjects ?? []) {
        const other = registry.find(name);
        if (!other) throw new Error(`customObjects: ${type.name}.associatedObjects: unknown object type "${name}"`);
        if (other === type) throw new Error(`customObjects: ${type.name}.associatedObjects: associating ${type.name} with itself is not supported`);
        if (this.pair(type, other)) continue;
        this.define(type, other, 'USER_DEFINED', next, next + 1);
        next += 2;
      }
    }
  }

  private define(from: ObjectTypeDefinition, to: ObjectTypeDefinition, category: AssociationCategory, typeId: number, inverseTypeId: number, primary?: readonly [number, number]): void {
    const make = (a: ObjectTypeDefinition, b: ObjectTypeDefinition, id: number, primaryId: number | undefined, ownsPrimary: boolean) => {
      const defaultType: AssociationType = { category, typeId: id, label: null };
      const primaryType: AssociationType | undefined = primaryId === undefined ? undefined : { category, typeId: primaryId, label: 'Primary' };
      const types = (primaryType ? [defaultType, primaryType] : [defaultType]).sort((x, y) => x.typeId - y.typeId);
      return { from: a, to: b, defaultType, primaryType, ownsPrimary, types, inverse: undefined as unknown as AssociationPair };
    };
    const forward = make(from, to, typeId, primary?.[0], true);
    const backward = make(to, from, inverseTypeId, primary?.[1], false);
    forward.inverse = backward;
    backward.inverse = forward;
    for (const pair of [forward, backward]) {
      this.pairs.set(pairKey(pair.from, pair.to), pair);
      for (const type of pair.types) this.byTypeId.set(type.typeId, pair);
    }
  }

  /** The pair from -> to, if the two types can be associated. */
  pair(from: ObjectTypeDefinition, to: ObjectTypeDefinition): AssociationPair | undefined {
    return this.pairs.get(pairKey(from, to));
  }

  /** The pair a type id belongs to (in its direction). */
  pairOfType(typeId: number): AssociationPair | undefined {
    return this.byTypeId.get(typeId);
  }

  /** Every pair, both directions. */
  all(): AssociationPair[] {
    return [...this.pairs.values()];
  }

  /** What the schemas API lists as a custom object's associations: one per pair, from the object. */
  schemaAssociations(type: ObjectTypeDefinition): SchemaAssociation[] {
    return this.all()
      .filter((pair) => pair.from === type)
      .map((pair) => ({
        id: String(pair.defaultType.typeId),
        fromObjectTypeId: pair.from.objectTypeId,
        toObjectTypeId: pair.to.objectTypeId,
        name: `${singularKey(pair.from)}_to_${singularKey(pair.to)}`.toUpperCase(),
        createdAt: SCHEMA_DEFINED_AT,
        updatedAt: SCHEMA_DEFINED_AT,
      }));
  }
}

function pairKey(from: ObjectTypeDefinition, to: ObjectTypeDefinition): string {
  return `${from.name}\u0000${to.name}`;
}

/** The type on the other side of a type of `pair`: default <-> default, primary <-> primary. */
export function inverseType(pair: AssociationPair, typeId: number): number {
  if (pair.primaryType && typeId === pair.primaryType.typeId) return (pair.inverse.primaryType as AssociationType).typeId;
  return pair.inverse.defaultType.typeId;
}

// ---- seeded links ------------------------------------------------------------------------------

/** What the store needs of a table: its seeded count and which records are active. */
export interface LinkedTable {
  readonly seedCount: number;
  isActive(id: number): boolean;
}

/** Seeded links of one pair (canonical direction): who links to whom, computed lazily. */
interface Relation {
  readonly pair: AssociationPair;
  /** Types of every seeded link, from -> to and to -> from. */
  readonly typeIds: readonly number[];
  readonly inverseTypeIds: readonly number[];
  readonly fromCount: number;
  readonly toCount: number;
  /** Target indices of from-record `index`, distinct, ascending. */
  readonly pick: (index: number) => number[];
  csr?: { forwardOffsets: Int32Array; forwardTargets: Int32Array; inverseOffsets: Int32Array; inverseTargets: Int32Array };
}

const CONTACT_COMPANY_RATE = 0.85;
const DEAL_COMPANY_FROM_CONTACT_RATE = 0.9;
const DEAL_COMPANY_OTHERWISE_RATE = 0.5;

function buildCsr(relation: Relation): NonNullable<Relation['csr']> {
  const { fromCount, toCount } = relation;
  const forwardOffsets = new Int32Array(fromCount + 1);
  const chunks: number[] = [];
  for (let index = 0; index < fromCount; index++) {
    for (const target of relation.pick(index)) chunks.push(target);
    forwardOffsets[index + 1] = chunks.length;
  }
  const forwardTargets = Int32Array.from(chunks);
  const inverseOffsets = new Int32Array(toCount + 1);
  for (const target of forwardTargets) (inverseOffsets[target + 1] as number)++;
  for (let k = 0; k < toCount; k++) inverseOffsets[k + 1] = (inverseOffsets[k + 1] as number) + (inverseOffsets[k] as number);
  const fill = inverseOffsets.slice(0, toCount);
  const inverseTargets = new Int32Array(forwardTargets.length);
  // Sources in ascending order, so each target's list comes out sorted.
  for (let index = 0; index < fromCount; index++) {
    for (let k = forwardOffsets[index] as number; k < (forwardOffsets[index + 1] as number); k++) {
      const target = forwardTargets[k] as number;
      inverseTargets[(fill[target] as number)++] = index;
    }
  }
  return { forwardOffsets, forwardTargets, inverseOffsets, inverseTargets };
}

/**
 * The seeded relations of a store whose both sides are seeded: each contact with 0-1
 * company (85%, as primary), each deal with 1-3 contacts and 0-1 company (usually its
 * first contact's, as primary), each appointment with 1 contact, each line item with
 * 1 deal.
 */
function seededRelations(definitions: AssociationDefinitions, registry: ObjectTypeRegistry, counts: (type: ObjectTypeDefinition) => number, seedValue: number): Relation[] {
  const unit = (salt: number, index: number, k: number) => mixSeed(seedValue, salt, index, k) / 4294967296;
  const type = (name: string) => registry.find(name);
  const count = (name: string) => {
    const found = type(name);
    return found ? counts(found) : 0;
  };
  const contacts = count('contacts');
  const companies = count('companies');
  const deals = count('deals');

  const contactSalt = hashString('associations:contacts-companies');
  const contactCompany = (index: number): number => (unit(contactSalt, index, 0) < CONTACT_COMPANY_RATE ? Math.floor(unit(contactSalt, index, 1) * companies) : -1);

  const dealContactSalt = hashString('associations:deals-contacts');
  /** A deal's contacts, in the order picked (the first one is its main contact). */
  const dealContacts = (index: number): number[] => {
    const wanted = Math.min(contacts, 1 + Math.floor(unit(dealContactSalt, index, 0) * 3));
    const picked: number[] = [];
    for (let k = 1; picked.length < wanted && k <= 4 * wanted; k++) {
      const contact = Math.floor(unit(dealContactSalt, index, k) * contacts);
      if (!picked.includes(contact)) picked.push(contact);
    }
    return picked;
  };

  const dealCompanySalt = hashString('associations:deals-companies');
  const dealCompany = (index: number): number => {
    if (contacts > 0) {
      const company = contactCompany(dealContacts(index)[0] as number);
      if (company >= 0 && unit(dealCompanySalt, index, 0) < DEAL_COMPANY_FROM_CONTACT_RATE) return company;
    }
    return unit(dealCompanySalt, index, 1) < DEAL_COMPANY_OTHERWISE_RATE ? Math.floor(unit(dealCompanySalt, index, 2) * companies) : -1;
  };

  const one = (name: string, targets: number) => {
    const salt = hashString(`associations:${name}`);
    return (index: number) => [Math.floor(unit(salt, index, 0) * targets)];
  };
  const optionalOne = (choose: (index: number) => number) => (index: number) => {
    const target = choose(index);
    return target >= 0 ? [target] : [];
  };
  const specs: [from: string, to: string, primary: boolean, pick: (index: number) => number[]][] = [
    ['contacts', 'companies', true, optionalOne(contactCompany)],
    ['deals', 'contacts', false, (index) => dealContacts(index).sort((a, b) => a - b)],
    ['deals', 'companies', true, optionalOne(dealCompany)],
    ['appointments', 'contacts', false, one('appointments-contacts', contacts)],
    ['line_items', 'deals', false, one('line_items-deals', deals)],
  ];
  const relations: Relation[] = [];
  for (const [from, to, primary, pick] of specs) {
    const fromType = type(from);
    const toType = type(to);
    // 'appointments' is a custom object a portal may not have.
    if (!fromType || !toType) continue;
    const pair = definitions.pair(fromType, toType);
    const fromCount = counts(fromType);
    const toCount = counts(toType);
    if (!pair || fromCount === 0 || toCount === 0) continue;
    const typeIds = primary && pair.primaryType ? [pair.defaultType.typeId, pair.primaryType.typeId].sort((a, b) => a - b) : [pair.defaultType.typeId];
    relations.push({ pair, typeIds, inverseTypeIds: typeIds.map((typeId) => inverseType(pair, typeId)).sort((a, b) => a - b), fromCount, toCount, pick });
  }
  return relations;
}

// ---- the links -----------------------------------------------------------------------------------

/** A record's links in one direction: target id -> type ids (ascending). */
type Row = Map<number, number[]>;

/** One link as the store reads it. */
export interface Link {
  toId: number;
  typeIds: readonly number[];
}

export class AssociationStore {
  /** Explicit link lists of records whose links changed, per direction. */
  private readonly rows = new Map<AssociationPair, Map<number, Row>>();
  private readonly relations = new Map<AssociationPair, { relation: Relation; forward: boolean }>();

  constructor(
    readonly definitions: AssociationDefinitions,
    registry: ObjectTypeRegistry,
    private readonly table: (type: ObjectTypeDefinition) => LinkedTable,
    seedValue: number,
  ) {
    for (const relation of seededRelations(definitions, registry, (type) => table(type).seedCount, seedValue)) {
      this.relations.set(relation.pair, { relation, forward: true });
      this.relations.set(relation.pair.inverse, { relation, forward: false });
    }
  }

  /** The seeded links of a record that has no explicit list: [target ids, type ids]. */
  private seeded(pair: AssociationPair, fromId: number): [ids: number[], typeIds: readonly number[]] | undefined {
    const entry = this.relations.get(pair);
    if (!entry) return undefined;
    const { relation, forward } = entry;
    const index = fromId - SEED_FIRST_ID;
    if (index < 0 || index >= (forward ? relation.fromCount : relation.toCount)) return undefined;
    relation.csr ??= buildCsr(relation);
    const offsets = forward ? relation.csr.forwardOffsets : relation.csr.inverseOffsets;
    const targets = forward ? relation.csr.forwardTargets : relation.csr.inverseTargets;
    const ids: number[] = [];
    for (let k = offsets[index] as number; k < (offsets[index + 1] as number); k++) ids.push(SEED_FIRST_ID + (targets[k] as number));
    return [ids, forward ? relation.typeIds : relation.inverseTypeIds];
  }

  /** Every link of a record, archived targets included, by target id. */
  private links(pair: AssociationPair, fromId: number): Link[] {
    const row = this.rows.get(pair)?.get(fromId);
    if (row) return [...row].map(([toId, typeIds]) => ({ toId, typeIds })).sort((a, b) => a.toId - b.toId);
    const seeded = this.seeded(pair, fromId);
    if (!seeded) return [];
    const [ids, typeIds] = seeded;
    return ids.map((toId) => ({ toId, typeIds }));
  }

  /** The links of a record to active records, by target id (empty for an archived or unknown record). */
  list(pair: AssociationPair, fromId: number): Link[] {
    if (!this.table(pair.from).isActive(fromId)) return [];
    const to = this.table(pair.to);
    return this.links(pair, fromId).filter((link) => to.isActive(link.toId));
  }

  /** The type ids linking two records (empty when they are not linked). */
  typesBetween(pair: AssociationPair, fromId: number, toId: number): readonly number[] {
    const row = this.rows.get(pair)?.get(fromId);
    if (row) return row.get(toId) ?? [];
    return this.links(pair, fromId).find((link) => link.toId === toId)?.typeIds ?? [];
  }

  /** A record's explicit link list, created from its seeded links on first change. */
  private row(pair: AssociationPair, fromId: number): Row {
    let rows = this.rows.get(pair);
    if (!rows) this.rows.set(pair, (rows = new Map()));
    let row = rows.get(fromId);
    if (!row) {
      row = new Map(this.links(pair, fromId).map((link) => [link.toId, [...link.typeIds]]));
      rows.set(fromId, row);
    }
    return row;
  }

  private addType(pair: AssociationPair, fromId: number, toId: number, typeId: number): void {
    for (const [p, a, b, t] of [
      [pair, fromId, toId, typeId],
      [pair.inverse, toId, fromId, inverseType(pair, typeId)],
    ] as const) {
      const row = this.row(p, a);
      const types = row.get(b) ?? [];
      if (!types.includes(t)) row.set(b, [...types, t].sort((x, y) => x - y));
    }
  }

  private removeType(pair: AssociationPair, fromId: number, toId: number, typeId: number | undefined): boolean {
    let changed = false;
    for (const [p, a, b, t] of [
      [pair, fromId, toId, typeId],
      [pair.inverse, toId, fromId, typeId === undefined ? undefined : inverseType(pair, typeId)],
    ] as const) {
      if (this.typesBetween(p, a, b).length === 0) continue;
      const row = this.row(p, a);
      const types = row.get(b) ?? [];
      const left = t === undefined ? [] : types.filter((type) => type !== t);
      if (left.length === types.length) continue;
      changed = true;
      if (left.length === 0) row.delete(b);
      else row.set(b, left);
    }
    return changed;
  }

  private assertActive(type: ObjectTypeDefinition, id: number): void {
    if (!this.table(type).isActive(id)) throw notFound(`No ${singularKey(type)} with id ${id} exists.`);
  }

  /**
   * Links two active records with `typeId` (default: the pair's unlabeled type), and the
   * other way round with the inverse type. A labeled type comes with the unlabeled one.
   * A default association is never made primary; setting the primary type moves the
   * owner's (contact's, deal's or ticket's) primary away from its previous company.
   * Returns the type ids now linking from -> to.
   */
  associate(pair: AssociationPair, fromId: number, toId: number, typeId?: number): readonly number[] {
    if (typeId !== undefined && !pair.types.some((type) => type.typeId === typeId)) {
      throw validationError(`Association type ${typeId} is not valid from ${pair.from.name} to ${pair.to.name} (valid: ${pair.types.map((type) => type.typeId).join(', ')}).`);
    }
    this.assertActive(pair.from, fromId);
    this.assertActive(pair.to, toId);
    const add = new Set<number>([pair.defaultType.typeId]);
    if (typeId !== undefined) add.add(typeId);
    if (pair.primaryType && typeId === pair.primaryType.typeId) {
      // The owner side holds the one-primary rule: contact/deal/ticket -> company.
      const [ownerPair, ownerId, targetId] = pair.ownsPrimary ? [pair, fromId, toId] : [pair.inverse, toId, fromId];
      const ownerPrimary = (ownerPair.primaryType as AssociationType).typeId;
      for (const link of this.links(ownerPair, ownerId)) {
        if (link.toId !== targetId && link.typeIds.includes(ownerPrimary)) this.removeType(ownerPair, ownerId, link.toId, ownerPrimary);
      }
    }
    for (const type of add) this.addType(pair, fromId, toId, type);
    return this.typesBetween(pair, fromId, toId);
  }

  /**
   * Removes the link of type `typeId`, or (without one, or for the unlabeled type) every
   * link between the two records, both ways. True when something was removed.
   */
  unassociate(pair: AssociationPair, fromId: number, toId: number, typeId?: number): boolean {
    if (typeId === undefined || typeId === pair.defaultType.typeId) return this.removeType(pair, fromId, toId, undefined);
    return this.removeType(pair, fromId, toId, typeId);
  }
}

/** The AssociationType objects of type ids of a pair. */
export function typesOf(pair: AssociationPair, typeIds: readonly number[]): AssociationType[] {
  return typeIds.map((typeId) => ({ ...(pair.types.find((type) => type.typeId === typeId) as AssociationType) }));
}
