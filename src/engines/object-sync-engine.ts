import { ChangesExpiredError, type CrmConnector, type Origin, type ReadPlan, type RecordSource } from '../clients/crm.js';
import type { ObjectMapping } from '../config/load.js';
import { displayName } from '../config/sources.js';
import type { Store } from '../db/database.js';
import { PageWriter } from '../db/page-writer.js';
import { RecordRepository, toRecordRow } from '../db/record-repository.js';
import { SyncHistoryRepository, emptyCounts } from '../db/sync-history.js';
import { ensureObjectView } from '../db/views.js';
import { logFields, type Logger } from '../log.js';
import { createRecordMapper, describeProblem, mappingFingerprint, propertiesOf, type MapResult } from '../processors/mapper.js';
import type { Deletion, MappedRecord, RejectedRecord } from '../records.js';
import { addCounts, earlier, later, withRun, type ActiveRun, type ProgressListener, type RunResult, type SyncOptions } from './run-lifecycle.js';
import { FULL_READ, READ_BY_ID, type Strategy } from './strategy.js';

export interface ObjectSyncDependencies {
  mapping: ObjectMapping;
  /** The CRM the object is read from. */
  crm: Pick<CrmConnector, 'name' | 'label' | 'recordShape'>;
  reader: RecordSource;
  /** Where the reader's requests go. */
  origin: Origin;
  store: Store;
  log: Logger;
  progress?: ProgressListener;
  signal?: AbortSignal;
}

/** Where an object's run stands, stored in sync_history with each page so a new run can resume. */
export interface Checkpoint {
  phase: 'records' | 'deletions';
  /** The reader's paging position within the phase; null at its start. */
  cursor: unknown;
  /** Full reads: the source's latest modification time when the read began. */
  sourceLatest: string | null;
  /** Greatest modification time saved so far. */
  maxSaved: string | null;
  /** The delta link a change-tracked read ended with, once it has. */
  deltaLink?: string;
}

/** Records a read by id asks for per page (one transaction): five HubSpot batch reads, ten Dataverse queries. */
const IDS_PER_PAGE = 500;

/** What a reconciliation asks a run to read by id, and what it found gone already. */
export interface IdRead {
  /** Read and saved; those the source no longer has are marked deleted. */
  ids: string[];
  /** Marked deleted as they are, with the time the caller learnt they were gone. */
  gone: Deletion[];
}

/** The watermark of a complete read of an empty source: every record is newer than it. */
const EMPTY_SOURCE_WATERMARK = new Date(0).toISOString();

/** One run of the object, as its stages share it. */
interface ObjectRun {
  run: ActiveRun<Checkpoint>;
  checkpoint: Checkpoint;
  /** Whether the first page was checked for mapped properties the CRM no longer has. */
  driftChecked: boolean;
  /** Where the run's pages are saved. */
  writer: PageWriter;
}

/**
 * The loop body of an object's run: fetch pages → transform → validate → save (one
 * transaction per page, with its checkpoint) → deletions. The lease, resume and closing
 * the run are the lifecycle's (run-lifecycle.ts).
 */
export class ObjectSyncEngine {
  private readonly history: SyncHistoryRepository;
  private readonly records: RecordRepository;
  private readonly mapRecord: (raw: unknown) => MapResult;
  /** How logs and progress name the object: contacts, or contacts (dynamics). */
  private readonly label: string;

  constructor(private readonly deps: ObjectSyncDependencies) {
    const { mapping, crm, store } = deps;
    this.history = new SyncHistoryRepository(store);
    this.records = new RecordRepository(store, this.history, crm.name, mapping.name, { keepsHistory: mapping.keepsHistory });
    this.mapRecord = createRecordMapper(mapping, crm.recordShape);
    this.label = displayName(mapping.name, crm.name);
  }

  run(options: SyncOptions): Promise<RunResult> {
    return withRun<Checkpoint>(this.spec(options), (run) => this.read(run));
  }

  /**
   * A run that reads exactly these records by id and saves them as any page is saved (the
   * lease, a checkpoint with each page); those the source no longer has are marked deleted,
   * with the time that was learnt, and so are `gone`.
   */
  readIds(request: IdRead, options: SyncOptions, strategy: Extract<Strategy, { mode: 'ids' }> = READ_BY_ID): Promise<RunResult> {
    return withRun<Checkpoint>({ ...this.spec(options), strategy }, (run) => this.readListed(run, request));
  }

  private spec(options: SyncOptions) {
    const { mapping, crm, reader, origin, store, log, progress, signal } = this.deps;
    ensureObjectView(store, mapping);
    const target = { origin: origin.url, originName: origin.name, object: mapping.name, mapping: mappingFingerprint(mapping) };
    return { store, source: crm.name, object: mapping.name, label: this.label, options, overlapMs: mapping.overlapMs, tracksChanges: reader.tracksChanges, target, metrics: reader.metrics, log, progress, signal };
  }

