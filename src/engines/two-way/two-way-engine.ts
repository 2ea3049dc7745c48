import type { CrmConnection, CrmConnector } from '../../clients/crm.js';
import { emptyMetrics, type RequestMetrics } from '../../clients/http/retry.js';
import type { ObjectMapping } from '../../config/load.js';
import { CRM_NAMES, otherSource, SOURCES, type SourceName } from '../../config/sources.js';
import type { TwoWayMapping } from '../../config/two-way.js';
import type { Store } from '../../db/database.js';
import { LinkRepository, type LinkRow } from '../../db/link-repository.js';
import { LocalRecords, matchKeysOf, type LocalRecord } from '../../db/local-records.js';
import { changesOf, Outbox, type OutboxRow } from '../../db/outbox.js';
import { HEARTBEAT_MS, SyncHistoryRepository, TWO_WAY_SOURCE, emptyCounts, type MergeCursor, type PageCounts, type RunStatus, type SyncMode } from '../../db/sync-history.js';
import { DailyQuotaStop, exitCodeForStatus } from '../../errors.js';
import type { Logger } from '../../log.js';
import { createRecordMapper } from '../../processors/mapper.js';
import { editedSinceAgreed } from '../../processors/pair-plan.js';
import { ObjectSyncEngine } from '../object-sync-engine.js';
import type { PerformanceMetrics, ProgressListener, RunResult, SyncOptions } from '../run-lifecycle.js';
import { READ_WEBHOOK_IDS } from '../strategy.js';
import { emptyPlanTally, mergePairs, pairUnlinked, type PlanContext, type PlanTally } from './plan-writes.js';
import { emptyTally, sendWrites, type SendContext, type WriteTally } from './send-writes.js';

/** A write the run sends, or with --dry-run would send. */
export interface PlannedWriteView {
  crm: SourceName;
  operation: string;
  recordId: string | null;
  link: string;
  /** property → the value the record holds (null for a twin not yet there) and the value written. */
  changes: Record<string, { old: unknown; new: unknown }>;
}

/** What a two-way run did, as sync_history.write_summary keeps it and the command line prints it. */
export interface TwoWaySummary {
  pairsMerged: number;
  linked: number;
  unmatched: number;
  created: Record<SourceName, number>;
  updated: Record<SourceName, number>;
  deleted: Record<SourceName, number>;
  conflictsOpened: number;
  conflictsOpen: number;
  /** Waiting in the outbox for another attempt. */
  writesWaiting: number;
  writesDead: number;
  valueErrors: number;
  keptAfterDeletion: number;
  /** Requests the run's writes took, per CRM; reads (the inbound runs, HubSpot's change times, rows read again after a 412) are not counted. */
  writeRequests: Record<SourceName, number>;
  /** Milliseconds spent pairing records and merging pairs. */
  mergeMs: number;
  /** --dry-run: the writes it would have sent. */
  planned?: PlannedWriteView[];
}

export interface TwoWayDependencies {
  object: string;
  twoWay: TwoWayMapping;
  mappings: Record<SourceName, ObjectMapping>;
  crms: Record<SourceName, CrmConnector>;
  connections: Record<SourceName, CrmConnection>;
  store: Store;
  log: Logger;
  progress?: ProgressListener;
  signal?: AbortSignal;
}

/** Records of each CRM webhooks said changed: a two-way run reads these back instead of every change since its watermark. */
export type ChangedIds = Record<SourceName, string[]>;

/** Rounds of planning again after writes found their records changed since they were read (HTTP 412). */
const STALE_ROUNDS = 3;

/**
 * A two-way run of one object: send what the outbox holds that is due, read both CRMs'
 * changes (an inbound run each), pair records without a link, merge every pair whose
 * records changed field by field, store the writes that calls for, send them, and plan again
 * those that met a record changed since it was read. Its own sync_history row is the lease:
 * one two-way run of an object at a time.
 */
export class TwoWaySyncEngine {
  private readonly links: LinkRepository;
  private readonly outbox: Outbox;
  private readonly history: SyncHistoryRepository;
  private readonly local: Record<SourceName, LocalRecords>;
  /** Requests that read (the inbound runs, HubSpot's change times, rows read again after a 412): the rest of a run's requests are its writes'. */
  private readonly readRequests: Record<SourceName, number> = { hubspot: 0, dynamics: 0 };
  /** Time spent pairing and merging (with the change times merging asked for), not reading or writing. */
  private mergeMs = 0;
  private syncMode: SyncMode = 'two_way';

