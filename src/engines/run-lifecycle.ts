import { emptyMetrics, type RequestMetrics } from '../clients/http/retry.js';
import type { Store } from '../db/database.js';
import { HEARTBEAT_MS, SyncHistoryRepository, emptyCounts, type PageCounts, type RunStatus, type StoredRunValue, type SyncMode } from '../db/sync-history.js';
import { DailyQuotaStop, exitCodeForStatus, exitCodeOf, InterruptedError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  chooseStrategy,
  describeStrategy,
  resumableRun,
  storedTarget,
  usableState,
  type CurrentTarget,
  type ReadRequest,
  type Resumable,
  type RunTarget,
  type StoredValue,
  type Strategy,
} from './strategy.js';

export interface SyncOptions extends ReadRequest {
  dryRun: boolean;
  /** Records per API page; undefined = the largest page each endpoint allows. */
  batchSize?: number;
  /** Stop after this many records; 0 = no limit. */
  maxRecords: number;
}

export interface PerformanceMetrics extends RequestMetrics {
  durationMs: number;
  recordsPerSecond: number;
  pages: number;
  /** Peak resident memory of the process so far, in MB. */
  peakRssMb: number;
  /** The run stopped at a page boundary to leave the CRM's daily quota its reserve: the next run continues it. */
  stoppedAtDailyReserve?: true;
}

/** What every command prints about a run (and --json gives as it is). */
export interface RunResult {
  /** null when the run could not start (another process holds the lease). */
  runId: number | null;
  object: string;
  source: string;
  /** How the run read (sync_history.sync_mode). */
  syncMode: SyncMode;
  status: Exclude<RunStatus, 'running'>;
  dryRun: boolean;
  counts: PageCounts;
  /** Records whose latest version was rejected, by this run or an earlier one, and not yet resolved: the run is partial while there are any. */
  rejectedOutstanding: number;
  watermark: string | null;
  metrics: PerformanceMetrics;
  error?: string;
  exitCode: number;
  /** The failed run this one continued from, if any. */
  resumedFrom?: number;
  /** Two-way runs: what was linked, written and left waiting. */
  twoWay?: import('./two-way/two-way-engine.js').TwoWaySummary;
}

/** Told about each run's progress; several may run at once. */
export interface ProgressListener {
  start(label: string): void;
  advance(label: string, records: number): void;
  stop(label: string): void;
}

/** What a run is of, and what it may use. */
export interface RunSpec {
  store: Store;
  /** As sync_history names the run: its crm_source (hubspot) and sync_type, the entity (contacts, contacts:companies). */
  source: string;
  object: string;
  /** How logs and progress name the run: contacts (dynamics). */
  label: string;
  /** Said before the strategy when the run starts: "associations". */
  kind?: string;
  options: SyncOptions;
  overlapMs: number;
  /** Whether the source reads changes after a delta link. */
  tracksChanges: boolean;
  /** What the run reads (the CRM's origin) and how it maps it: stored state of another target is not used. */
  target: CurrentTarget;
  /** The request counters of the connection the run reads through. */
  metrics: RequestMetrics;
  /** A read the caller chose (a reconciliation's read by id): no other is chosen, and no failed run is continued. */
  strategy?: Strategy;
  log: Logger;
  progress?: ProgressListener;
  /** Aborted on SIGINT/SIGTERM: the run stops after the page being saved. */
  signal?: AbortSignal;
}

/** A run under way, as the loop body sees it. Everything it commits goes through a page's transaction. */
export class ActiveRun<Checkpoint> {
  /** Stopped by --max-records: the read is incomplete, so it neither sets a full read's watermark nor finishes one's sweeps. */
  truncated = false;
  readonly totals = emptyCounts();
  /** Set by the loop body: records whose latest version was rejected and not yet resolved. */
  rejectedOutstanding = 0;
  pages = 0;
  /** Set by a change-tracked read that reached its end: where the next one starts. */
  deltaLink?: string;

  constructor(
    private readonly history: SyncHistoryRepository,
    readonly runId: number,
    public strategy: Strategy,
    readonly options: SyncOptions,
    public watermark: string | null,
    private readonly target: RunTarget,
    /** The checkpoint of the failed run this one continues; undefined when it starts afresh. */
    readonly resumeFrom: Checkpoint | undefined,
    private readonly signal?: AbortSignal,
  ) {}

