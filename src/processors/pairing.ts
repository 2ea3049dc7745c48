import type { TwoWayMapping } from '../config/two-way.js';
import type { CreateTarget } from '../config/two-way-schema.js';
import { CRM_NAMES, SOURCES, type SourceName, otherSource } from '../config/sources.js';

/** A record without a link, by its side, id and match key (null: it has no match value). */
export interface Unlinked {
  side: SourceName;
  id: string;
  key: string | null;
}

/** Every record not deleted, by match key, on each side. */
export type MatchIndex = Map<string, Record<SourceName, string[]>>;

export type PairingDecision =
  | { kind: 'link'; hubspot: string; dynamics: string; key: string }
  | { kind: 'create'; from: SourceName; id: string; key: string }
  | { kind: 'unmatched'; side: SourceName; id: string; reason: string };

const other = otherSource;

/** Whether `create` lets a record of `from` get a twin made on the other side. */
export function createsFrom(create: CreateTarget, from: SourceName): boolean {
  return create === 'both' || create === (from === 'hubspot' ? 'to_dynamics' : 'to_hubspot');
}

/** The property each side is matched on, as reasons name it. */
export function matchNames(twoWay: Pick<TwoWayMapping, 'match'>): Record<SourceName, string> {
  return { hubspot: twoWay.match.hubspot.property, dynamics: twoWay.match.dynamics.property };
}

/** The records of `ids` that are not deleted (those `keys` holds), with their match keys, HubSpot's first. */
export function keyedRecords(keys: Record<SourceName, ReadonlyMap<string, string | null>>, ids: Record<SourceName, Iterable<string>>): Unlinked[] {
  return (['hubspot', 'dynamics'] as const).flatMap((side) => [...ids[side]].filter((id) => keys[side].has(id)).map((id) => ({ side, id, key: keys[side].get(id) ?? null })));
}

export function buildMatchIndex(values: Record<SourceName, { id: string; key: string | null }[]>): MatchIndex {
  const index: MatchIndex = new Map();
  for (const side of ['hubspot', 'dynamics'] as const) {
    for (const { id, key } of values[side]) {
      if (key === null) continue;
      let entry = index.get(key);
      if (!entry) index.set(key, (entry = { hubspot: [], dynamics: [] }));
      entry[side].push(id);
    }
  }
  return index;
}

/**
 * What becomes of each record without a link: paired with the one record of the other side
 * that has its match key (when no other record of its own side has that key too, and that
 * record has no link yet), given a twin when the other side has none, or left unmatched
 * with the reason. Several candidates are never guessed between. A side in `uniqueKeys`
 * holds one record per match key (HubSpot contacts, one per email): records sharing a key
 * get no twin there, since all of them would be written to that one record. Pure.
 */
export function pairRecords(unlinked: Unlinked[], index: MatchIndex, linked: Record<SourceName, ReadonlySet<string>>, twoWay: Pick<TwoWayMapping, 'match' | 'create'>): PairingDecision[] {
  const { create } = twoWay;
  const names = matchNames(twoWay);
  const uniqueKeys = new Set(SOURCES.filter((side) => twoWay.match[side].unique));
  const decisions: PairingDecision[] = [];
  const taken = { hubspot: new Set(linked.hubspot), dynamics: new Set(linked.dynamics) };
  for (const record of unlinked) {
    const { side, id, key } = record;
    if (taken[side].has(id)) continue;
    const decision = pairOne(record, key === null ? undefined : index.get(key), taken, create, names, uniqueKeys);
    if (decision.kind === 'link') {
      taken.hubspot.add(decision.hubspot);
      taken.dynamics.add(decision.dynamics);
    }
    decisions.push(decision);
  }
  return decisions;
}