  constructor(private readonly deps: TwoWayDependencies) {
    const { store, object } = deps;
    this.links = new LinkRepository(store, object);
    this.outbox = new Outbox(store, object);
    this.history = new SyncHistoryRepository(store);
    this.local = { hubspot: new LocalRecords(store, 'hubspot', object), dynamics: new LocalRecords(store, 'dynamics', object) };
  }

  /**
   * The inbound runs' results, then the two-way run's. With `changedIds` (the records
   * webhooks named), each CRM's inbound run reads those records back by id instead of
   * every change since its watermark; a CRM no webhook named is not read.
   */
  async run(options: SyncOptions, changedIds?: ChangedIds): Promise<RunResult[]> {
    const { object, log } = this.deps;
    const configuration = { ...options, since: options.since?.toISOString() };
    // A run reading back what webhooks named is told apart from the runs that read every change.
    this.syncMode = changedIds ? 'webhook' : 'two_way';
    const { runId, abandoned } = this.history.begin(TWO_WAY_SOURCE, object, () => ({ entity: object, source: TWO_WAY_SOURCE, syncMode: this.syncMode, watermark: null, configuration }), {
      shareLease: options.dryRun,
    });
    for (const row of abandoned) log.warn(`${object} (two-way): run ${row.id} (pid ${row.pid} on ${row.host}) died without finishing; closed it as failed`);
    log.info(`${object} (two-way): run ${runId}${options.dryRun ? ', dry run' : ''}`);
    const heartbeat = setInterval(() => this.history.heartbeat(runId), HEARTBEAT_MS).unref();
    const started = performance.now();
    const inbound: RunResult[] = [];
    const tally = emptyTally();
    const planned = emptyPlanTally();
    let status: Exclude<RunStatus, 'running'> = 'success';
    let error: unknown;
    let cursor: MergeCursor | undefined;
    const requestsBefore = this.requests();
    try {
      cursor = await this.body(runId, options, inbound, tally, planned, changedIds);
    } catch (caught) {
      // Stopped for HubSpot's daily quota: the merge cursor stays where it was and the next run takes over. Webhooks'
      // read-backs are not continued by a next run, so for them it is a failure, and their events are processed again.
      status = caught instanceof DailyQuotaStop && this.syncMode !== 'webhook' ? 'partial' : 'failed';
      error = caught;
    } finally {
      clearInterval(heartbeat);
    }
    const summary = this.summarize(tally, planned, requestsBefore, options.dryRun);
    if (status === 'success' && (summary.writesDead + summary.writesWaiting + summary.conflictsOpen + summary.valueErrors > 0)) status = 'partial';
    if (error === undefined && tally.heldBy !== undefined) error = `writes held in the outbox: ${tally.heldBy}`;
    const counts = countsOf(summary);
    this.history.recordWrites(runId, counts, summary, cursor);
    const result = this.close(runId, { status, error, started, counts, summary, options });
    if (status === 'failed') log.error(`${object} (two-way): ${result.error}`);
    return [...inbound, result];
  }

