/**
 * Puts the shared seed (shared-seed.ts) into an emulator's store, beside the records it
 * seeded of its own: HubSpot contacts and companies after every id in use, Dataverse
 * contacts and accounts under the seed's GUIDs.
 */
import { StoredRow, type DynamicsStore, type Table } from '../dynamics/store.js';
import { parseWriteValue } from '../dynamics/values.js';
import type { EntitySetDefinition } from '../dynamics/table-definitions.js';
import type { HubSpotStore } from '../hubspot/store.js';
import { toIso } from './iso-time.js';
import { Rng, hashString, mixSeed } from './prng.js';
import { SHARED_MODIFIED_TO, validateSharedSeed, type SharedDynamicsRow, type SharedHubSpotRecord, type SharedSeed, type SharedSeedSpec } from './shared-seed.js';

/** The shared records' times are in the past only for a clock after the last of them. */
function assertClockAfterSeed(now: number): void {
  if (now <= SHARED_MODIFIED_TO) {
    throw new Error(`sharedSeed: the emulator's clock (${toIso(now)}) must be after the shared records' last modification (${toIso(SHARED_MODIFIED_TO)})`);
  }
}

/** HubSpot ids of the stored records, by the index of the person or company. */
export interface SharedHubSpotIds {
  contacts: Map<number, string>;
  companies: Map<number, string>;
}

/**
 * Stores the HubSpot side: companies, then contacts, each with ids after every id in use,
 * in creation order (as HubSpot hands ids out; the shared records were created after the
 * seeded ones), and each contact associated with its company when HubSpot has it.
 */
export function putSharedSeedInHubSpot(store: HubSpotStore, seed: SharedSeed, now: number): SharedHubSpotIds {
  assertClockAfterSeed(now);
  const companies = putInCreationOrder(store, 'companies', seed.companies);
  const contacts = putInCreationOrder(store, 'contacts', seed.people);
  for (const person of seed.people) {
    const contactId = contacts.get(person.index);
    const companyId = person.company === undefined ? undefined : companies.get(person.company);
    if (contactId !== undefined && companyId !== undefined) store.associate('contacts', contactId, 'companies', companyId);
  }
  return { contacts, companies };
}

function putInCreationOrder(store: HubSpotStore, type: string, records: readonly { index: number; hubspot?: SharedHubSpotRecord }[]): Map<number, string> {
  const table = store.table(type);
  let nextId = table.size === 0 ? table.seedFirstId : table.idAt(table.size - 1) + 1;
  const present = records.filter((record): record is { index: number; hubspot: SharedHubSpotRecord } => record.hubspot !== undefined);
  present.sort((a, b) => a.hubspot.createdMs - b.hubspot.createdMs || a.index - b.index);
  const ids = new Map<number, string>();
  for (const { index, hubspot } of present) {
    const id = String(nextId++);
    table.put({ id, properties: hubspot.properties, createdAt: toIso(hubspot.createdMs), updatedAt: toIso(hubspot.modifiedMs) });
    ids.set(index, id);
  }
  return ids;
}

/** The column each Dataverse table needs for its rows to match HubSpot's. */
const MATCH_COLUMNS = { contacts: 'emailaddress1', accounts: 'name' } as const;

/**
 * Checks that the served tables can hold the shared seed: a contacts table with
 * emailaddress1 for people, an accounts table with name for companies (other columns the
 * seed fills are left out of a table that lacks them). Throws an Error saying what is missing.
 */
export function checkSharedSeedTables(spec: SharedSeedSpec, entitySets: readonly EntitySetDefinition[]): void {
  const counts = validateSharedSeed(spec);
  const needs: [keyof typeof MATCH_COLUMNS, number][] = [
    ['contacts', counts.contacts],
    ['accounts', counts.companies],
  ];
  for (const [entitySet, count] of needs) {
    const definition = entitySets.find((table) => table.entitySet === entitySet);
    const column = MATCH_COLUMNS[entitySet];
    if (count > 0 && !Object.hasOwn(definition?.attributes ?? {}, column)) {
      throw new Error(`the ${entitySet} table has no ${column} column to match the shared ${entitySet === 'contacts' ? 'people' : 'companies'} by`);
    }
  }
}

/**
 * Stores the Dataverse side. Rows are written in modification order, so their row
 * versions follow it as the seeded rows' do (all shared rows were modified after them);
 * each was created and last modified by one of the organisation's people, never by the
 * application user crmsync signs in as.
 */
export function putSharedSeedInDynamics(store: DynamicsStore, seed: SharedSeed, now: number): void {
  assertClockAfterSeed(now);
  checkSharedSeedTables(
    { contacts: seed.people.length, companies: seed.companies.length },
    store.entitySets().map((entitySet) => store.definition(entitySet)),
  );
  const rows: { entitySet: string; row: SharedDynamicsRow }[] = [];
  for (const company of seed.companies) if (company.dynamics) rows.push({ entitySet: 'accounts', row: company.dynamics });
  for (const person of seed.people) for (const row of person.dynamics) rows.push({ entitySet: 'contacts', row });
  rows.sort((a, b) => a.row.modifiedMs - b.row.modifiedMs);
  const users = store.organisation.ids('systemuser').filter((id) => id !== store.organisation.userId);
  const rng = new Rng(mixSeed(store.seedValue, hashString('shared-seed:users')));
  for (const { entitySet, row } of rows) {
    const createdBy = rng.pick(users);
    const modifiedBy = row.modifiedMs === row.createdMs ? createdBy : rng.pick(users);
    const table = store.table(entitySet);
    const model = table.model;
    const assigned = new Map<number, unknown>();
    for (const [name, value] of Object.entries(row.values)) {
      const column = model.byName.get(name);
      if (column) assigned.set(column.index, parseWriteValue(model, column, value));
    }
    const owner = model.byName.get('_ownerid_value');
    if (owner) assigned.set(owner.index, createdBy);
    const stored = store.insertRow(table, row.id, assigned, row.modifiedMs);
    stampAuthors(table, stored, row.createdMs, createdBy, modifiedBy);
  }
}

/**
 * A write through the store is the application user's, at one instant: the row's creation
 * time and authors are set afterwards, without a new row version.
 */
function stampAuthors(table: Table, stored: StoredRow, createdMs: number, createdBy: string, modifiedBy: string): void {
  const values = [...stored.values];
  values[table.model.createdon.index] = createdMs;
  values[table.model.createdby.index] = createdBy;
  values[table.model.modifiedby.index] = modifiedBy;
  table.rows.set(stored.id, new StoredRow(stored.id, values, stored.version, stored.order));
  table.generation++;
}
