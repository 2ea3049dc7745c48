import type { ObjectMapping } from '../../config/load.js';
import { CRM_NAMES, type SourceName } from '../../config/sources.js';
import type { TwoWayMapping } from '../../config/two-way.js';
import type { Store } from '../../db/database.js';
import type { LinkRepository, LinkRow } from '../../db/link-repository.js';
import { readMatchKeys, type LocalRecord, type LocalRecords } from '../../db/local-records.js';
import type { NewWrite, Outbox } from '../../db/outbox.js';
import type { Logger } from '../../log.js';
import type { RecordShape } from '../../records.js';
import { linkId } from '../../processors/link-id.js';
import { editedSinceAgreed, planCreate, planPair, type PairInput, type PairPlan } from '../../processors/pair-plan.js';
import { keyedRecords, matchNames, pairRecords, type PairingDecision } from '../../processors/pairing.js';

export interface PlanContext {
  store: Store;
  object: string;
  label: string;
  twoWay: TwoWayMapping;
  mappings: Record<SourceName, ObjectMapping>;
  shapes: Record<SourceName, RecordShape>;
  links: LinkRepository;
  outbox: Outbox;
  local: Record<SourceName, LocalRecords>;
  runId: number;
  log: Logger;
  /** --force-overwrite: every linked pair merged as at a first pairing. */
  force: boolean;
  /** When HubSpot properties last changed, for the records asked (most_recent needs them). */
  changeTimes?: (ids: string[], properties: string[]) => Promise<Map<string, Record<string, string>>>;
}

export interface PlanTally {
  pairs: number;
  linked: number;
  unmatched: number;
  conflictsOpened: number;
  /** Values that could not be written (an option with no counterpart): reported, nothing written. */
  errors: number;
  /** Pairs one side of which is deleted and the other kept (on_delete: ignore, or edited since). */
  keptAfterDeletion: number;
}

export const emptyPlanTally = (): PlanTally => ({ pairs: 0, linked: 0, unmatched: 0, conflictsOpened: 0, errors: 0, keptAfterDeletion: 0 });

/**
 * Pairs are merged this many at a time: their records and states loaded together, their plans
 * stored in one transaction. Link ids are random, so each transaction touches pages all over
 * field_state: a few large transactions write far less than many small ones (500 pairs a
 * transaction took four times as long to store as 5,000).
 */
const PAIR_CHUNK = 5000;

/** Pairs the records without a link: new links by match key, and twins to create. Returns the links to merge. */
export function pairUnlinked(context: PlanContext, unlinkedIds: Record<SourceName, string[]>, tally: PlanTally): LinkRow[] {
  if (unlinkedIds.hubspot.length === 0 && unlinkedIds.dynamics.length === 0) return [];
  const { twoWay, local, links } = context;
  const { keys, index } = readMatchKeys(local, twoWay, context.shapes);
  // Deleted records have no match key: they are neither paired nor given twins.
  const unlinked = keyedRecords(keys, unlinkedIds);
  const linked = { hubspot: links.linkedIds('hubspot'), dynamics: links.linkedIds('dynamics') };
  const decisions = pairRecords(unlinked, index, linked, twoWay);
  const sources = {
    hubspot: local.hubspot.get(decisions.flatMap((d) => (d.kind === 'create' && d.from === 'hubspot' ? [d.id] : []))),
    dynamics: local.dynamics.get(decisions.flatMap((d) => (d.kind === 'create' && d.from === 'dynamics' ? [d.id] : []))),
  };
  const merged: LinkRow[] = [];
  context.store.sqlite.transaction(() => {
    for (const decision of decisions) applyPairing(context, decision, sources, merged, tally);
  })();
  return merged;
}