  private async body(runId: number, options: SyncOptions, inbound: RunResult[], tally: WriteTally, planned: PlanTally, changedIds?: ChangedIds): Promise<MergeCursor> {
    const send = this.sendContext();
    const due = this.outbox.due();
    // A plain HubSpot create that may have reached HubSpot before a crash is checked against what the read finds first.
    const inDoubt = due.filter((row) => row.crm === 'hubspot' && row.operation === 'create' && row.idProperty === null && row.attempts > 0);
    if (!options.dryRun) await sendWrites(send, due.filter((row) => !inDoubt.includes(row)), tally);

    const previous = this.history.mergeCursor(this.deps.object);
    const cursor: MergeCursor = { hubspot: null, dynamics: null };
    const toRead = previous && changedIds ? this.withTwins(changedIds) : undefined;
    for (const side of SOURCES) {
      const ids = toRead?.[side];
      if (ids?.length === 0) {
        // Nothing of this CRM's to read back: its records changed since the last merge are still merged.
        cursor[side] = previous![side];
        continue;
      }
      const result = await this.reading(side, () => this.readInbound(side, options, ids));
      inbound.push(result);
      if (result.status === 'failed') throw new Error(`reading ${CRM_NAMES[side]} failed: ${result.error}`);
      // Merging after half a read would take stored copies older than the CRM's records for current: the next run reads the rest first.
      if (result.metrics.stoppedAtDailyReserve) throw new DailyQuotaStop(`reading ${CRM_NAMES[side]} ${result.error}`);
      cursor[side] = result.runId;
    }
    this.adoptInDoubtCreates(inDoubt, tally);

    const context = this.planContext(runId, options);
    const everything = options.full || options.forceOverwrite || !previous;
    const changed = { hubspot: this.local.hubspot.changedSince(everything ? null : previous.hubspot), dynamics: this.local.dynamics.changedSince(everything ? null : previous.dynamics) };
    const pairs = this.pairsToMerge(changed, tally.finishedLinks, options.full);
    const unlinked = {
      hubspot: changed.hubspot.filter((id) => !pairs.bySide.hubspot.has(id)),
      dynamics: changed.dynamics.filter((id) => !pairs.bySide.dynamics.has(id)),
    };
    const mergeStarted = performance.now();
    const newLinks = pairUnlinked(context, unlinked, planned);
    await mergePairs(context, [...pairs.links.values(), ...newLinks], planned);
    this.mergeMs = Math.round(performance.now() - mergeStarted);
    if (options.dryRun) return cursor;

    tally.finishedLinks.clear();
    await sendWrites(send, this.outbox.due(), tally);
    await this.replanStale(context, send, tally, planned);
    return cursor;
  }

  private async readInbound(side: SourceName, options: SyncOptions, ids?: string[]): Promise<RunResult> {
    const { mappings, crms, connections, store, log, progress, signal } = this.deps;
    const mapping = mappings[side];
    const engine = new ObjectSyncEngine({ mapping, crm: crms[side], reader: connections[side].reader(mapping), origin: connections[side].origin, store, log, progress, signal });
    if (ids) return engine.readIds({ ids, gone: [] }, options, READ_WEBHOOK_IDS);
    return engine.run({ ...options, forceOverwrite: false });
  }

  /**
   * The records webhooks named and their twins: a pair is merged on both records as their
   * CRMs hold them now. The stored copy of a twin may predate crmsync's own last write to it,
   * and merged as it is it would pass for an edit made there and undo the change just named.
   */
  private withTwins(changedIds: ChangedIds): ChangedIds {
    const ids = { hubspot: new Set(changedIds.hubspot), dynamics: new Set(changedIds.dynamics) };
    for (const side of SOURCES) {
      const other = otherSource(side);
      for (const link of this.links.bySide(side, changedIds[side]).values()) {
        const twin = other === 'hubspot' ? link.hubspotId : link.dynamicsId;
        if (twin !== null) ids[other].add(twin);
      }
    }
    return { hubspot: [...ids.hubspot], dynamics: [...ids.dynamics] };
  }

  /** The links whose records changed, whose writes finished this run, or whose conflict a person resolved. */
  private pairsToMerge(changed: Record<SourceName, string[]>, finished: Set<string>, full: boolean) {
    const bySide = { hubspot: this.links.bySide('hubspot', changed.hubspot), dynamics: this.links.bySide('dynamics', changed.dynamics) };
    const links = new Map<string, LinkRow>();
    if (full) for (const link of this.links.all()) links.set(link.id, link);
    for (const side of SOURCES) for (const link of bySide[side].values()) links.set(link.id, link);
    const more = [...finished, ...this.links.resolutions().keys()].filter((id) => !links.has(id));
    for (const link of this.links.byIds(more)) links.set(link.id, link);
    return { links, bySide };
  }

