import type { SyncHistoryRow } from '../db/sync-history.js';

/** What the command line asks of a read. */
export interface ReadRequest {
  full: boolean;
  since?: Date;
  forceOverwrite: boolean;
}

/**
 * How a run reads. `advancesWatermark`: whether its data may move the watermark later incremental runs start from.
 * `reason`: why a run asked for nothing in particular reads everything although earlier runs left a watermark.
 */
export type Strategy =
  | { mode: 'full'; syncMode: 'full' | 'force_overwrite'; advancesWatermark: boolean; reason?: string }
  /** Records modified at or after `since` (ISO-8601), in modification order. */
  | { mode: 'incremental'; syncMode: 'incremental' | 'since'; since: string; advancesWatermark: boolean }
  /** What changed after a delta link (sources with change tracking). */
  | { mode: 'changes'; syncMode: 'changes'; deltaLink: string; advancesWatermark: boolean }
  /**
   * Records by id, as a reconciliation found them out of step or webhooks said they changed:
   * says nothing of the others, so it never moves the watermark.
   */
  | { mode: 'ids'; syncMode: 'reconcile' | 'webhook'; advancesWatermark: false };

/** Where the last finished runs left an object, as far as this run may use it. */
export interface PreviousState {
  watermark: string | null;
  /** Set when the source tracks changes and the last complete read ended with one. */
  deltaLink: string | null;
  /** Whether the source tracks changes: without a delta link, a full read gets one. */
  tracksChanges: boolean;
  /** Why stored state was set aside (another origin, another mapping): said when the run reads everything because of it. */
  setAside?: string;
}

/**
 * What a run reads and how it maps it, kept in its sync_history row. A watermark, delta link
 * or paging checkpoint belongs to the target of the run that stored it: a link names the
 * host it came from, a cursor is one account's, and rows saved under another mapping do
 * not follow the current one.
 */
export interface RunTarget {
  /** The CRM's address: HubSpot's base URL, the Dynamics 365 organisation's URL. */
  origin: string;
  /** Fingerprint of the object's mapping (processors/mapper.ts); association runs have none. */
  mapping?: string;
}

/** The target of this run, and how messages name it. */
export interface CurrentTarget extends RunTarget {
  /** How messages name the object: contacts. */
  object: string;
  /** How messages name the origin: organisation, HUBSPOT_BASE_URL. */
  originName: string;
}

/** A watermark or delta link from sync_history, with the target of the run that stored it (empty for runs recorded before targets were). */
export interface StoredValue {
  value: string;
  target: Partial<RunTarget>;
}

export interface StoredState {
  watermark?: StoredValue;
  deltaLink?: StoredValue;
  /** The target of the object's last run, whatever its status. */
  lastRun?: Partial<RunTarget>;
}

/** Runs recorded before targets were stored are taken to have read the current one, so an upgraded database keeps its watermark. */
const originChanged = (stored: Partial<RunTarget> | undefined, current: RunTarget) => stored?.origin !== undefined && stored.origin !== current.origin;
const mappingChanged = (stored: Partial<RunTarget> | undefined, current: RunTarget) =>
  current.mapping !== undefined && stored?.mapping !== undefined && stored.mapping !== current.mapping;
const sameTarget = (stored: Partial<RunTarget> | undefined, current: RunTarget) => !originChanged(stored, current) && !mappingChanged(stored, current);
const belongs = (stored: StoredValue | undefined, current: RunTarget) => stored !== undefined && sameTarget(stored.target, current);

/**
 * The stored state this run may use: a watermark or delta link left by runs of another
 * origin (a link to another host, another account's changes) or with another mapping (rows
 * that do not follow the current one) is set aside, so the run reads everything.
 */
export function usableState(stored: StoredState, current: CurrentTarget, tracksChanges: boolean): PreviousState {
  const values = [stored.watermark, stored.deltaLink].filter((value) => value !== undefined);
  const movedFrom = [...values.map((value) => value.target), stored.lastRun].find((target) => originChanged(target, current));
  let setAside: string | undefined;
  if (movedFrom) setAside = `${current.originName} changed (was ${movedFrom.origin}, now ${current.origin}): reading everything`;
  else if (values.some((value) => mappingChanged(value.target, current))) {
    setAside = `mapping of ${current.object} changed since the last run; reading everything so every row follows it`;
  }
  return {
    watermark: belongs(stored.watermark, current) ? stored.watermark!.value : null,
    deltaLink: tracksChanges && belongs(stored.deltaLink, current) ? stored.deltaLink!.value : null,
    tracksChanges,
    ...(setAside ? { setAside } : {}),
  };
}

/** Reads the records a reconciliation names, by id. */
export const READ_BY_ID: Extract<Strategy, { mode: 'ids' }> = { mode: 'ids', syncMode: 'reconcile', advancesWatermark: false };

