import { DynamicsClient } from '../clients/dynamics/client.js';
import { DynamicsSource } from '../clients/dynamics/reader.js';
import { HubSpotClient } from '../clients/hubspot/client.js';
import { HubSpotSource } from '../clients/hubspot/reader.js';
import { emptyMetrics, type RetryPolicy } from '../clients/http/retry.js';
import type { RecordSource } from '../clients/crm.js';
import type { DynamicsSettings, HubSpotSettings } from '../config/env.js';
import type { AssociationPair, ObjectMapping } from '../config/load.js';
import type { Store } from '../db/database.js';
import { emptyCounts } from '../db/sync-history.js';
import { ensureObjectView } from '../db/views.js';
import { exitCodeOf } from '../errors.js';
import type { Logger } from '../log.js';
import { AssociationSyncEngine } from './association-sync-engine.js';
import { BaseSyncEngine, type ProgressListener, type RunResult, type SyncOptions } from './base-sync-engine.js';

export interface RunContext {
  store: Store;
  /** Connection settings of the sources the objects come from. */
  hubspot?: HubSpotSettings;
  dynamics?: DynamicsSettings;
  log: Logger;
  progress?: ProgressListener;
  signal?: AbortSignal;
  /** Overrides the default retry policy (tests use short delays). */
  retry?: RetryPolicy;
}

/** The source an object's mapping reads from. */
function sourceFor(object: ObjectMapping, context: RunContext): RecordSource {
  const onRetry = (message: string) => context.log.warn(message);
  if (object.source === 'dynamics') {
    if (!context.dynamics) throw new Error('Dynamics 365 settings are missing');
    return new DynamicsSource(new DynamicsClient(context.dynamics, { retry: context.retry, onRetry }), object);
  }
  return new HubSpotSource(clientFor(context), object);
}

/** Builds the engine of one configured object (its mapping for one source). */
export function createEngine(object: ObjectMapping, context: RunContext): BaseSyncEngine {
  return new BaseSyncEngine({
    object,
    store: context.store,
    source: sourceFor(object, context),
    log: context.log,
    progress: context.progress,
    signal: context.signal,
  });
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
      results[index] = await runOne(objects[index], options, context);
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
    const engine = new AssociationSyncEngine({ pair, store: context.store, client: clientFor(context), log: context.log, signal: context.signal });
    results.push(await startSafely(pair.name, pair.from.source, options, context, () => engine.run(options)));
  }
  return results;
}

function clientFor(context: RunContext): HubSpotClient {
  if (!context.hubspot) throw new Error('HubSpot settings are missing');
  return new HubSpotClient(context.hubspot, { retry: context.retry, onRetry: (message) => context.log.warn(message) });
}

function runOne(object: ObjectMapping, options: SyncOptions, context: RunContext): Promise<RunResult> {
  return startSafely(object.name, object.source, options, context, () => createEngine(object, context).run(options));
}

async function startSafely(name: string, source: string, options: SyncOptions, context: RunContext, run: () => Promise<RunResult>): Promise<RunResult> {
  try {
    return await run();
  } catch (error) {
    // Only a run that never started gets here (its lease is held elsewhere): there is no
    // SyncHistory row to record it in.
    const message = (error as Error).message;
    context.log.error(message);
    return {
      runId: null,
      object: name,
      source,
      syncType: options.full ? 'full' : 'incremental',
      status: 'failed',
      dryRun: options.dryRun,
      counts: emptyCounts(),
      watermark: null,
      metrics: { durationMs: 0, recordsPerSecond: 0, pages: 0, ...emptyMetrics(), peakRssMb: 0 },
      error: message,
      exitCode: exitCodeOf(error),
    };
  }
}

/** sync-all's exit code: the worst outcome (failed > lease held > partial > success). */
export function worstExitCode(codes: number[]): number {
  const severity = [0, 3, 4, 2, 1];
  return codes.reduce((worst, code) => (severity.indexOf(code) > severity.indexOf(worst) ? code : worst), 0);
}
