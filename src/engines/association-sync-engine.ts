import { HUBSPOT_ASSOCIATIONS_BATCH_LIMIT, type HubSpotClient } from '../clients/hubspot/client.js';
import type { AssociationPair } from '../config/load.js';
import { AssociationRepository, type Association } from '../db/association-repository.js';
import type { Store } from '../db/database.js';
import { SyncHistoryRepository, emptyCounts, type RunStatus } from '../db/sync-history.js';
import { InterruptedError } from '../errors.js';
import type { Logger } from '../log.js';
import { addCounts, chooseStrategy, closeRun, describeStrategy, later, type RunResult, type SyncOptions } from './base-sync-engine.js';

export interface AssociationEngineDependencies {
  pair: AssociationPair;
  store: Store;
  client: HubSpotClient;
  log: Logger;
  signal?: AbortSignal;
}

/**
 * Keeps the associations of one pair of objects (e.g. deals → contacts), for the "from"
 * records already synced locally. A full run reads every such record's associations and
 * then drops those of records gone locally, so removed associations disappear. An
 * incremental run reads those of records modified since the pair's watermark (minus the
 * overlap). HubSpot does not change a record's modification time when only its
 * associations change, so such changes wait for the next full run: schedule one (nightly,
 * say) next to the frequent incremental runs.
 */
export class AssociationSyncEngine {
  private readonly history: SyncHistoryRepository;
  private readonly associations: AssociationRepository;
  private readonly source = 'hubspot';

  constructor(private readonly deps: AssociationEngineDependencies) {
    this.history = new SyncHistoryRepository(deps.store);
    this.associations = new AssociationRepository(deps.store, this.history, this.source, deps.pair.from.name, deps.pair.to.name);
  }

  async run(options: SyncOptions): Promise<RunResult> {
    const { pair, log, client } = this.deps;
    const previousWatermark = this.history.lastWatermark(this.source, pair.name);
    const strategy = chooseStrategy(options, { watermark: previousWatermark, deltaLink: null, tracksChanges: false }, pair.from.overlapMs);
    const { runId } = this.history.begin(
      this.source,
      pair.name,
      () => ({ objectType: pair.name, source: this.source, syncType: strategy.syncType, watermark: previousWatermark, configuration: { ...options, since: options.since?.toISOString(), strategy } }),
      { shareLease: options.dryRun },
    );
    log.info(`${pair.name}: associations, ${describeStrategy(strategy)} (run ${runId}${options.dryRun ? ', dry run' : ''})`);

    const started = performance.now();
    const totals = emptyCounts();
    let pages = 0;
    let watermark = previousWatermark;
    let status: Exclude<RunStatus, 'running'> = 'success';
    let error: unknown;
    try {
      const since = strategy.mode === 'full' ? null : strategy.since!;
      const chunk = Math.min(options.batchSize ?? HUBSPOT_ASSOCIATIONS_BATCH_LIMIT, HUBSPOT_ASSOCIATIONS_BATCH_LIMIT);
      let truncated = false;
      for (let batch = this.associations.fromRecords(since, chunk); batch.length > 0; batch = this.associations.fromRecords(since, chunk, batch.at(-1))) {
        if (options.maxRecords > 0 && totals.processed + batch.length >= options.maxRecords) {
          truncated = totals.processed + batch.length > options.maxRecords;
          batch = batch.slice(0, options.maxRecords - totals.processed);
        }
        const ids = batch.map((record) => record.sourceId);
        const found = flatten(await client.associations(pair.from.remoteName, pair.to.remoteName, ids));
        if (strategy.advancesWatermark) watermark = later(watermark, batch.at(-1)!.modifiedAt);
        addCounts(totals, this.associations.replaceFor(runId, ids, found, { lastFromId: ids.at(-1) }, watermark));
        pages++;
        if (this.deps.signal?.aborted) throw new InterruptedError();
        if (options.maxRecords > 0 && totals.processed >= options.maxRecords) break;
      }
      if (strategy.mode === 'full' && !truncated) totals.deleted += this.associations.removeOrphans(runId);
    } catch (caught) {
      status = 'failed';
      error = caught;
    }
    return closeRun(this.history, { runId, object: pair.name, source: this.source, strategy, options, started, pages, totals, watermark, status, error, requestMetrics: client.metrics });
  }
}

function flatten(results: Awaited<ReturnType<HubSpotClient['associations']>>): Association[] {
  const associations: Association[] = [];
  for (const result of results) {
    for (const target of result.to) {
      for (const type of target.associationTypes) {
        associations.push({ fromId: result.fromId, toId: String(target.toObjectId), typeId: type.typeId, category: type.category, label: type.label ?? null });
      }
    }
  }
  return associations;
}
