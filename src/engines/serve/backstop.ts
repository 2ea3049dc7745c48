import type { AssociationPair } from '../../config/load.js';
import type { Logger } from '../../log.js';
import type { RunResult, SyncOptions } from '../run-lifecycle.js';
import { DEFAULT_CONCURRENCY, syncAssociations, syncObjects, syncTwoWayObject, type RunContext } from '../run-objects.js';
import type { ObjectLocks } from './object-locks.js';
import type { ServedObject } from './served-objects.js';

/** A poll: incremental runs, every flag at its default. */
const POLL: SyncOptions = { dryRun: false, maxRecords: 0, full: false, forceOverwrite: false };

export interface BackstopDependencies {
  served: ServedObject[];
  /** Association pairs whose two objects are served from their CRM. */
  associations: AssociationPair[];
  /** Its signal stops a poll under way at a page boundary. */
  context: RunContext;
  locks: ObjectLocks;
  log: Logger;
  intervalMs: number;
  /** Told of every poll's runs (tests, the bench). */
  onPoll?: (results: RunResult[]) => void;
}

/**
 * The polling backstop: webhooks get lost, so every interval each served object has an
 * incremental run (a two-way run for two-way objects), then its associations, in this
 * process: they share the rate limiters and queue behind the object's webhook read-backs.
 * The first poll starts at once, which also catches up on what changed while no process
 * was listening.
 */
export class PollingBackstop {
  private timer?: NodeJS.Timeout;
  private current?: Promise<RunResult[]>;
  private stopped = false;

  constructor(private readonly deps: BackstopDependencies) {}

  start(): void {
    this.schedule(0);
  }

  /** No further polls; a poll under way stops at its next page boundary (the context's signal). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  async poll(): Promise<RunResult[]> {
    const { served, locks, context, log } = this.deps;
    const started = performance.now();
    const results: RunResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < served.length && !context.signal?.aborted) {
        const object = served[next++];
        results.push(...(await locks.run(object.entry.name, () => this.pollObject(object))));
      }
    };
    await Promise.all(Array.from({ length: Math.min(DEFAULT_CONCURRENCY, served.length) }, worker));
    for (const pair of this.deps.associations) {
      if (context.signal?.aborted) break;
      results.push(...(await locks.run(pair.name, () => syncAssociations([pair], POLL, context))));
    }
    const failed = results.filter((result) => result.status === 'failed').length;
    const changed = results.reduce((sum, result) => sum + result.counts.created + result.counts.updated + result.counts.deleted, 0);
    log.info(`poll: ${results.length} runs, ${changed} records changed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    this.deps.onPoll?.(results);
    return results;
  }

  /** The object's two-way run, or its runs from each CRM as sync-all makes them (one that cannot start is a failed result). */
  private async pollObject(object: ServedObject): Promise<RunResult[]> {
    const { context } = this.deps;
    if (object.twoWay) return syncTwoWayObject(object.entry, POLL, context);
    return syncObjects(object.mappings, POLL, context, 1);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      const started = Date.now();
      this.current = this.poll();
      await this.current.catch((error: unknown) => this.deps.log.error(`poll: ${(error as Error).message}`));
      this.current = undefined;
      // The next poll starts an interval after this one started, or at once if it took longer.
      this.schedule(Math.max(0, this.deps.intervalMs - (Date.now() - started)));
    }, delayMs);
  }
}