/** Reads back the records webhooks said changed, by id: the event says which record, the read says what it holds. */
export const READ_WEBHOOK_IDS: Extract<Strategy, { mode: 'ids' }> = { mode: 'ids', syncMode: 'webhook', advancesWatermark: false };

/** Reads everything, and sets the watermark when it completes. */
export const FULL_READ: Extract<Strategy, { mode: 'full' }> = { syncMode: 'full', mode: 'full', advancesWatermark: true };

/** Chooses how to read: --since > --force-overwrite > --full > last delta link or watermark > full. */
export function chooseStrategy(request: ReadRequest, previous: PreviousState, overlapMs: number): Strategy {
  const { watermark } = previous;
  if (request.since) {
    const since = request.since.toISOString();
    // Starting later than the watermark leaves a gap: such a run must not move it.
    return { syncMode: 'since', mode: 'incremental', since, advancesWatermark: watermark !== null && since <= watermark };
  }
  if (request.forceOverwrite) return { syncMode: 'force_overwrite', mode: 'full', advancesWatermark: true };
  if (request.full) return { ...FULL_READ };
  const fullRead: Strategy = previous.setAside ? { ...FULL_READ, reason: previous.setAside } : { ...FULL_READ };
  if (!watermark) return fullRead;
  if (previous.tracksChanges) {
    if (previous.deltaLink) return { syncMode: 'changes', mode: 'changes', deltaLink: previous.deltaLink, advancesWatermark: true };
    return fullRead;
  }
  // Never before the epoch: HubSpot's filters take non-negative epoch milliseconds.
  const since = new Date(Math.max(0, Date.parse(watermark) - overlapMs)).toISOString();
  return { syncMode: 'incremental', mode: 'incremental', since, advancesWatermark: true };
}

/** What a run stores in sync_history.configuration: the flags it was given, the strategy it chose and its target. */
interface StoredConfiguration extends Partial<RunTarget> {
  full?: boolean;
  forceOverwrite?: boolean;
  since?: string;
  strategy?: Strategy;
}

/** The target a sync_history row's configuration names (nothing for runs recorded before targets were stored). */
export function storedTarget(configuration: string | null): Partial<RunTarget> {
  if (!configuration) return {};
  const { origin, mapping } = JSON.parse(configuration) as StoredConfiguration;
  return { ...(origin !== undefined ? { origin } : {}), ...(mapping !== undefined ? { mapping } : {}) };
}

/** A failed run to continue: its row, its strategy, and the checkpoint of its last committed page. */
export interface Resumable {
  row: SyncHistoryRow;
  strategy: Strategy;
  checkpoint: unknown;
}

/**
 * A failed run (crashed, killed, interrupted, or out of retries) that committed pages is
 * continued rather than started over, and so is one stopped at the daily quota's reserve,
 * unless this run asks for a different read or has another target (its cursor is another
 * host's or account's; its rows follow another mapping). Only a run closed as failed or
 * stopped is continued: a `running` row belongs to a live process (a dead one's is closed
 * as failed before this is asked).
 */
export function resumableRun(previous: SyncHistoryRow | undefined, request: ReadRequest, current: RunTarget): Resumable | undefined {
  if (!previous || !(previous.status === 'failed' || stoppedAtDailyReserve(previous)) || !previous.checkpoint || !previous.configuration) return undefined;
  const stored = JSON.parse(previous.configuration) as StoredConfiguration;
  // A read by id is not continued: the next reconciliation finds whatever it left.
  if (!stored.strategy || stored.strategy.mode === 'ids' || !sameTarget(stored, current)) return undefined;
  const asksNothing = !request.since && !request.full && !request.forceOverwrite;
  const asksTheSame =
    Boolean(stored.full) === request.full && Boolean(stored.forceOverwrite) === request.forceOverwrite && stored.since === request.since?.toISOString();
  if (!asksNothing && !asksTheSame) return undefined;
  return { row: previous, strategy: stored.strategy, checkpoint: JSON.parse(previous.checkpoint) as unknown };
}

/** Whether a finished run stopped at a page boundary to leave the daily quota its reserve (see run-lifecycle.ts). */
export function stoppedAtDailyReserve(row: Pick<SyncHistoryRow, 'status' | 'performanceMetrics'>): boolean {
  if (row.status !== 'partial' || !row.performanceMetrics) return false;
  return (JSON.parse(row.performanceMetrics) as { stoppedAtDailyReserve?: boolean }).stoppedAtDailyReserve === true;
}

export function describeStrategy(strategy: Strategy): string {
  switch (strategy.mode) {
    case 'full':
      return strategy.syncMode === 'force_overwrite' ? 'full read, overwriting every local row' : 'full read';
    case 'changes':
      return 'reading changes since the last run (change tracking)';
    case 'incremental':
      return `${strategy.syncMode === 'since' ? 'reading changes' : 'incremental read of changes'} since ${strategy.since}`;
    case 'ids':
      return strategy.syncMode === 'webhook' ? 'reading by id the records webhooks said changed' : 'reading by id the records a reconciliation found out of step';
  }
}
