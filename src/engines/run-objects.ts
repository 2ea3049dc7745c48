import type { CrmConnection, CrmConnector, DailyReserve } from '../clients/crm.js';
import type { RetryPolicy } from '../clients/http/retry.js';
import { connectorFor } from '../clients/registry.js';
import type { AssociationPair, ObjectEntry, ObjectMapping } from '../config/load.js';
import type { SourceName } from '../config/sources.js';
import type { Store } from '../db/database.js';
import { TWO_WAY_SOURCE } from '../db/sync-history.js';
import { ensureObjectView } from '../db/views.js';
import { EXIT_CODES } from '../errors.js';
import type { Logger } from '../log.js';
import { AssociationSyncEngine } from './association-sync-engine.js';
import { ObjectSyncEngine } from './object-sync-engine.js';
import { TwoWaySyncEngine, type ChangedIds } from './two-way/two-way-engine.js';
import { notStarted, type ProgressListener, type RunResult, type SyncOptions } from './run-lifecycle.js';

/** Connection settings of the CRMs the objects come from, by source name (as each CRM's connector reads them). */
export type CrmSettings = { [S in SourceName]?: unknown };

export interface RunContext extends CrmSettings {
  store: Store;
  log: Logger;
  progress?: ProgressListener;
  signal?: AbortSignal;
  /** Overrides the default retry policy (tests use short delays). */
  retry?: RetryPolicy;
  /** What runs leave of HubSpot's daily quota to the portal's other apps; none when undefined. */
  dailyReserve?: DailyReserve;
}

/** A connection to the CRM a source name stands for, with the settings the context holds for it. */
export async function connect(source: SourceName, context: RunContext): Promise<{ crm: CrmConnector; connection: CrmConnection }> {
  const crm = connectorFor(source);
  const settings = context[source];
  if (settings === undefined) throw new Error(`${crm.label} settings are missing`);
  const connection = await crm.connect(settings, { retry: context.retry, onRetry: (message) => context.log.warn(message), dailyReserve: context.dailyReserve });
  return { crm, connection };
}

/** Builds the engine of one object's mapping, connected to its CRM. */
export async function createEngine(mapping: ObjectMapping, context: RunContext): Promise<ObjectSyncEngine> {
  const { crm, connection } = await connect(mapping.source, context);
  const { store, log, progress, signal } = context;
  return new ObjectSyncEngine({ mapping, crm, reader: connection.reader(mapping), origin: connection.origin, store, log, progress, signal });
}

/** Objects synced at the same time by default: enough to keep HubSpot's rate limit busy while one waits on the network. */
export const DEFAULT_CONCURRENCY = 3;

/**
 * Syncs objects, up to `concurrency` at a time (they share the account's rate limiter and
 * the database, whose page transactions are synchronous and so never interleave). One
 * object failing, or held by another process, does not stop the others. Results come in
 * the order of `objects`; objects not started before an interrupt are left out.
 */
export async function syncObjects(objects: ObjectMapping[], options: SyncOptions, context: RunContext, concurrency = DEFAULT_CONCURRENCY): Promise<RunResult[]> {
  // Configuration problems (a view name clashing with a table) surface before any run starts.
  for (const object of objects) ensureObjectView(context.store, object);
  const results: (RunResult | undefined)[] = new Array(objects.length);
  let next = 0;
  const worker = async () => {
    while (next < objects.length && !context.signal?.aborted) {
      const index = next++;
      const mapping = objects[index];
      results[index] = await startSafely(mapping.name, mapping.source, options, context, async () => (await createEngine(mapping, context)).run(options));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
  return results.filter((result): result is RunResult => result !== undefined);
}

/** Syncs the associations of each pair, one pair after another, after their objects. */
export async function syncAssociations(pairs: AssociationPair[], options: SyncOptions, context: RunContext): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const pair of pairs) {
    if (context.signal?.aborted) break;
    const source = pair.from.source;
    results.push(
      await startSafely(pair.name, source, options, context, async () => {
        const { crm, connection } = await connect(source, context);
        if (!connection.associations) throw new Error(`${crm.label} keeps no associations`);
        const { store, log, signal } = context;
        return new AssociationSyncEngine({ pair, store, associations: connection.associations, origin: connection.origin, metrics: connection.metrics, log, signal }).run(options);
      }),
    );
  }
  return results;
}

/**
 * Two-way runs of objects with a two_way: block, one object after another: each reads both
 * CRMs and writes to both, so objects in parallel would only queue behind the same limits.
 */
export async function syncTwoWay(entries: ObjectEntry[], options: SyncOptions, context: RunContext): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const entry of entries) {
    if (context.signal?.aborted) break;
    results.push(...(await syncTwoWayObject(entry, options, context)));
  }
  return results;
}

/** One object's two-way run; with `changedIds`, reading back the records webhooks named instead of every change. */
export async function syncTwoWayObject(entry: ObjectEntry, options: SyncOptions, context: RunContext, changedIds?: ChangedIds): Promise<RunResult[]> {
  const { hubspot, dynamics, twoWay } = entry;
  if (!hubspot || !dynamics || !twoWay) throw new Error(`${entry.name} has no two_way: block`);
  for (const mapping of [hubspot, dynamics]) ensureObjectView(context.store, mapping);
  try {
    const [h, d] = [await connect('hubspot', context), await connect('dynamics', context)];
    const { store, log, progress, signal } = context;
    const engine = new TwoWaySyncEngine({
      object: entry.name,
      twoWay,
      mappings: { hubspot, dynamics },
      crms: { hubspot: h.crm, dynamics: d.crm },
      connections: { hubspot: h.connection, dynamics: d.connection },
      store,
      log,
      progress,
      signal,
    });
    return await engine.run(options, changedIds);
  } catch (error) {
    context.log.error((error as Error).message);
    return [notStarted(entry.name, TWO_WAY_SOURCE, options, error)];
  }
}

async function startSafely(name: string, source: string, options: SyncOptions, context: RunContext, run: () => Promise<RunResult>): Promise<RunResult> {
  try {
    return await run();
  } catch (error) {
    // Only a run that never started gets here (its lease is held elsewhere): the lifecycle
    // records every failure after that in the run's row.
    context.log.error((error as Error).message);
    return notStarted(name, source, options, error);
  }
}

/** sync-all's exit code: the worst outcome (failed > usage > lease held > partial > success). */
export function worstExitCode(codes: number[]): number {
  const severity: number[] = [EXIT_CODES.success, EXIT_CODES.partial, EXIT_CODES.leaseHeld, EXIT_CODES.usage, EXIT_CODES.failed];
  return codes.reduce((worst, code) => (severity.indexOf(code) > severity.indexOf(worst) ? code : worst), EXIT_CODES.success);
}