function applyPairing(context: PlanContext, decision: PairingDecision, sources: Record<SourceName, Map<string, LocalRecord>>, merged: LinkRow[], tally: PlanTally): void {
  const { links, object, runId } = context;
  if (decision.kind === 'unmatched') {
    tally.unmatched++;
    context.log.debug(`${context.label}: ${CRM_NAMES[decision.side]} ${decision.id} not linked: ${decision.reason}`);
    return;
  }
  if (decision.kind === 'link') {
    merged.push(links.insert({ id: linkId('hubspot', object, decision.hubspot), hubspotId: decision.hubspot, dynamicsId: decision.dynamics, matchedBy: 'match_key', matchKey: decision.key, runId }));
    tally.linked++;
    return;
  }
  const record = sources[decision.from].get(decision.id);
  if (!record) return;
  const to: SourceName = decision.from === 'hubspot' ? 'dynamics' : 'hubspot';
  const id = linkId(decision.from, object, decision.id);
  links.insert({
    id,
    hubspotId: decision.from === 'hubspot' ? decision.id : null,
    dynamicsId: decision.from === 'dynamics' ? decision.id : id,
    matchedBy: to === 'hubspot' ? 'created_in_hubspot' : 'created_in_dynamics',
    matchKey: decision.key,
    runId,
  });
  const { write, errors } = planCreate(context.twoWay, decision.from, record);
  report(context, errors, tally);
  const matchProperty = context.twoWay.match[to].property;
  write.properties[matchProperty] ??= decision.key;
  context.outbox.add({
    runId,
    linkId: id,
    crm: to,
    operation: 'create',
    recordId: to === 'dynamics' ? id : null,
    properties: write.properties,
    agreed: write.agreed,
    previous: {},
    etag: null,
    idProperty: context.twoWay.match[to].unique ? matchProperty : null,
    matchKey: decision.key,
  });
}

/**
 * Merges linked pairs field by field and stores what they call for: field states agreed,
 * conflicts opened or settled, and writes in the outbox. `fresh` replaces the local copy of
 * records read again (after a write found them changed).
 */
export async function mergePairs(context: PlanContext, pairs: LinkRow[], tally: PlanTally, fresh?: Map<string, LocalRecord>): Promise<void> {
  const resolutions = context.links.resolutions();
  for (let start = 0; start < pairs.length; start += PAIR_CHUNK) {
    const chunk = pairs.slice(start, start + PAIR_CHUNK).filter((link) => link.hubspotId !== null && link.dynamicsId !== null);
    const hubspot = context.local.hubspot.get(chunk.map((link) => link.hubspotId!));
    const dynamics = context.local.dynamics.get(chunk.map((link) => link.dynamicsId!));
    for (const [id, record] of fresh ?? []) dynamics.set(id, record);
    const states = context.links.fieldStates(chunk.map((link) => link.id));
    const open = context.links.openConflicts(chunk.map((link) => link.id));
    const plans: PlannedPair[] = [];
    for (const link of chunk) {
      const records = { hubspot: hubspot.get(link.hubspotId!), dynamics: dynamics.get(link.dynamicsId!) };
      // A twin on its way, or not yet read back: nothing to merge yet.
      if (!records.hubspot || !records.dynamics) continue;
      const input: PlannedPair['input'] = {
        hubspot: records.hubspot,
        dynamics: records.dynamics,
        base: states.get(link.id) ?? new Map(),
        resolutions: resolutions.get(link.id),
        openConflicts: open.get(link.id),
        ignoreBase: context.force,
      };
      tally.pairs++;
      const deleted = input.hubspot.deleted || input.dynamics.deleted;
      plans.push({ link, input, plan: deleted ? 'deleted' : planPair(context.twoWay, input) });
    }
    await addChangeTimes(context, plans);
    context.store.sqlite.transaction(() => {
      for (const { link, input, plan } of plans) {
        if (plan === 'deleted') planDeletion(context, link, input, tally);
        else storePlan(context, link, plan, input.dynamics, tally);
      }
    })();
  }
}

/** A linked pair of one chunk: what it is merged from (the field state loaded with the chunk), and its plan. */
interface PlannedPair {
  link: LinkRow;
  input: PairInput & Record<SourceName, LocalRecord>;
  plan: PairPlan | 'deleted';
}