  /** Records let in so far, counted before their pages are committed. */
  private taken = 0;

  /** The part of a batch --max-records still lets in: a run stops after exactly that many records. */
  take<T>(batch: T[]): T[] {
    const { maxRecords } = this.options;
    let admitted = batch;
    if (maxRecords !== 0 && this.taken + batch.length >= maxRecords) {
      this.truncated = true;
      admitted = batch.slice(0, maxRecords - this.taken);
    }
    this.taken += admitted.length;
    return admitted;
  }

  /** Counts a committed page. */
  add(counts: PageCounts): void {
    addCounts(this.totals, counts);
    this.pages++;
  }

  /** Between pages: SIGINT/SIGTERM ends the run here, after the last page was saved. */
  stopIfInterrupted(): void {
    if (this.signal?.aborted) throw new InterruptedError();
  }

  /** The run turns into another kind of read (an expired delta link into a full read); its row says so. */
  switchTo(strategy: Strategy, reason: string): void {
    this.strategy = strategy;
    this.history.changeSyncMode(this.runId, strategy.syncMode, configuration(this.options, strategy, this.target, { fallbackFrom: reason }));
  }
}

/**
 * The one life of every run: choose the strategy (or resume a failed run from its last
 * committed page), take the lease (the `running` sync_history row, closing runs that died
 * holding it), keep its heartbeat, run the loop body, and close the row with its counts,
 * metrics, watermark and delta link. A failure of the body fails the run, not the caller.
 */
export async function withRun<Checkpoint>(spec: RunSpec, body: (run: ActiveRun<Checkpoint>) => Promise<void>): Promise<RunResult> {
  const history = new SyncHistoryRepository(spec.store);
  const { run, resumed } = begin<Checkpoint>(history, spec);
  const heartbeat = setInterval(() => history.heartbeat(run.runId), HEARTBEAT_MS).unref();
  const started = performance.now();
  let status: Exclude<RunStatus, 'running'> = 'success';
  let error: unknown;
  spec.progress?.start(spec.label);
  try {
    await body(run);
    if (run.totals.failed > 0 || run.rejectedOutstanding > 0) status = 'partial';
  } catch (caught) {
    status = stopsAtPage(caught, run.strategy) ? 'partial' : 'failed';
    error = caught;
  } finally {
    clearInterval(heartbeat);
    spec.progress?.stop(spec.label);
  }
  const result = close(history, spec, run, { status, error, started });
  // stdout may be a --json summary or a file: a failure is said on stderr too, even with --quiet.
  if (status === 'failed') spec.log.error(`${spec.label}: ${result.error}`);
  else if (result.metrics.stoppedAtDailyReserve) spec.log.warn(`${spec.label}: ${result.error}`);
  return { ...result, resumedFrom: resumed?.row.id };
}

/**
 * A run stopped for the daily quota has saved every page it read and continues from the last
 * one: it ends `partial`, its work left to the next run. A read by id is never continued
 * (the reconciliation or webhook that asked for it asks again), so for it the stop is a failure.
 */
function stopsAtPage(error: unknown, strategy: Strategy): boolean {
  return error instanceof DailyQuotaStop && strategy.mode !== 'ids';
}

