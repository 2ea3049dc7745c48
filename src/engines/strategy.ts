import type { SyncHistoryRow } from '../db/sync-history.js';

/** What the command line asks of a read. */
export interface ReadRequest {
  full: boolean;
  since?: Date;
  forceOverwrite: boolean;
}

/** How a run reads. `advancesWatermark`: whether its data may move the watermark later incremental runs start from. */
export type Strategy =
  | { mode: 'full'; syncType: 'full' | 'force_overwrite'; advancesWatermark: boolean }
  /** Records modified at or after `since` (ISO-8601), in modification order. */
  | { mode: 'incremental'; syncType: 'incremental' | 'since'; since: string; advancesWatermark: boolean }
  /** What changed after a delta link (sources with change tracking). */
  | { mode: 'changes'; syncType: 'incremental'; deltaLink: string; advancesWatermark: boolean };

/** Where the last finished runs left an object. */
export interface PreviousState {
  watermark: string | null;
  /** Set when the source tracks changes and the last complete read ended with one. */
  deltaLink: string | null;
  /** Whether the source tracks changes: without a delta link, a full read gets one. */
  tracksChanges: boolean;
}

/** Reads everything, and sets the watermark when it completes. */
export const FULL_READ: Strategy = { syncType: 'full', mode: 'full', advancesWatermark: true };

/** Chooses how to read: --since > --force-overwrite > --full > last delta link or watermark > full. */
export function chooseStrategy(request: ReadRequest, previous: PreviousState, overlapMs: number): Strategy {
  const { watermark } = previous;
  if (request.since) {
    const since = request.since.toISOString();
    // Starting later than the watermark leaves a gap: such a run must not move it.
    return { syncType: 'since', mode: 'incremental', since, advancesWatermark: watermark !== null && since <= watermark };
  }
  if (request.forceOverwrite) return { syncType: 'force_overwrite', mode: 'full', advancesWatermark: true };
  if (request.full || !watermark) return { ...FULL_READ };
  if (previous.tracksChanges) {
    if (previous.deltaLink) return { syncType: 'incremental', mode: 'changes', deltaLink: previous.deltaLink, advancesWatermark: true };
    return { ...FULL_READ };
  }
  // Never before the epoch: HubSpot's filters take non-negative epoch milliseconds.
  const since = new Date(Math.max(0, Date.parse(watermark) - overlapMs)).toISOString();
  return { syncType: 'incremental', mode: 'incremental', since, advancesWatermark: true };
}

/** What a run stores in sync_history.configuration: the flags it was given and the strategy it chose. */
interface StoredConfiguration {
  full?: boolean;
  forceOverwrite?: boolean;
  since?: string;
  strategy?: Strategy;
}

/** A failed run to continue: its row, its strategy, and the checkpoint of its last committed page. */
export interface Resumable {
  row: SyncHistoryRow;
  strategy: Strategy;
  checkpoint: unknown;
}

/**
 * A failed run (crashed, killed, interrupted, or out of retries) that committed pages is
 * continued rather than started over, unless this run asks for a different read.
 */
export function resumableRun(previous: SyncHistoryRow | undefined, request: ReadRequest): Resumable | undefined {
  if (!previous || previous.status === 'success' || previous.status === 'partial' || !previous.checkpoint || !previous.configuration) return undefined;
  const stored = JSON.parse(previous.configuration) as StoredConfiguration;
  if (!stored.strategy) return undefined;
  const asksNothing = !request.since && !request.full && !request.forceOverwrite;
  const asksTheSame =
    Boolean(stored.full) === request.full && Boolean(stored.forceOverwrite) === request.forceOverwrite && stored.since === request.since?.toISOString();
  if (!asksNothing && !asksTheSame) return undefined;
  return { row: previous, strategy: stored.strategy, checkpoint: JSON.parse(previous.checkpoint) as unknown };
}

export function describeStrategy(strategy: Strategy): string {
  switch (strategy.mode) {
    case 'full':
      return strategy.syncType === 'force_overwrite' ? 'full read, overwriting every local row' : 'full read';
    case 'changes':
      return 'reading changes since the last run (change tracking)';
    case 'incremental':
      return `${strategy.syncType === 'since' ? 'reading changes' : 'incremental read of changes'} since ${strategy.since}`;
  }
}
