import type { CrmConnection, CrmConnector, RecordSource } from '../clients/crm.js';
import { connectorFor } from '../clients/registry.js';
import type { ObjectEntry, ObjectMapping } from '../config/load.js';
import type { SourceName } from '../config/sources.js';
import type { Store } from '../db/database.js';
import { ReconciliationRuns, type ReconciliationOutcome, type ReconciliationStatus } from '../db/reconciliation-runs.js';
import { rejectedIds, storedVersions } from '../db/stored-versions.js';
import { EXIT_CODES, exitCodeOf, InterruptedError } from '../errors.js';
import type { Logger } from '../log.js';
import { createRecordMapper } from '../processors/mapper.js';
import { compareVersions, isNewer, type StoredVersion, type VersionComparison } from '../processors/reconcile.js';
import type { Deletion, RecordVersion } from '../records.js';
import { ObjectSyncEngine } from './object-sync-engine.js';
import { comparePairs, queuePairWrites, type PairContext, type PairFix, type PairReport } from './reconcile-pairs.js';
import type { RunResult, SyncOptions } from './run-lifecycle.js';
import { connect, type RunContext } from './run-objects.js';

export interface ReconcileDependencies {
  mapping: ObjectMapping;
  crm: Pick<CrmConnector, 'name' | 'label' | 'recordShape'>;
  connection: CrmConnection;
  store: Store;
  log: Logger;
  signal?: AbortSignal;
  /** Objects with a two_way: block: their linked pairs are compared too. */
  pairs?: PairContext;
}

/** What one reconciliation found and did; `--json` prints it as it is. */
export interface ReconcileResult extends VersionComparison {
  /** Its reconciliation_runs row. */
  id: number;
  object: string;
  source: SourceName;
  fix: boolean;
  status: ReconciliationStatus;
  /** Requests the comparison took: the listing, and reading by id the records it did not show. */
  requests: number;
  durationMs: number;
  pairs?: PairReport;
  /** --fix: the run that read the missing and stale records by id and marked the gone ones deleted. */
  fixRun?: RunResult;
  /** --fix: the writes queued for the pairs that differ. */
  pairFix?: PairFix;
  /** --fix: records saved or marked deleted, and pairs whose writes were queued. */
  fixed: number;
  error?: string;
  exitCode: number;
}

/** A read by id of records a reconciliation found: every flag at its default. */
const FIX_OPTIONS: SyncOptions = { dryRun: false, maxRecords: 0, full: false, forceOverwrite: false };

/**
 * Proves the local copy of an object is its CRM's: lists every id and modification time
 * there, compares them with the store (missing, gone, stale), compares the linked pairs of
 * a two-way object field by field, and with `fix` repairs what it found through the usual
 * runs. Every reconciliation is a reconciliation_runs row, closed whatever happens; an error
 * that stops it (the lease held elsewhere, the CRM unreachable) is recorded there and thrown.
 */
export async function reconcile(deps: ReconcileDependencies, options: { fix: boolean }): Promise<ReconcileResult> {
  const { mapping, crm, store } = deps;
  const runs = new ReconciliationRuns(store);
  const started = performance.now();
  const result: ReconcileResult = {
    id: runs.begin(mapping.name, crm.name, options.fix),
    object: mapping.name,
    source: crm.name,
    fix: options.fix,
    status: 'failed',
    missing: [],
    gone: [],
    stale: [],
    sourceRecords: 0,
    localRecords: 0,
    rejected: 0,
    requests: 0,
    durationMs: 0,
    fixed: 0,
    exitCode: EXIT_CODES.failed,
  };
  try {
    await compareAndFix(deps, options.fix, result);
    return result;
  } catch (error) {
    result.status = 'failed';
    result.error = error instanceof Error ? error.message : String(error);
    result.exitCode = exitCodeOf(error);
    throw error;
  } finally {
    result.durationMs = Math.round(performance.now() - started);
    runs.finish(result.id, outcomeOf(result));
  }
}

async function compareAndFix(deps: ReconcileDependencies, fix: boolean, result: ReconcileResult): Promise<void> {
  const { mapping, crm, connection, store, log, signal } = deps;
  const reader = connection.reader(mapping);
  const requestsBefore = reader.metrics.requests;
  const listed = await listVersions(reader, signal);
  const stored = new Map(storedVersions(store, crm.name, mapping.name).map((row) => [row.id, row]));
  Object.assign(result, compareVersions(listed, stored.values(), rejectedIds(store, crm.name, mapping.name)));
  const gone = await confirmGone(deps, reader, result, stored);
  result.requests = reader.metrics.requests - requestsBefore;

  if (fix && result.missing.length + result.gone.length + result.stale.length > 0) {
    const engine = new ObjectSyncEngine({ mapping, crm, reader, origin: connection.origin, store, log, signal });
    result.fixRun = await engine.readIds({ ids: [...result.missing, ...result.stale], gone }, FIX_OPTIONS);
    const { created, updated, deleted } = result.fixRun.counts;
    result.fixed += created + updated + deleted;
  }
  if (deps.pairs && result.fixRun?.status !== 'failed') {
    result.pairs = comparePairs(deps.pairs);
    if (fix && result.pairs.drifted.length > 0 && !deps.pairs.changeTimes) {
      log.warn(`${mapping.name}: linked pairs differ, but queueing their writes needs HubSpot's settings (HUBSPOT_ACCESS_TOKEN): it asks HubSpot when properties changed`);
    } else if (fix && result.pairs.drifted.length > 0) {
      result.pairFix = await queuePairWrites(deps.pairs, result.pairs.drifted);
      if (result.pairFix.status !== 'failed') result.fixed += result.pairs.drifted.length - result.pairFix.manual;
    }
  }
  settle(result);
}

