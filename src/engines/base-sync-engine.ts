import type { RequestMetrics } from '../clients/http/retry.js';
import { ChangesExpiredError, type Deletion, type RecordSource, type ReadPlan } from '../clients/crm.js';
import type { ObjectMapping } from '../config/load.js';
import { displayName } from '../config/sources.js';
import type { Store } from '../db/database.js';
import { RecordRepository } from '../db/record-repository.js';
import {
  HEARTBEAT_MS,
  SyncHistoryRepository,
  emptyCounts,
  type PageCounts,
  type RunStatus,
  type SyncHistoryRow,
  type SyncType,
} from '../db/sync-history.js';
import { ensureObjectView } from '../db/views.js';
import { exitCodeOf, InterruptedError } from '../errors.js';
import type { Logger } from '../log.js';
import { createRecordMapper, describeProblem, type MappedRecord, type RejectedRecord } from '../processors/mapper.js';

export interface SyncOptions {
  full: boolean;
  since?: Date;
  forceOverwrite: boolean;
  dryRun: boolean;
  /** Records per API page; undefined = the largest page each endpoint allows. */
  batchSize?: number;
  /** Stop after this many records; 0 = no limit. */
  maxRecords: number;
}

export interface Strategy {
  syncType: SyncType;
  /** changes: read what changed after a delta link (sources with change tracking). */
  mode: 'full' | 'incremental' | 'changes';
  /** Incremental reads start here (ISO-8601). */
  since?: string;
  /** Change reads start here. */
  deltaLink?: string;
  /** Whether this run's data may move the watermark that later incremental runs start from. */
  advancesWatermark: boolean;
}

/** Where a run stands, stored in sync_history with each page so a new run can resume. */
export interface Checkpoint {
  phase: 'records' | 'deletions';
  /** The source's paging position within the phase; null at its start. */
  cursor: unknown;
  /** Full reads: the source's latest modification time when the read began. */
  sourceLatest: string | null;
  /** Greatest modification time saved so far. */
  maxSaved: string | null;
  /** The delta link a change-tracked read ended with, once it has. */
  deltaLink?: string;
}

export interface RunResult {
  /** null when the run could not start (another process holds the lease). */
  runId: number | null;
  object: string;
  source: string;
  syncType: SyncType;
  status: Exclude<RunStatus, 'running'>;
  dryRun: boolean;
  /** The failed run this one continued from, if any. */
  resumedFrom?: number;
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
  /** Peak resident memory of the process so far, in MB. */
  peakRssMb: number;
}

/** Told about each object's progress; several objects may run at once. */
export interface ProgressListener {
  start(object: string): void;
  advance(object: string, records: number): void;
  stop(object: string): void;
}

export interface EngineDependencies {
  object: ObjectMapping;
  store: Store;
  source: RecordSource;
  log: Logger;
  progress?: ProgressListener;
  /** Aborted on SIGINT/SIGTERM: the run stops after the page being saved. */
  signal?: AbortSignal;
}

/** The watermark of a complete read of an empty source: every record is newer than it. */
const EMPTY_SOURCE_WATERMARK = new Date(0).toISOString();

/** Where the last finished runs left an object. */
export interface PreviousState {
  watermark: string | null;
  /** Set when the source tracks changes and the last complete read ended with one. */
  deltaLink: string | null;
  /** Whether the source tracks changes: without a delta link, a full read gets one. */
  tracksChanges: boolean;
}

/** Chooses how to read: --since > --force-overwrite > --full > last delta link or watermark > full. */
export function chooseStrategy(options: Pick<SyncOptions, 'since' | 'forceOverwrite' | 'full'>, previous: PreviousState, overlapMs: number): Strategy {
  const { watermark } = previous;
  if (options.since) {
    const since = options.since.toISOString();
    // Starting later than the watermark leaves a gap: such a run must not move it.
    return { syncType: 'since', mode: 'incremental', since, advancesWatermark: watermark !== null && since <= watermark };
  }
  if (options.forceOverwrite) return { syncType: 'force_overwrite', mode: 'full', advancesWatermark: true };
  if (options.full || !watermark) return { syncType: 'full', mode: 'full', advancesWatermark: true };
  if (previous.tracksChanges) {
    if (previous.deltaLink) return { syncType: 'incremental', mode: 'changes', deltaLink: previous.deltaLink, advancesWatermark: true };
    return { syncType: 'full', mode: 'full', advancesWatermark: true };
  }
  // Never before the epoch: HubSpot's filters take non-negative epoch milliseconds.
  const since = new Date(Math.max(0, Date.parse(watermark) - overlapMs)).toISOString();
  return { syncType: 'incremental', mode: 'incremental', since, advancesWatermark: true };
}