  private readListed(run: ActiveRun<Checkpoint>, request: IdRead): Promise<void> {
    return this.withWriter(run, { phase: 'records', cursor: 0, sourceLatest: null, maxSaved: null }, async (state) => {
      for (let start = 0; start < request.ids.length; start += IDS_PER_PAGE) {
        const ids = request.ids.slice(start, start + IDS_PER_PAGE);
        const raw = await this.deps.reader.readByIds(ids);
        await this.savePage(state, raw, { ...state.checkpoint, cursor: start + ids.length }, undefined, { ids, at: new Date().toISOString() });
        run.stopIfInterrupted();
      }
      await state.writer.drain();
      if (request.gone.length > 0) {
        state.checkpoint = { ...state.checkpoint, phase: 'deletions', cursor: null };
        run.add(this.records.saveDeletions({ runId: run.runId, deletions: request.gone, checkpoint: state.checkpoint, watermark: run.watermark }));
      }
    });
  }

  /**
   * Runs a read with the writer its pages go to, then counts the records left rejected. The
   * writer is closed however the read ends: pages it took are committed before the run is.
   */
  private async withWriter(run: ActiveRun<Checkpoint>, checkpoint: Checkpoint, read: (state: ObjectRun) => Promise<void>): Promise<void> {
    const { mapping, crm, store } = this.deps;
    const writer = PageWriter.for(store, this.records, { source: crm.name, objectType: mapping.name, keepsHistory: mapping.keepsHistory });
    try {
      await read({ run, checkpoint, driftChecked: false, writer });
    } finally {
      await writer.close();
    }
    run.rejectedOutstanding = this.records.rejectedOutstanding;
  }

  private read(run: ActiveRun<Checkpoint>): Promise<void> {
    return this.withWriter(run, run.resumeFrom ?? { phase: 'records', cursor: null, sourceLatest: null, maxSaved: null }, (state) => this.readAll(state));
  }

  private async readAll(state: ObjectRun): Promise<void> {
    const { run } = state;
    if (state.checkpoint.phase === 'records') await this.readRecords(state);
    if (!run.truncated) await this.readDeletions(state);
    if (run.strategy.mode === 'full' && run.strategy.advancesWatermark && !run.truncated) {
      // A full read can't order by modification time, so its watermark is the source's
      // latest modification when it began: later changes are left to the next run.
      // An empty source still gets a watermark, so the next run searches instead of
      // listing everything again.
      run.watermark = later(run.watermark, earlier(state.checkpoint.sourceLatest, state.checkpoint.maxSaved) ?? EMPTY_SOURCE_WATERMARK);
    }
    run.deltaLink = state.checkpoint.deltaLink;
  }

  /**
   * Stage 1: every record the strategy asks for, page by page. A delta link the source no
   * longer honours (Dataverse keeps changes for a limited time) turns the run into a full read.
   */
  private async readRecords(state: ObjectRun): Promise<void> {
    const { run } = state;
    try {
      await this.readPages(state, run.resumeFrom !== undefined);
    } catch (error) {
      if (!(error instanceof ChangesExpiredError) || run.strategy.mode !== 'changes') throw error;
      await state.writer.drain();
      this.deps.log.warn(`${this.label}: ${this.deps.crm.label} no longer has the changes since the last run (${error.message}); reading everything instead`);
      run.switchTo({ ...FULL_READ }, 'expired delta link');
      state.checkpoint = { ...state.checkpoint, cursor: null };
      await this.readPages(state, false);
    }
  }

  private async readPages(state: ObjectRun, resuming: boolean): Promise<void> {
    const { run } = state;
    const { reader } = this.deps;
    if (run.strategy.mode === 'full' && !resuming) {
      state.checkpoint.sourceLatest = await reader.latestModification();
      if (this.sweepsAfterFullRead) this.records.startFullRead();
    }
    for await (const page of reader.pages(readPlan(run.strategy, run.options.batchSize, state.checkpoint.cursor))) {
      const records = run.take(page.records);
      const checkpoint = { ...state.checkpoint, cursor: page.checkpoint, ...(page.deltaLink ? { deltaLink: page.deltaLink } : {}) };
      await this.savePage(state, records, checkpoint, run.truncated ? [] : page.deletions);
      if (run.truncated) return;
      run.stopIfInterrupted();
    }
    await state.writer.drain();
    state.checkpoint = { ...state.checkpoint, phase: 'deletions', cursor: null };
    this.history.recordPage(run.runId, emptyCounts(), state.checkpoint, run.watermark);
  }

  /** A source that cannot list its deleted records learns of them from what a full read no longer sees. */
  private get sweepsAfterFullRead(): boolean {
    return this.deps.reader.deletedPages === undefined;
  }