/** Every version the CRM lists; an interrupt stops between pages. */
async function listVersions(reader: RecordSource, signal?: AbortSignal): Promise<RecordVersion[]> {
  const versions: RecordVersion[] = [];
  for await (const page of reader.listVersions()) {
    versions.push(...page);
    if (signal?.aborted) throw new InterruptedError();
  }
  return versions;
}

/**
 * Stored records the listing did not show are read by id before they are called gone:
 * HubSpot's search sees a record a few seconds after it is written, so one just created or
 * restored can be stored locally (from a list read) and not yet listed. Those the CRM
 * returns are not gone (stale, if it holds a later copy); the rest are, as learnt now.
 */
async function confirmGone(deps: ReconcileDependencies, reader: RecordSource, result: ReconcileResult, stored: Map<string, StoredVersion>): Promise<Deletion[]> {
  if (result.gone.length === 0) return [];
  const mapRecord = createRecordMapper(deps.mapping, deps.crm.recordShape);
  const present = new Map<string, string | null>();
  for (const raw of await reader.readByIds(result.gone)) {
    const mapped = mapRecord(raw);
    if (mapped.ok) present.set(mapped.record.sourceId, mapped.record.modifiedAt);
    else if (mapped.rejected.sourceId) present.set(mapped.rejected.sourceId, null);
  }
  const learntAt = new Date().toISOString();
  for (const [id, modifiedAt] of present) if (isNewer(modifiedAt, stored.get(id)?.modifiedAt ?? null)) result.stale.push(id);
  result.gone = result.gone.filter((id) => !present.has(id));
  return result.gone.map((sourceId) => ({ sourceId, deletedAt: learntAt }));
}

/**
 * clean: nothing differs. fixed: --fix repaired all it found (records saved or marked
 * deleted, every drifted pair's writes queued). drift: found, and left (or not all fixed:
 * records rejected on reading, fields left to a person). A failed fix fails it.
 */
function settle(result: ReconcileResult): void {
  const { fixRun, pairFix } = result;
  const failed = fixRun?.status === 'failed' ? fixRun : pairFix?.status === 'failed' ? pairFix : undefined;
  if (failed) {
    result.status = 'failed';
    result.error = failed.error;
    result.exitCode = fixRun?.status === 'failed' ? fixRun.exitCode : EXIT_CODES.failed;
    return;
  }
  const drift = result.missing.length + result.gone.length + result.stale.length + (result.pairs?.drifted.length ?? 0);
  const left = (fixRun?.counts.failed ?? 0) + (pairFix ? pairFix.manual + pairFix.valueErrors : 0);
  result.status = drift === 0 ? 'clean' : result.fix && left === 0 ? 'fixed' : 'drift';
  result.exitCode = result.status === 'drift' ? EXIT_CODES.partial : EXIT_CODES.success;
}

function outcomeOf(result: ReconcileResult): ReconciliationOutcome {
  return {
    status: result.status,
    sourceRecords: result.sourceRecords,
    localRecords: result.localRecords,
    missing: result.missing.length,
    gone: result.gone.length,
    stale: result.stale.length,
    pairsCompared: result.pairs?.compared,
    pairDrift: result.pairs?.drifted.length ?? 0,
    pairFields: result.pairs?.fields,
    fixed: result.fixed,
    fixRunId: result.fixRun?.runId ?? null,
    pairRunId: result.pairFix?.runId ?? null,
    requests: result.requests,
    error: result.error,
  };
}

/**
 * Connects to the CRM the object is compared with and reconciles it. A two-way object's
 * pairs are compared too; queueing their writes (--fix) asks HubSpot when properties
 * changed, so it needs HubSpot's settings in `context` whichever CRM is listed (without
 * them the pairs are reported, not fixed).
 */
export async function reconcileObject(entry: ObjectEntry, source: SourceName, context: RunContext, options: { fix: boolean }): Promise<ReconcileResult> {
  const mapping = entry[source]!;
  const { crm, connection } = await connect(source, context);
  const { store, log, signal } = context;
  let pairs: PairContext | undefined;
  if (entry.twoWay && entry.hubspot && entry.dynamics) {
    const hubspot = options.fix ? await hubspotConnection(source, connection, context) : undefined;
    const changeTimes = hubspot?.changeTimes?.bind(hubspot);
    pairs = {
      store,
      object: entry.name,
      twoWay: entry.twoWay,
      mappings: { hubspot: entry.hubspot, dynamics: entry.dynamics },
      shapes: { hubspot: connectorFor('hubspot').recordShape, dynamics: connectorFor('dynamics').recordShape },
      log,
      ...(changeTimes && { changeTimes: (ids: string[], properties: string[]) => changeTimes(entry.hubspot!, ids, properties), metrics: hubspot!.metrics }),
    };
  }
  return reconcile({ mapping, crm, connection, store, log, signal, pairs }, options);
}

/** The HubSpot connection a pair's fix asks for change times through: the listing's own, another one, or none without settings. */
async function hubspotConnection(source: SourceName, listing: CrmConnection, context: RunContext): Promise<CrmConnection | undefined> {
  if (source === 'hubspot') return listing;
  return context.hubspot === undefined ? undefined : (await connect('hubspot', context)).connection;
}