interface StoredConfiguration {
  full?: boolean;
  forceOverwrite?: boolean;
  since?: string;
  strategy?: Strategy;
}

/**
 * A failed run (crashed, killed, interrupted, or out of retries) that committed pages is
 * continued rather than started over, unless this run asks for a different read.
 */
export function resumableRun(previous: SyncHistoryRow | undefined, options: Pick<SyncOptions, 'since' | 'forceOverwrite' | 'full'>): { row: SyncHistoryRow; strategy: Strategy; checkpoint: Checkpoint } | undefined {
  if (!previous || previous.status === 'success' || previous.status === 'partial' || !previous.checkpoint || !previous.configuration) return undefined;
  const stored = JSON.parse(previous.configuration) as StoredConfiguration;
  if (!stored.strategy) return undefined;
  const asksNothing = !options.since && !options.full && !options.forceOverwrite;
  const asksTheSame =
    Boolean(stored.full) === options.full && Boolean(stored.forceOverwrite) === options.forceOverwrite && stored.since === options.since?.toISOString();
  if (!asksNothing && !asksTheSame) return undefined;
  return { row: previous, strategy: stored.strategy, checkpoint: JSON.parse(previous.checkpoint) as Checkpoint };
}

/**
 * The one sync loop: strategy → SyncHistory row (the lease) → fetch pages → transform →
 * validate → save (one transaction per page, with its checkpoint) → deletions → close the row.
 */
export class BaseSyncEngine {
  private readonly history: SyncHistoryRepository;
  private readonly records: RecordRepository;
  private readonly mapRecord: ReturnType<typeof createRecordMapper>;
  /** How logs and progress name the object: contacts, or contacts (dynamics). */
  private readonly label: string;

  constructor(private readonly deps: EngineDependencies) {
    this.history = new SyncHistoryRepository(deps.store);
    this.records = new RecordRepository(deps.store, this.history, deps.source.name, deps.object.name);
    this.mapRecord = createRecordMapper(deps.object);
    this.label = displayName(deps.object.name, deps.source.name);
  }