/** Pairs whose most_recent conflicts were settled, or manual ones opened, without HubSpot's change times are planned again with them. */
async function addChangeTimes(context: PlanContext, plans: PlannedPair[]): Promise<void> {
  const waiting = plans.filter((entry) => entry.plan !== 'deleted' && entry.plan.needsTimes);
  if (waiting.length === 0 || !context.changeTimes) return;
  // A manual conflict keeps when each side changed, for the person who settles it.
  const properties = context.twoWay.fields.filter((field) => field.conflict === 'most_recent' || field.conflict === 'manual').map((field) => field.hubspot.property);
  const times = await context.changeTimes(waiting.map((entry) => entry.link.hubspotId!), properties);
  for (const entry of waiting) entry.plan = planPair(context.twoWay, { ...entry.input, hubspotTimes: times.get(entry.link.hubspotId!) ?? {} });
}

function storePlan(context: PlanContext, link: LinkRow, plan: PairPlan, dynamicsRecord: LocalRecord, tally: PlanTally): void {
  const { links, runId } = context;
  links.saveAgreed(link.id, plan.agreed, runId);
  for (const conflict of plan.opened) if (links.openConflict({ linkId: link.id, ...conflict }, runId)) tally.conflictsOpened++;
  for (const field of plan.settled) links.settleConflict(link.id, field, runId);
  for (const conflictId of plan.applied) links.closeConflict(conflictId, runId);
  report(context, plan.errors.map((error) => `${link.hubspotId} / ${link.dynamicsId}: ${error}`), tally);
  for (const crm of ['hubspot', 'dynamics'] as const) {
    const write = plan.writes[crm];
    if (!write) continue;
    const recordId = crm === 'hubspot' ? link.hubspotId : link.dynamicsId;
    context.outbox.add({ ...updateOf(context, link, crm, recordId), ...write, etag: crm === 'dynamics' ? (dynamicsRecord.etag ?? null) : null });
  }
}

function updateOf(context: PlanContext, link: LinkRow, crm: SourceName, recordId: string | null): Omit<NewWrite, 'properties' | 'agreed' | 'previous' | 'etag'> {
  return { runId: context.runId, linkId: link.id, crm, operation: 'update', recordId, idProperty: null, matchKey: null };
}

/**
 * One side of a pair is deleted. `on_delete: propagate` deletes the other (HubSpot archives
 * it) unless it was edited after the pair last agreed, which is reported instead; `ignore`
 * keeps it. Either way a deleted record is never brought back.
 */
function planDeletion(context: PlanContext, link: LinkRow, records: PlannedPair['input'], tally: PlanTally): void {
  if (records.hubspot.deleted && records.dynamics.deleted) return;
  const survivor: SourceName = records.hubspot.deleted ? 'dynamics' : 'hubspot';
  const gone = survivor === 'hubspot' ? 'dynamics' : 'hubspot';
  const recordId = survivor === 'hubspot' ? link.hubspotId : link.dynamicsId;
  if (context.twoWay.onDelete === 'propagate' && !editedSinceAgreed(context.twoWay, survivor, records[survivor], records.base)) {
    // A Dataverse row is deleted only as it was read (If-Match): an edit since makes it stale, and it is merged again.
    const etag = survivor === 'dynamics' ? (records.dynamics.etag ?? null) : null;
    context.outbox.add({ ...updateOf(context, link, survivor, recordId), operation: 'delete', properties: {}, agreed: {}, previous: {}, etag });
    return;
  }
  tally.keptAfterDeletion++;
  const why = context.twoWay.onDelete === 'propagate' ? 'edited there since the pair last agreed' : 'on_delete: ignore';
  context.log.info(`${context.label}: ${CRM_NAMES[gone]} record of pair ${link.id} is deleted; ${CRM_NAMES[survivor]} ${recordId} kept (${why})`);
}

function report(context: PlanContext, errors: string[], tally: PlanTally): void {
  for (const error of errors) context.log.warn(`${context.label}: ${error}; not written`);
  tally.errors += errors.length;
}
