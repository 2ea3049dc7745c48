import { emptyMetrics, type RequestMetrics } from '../clients/http/retry.js';
import { LinkRepository } from '../db/link-repository.js';
import { LocalRecords } from '../db/local-records.js';
import { Outbox } from '../db/outbox.js';
import { HEARTBEAT_MS, SyncHistoryRepository, TWO_WAY_SOURCE, emptyCounts, type RunStatus } from '../db/sync-history.js';
import { driftedFields, pairsPerField, type PairDrift } from '../processors/reconcile.js';
import { emptyPlanTally, mergePairs, type PlanContext } from './two-way/plan-writes.js';

/**
 * What comparing an object's linked pairs needs: its two_way: block and how each CRM's
 * records are shaped; and for queueing their writes, `changeTimes` (asked only then) and
 * the request counters of the HubSpot connection it goes through.
 */
export type PairContext = Pick<PlanContext, 'store' | 'object' | 'twoWay' | 'mappings' | 'shapes' | 'log' | 'changeTimes'> & { metrics?: RequestMetrics };

/** How an object's linked pairs compare, field by field. */
export interface PairReport {
  /** Linked pairs with both records stored and neither deleted. */
  compared: number;
  /**
   * Pairs left out because crmsync wrote to one of their records after the store last read
   * it: the store holds the record as it was before, and the next sync reads the write back.
   */
  unread: number;
  drifted: PairDrift[];
  /** Pairs that differ in each field. */
  fields: Record<string, number>;
  /** Drifted pairs that have writes waiting in the outbox already: the next two-way run sends them. */
  waiting: number;
}

/** What queueing the writes of drifted pairs did: its own sync_history row (two_way, sync mode reconcile). */
export interface PairFix {
  runId: number;
  status: Exclude<RunStatus, 'running'>;
  writesQueued: number;
  /** Pairs with a field left to a person (conflict: manual): open in `crmsync conflicts`. */
  manual: number;
  /** Values with no counterpart on the other side: not written. */
  valueErrors: number;
  error?: string;
}

/** Pairs are read this many at a time, with their field states. */
const PAIR_CHUNK = 5000;

/**
 * Compares every linked pair of the object as the store holds both records, after
 * normalisation and through the same three-way merge a two-way run makes: what it would
 * write, or leave to a person, is the drift. Pairs whose twin is still being created, with
 * a record deleted, or with a write the store has not read back yet are left out. Reads only.
 */
export function comparePairs(context: PairContext): PairReport {
  const { store, object, twoWay } = context;
  const links = new LinkRepository(store, object);
  const local = { hubspot: new LocalRecords(store, 'hubspot', object), dynamics: new LocalRecords(store, 'dynamics', object) };
  const resolutions = links.resolutions();
  const all = links.all().filter((link) => link.hubspotId !== null && link.dynamicsId !== null);
  const outbox = new Outbox(store, object);
  const unread = outbox.writtenSinceRead();
  const report: PairReport = { compared: 0, unread: 0, drifted: [], fields: {}, waiting: 0 };
  for (let start = 0; start < all.length; start += PAIR_CHUNK) {
    const chunk = all.slice(start, start + PAIR_CHUNK);
    const hubspot = local.hubspot.get(chunk.map((link) => link.hubspotId!));
    const dynamics = local.dynamics.get(chunk.map((link) => link.dynamicsId!));
    const states = links.fieldStates(chunk.map((link) => link.id));
    const open = links.openConflicts(chunk.map((link) => link.id));
    for (const link of chunk) {
      const records = { hubspot: hubspot.get(link.hubspotId!), dynamics: dynamics.get(link.dynamicsId!) };
      if (!records.hubspot || !records.dynamics || records.hubspot.deleted || records.dynamics.deleted) continue;
      if (unread.has(link.id)) {
        report.unread++;
        continue;
      }
      report.compared++;
      const pair = { hubspot: records.hubspot, dynamics: records.dynamics, base: states.get(link.id) ?? new Map(), resolutions: resolutions.get(link.id), openConflicts: open.get(link.id) };
      const drift = driftedFields(twoWay, pair);
      if (drift.fields.length > 0) report.drifted.push({ linkId: link.id, hubspotId: link.hubspotId!, dynamicsId: link.dynamicsId!, ...drift });
    }
  }
  const waiting = outbox.waitingLinks();
  report.waiting = report.drifted.filter((drift) => waiting.has(drift.linkId)).length;
  report.fields = pairsPerField(report.drifted);
  return report;
}

/**
 * Plans the drifted pairs as a two-way run does (the same merge, field states, conflicts and
 * outbox rows), so the next `--two-way` run sends their writes. Its sync_history row is the
 * object's two-way lease: while a two-way run of the object is live this throws
 * LeaseHeldError, and nothing is planned.
 */
export async function queuePairWrites(context: PairContext, drifted: PairDrift[]): Promise<PairFix> {
  const { store, object, log } = context;
  const history = new SyncHistoryRepository(store);
  const open = () => ({ entity: object, source: TWO_WAY_SOURCE, syncMode: 'reconcile' as const, watermark: null, configuration: { reconcile: true, pairs: drifted.length } });
  const { runId, abandoned } = history.begin(TWO_WAY_SOURCE, object, open);
  for (const row of abandoned) log.warn(`${object} (two-way): run ${row.id} (pid ${row.pid} on ${row.host}) died without finishing; closed it as failed`);
  const heartbeat = setInterval(() => history.heartbeat(runId), HEARTBEAT_MS).unref();
  const started = performance.now();
  const before = { ...(context.metrics ?? emptyMetrics()) };
  const links = new LinkRepository(store, object);
  const outbox = new Outbox(store, object);
  const tally = emptyPlanTally();
  const fix: PairFix = { runId, status: 'success', writesQueued: 0, manual: drifted.filter((drift) => drift.manual.length > 0).length, valueErrors: 0 };
  try {
    await mergePairs(planContext(context, runId, links, outbox), links.byIds(drifted.map((drift) => drift.linkId)), tally);
    fix.writesQueued = outbox.plannedBy(runId);
    fix.valueErrors = tally.errors;
    if (fix.manual + fix.valueErrors > 0) fix.status = 'partial';
    history.recordPage(runId, { ...emptyCounts(), processed: tally.pairs, updated: fix.writesQueued, failed: tally.errors }, undefined, null);
  } catch (error) {
    fix.status = 'failed';
    fix.error = error instanceof Error ? error.message : String(error);
  } finally {
    clearInterval(heartbeat);
  }
  history.finish(runId, { status: fix.status, errorMessage: fix.error, metrics: { durationMs: Math.round(performance.now() - started), ...metricsSince(before, context.metrics) } });
  return fix;
}

function planContext(context: PairContext, runId: number, links: LinkRepository, outbox: Outbox): PlanContext {
  const { store, object, twoWay, mappings, shapes, log, changeTimes } = context;
  const local = { hubspot: new LocalRecords(store, 'hubspot', object), dynamics: new LocalRecords(store, 'dynamics', object) };
  return { store, object, label: `${object} (reconcile)`, twoWay, mappings, shapes, links, outbox, local, runId, log, force: false, ...(changeTimes && { changeTimes }) };
}

/** The requests made through `now` since `before`. */
function metricsSince(before: RequestMetrics, now: RequestMetrics | undefined): RequestMetrics {
  const spent = emptyMetrics();
  if (now) for (const key of Object.keys(spent) as (keyof RequestMetrics)[]) spent[key] = (now[key] ?? 0) - (before[key] ?? 0);
  return spent;
}