  async run(options: SyncOptions): Promise<RunResult> {
    const { object, source, log } = this.deps;
    ensureObjectView(this.deps.store, object);
    const previousWatermark = this.history.lastWatermark(source.name, object.name);
    const { tracksChanges } = source;
    const previousDeltaLink = tracksChanges ? this.history.lastDeltaLink(source.name, object.name) : null;

    let strategy = chooseStrategy(options, { watermark: previousWatermark, deltaLink: previousDeltaLink, tracksChanges }, object.overlapMs);
    let resumed: ReturnType<typeof resumableRun>;
    const { runId, abandoned } = this.history.begin(
      source.name,
      object.name,
      (previous) => {
        resumed = resumableRun(previous, options);
        if (resumed) strategy = resumed.strategy;
        return {
          objectType: object.name,
          source: source.name,
          syncType: strategy.syncType,
          watermark: resumed?.row.watermark ?? previousWatermark,
          configuration: { ...options, since: options.since?.toISOString(), strategy, resumedFrom: resumed?.row.id },
        };
      },
      // A dry run writes nothing, so it need not wait for (or take over from) a live run.
      { shareLease: options.dryRun },
    );
    for (const row of abandoned) log.warn(`${this.label}: run ${row.id} (pid ${row.pid} on ${row.host}) died without finishing; closed it as failed`);
    if (resumed) {
      this.history.inheritCheckpoint(runId, resumed.checkpoint);
      log.info(`${this.label}: resuming run ${resumed.row.id} from its last committed page (run ${runId})`);
    } else {
      log.info(`${this.label}: ${describeStrategy(strategy)} (run ${runId}${options.dryRun ? ', dry run' : ''})`);
    }

    const heartbeat = setInterval(() => this.history.heartbeat(runId), HEARTBEAT_MS).unref();
    const started = performance.now();
    const run: RunState = {
      runId,
      strategy,
      options,
      totals: emptyCounts(),
      pages: 0,
      watermark: resumed?.row.watermark ?? previousWatermark,
      checkpoint: resumed?.checkpoint ?? { phase: 'records', cursor: null, sourceLatest: null, maxSaved: null },
      truncated: false,
    };
    let status: Exclude<RunStatus, 'running'> = 'success';
    let error: unknown;
    this.deps.progress?.start(this.label);
    try {
      if (run.checkpoint.phase === 'records') await this.readRecords(run, resumed !== undefined);
      if (!run.truncated) await this.readDeletions(run);
      if (run.strategy.mode === 'full' && run.strategy.advancesWatermark && !run.truncated) {
        // A full read can't order by modification time, so its watermark is the source's
        // latest modification when it began: later changes are left to the next run.
        // An empty source still gets a watermark, so the next run searches instead of
        // listing everything again.
        run.watermark = later(run.watermark, earlier(run.checkpoint.sourceLatest, run.checkpoint.maxSaved) ?? EMPTY_SOURCE_WATERMARK);
      }
      if (run.totals.failed > 0) status = 'partial';
    } catch (caught) {
      status = 'failed';
      error = caught;
    } finally {
      clearInterval(heartbeat);
      this.deps.progress?.stop(this.label);
    }

    // A read that stopped early (--max-records) has not seen every change up to its delta link.
    const deltaLink = run.truncated ? undefined : run.checkpoint.deltaLink;
    return {
      ...closeRun(this.history, {
        runId,
        object: object.name,
        source: source.name,
        strategy: run.strategy,
        options,
        started,
        pages: run.pages,
        totals: run.totals,
        watermark: run.watermark,
        deltaLink,
        status,
        error,
        requestMetrics: source.metrics,
      }),
      resumedFrom: resumed?.row.id,
    };
  }

  /**
   * Stage 1: every record the strategy asks for, page by page. A delta link the source no
   * longer honours (Dataverse keeps changes for a limited time) turns the run into a full read.
   */
  protected async readRecords(run: RunState, resuming: boolean): Promise<void> {
    try {
      await this.readPages(run, resuming);
    } catch (error) {
      if (!(error instanceof ChangesExpiredError) || run.strategy.mode !== 'changes') throw error;
      const { object, log } = this.deps;
      log.warn(`${this.label}: ${this.deps.source.label} no longer has the changes since the last run (${error.message}); reading everything instead`);
      run.strategy = { syncType: 'full', mode: 'full', advancesWatermark: true };
      run.checkpoint = { ...run.checkpoint, cursor: null };
      this.history.changeSyncType(run.runId, 'full', { ...run.options, since: undefined, strategy: run.strategy, fallbackFrom: 'expired delta link' });
      await this.readPages(run, false);
    }
  }

  private async readPages(run: RunState, resuming: boolean): Promise<void> {
    const { strategy, options } = run;
    const { source } = this.deps;
    if (strategy.mode === 'full' && !resuming) {
      run.checkpoint.sourceLatest = await source.latestModification();
      if (this.sweepsAfterFullRead) this.records.startFullRead();
    }
    const common = { pageSize: options.batchSize, resume: run.checkpoint.cursor ?? undefined };
    const plan: ReadPlan =
      strategy.mode === 'full'
        ? { mode: 'full', ...common }
        : strategy.mode === 'changes'
          ? { mode: 'changes', deltaLink: strategy.deltaLink!, ...common }
          : { mode: 'incremental', since: strategy.since!, ...common };

    for await (const page of source.pages(plan)) {
      let raw = page.records;
      if (options.maxRecords > 0 && run.totals.processed + raw.length >= options.maxRecords) {
        raw = raw.slice(0, options.maxRecords - run.totals.processed);
        run.truncated = true;
      }
      const checkpoint = { ...run.checkpoint, cursor: page.checkpoint, ...(page.deltaLink ? { deltaLink: page.deltaLink } : {}) };
      this.savePage(run, raw, checkpoint, run.truncated ? [] : page.deletions);
      if (run.truncated) return;
      this.stopIfInterrupted();
    }
    run.checkpoint = { ...run.checkpoint, phase: 'deletions', cursor: null };
    this.history.recordPage(run.runId, emptyCounts(), run.checkpoint, run.watermark);
  }

