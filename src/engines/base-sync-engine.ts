import type { RecordSource, ReadPlan } from '../clients/source.js';
import type { ObjectConfig } from '../config/load.js';
import type { Store } from '../db/database.js';
import { RecordRepository } from '../db/record-repository.js';
import { SyncHistoryRepository, emptyCounts, type PageCounts, type RunStatus, type SyncType } from '../db/sync-history.js';
import { ensureObjectView } from '../db/views.js';
import { exitCodeOf, InterruptedError } from '../errors.js';
import type { Logger } from '../log.js';
import { createRecordMapper, describeProblem, type MappedRecord, type RejectedRecord } from '../processors/mapper.js';

export interface SyncOptions {
  full: boolean;
  since?: Date;
  forceOverwrite: boolean;
  dryRun: boolean;
  batchSize: number;
  /** Stop after this many records; 0 = no limit. */
  maxRecords: number;
}

export interface Strategy {
  syncType: SyncType;
  mode: 'full' | 'incremental';
  /** Incremental reads start here (ISO-8601). */
  since?: string;
  /** Whether this run's data may move the watermark that later incremental runs start from. */
  advancesWatermark: boolean;
}

export interface RunResult {
  runId: number;
  object: string;
  source: string;
  syncType: SyncType;
  status: Exclude<RunStatus, 'running'>;
  dryRun: boolean;
  counts: PageCounts;
  watermark: string | null;
  metrics: PerformanceMetrics;
  error?: string;
  exitCode: number;
}

export interface PerformanceMetrics {
  durationMs: number;
  recordsPerSecond: number;
  pages: number;
  requests: number;
  retries: number;
  rateLimited: number;
  bytesReceived: number;
}

export interface ProgressListener {
  start(object: string, total?: number): void;
  advance(records: number): void;
  stop(): void;
}

export interface EngineDependencies {
  object: ObjectConfig;
  store: Store;
  source: RecordSource;
  log: Logger;
  progress?: ProgressListener;
  /** Aborted on SIGINT/SIGTERM: the run stops after the page being saved. */
  signal?: AbortSignal;
}

/** Chooses how to read: --since > --force-overwrite > --full > last watermark > full. */
export function chooseStrategy(options: Pick<SyncOptions, 'since' | 'forceOverwrite' | 'full'>, watermark: string | null, overlapMs: number): Strategy {
  if (options.since) {
    const since = options.since.toISOString();
    // Starting later than the watermark leaves a gap: such a run must not move it.
    return { syncType: 'since', mode: 'incremental', since, advancesWatermark: watermark !== null && since <= watermark };
  }
  if (options.forceOverwrite) return { syncType: 'force_overwrite', mode: 'full', advancesWatermark: true };
  if (options.full || !watermark) return { syncType: 'full', mode: 'full', advancesWatermark: true };
  const since = new Date(Date.parse(watermark) - overlapMs).toISOString();
  return { syncType: 'incremental', mode: 'incremental', since, advancesWatermark: true };
}

/**
 * The one sync loop: strategy → SyncHistory row → fetch pages → transform → validate →
 * save (one transaction per page, with its checkpoint) → close the row.
 */
export class BaseSyncEngine {
  private readonly history: SyncHistoryRepository;
  private readonly records: RecordRepository;
  private readonly mapRecord: ReturnType<typeof createRecordMapper>;

  constructor(private readonly deps: EngineDependencies) {
    this.history = new SyncHistoryRepository(deps.store);
    this.records = new RecordRepository(deps.store, this.history, deps.source.name, deps.object.name);
    this.mapRecord = createRecordMapper(deps.object);
  }