  /**
   * A plain HubSpot create attempted before and never confirmed (the run died mid-request)
   * is done if the read found a HubSpot record without a link that has its match key and
   * every value it sent: that record is the twin it made, and is taken instead of making a
   * second one. Records that only share the key (two companies of one name) are told apart
   * by their values.
   */
  private adoptInDoubtCreates(rows: OutboxRow[], tally: WriteTally): void {
    if (rows.length === 0) return;
    const { twoWay } = this.deps;
    const byKey = new Map<string, string[]>();
    for (const [id, key] of matchKeysOf(this.local.hubspot, twoWay.match.hubspot, this.deps.crms.hubspot.recordShape, twoWay.match.normalize)) {
      if (key !== null) byKey.set(key, [...(byKey.get(key) ?? []), id]);
    }
    const linked = this.links.linkedIds('hubspot');
    const records = this.local.hubspot.get(rows.flatMap((row) => byKey.get(row.matchKey ?? '') ?? []));
    this.deps.store.sqlite.transaction(() => {
      for (const row of rows) {
        const sent = new Map(Object.entries(row.agreed));
        const found = (byKey.get(row.matchKey ?? '') ?? []).find((id) => !linked.has(id) && records.has(id) && !editedSinceAgreed(twoWay, 'hubspot', records.get(id)!, sent));
        if (found === undefined) continue;
        this.outbox.audit(row, { key: String(row.id), status: 'exists', recordId: found }, found);
        this.links.setId(row.linkId, 'hubspot', found);
        // The record holds what the create sent: the pair agrees on it.
        this.links.saveAgreed(row.linkId, row.agreed, row.runId);
        this.outbox.finish(row.id, 'done');
        linked.add(found);
        tally.finishedLinks.add(row.linkId);
        tally.created.hubspot++;
      }
    })();
  }

  /** Writes Dataverse refused with 412: read those rows again, merge them afresh, send what that calls for. */
  private async replanStale(context: PlanContext, send: SendContext, tally: WriteTally, planned: PlanTally): Promise<void> {
    const { mappings, crms, connections } = this.deps;
    const mapRow = createRecordMapper(mappings.dynamics, crms.dynamics.recordShape);
    for (let round = 0; round < STALE_ROUNDS && tally.stale.length > 0; round++) {
      const links = this.links.byIds(new Set(tally.stale.map((row) => row.linkId)));
      tally.stale = [];
      const rows = await this.reading('dynamics', () => connections.dynamics.reader(mappings.dynamics).readByIds(links.map((link) => link.dynamicsId!)));
      const fresh = new Map<string, LocalRecord>();
      for (const raw of rows) {
        const mapped = mapRow(raw);
        if (!mapped.ok) continue;
        const etag = (raw as Record<string, unknown>)['@odata.etag'];
        fresh.set(mapped.record.sourceId, { id: mapped.record.sourceId, fields: mapped.record.fields, modifiedAt: mapped.record.modifiedAt, deleted: false, ...(typeof etag === 'string' && { etag }) });
      }
      await mergePairs(context, links.filter((link) => fresh.has(link.dynamicsId!)), planned, fresh);
      await sendWrites(send, this.outbox.due(), tally);
    }
  }

  private planContext(runId: number, options: SyncOptions): PlanContext {
    const { store, object, twoWay, mappings, crms, connections, log } = this.deps;
    const changeTimes = connections.hubspot.changeTimes?.bind(connections.hubspot);
    return {
      store,
      object,
      label: `${object} (two-way)`,
      twoWay,
      mappings,
      shapes: { hubspot: crms.hubspot.recordShape, dynamics: crms.dynamics.recordShape },
      links: this.links,
      outbox: this.outbox,
      local: this.local,
      runId,
      log,
      force: options.forceOverwrite,
      ...(changeTimes && { changeTimes: (ids: string[], properties: string[]) => this.reading('hubspot', () => changeTimes(mappings.hubspot, ids, properties)) }),
    };
  }

  private sendContext(): SendContext {
    const { store, mappings, connections, log, object } = this.deps;
    const targets = {
      hubspot: { writer: connections.hubspot.writer, mapping: mappings.hubspot },
      dynamics: { writer: connections.dynamics.writer, mapping: mappings.dynamics },
    };
    return { store, outbox: this.outbox, links: this.links, targets, log, label: `${object} (two-way)` };
  }

  /** Runs a read, its requests counted apart from the writes'. */
  private async reading<T>(side: SourceName, read: () => Promise<T>): Promise<T> {
    const before = this.requests()[side];
    try {
      return await read();
    } finally {
      this.readRequests[side] += this.requests()[side] - before;
    }
  }