  /** A source that cannot list its deleted records learns of them from what a full read no longer sees. */
  private get sweepsAfterFullRead(): boolean {
    return this.deps.source.deletedPages === undefined;
  }

  /**
   * Stage 2: records deleted in the source are marked deleted locally with the time, never
   * erased; local deletions the source no longer lists were restored and are read again.
   */
  protected async readDeletions(run: RunState): Promise<void> {
    const { source } = this.deps;
    if (!source.deletedPages) {
      if (run.strategy.mode === 'full') {
        const counts = this.records.sweepUnseen({ runId: run.runId, checkpoint: run.checkpoint, watermark: run.watermark, deletedAt: new Date().toISOString() });
        addCounts(run.totals, counts);
      }
      return;
    }
    const stillDeleted = new Set<string>();
    for await (const page of source.deletedPages(run.options.batchSize, run.checkpoint.cursor ?? undefined)) {
      for (const deletion of page.deletions) stillDeleted.add(deletion.sourceId);
      run.checkpoint = { ...run.checkpoint, cursor: page.checkpoint };
      const counts = this.records.saveDeletions({ runId: run.runId, deletions: page.deletions, checkpoint: run.checkpoint, watermark: run.watermark });
      addCounts(run.totals, counts);
      run.pages++;
      this.stopIfInterrupted();
    }
    const restoredIds = this.records.deletedIds().filter((id) => !stillDeleted.has(id));
    if (restoredIds.length === 0 || !source.readByIds) return;
    const restored = await source.readByIds(restoredIds);
    if (restored.length > 0) this.savePage(run, restored, run.checkpoint);
  }

  /** Transform → validate → save one page with its checkpoint, in one transaction. */
  private savePage(run: RunState, raw: unknown[], checkpoint: Checkpoint, deletions?: Deletion[]): void {
    if (!run.driftChecked && raw.length > 0) {
      run.driftChecked = true;
      this.warnAboutMissingProperties(raw);
    }
    const { valid, rejected } = this.transform(raw);
    const pageLatest = latest(valid);
    const maxSaved = later(checkpoint.maxSaved, pageLatest);
    // A full read's watermark is set when it completes (see run()); other reads move it page by page.
    if (run.strategy.advancesWatermark && run.strategy.mode !== 'full') run.watermark = later(run.watermark, maxSaved);
    run.checkpoint = { ...checkpoint, maxSaved };
    const counts = this.records.savePage({
      runId: run.runId,
      records: valid,
      rejected,
      deletions,
      markSeen: run.strategy.mode === 'full' && this.sweepsAfterFullRead,
      checkpoint: run.checkpoint,
      watermark: run.watermark,
      forceOverwrite: run.strategy.syncType === 'force_overwrite',
    });
    addCounts(run.totals, counts);
    run.pages++;
    this.deps.progress?.advance(this.label, raw.length);
    this.deps.log.debug(`${this.label}: page ${run.pages}: ${formatCounts(counts)}`);
  }