  async run(options: SyncOptions): Promise<RunResult> {
    const { object, source, log } = this.deps;
    ensureObjectView(this.deps.store, object);
    const previousWatermark = this.history.lastWatermark(source.name, object.name);
    const strategy = chooseStrategy(options, previousWatermark, object.overlapMs);
    const runId = this.history.start({
      objectType: object.name,
      source: source.name,
      syncType: strategy.syncType,
      watermark: previousWatermark,
      configuration: { ...options, since: options.since?.toISOString(), strategy },
    });
    log.info(`${object.name}: ${describeStrategy(strategy)} (run ${runId}${options.dryRun ? ', dry run' : ''})`);

    const started = performance.now();
    const totals = emptyCounts();
    let pages = 0;
    let watermark = previousWatermark;
    let status: Exclude<RunStatus, 'running'> = 'success';
    let error: unknown;
    this.deps.progress?.start(object.name);
    try {
      // A full read can't order by modification time, so its watermark is the source's
      // latest modification when it started: later changes are left to the next run.
      const sourceLatest = strategy.mode === 'full' ? await source.latestModification() : null;
      let maxSaved: string | null = null;
      let truncated = false;
      const plan: ReadPlan =
        strategy.mode === 'full'
          ? { mode: 'full', pageSize: options.batchSize }
          : { mode: 'incremental', since: strategy.since!, pageSize: options.batchSize };

      for await (const page of source.pages(plan)) {
        let raw = page.records;
        if (options.maxRecords > 0 && totals.processed + raw.length >= options.maxRecords) {
          raw = raw.slice(0, options.maxRecords - totals.processed);
          truncated = true;
        }
        const { valid, rejected } = this.transform(raw);
        const pageLatest = latest(valid);
        if (pageLatest && (!maxSaved || pageLatest > maxSaved)) maxSaved = pageLatest;
        if (strategy.advancesWatermark && strategy.mode === 'incremental') watermark = later(watermark, maxSaved);
        const counts = this.records.savePage({
          runId,
          records: valid,
          rejected,
          checkpoint: page.checkpoint,
          watermark,
          forceOverwrite: strategy.syncType === 'force_overwrite',
        });
        addCounts(totals, counts);
        pages++;
        this.deps.progress?.advance(raw.length);
        log.debug(`${object.name}: page ${pages}: ${formatCounts(counts)}`);
        if (truncated) break;
        if (this.deps.signal?.aborted) throw new InterruptedError();
      }
      if (strategy.mode === 'full' && strategy.advancesWatermark && !truncated) {
        watermark = later(watermark, earlier(sourceLatest, maxSaved));
      }
      if (totals.failed > 0) status = 'partial';
    } catch (caught) {
      status = 'failed';
      error = caught;
    } finally {
      this.deps.progress?.stop();
    }

    const durationMs = Math.round(performance.now() - started);
    const metrics: PerformanceMetrics = {
      durationMs,
      recordsPerSecond: durationMs > 0 ? Math.round((totals.processed * 1000) / durationMs) : totals.processed,
      pages,
      ...source.metrics,
    };
    const errorMessage = error instanceof Error ? error.message : error === undefined ? undefined : String(error);
    this.history.finish(runId, { status, errorMessage, metrics, watermark: status === 'failed' ? undefined : watermark });
    const exitCode = status === 'success' ? 0 : status === 'partial' ? 3 : exitCodeOf(error);
    return { runId, object: object.name, source: source.name, syncType: strategy.syncType, status, dryRun: options.dryRun, counts: totals, watermark, metrics, error: errorMessage, exitCode };
  }

  /** Maps and validates a page; rejections are kept with their reasons, never dropped. */
  protected transform(raw: unknown[]): { valid: MappedRecord[]; rejected: RejectedRecord[] } {
    const valid: MappedRecord[] = [];
    const rejected: RejectedRecord[] = [];
    for (const record of raw) {
      const result = this.mapRecord(record);
      if (result.ok) {
        valid.push(result.record);
        for (const warning of result.record.warnings) {
          this.deps.log.warn(`${this.deps.object.name} ${result.record.sourceId}: ${describeProblem(warning)}; stored as received (lenient)`);
        }
      } else {
        rejected.push(result.rejected);
        this.deps.log.warn(`${this.deps.object.name} ${result.rejected.sourceId ?? '(no id)'} rejected: ${result.rejected.reasons.map(describeProblem).join('; ')}`);
      }
    }
    return { valid, rejected };
  }
}

function describeStrategy(strategy: Strategy): string {
  if (strategy.mode === 'full') return strategy.syncType === 'force_overwrite' ? 'full read, overwriting every local row' : 'full read';
  return `${strategy.syncType === 'since' ? 'reading changes' : 'incremental read of changes'} since ${strategy.since}`;
}

function latest(records: MappedRecord[]): string | null {
  let max: string | null = null;
  for (const record of records) if (!max || record.modifiedAt > max) max = record.modifiedAt;
  return max;
}

function later(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

function earlier(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

function addCounts(into: PageCounts, add: PageCounts): void {
  for (const key of Object.keys(into) as (keyof PageCounts)[]) into[key] += add[key];
}

export function formatCounts(counts: PageCounts): string {
  return `${counts.processed} processed, ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.deleted} deleted, ${counts.failed} rejected`;
}
