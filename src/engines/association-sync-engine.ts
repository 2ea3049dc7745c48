import type { AssociationReader, Origin } from '../clients/crm.js';
import type { RequestMetrics } from '../clients/http/retry.js';
import type { AssociationPair } from '../config/load.js';
import { displayName } from '../config/sources.js';
import { AssociationRepository } from '../db/association-repository.js';
import type { Store } from '../db/database.js';
import { SyncHistoryRepository } from '../db/sync-history.js';
import type { Logger } from '../log.js';
import { later, withRun, type ActiveRun, type RunResult, type SyncOptions } from './run-lifecycle.js';

export interface AssociationEngineDependencies {
  pair: AssociationPair;
  store: Store;
  associations: AssociationReader;
  /** Where the associations are read from. */
  origin: Origin;
  /** The request counters of the connection the associations are read through. */
  metrics: RequestMetrics;
  log: Logger;
  signal?: AbortSignal;
}

/**
 * Where an association run stands: the last "from" record whose associations are
 * committed, in the order records are walked (modification time, then id).
 */
interface Checkpoint {
  lastFromId?: string;
  lastModifiedAt?: string;
}

/**
 * The loop body of a pair's run (e.g. deals → contacts), for the "from" records already
 * synced locally. A full run reads every such record's associations and then drops those
 * of records gone locally, so removed associations disappear. An incremental run reads
 * those of records modified since the pair's watermark (minus the overlap). HubSpot does
 * not change a record's modification time when only its associations change, so such
 * changes wait for the next full run: schedule one (nightly, say) next to the frequent
 * incremental runs.
 */
export class AssociationSyncEngine {
  private readonly associations: AssociationRepository;

  constructor(private readonly deps: AssociationEngineDependencies) {
    const { pair, store } = deps;
    this.associations = new AssociationRepository(store, new SyncHistoryRepository(store), pair.from.source, pair.from.name, pair.to.name);
  }

  run(options: SyncOptions): Promise<RunResult> {
    const { pair, store, origin, metrics, log, signal } = this.deps;
    const source = pair.from.source;
    const target = { origin: origin.url, originName: origin.name, object: pair.name };
    const spec = { store, source, object: pair.name, label: displayName(pair.name, source), kind: 'associations', options, overlapMs: pair.from.overlapMs, tracksChanges: false, target, metrics, log, signal };
    return withRun<Checkpoint>(spec, (run) => this.read(run));
  }

  private async read(run: ActiveRun<Checkpoint>): Promise<void> {
    const { pair, associations } = this.deps;
    const { strategy, options } = run;
    const since = strategy.mode === 'incremental' ? strategy.since : null;
    const chunk = Math.min(options.batchSize ?? associations.batchLimit, associations.batchLimit);
    const resume = run.resumeFrom;
    let last = resume?.lastFromId && resume.lastModifiedAt ? { sourceId: resume.lastFromId, modifiedAt: resume.lastModifiedAt } : undefined;
    for (let batch = this.associations.fromRecords(since, chunk, last); batch.length > 0; batch = this.associations.fromRecords(since, chunk, last)) {
      batch = run.take(batch);
      last = batch.at(-1)!;
      const ids = batch.map((record) => record.sourceId);
      const found = await associations.read(pair.from, pair.to, ids);
      // A full read's watermark is set when it completes; other reads move it batch by batch.
      if (strategy.advancesWatermark && strategy.mode !== 'full') run.watermark = later(run.watermark, last.modifiedAt);
      run.add(this.associations.replaceFor(run.runId, ids, found, { lastFromId: last.sourceId, lastModifiedAt: last.modifiedAt }, run.watermark));
      if (run.truncated) return;
      run.stopIfInterrupted();
    }
    if (strategy.mode !== 'full') return;
    // Records are walked in modification order: the last one read is the latest.
    if (strategy.advancesWatermark && last) run.watermark = later(run.watermark, last.modifiedAt);
    run.totals.deleted += this.associations.removeOrphans(run.runId);
  }
}