  /**
   * HubSpot leaves a requested property out of its answer when the property does not exist
   * (deleted or renamed in the portal), while unset ones come back as null. A mapped
   * property missing from every record of the first page has most likely gone: say so
   * rather than fill the column with nulls silently. (Dataverse refuses such a $select
   * outright, so for Dynamics 365 this only catches a row shape it did not expect.)
   */
  private warnAboutMissingProperties(raw: unknown[]): void {
    const flat = this.deps.object.source === 'dynamics';
    const seen = new Set<string>();
    for (const record of raw) {
      const properties = flat ? record : (record as { properties?: Record<string, unknown> } | null)?.properties;
      if (properties && typeof properties === 'object') for (const name of Object.keys(properties)) seen.add(name);
    }
    for (const field of this.deps.object.fields) {
      if (!seen.has(field.property)) {
        this.deps.log.warn(
          `${this.label}: ${this.deps.source.label} did not return property "${field.property}" (column ${field.column}); it may have been deleted or renamed, so the column stays empty. Run crmsync config check.`,
        );
      }
    }
  }

  private stopIfInterrupted(): void {
    if (this.deps.signal?.aborted) throw new InterruptedError();
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
          this.deps.log.warn(`${this.label} ${result.record.sourceId}: ${describeProblem(warning)}; stored as received (lenient)`);
        }
      } else {
        rejected.push(result.rejected);
        this.deps.log.warn(`${this.label} ${result.rejected.sourceId ?? '(no id)'} rejected: ${result.rejected.reasons.map(describeProblem).join('; ')}`);
      }
    }
    return { valid, rejected };
  }
}

interface RunState {
  runId: number;
  strategy: Strategy;
  options: SyncOptions;
  totals: PageCounts;
  pages: number;
  watermark: string | null;
  checkpoint: Checkpoint;
  /** Stopped early by --max-records: the read is incomplete. */
  truncated: boolean;
  /** Whether the first page was checked for mapped properties HubSpot no longer has. */
  driftChecked?: boolean;
}

/** Closes a run's SyncHistory row with its metrics and builds the result every command prints. */
export function closeRun(
  history: SyncHistoryRepository,
  run: {
    runId: number;
    object: string;
    source: string;
    strategy: Strategy;
    options: SyncOptions;
    started: number;
    pages: number;
    totals: PageCounts;
    watermark: string | null;
    deltaLink?: string;
    status: Exclude<RunStatus, 'running'>;
    error: unknown;
    requestMetrics: RequestMetrics;
  },
): RunResult {
  const durationMs = Math.round(performance.now() - run.started);
  const metrics: PerformanceMetrics = {
    durationMs,
    recordsPerSecond: durationMs > 0 ? Math.round((run.totals.processed * 1000) / durationMs) : run.totals.processed,
    pages: run.pages,
    ...run.requestMetrics,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  const error = run.error instanceof Error ? run.error.message : run.error === undefined ? undefined : String(run.error);
  const finished = run.status !== 'failed';
  history.finish(run.runId, {
    status: run.status,
    errorMessage: error,
    metrics,
    watermark: finished ? run.watermark : undefined,
    deltaLink: finished ? run.deltaLink : undefined,
  });
  return {
    runId: run.runId,
    object: run.object,
    source: run.source,
    syncType: run.strategy.syncType,
    status: run.status,
    dryRun: run.options.dryRun,
    counts: run.totals,
    watermark: run.watermark,
    metrics,
    error,
    exitCode: run.status === 'success' ? 0 : run.status === 'partial' ? 3 : exitCodeOf(run.error),
  };
}

export function describeStrategy(strategy: Strategy): string {
  if (strategy.mode === 'full') return strategy.syncType === 'force_overwrite' ? 'full read, overwriting every local row' : 'full read';
  if (strategy.mode === 'changes') return 'reading changes since the last run (change tracking)';
  return `${strategy.syncType === 'since' ? 'reading changes' : 'incremental read of changes'} since ${strategy.since}`;
}

function latest(records: MappedRecord[]): string | null {
  let max: string | null = null;
  for (const record of records) if (!max || record.modifiedAt > max) max = record.modifiedAt;
  return max;
}

export function later(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

function earlier(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

export function addCounts(into: PageCounts, add: PageCounts): void {
  for (const key of Object.keys(into) as (keyof PageCounts)[]) into[key] += add[key];
}

export function formatCounts(counts: PageCounts): string {
  return `${counts.processed} processed, ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.deleted} deleted, ${counts.failed} rejected`;
}
