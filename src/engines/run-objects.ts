import { HubSpotClient } from '../clients/hubspot.js';
import { HubSpotSource } from '../clients/hubspot-source.js';
import type { RetryPolicy } from '../clients/retry.js';
import type { HubSpotSettings } from '../config/env.js';
import type { ObjectConfig } from '../config/load.js';
import type { Store } from '../db/database.js';
import { ensureObjectView } from '../db/views.js';
import type { Logger } from '../log.js';
import { BaseSyncEngine, type ProgressListener, type RunResult, type SyncOptions } from './base-sync-engine.js';

export interface RunContext {
  store: Store;
  hubspot: HubSpotSettings;
  log: Logger;
  progress?: ProgressListener;
  signal?: AbortSignal;
  /** Overrides the default retry policy (tests use short delays). */
  retry?: RetryPolicy;
}

/** Builds the engine of one configured object. */
export function createEngine(object: ObjectConfig, context: RunContext): BaseSyncEngine {
  const client = new HubSpotClient(context.hubspot, { retry: context.retry, onRetry: (message) => context.log.warn(message) });
  return new BaseSyncEngine({
    object,
    store: context.store,
    source: new HubSpotSource(client, object),
    log: context.log,
    progress: context.progress,
    signal: context.signal,
  });
}

/**
 * Syncs objects one after another; one object failing does not stop the others. Stops
 * early only when interrupted.
 */
export async function syncObjects(objects: ObjectConfig[], options: SyncOptions, context: RunContext): Promise<RunResult[]> {
  // Configuration problems (a view name clashing with a table) surface before any run starts.
  for (const object of objects) ensureObjectView(context.store, object);
  const results: RunResult[] = [];
  for (const object of objects) {
    if (context.signal?.aborted) break;
    results.push(await createEngine(object, context).run(options));
  }
  return results;
}

/** sync-all's exit code: the worst outcome (failed > lease held > partial > success). */
export function worstExitCode(codes: number[]): number {
  const severity = [0, 3, 4, 2, 1];
  return codes.reduce((worst, code) => (severity.indexOf(code) > severity.indexOf(worst) ? code : worst), 0);
}
