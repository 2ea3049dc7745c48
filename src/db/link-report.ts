import type { SourceName } from '../config/sources.js';
import type { TwoWayMapping } from '../config/two-way.js';
import { explainUnlinked, keyedRecords, type UnlinkedRecord } from '../processors/pairing.js';
import type { RecordShape } from '../records.js';
import type { Store } from './database.js';
import { LinkRepository, type LinkRow } from './link-repository.js';
import { LocalRecords, readMatchKeys } from './local-records.js';
import { Outbox } from './outbox.js';
import { SyncHistoryRepository } from './sync-history.js';

/** A link as `crmsync links` lists it: with the CRM its twin is still being created in, if a create is pending. */
export interface LinkListing extends Omit<LinkRow, 'objectType' | 'runId'> {
  beingCreated: SourceName | null;
}

/** The object's links, oldest first. */
export function listLinks(store: Store, object: string): LinkListing[] {
  const pending = new Outbox(store, object).pendingCreates();
  return new LinkRepository(store, object).all().map(({ objectType: _object, runId: _run, ...link }) => ({ ...link, beingCreated: pending.get(link.id) ?? null }));
}

/**
 * Every record of the object (both CRMs, not deleted) that has no link, with what pairing
 * makes of it: the engine's own match keys, index and decisions, run on the local store.
 */
export function listUnlinked(store: Store, object: string, twoWay: TwoWayMapping, shapes: Record<SourceName, RecordShape>): UnlinkedRecord[] {
  const local = { hubspot: new LocalRecords(store, 'hubspot', object), dynamics: new LocalRecords(store, 'dynamics', object) };
  const links = new LinkRepository(store, object);
  const { keys, index } = readMatchKeys(local, twoWay, shapes);
  const linked = { hubspot: links.linkedIds('hubspot'), dynamics: links.linkedIds('dynamics') };
  const ids = (side: SourceName) => [...keys[side].keys()].filter((id) => !linked[side].has(id));
  const unlinked = keyedRecords(keys, { hubspot: ids('hubspot'), dynamics: ids('dynamics') });
  const cursor = new SyncHistoryRepository(store).mergeCursor(object);
  const waiting = {
    hubspot: new Set(local.hubspot.changedSince(cursor?.hubspot ?? null)),
    dynamics: new Set(local.dynamics.changedSince(cursor?.dynamics ?? null)),
  };
  return explainUnlinked(unlinked, index, linked, twoWay, waiting);
}