  /**
   * Stage 2: records deleted in the source are marked deleted locally with the time, never
   * erased; local deletions the source no longer lists were restored and are read again.
   */
  private async readDeletions(state: ObjectRun): Promise<void> {
    const { run } = state;
    const { reader } = this.deps;
    if (!reader.deletedPages) {
      if (run.strategy.mode === 'full') {
        const swept = this.records.sweepUnseen({ runId: run.runId, checkpoint: state.checkpoint, watermark: run.watermark, deletedAt: new Date().toISOString() });
        addCounts(run.totals, swept);
      }
      return;
    }
    const stillDeleted = new Set<string>();
    for await (const page of reader.deletedPages(run.options.batchSize, state.checkpoint.cursor ?? undefined)) {
      for (const deletion of page.deletions) stillDeleted.add(deletion.sourceId);
      state.checkpoint = { ...state.checkpoint, cursor: page.checkpoint };
      run.add(this.records.saveDeletions({ runId: run.runId, deletions: page.deletions, checkpoint: state.checkpoint, watermark: run.watermark }));
      run.stopIfInterrupted();
    }
    const restoredIds = this.records.deletedIds().filter((id) => !stillDeleted.has(id));
    if (restoredIds.length === 0) return;
    const restored = await reader.readByIds(restoredIds);
    if (restored.length > 0) await this.savePage(state, restored, state.checkpoint);
  }

  /**
   * Transform → validate → save one page with its checkpoint, in one transaction. A page read
   * by id (`requested`) marks deleted the ids it asked for that the source did not return.
   * Resolves once the writer has taken the page; it is counted once committed.
   */
  private async savePage(state: ObjectRun, raw: unknown[], checkpoint: Checkpoint, deletions?: Deletion[], requested?: { ids: string[]; at: string }): Promise<void> {
    const { run } = state;
    if (!state.driftChecked && raw.length > 0) {
      state.driftChecked = true;
      this.warnAboutMissingProperties(raw);
    }
    const { valid, rejected } = this.transform(raw);
    if (requested) deletions = notReturned(requested.ids, [...valid, ...rejected], requested.at);
    const maxSaved = later(checkpoint.maxSaved, latest(valid));
    // A full read's watermark is set when it completes (see read()); other reads move it page by page.
    if (run.strategy.advancesWatermark && run.strategy.mode !== 'full') run.watermark = later(run.watermark, maxSaved);
    state.checkpoint = { ...checkpoint, maxSaved };
    const page = {
      runId: run.runId,
      records: valid.map(toRecordRow),
      rejected,
      deletions,
      markSeen: run.strategy.mode === 'full' && this.sweepsAfterFullRead,
      checkpoint: state.checkpoint,
      watermark: run.watermark,
      forceOverwrite: run.strategy.syncMode === 'force_overwrite',
    };
    // Not `raw` itself: the page's parsed records need not live until it is committed.
    const received = raw.length;
    await state.writer.save(page, (counts) => {
      run.add(counts);
      this.deps.progress?.advance(this.label, received);
      this.deps.log.debug(`${this.label}: page ${run.pages}: ${logFields(counts)}`);
    });
  }

  /**
   * A CRM may leave a requested property out of its answer when the property does not exist
   * (HubSpot does, for one deleted or renamed in the portal), while unset ones come back as
   * null. A mapped property missing from every record of the first page has most likely gone:
   * say so rather than fill the column with nulls silently. (Dataverse refuses such a $select
   * outright, so there this only catches a row shape it did not expect.)
   */
  private warnAboutMissingProperties(raw: unknown[]): void {
    const { mapping, crm, log } = this.deps;
    const seen = new Set<string>();
    for (const record of raw) for (const name of Object.keys(propertiesOf(record, crm.recordShape) ?? {})) seen.add(name);
    for (const field of mapping.fields) {
      if (!seen.has(field.property)) {
        log.warn(
          `${this.label}: ${crm.label} did not return property "${field.property}" (column ${field.column}); it may have been deleted or renamed, so the column stays empty. Run crmsync config check.`,
        );
      }
    }
  }

  /** Maps and validates a page; rejections are kept with their reasons, never dropped. */
  private transform(raw: unknown[]): { valid: MappedRecord[]; rejected: RejectedRecord[] } {
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

/** The ids asked for that are not among the records returned: gone from the source, as learnt at `at`. */
function notReturned(ids: string[], returned: { sourceId: string | null }[], at: string): Deletion[] {
  const present = new Set(returned.map((record) => record.sourceId));
  return ids.filter((id) => !present.has(id)).map((sourceId) => ({ sourceId, deletedAt: at }));
}

/** What the reader is asked for, from the strategy and where the run stands. */
function readPlan(strategy: Strategy, pageSize: number | undefined, cursor: unknown): ReadPlan {
  const common = { pageSize, resume: cursor ?? undefined };
  switch (strategy.mode) {
    case 'ids':
      throw new Error('a read by id has no read plan: it reads the ids it is given');
    case 'full':
      return { mode: 'full', ...common };
    case 'changes':
      return { mode: 'changes', deltaLink: strategy.deltaLink, ...common };
    case 'incremental':
      return { mode: 'incremental', since: strategy.since, ...common };
  }
}

function latest(records: MappedRecord[]): string | null {
  let max: string | null = null;
  for (const record of records) if (!max || record.modifiedAt > max) max = record.modifiedAt;
  return max;
}