  private requests(): Record<SourceName, number> {
    return { hubspot: this.deps.connections.hubspot.metrics.requests, dynamics: this.deps.connections.dynamics.metrics.requests };
  }

  private summarize(tally: WriteTally, planned: PlanTally, requestsBefore: Record<SourceName, number>, dryRun: boolean): TwoWaySummary {
    const now = this.requests();
    const outbox = this.outbox.counts();
    const pending = dryRun ? this.outbox.due({ all: true }) : [];
    return {
      pairsMerged: planned.pairs,
      linked: planned.linked,
      unmatched: planned.unmatched,
      created: tally.created,
      updated: tally.updated,
      deleted: tally.deleted,
      conflictsOpened: planned.conflictsOpened,
      conflictsOpen: this.links.openConflictCount(),
      writesWaiting: dryRun ? 0 : outbox.pending,
      writesDead: tally.dead,
      valueErrors: planned.errors,
      keptAfterDeletion: planned.keptAfterDeletion,
      mergeMs: this.mergeMs,
      writeRequests: {
        hubspot: now.hubspot - requestsBefore.hubspot - this.readRequests.hubspot,
        dynamics: now.dynamics - requestsBefore.dynamics - this.readRequests.dynamics,
      },
      ...(dryRun && { planned: pending.map(plannedView) }),
    };
  }

  private close(
    runId: number,
    outcome: { status: Exclude<RunStatus, 'running'>; error: unknown; started: number; counts: PageCounts; summary: TwoWaySummary; options: SyncOptions },
  ): RunResult {
    const durationMs = Math.round(performance.now() - outcome.started);
    const metrics: PerformanceMetrics = {
      durationMs,
      recordsPerSecond: durationMs > 0 ? Math.round((outcome.counts.processed * 1000) / durationMs) : outcome.counts.processed,
      pages: 0,
      ...sumMetrics(this.deps.connections.hubspot.metrics, this.deps.connections.dynamics.metrics),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...(outcome.status === 'partial' && outcome.error instanceof DailyQuotaStop ? { stoppedAtDailyReserve: true as const } : {}),
    };
    const error = outcome.error instanceof Error ? outcome.error.message : outcome.error === undefined ? undefined : String(outcome.error);
    this.history.finish(runId, { status: outcome.status, errorMessage: error, metrics });
    return {
      runId,
      object: this.deps.object,
      source: TWO_WAY_SOURCE,
      syncMode: this.syncMode,
      status: outcome.status,
      dryRun: outcome.options.dryRun,
      counts: outcome.counts,
      rejectedOutstanding: 0,
      watermark: null,
      metrics,
      error,
      exitCode: exitCodeForStatus(outcome.status, outcome.error),
      twoWay: outcome.summary,
    };
  }
}

function plannedView(row: OutboxRow): PlannedWriteView {
  return { crm: row.crm, operation: row.operation, recordId: row.recordId, link: row.linkId, changes: changesOf(row) };
}

/** The two-way row's counts: pairs merged, twins created, records updated and deleted in either CRM, writes failed. */
function countsOf(summary: TwoWaySummary): PageCounts {
  const counts = emptyCounts();
  counts.processed = summary.pairsMerged;
  counts.created = summary.created.hubspot + summary.created.dynamics;
  counts.updated = summary.updated.hubspot + summary.updated.dynamics;
  counts.deleted = summary.deleted.hubspot + summary.deleted.dynamics;
  counts.unchanged = Math.max(0, summary.pairsMerged - counts.updated - counts.deleted);
  counts.failed = summary.writesDead + summary.writesWaiting;
  return counts;
}

/** Both connections' request counters added up, and HubSpot's daily quota as its latest answer stated it. */
function sumMetrics(hubspot: RequestMetrics, dynamics: RequestMetrics): RequestMetrics {
  const sum = emptyMetrics();
  for (const key of Object.keys(sum) as (keyof RequestMetrics)[]) sum[key] = (hubspot[key] ?? 0) + (dynamics[key] ?? 0);
  return { ...sum, hubspotDailyRemaining: hubspot.hubspotDailyRemaining, hubspotDailyLimit: hubspot.hubspotDailyLimit };
}