function begin<Checkpoint>(history: SyncHistoryRepository, spec: RunSpec): { run: ActiveRun<Checkpoint>; resumed?: Resumable } {
  const { source, object, options, log, target } = spec;
  let plan!: { strategy: Strategy; watermark: string | null; resumed?: Resumable };
  const { runId, abandoned } = history.begin(
    source,
    object,
    (previous) => {
      const stored = {
        watermark: storedValue(history.lastWatermark(source, object)),
        deltaLink: storedValue(history.lastDeltaLink(source, object)),
        lastRun: previous && storedTarget(previous.configuration),
      };
      const state = usableState(stored, target, spec.tracksChanges);
      const resumed = spec.strategy ? undefined : resumableRun(previous, options, target);
      const strategy = spec.strategy ?? resumed?.strategy ?? chooseStrategy(options, state, spec.overlapMs);
      plan = { strategy, resumed, watermark: resumed?.row.watermark ?? state.watermark };
      return { entity: object, source, syncMode: strategy.syncMode, watermark: plan.watermark, configuration: configuration(options, strategy, target, { resumedFrom: resumed?.row.id }) };
    },
    // A dry run writes nothing, so it need not wait for (or take over from) a live run.
    { shareLease: options.dryRun },
  );
  const { strategy, resumed, watermark } = plan;
  for (const row of abandoned) log.warn(`${spec.label}: run ${row.id} (pid ${row.pid} on ${row.host}) died without finishing; closed it as failed`);
  if (resumed) {
    history.inheritCheckpoint(runId, resumed.checkpoint);
    log.info(`${spec.label}: resuming run ${resumed.row.id} from its last committed page (run ${runId})`);
  } else {
    if (strategy.mode === 'full' && strategy.reason) log.info(`${spec.label}: ${strategy.reason}`);
    log.info(`${spec.label}: ${spec.kind ? `${spec.kind}, ` : ''}${describeStrategy(strategy)} (run ${runId}${options.dryRun ? ', dry run' : ''})`);
  }
  const run = new ActiveRun<Checkpoint>(history, runId, strategy, options, watermark, target, resumed?.checkpoint as Checkpoint | undefined, spec.signal);
  return { run, resumed };
}

function storedValue(found: StoredRunValue | undefined): StoredValue | undefined {
  return found && { value: found.value, target: storedTarget(found.configuration) };
}

/** What sync_history.configuration keeps of a run: its flags, its strategy, its target, and where it came from. */
function configuration(options: SyncOptions, strategy: Strategy, target: RunTarget, extra: Record<string, unknown>): Record<string, unknown> {
  return { ...options, since: options.since?.toISOString(), strategy, origin: target.origin, mapping: target.mapping, ...extra };
}

/** Closes the run's row: a failed run keeps the watermark and delta link of the runs before it; a truncated read stores no delta link. */
function close(
  history: SyncHistoryRepository,
  spec: RunSpec,
  run: ActiveRun<unknown>,
  outcome: { status: Exclude<RunStatus, 'running'>; error: unknown; started: number },
): RunResult {
  const durationMs = Math.round(performance.now() - outcome.started);
  const metrics: PerformanceMetrics = {
    durationMs,
    recordsPerSecond: durationMs > 0 ? Math.round((run.totals.processed * 1000) / durationMs) : run.totals.processed,
    pages: run.pages,
    ...spec.metrics,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(outcome.status === 'partial' && outcome.error instanceof DailyQuotaStop ? { stoppedAtDailyReserve: true as const } : {}),
  };
  const { status } = outcome;
  const error = outcome.error instanceof Error ? outcome.error.message : outcome.error === undefined ? undefined : String(outcome.error);
  const finished = status !== 'failed';
  history.finish(run.runId, {
    status,
    errorMessage: error,
    metrics,
    watermark: finished ? run.watermark : undefined,
    deltaLink: finished && !run.truncated ? run.deltaLink : undefined,
  });
  return {
    runId: run.runId,
    object: spec.object,
    source: spec.source,
    syncMode: run.strategy.syncMode,
    status,
    dryRun: spec.options.dryRun,
    counts: run.totals,
    rejectedOutstanding: run.rejectedOutstanding,
    watermark: run.watermark,
    metrics,
    error,
    exitCode: exitCodeForStatus(status, outcome.error),
  };
}

/** The result of a run that never started (its lease is held elsewhere): there is no sync_history row to record it in. */
export function notStarted(object: string, source: string, options: SyncOptions, error: unknown): RunResult {
  return {
    runId: null,
    object,
    source,
    syncMode: options.full ? 'full' : 'incremental',
    status: 'failed',
    dryRun: options.dryRun,
    counts: emptyCounts(),
    rejectedOutstanding: 0,
    watermark: null,
    metrics: { durationMs: 0, recordsPerSecond: 0, pages: 0, ...emptyMetrics(), peakRssMb: 0 },
    error: (error as Error).message,
    exitCode: exitCodeOf(error),
  };
}

export function addCounts(into: PageCounts, add: PageCounts): void {
  for (const key of Object.keys(into) as (keyof PageCounts)[]) into[key] += add[key];
}

/** The later of two ISO-8601 times, either of which may be missing. */
export function later(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

export function earlier(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}