function pairOne(
  { side, id, key }: Unlinked,
  candidates: Record<SourceName, string[]> | undefined,
  taken: Record<SourceName, Set<string>>,
  create: CreateTarget,
  matchNames: Record<SourceName, string>,
  uniqueKeys: ReadonlySet<SourceName>,
): PairingDecision {
  const there = other(side);
  if (key === null) return { kind: 'unmatched', side, id, reason: `no ${matchNames[side]} to match on` };
  const twins = candidates?.[there] ?? [];
  const mine = candidates?.[side] ?? [];
  if (twins.length === 0) {
    if (mine.length > 1 && uniqueKeys.has(there)) {
      return { kind: 'unmatched', side, id, reason: `ambiguous: ${mine.length} ${CRM_NAMES[side]} records have ${matchNames[side]} "${key}", and ${CRM_NAMES[there]} holds one record per ${matchNames[there]}` };
    }
    if (createsFrom(create, side)) return { kind: 'create', from: side, id, key };
    return { kind: 'unmatched', side, id, reason: `no ${CRM_NAMES[there]} record has ${matchNames[there]} "${key}" (create: ${create})` };
  }
  if (twins.length > 1) return { kind: 'unmatched', side, id, reason: `ambiguous: ${twins.length} ${CRM_NAMES[there]} records have ${matchNames[there]} "${key}" (${twins.slice(0, 3).join(', ')})` };
  if (mine.length > 1) return { kind: 'unmatched', side, id, reason: `ambiguous: ${mine.length} ${CRM_NAMES[side]} records have ${matchNames[side]} "${key}"` };
  if (taken[there].has(twins[0])) return { kind: 'unmatched', side, id, reason: `${CRM_NAMES[there]} record ${twins[0]} with ${matchNames[there]} "${key}" is linked to another record` };
  return side === 'hubspot' ? { kind: 'link', hubspot: id, dynamics: twins[0], key } : { kind: 'link', hubspot: twins[0], dynamics: id, key };
}

/** A record without a link, and what pairing makes of it. */
export interface UnlinkedRecord {
  side: SourceName;
  id: string;
  key: string | null;
  /** unmatched: pairing leaves it so; link: it is paired with `twinId`; create: a twin is made for it on the other side. */
  outcome: 'unmatched' | 'link' | 'create';
  twinId?: string;
  reason: string;
}

/**
 * Every record without a link with what pairing decides for it, in the engine's own terms:
 * why it stays unmatched, or what a two-way run does with it. A run pairs only the records
 * that changed since the previous run merged (`waiting`); the others need --full. Pure.
 */
export function explainUnlinked(
  unlinked: Unlinked[],
  index: MatchIndex,
  linked: Record<SourceName, ReadonlySet<string>>,
  twoWay: Pick<TwoWayMapping, 'match' | 'create'>,
  waiting: Record<SourceName, ReadonlySet<string>>,
): UnlinkedRecord[] {
  const keys = new Map(unlinked.map((record) => [`${record.side}:${record.id}`, record.key]));
  const notYet = (records: [SourceName, string][], does: string) =>
    records.some(([side, id]) => waiting[side].has(id))
      ? `not yet paired: the next two-way run ${does}`
      : `not yet paired: a two-way run with --full ${does} (unchanged since the last two-way run, which pairs only changed records)`;
  const explained: UnlinkedRecord[] = [];
  for (const decision of pairRecords(unlinked, index, linked, twoWay)) {
    if (decision.kind === 'unmatched') {
      explained.push({ side: decision.side, id: decision.id, key: keys.get(`${decision.side}:${decision.id}`) ?? null, outcome: 'unmatched', reason: decision.reason });
    } else if (decision.kind === 'create') {
      const reason = notYet([[decision.from, decision.id]], `creates its twin in ${CRM_NAMES[other(decision.from)]}`);
      explained.push({ side: decision.from, id: decision.id, key: decision.key, outcome: 'create', reason });
    } else {
      const pair: [SourceName, string][] = [['hubspot', decision.hubspot], ['dynamics', decision.dynamics]];
      for (const side of ['hubspot', 'dynamics'] as const) {
        const twinId = side === 'hubspot' ? decision.dynamics : decision.hubspot;
        const reason = notYet(pair, `links it to ${CRM_NAMES[other(side)]} record ${twinId}`);
        explained.push({ side, id: decision[side], key: decision.key, outcome: 'link', twinId, reason });
      }
    }
  }
  // HubSpot's records first, each side in the order given.
  return [...explained.filter((record) => record.side === 'hubspot'), ...explained.filter((record) => record.side === 'dynamics')];
}
