import { durationSchema } from '../config/mappings-schema.js';
import type { AbandonedRun, DailyQuotaSeen, EntityState } from '../db/health.js';
import type { RunStatus } from '../db/sync-history.js';
import { UsageError } from '../errors.js';

/** How old an object's last finished run may be while it has too few runs to tell its usual interval. */
export const DEFAULT_MAX_AGE_MS = 60 * 60_000;
/** Finished runs needed before their start times say how often the object runs. */
export const MIN_RUNS_FOR_INTERVAL = 3;
/** cron starts a job at most once a minute: a burst of runs by hand never makes the allowed age shorter than that. */
export const SHORTEST_DEFAULT_MAX_AGE_MS = 60_000;

export type MaxAgeBasis = 'max_age_flag' | 'usual_interval' | 'default';
export type ReasonKind = 'stale' | 'failing' | 'abandoned_run' | 'dead_letters';

/** One reason an object is unhealthy; `message` is the line printed on stderr. */
export interface HealthReason {
  object: string;
  source: string;
  reason: ReasonKind;
  message: string;
}

/** One entity (an object, or a pair of associations, from one source or two-way) as `crmsync health` reports it. */
export interface ObjectHealth {
  object: string;
  /** hubspot, dynamics, or two_way. */
  source: string;
  healthy: boolean;
  /** The newest run's status. */
  lastStatus: RunStatus;
  lastRunId: number;
  /** When the newest finished run (success or partial) ended; null when none has. */
  lastSuccessAt: string | null;
  lastSuccessStatus: 'success' | 'partial' | null;
  lastSuccessAgeSeconds: number | null;
  /** How old the last finished run may be, and where that figure comes from. */
  maxAgeSeconds: number;
  maxAgeBasis: MaxAgeBasis;
  /** The median gap between the starts of the newest finished runs; null with fewer than MIN_RUNS_FOR_INTERVAL. */
  usualIntervalSeconds: number | null;
  /** Failed runs since the last finished one. */
  consecutiveFailures: number;
  /** The newest run since the last finished one that stopped at HubSpot's daily quota reserve; null when none did. */
  stoppedAtDailyReserveRunId: number | null;
  /** The newest failed run's error, while failures go on. */
  lastError: string | null;
  /** Records the newest run that ended rejected (records_failed); null for two-way runs (see writes*). */
  rejectedByLastRun: number | null;
  rejectionsOutstanding: number | null;
  /** Runs in progress whose process is alive. */
  running: number;
  abandonedRuns: AbandonedRun[];
  /** Two-way runs only; null otherwise. */
  openConflicts: number | null;
  writesWaiting: number | null;
  writesDead: number | null;
  writesDeadOutstanding: number | null;
}

export interface HealthReport {
  healthy: boolean;
  checkedAt: string;
  objects: ObjectHealth[];
  reasons: HealthReason[];
  /** HubSpot's daily request quota as last seen; null when no run has heard it. */
  hubspotDailyQuota: DailyQuotaSeen | null;
}

/** A duration flag's "30m", "2h", "90s", "1d" → milliseconds; anything else (no unit, 0, milliseconds, a fraction) is a UsageError naming the flag. */
export function parseDurationFlag(flag: string, text: string): number {
  const parsed = durationSchema.safeParse(text.trim());
  if (!parsed.success || parsed.data < 1000 || text.trim().endsWith('ms')) {
    throw new UsageError(`${flag} "${text}" is not a duration: use a whole number above 0 and a unit (s, m, h or d), such as 90s, 30m, 2h or 1d`);
  }
  return parsed.data;
}

export const parseMaxAge = (text: string): number => parseDurationFlag('--max-age', text);

/** The median gap between consecutive start times (any order); null with fewer than MIN_RUNS_FOR_INTERVAL of them. */
export function usualIntervalMs(startTimes: string[]): number | null {
  if (startTimes.length < MIN_RUNS_FOR_INTERVAL) return null;
  const times = startTimes.map((time) => Date.parse(time)).sort((a, b) => a - b);
  const gaps = times.slice(1).map((time, index) => time - times[index]).sort((a, b) => a - b);
  const middle = Math.floor(gaps.length / 2);
  return gaps.length % 2 === 1 ? gaps[middle] : (gaps[middle - 1] + gaps[middle]) / 2;
}

/** --max-age when given; else twice the usual interval (never under a minute); else DEFAULT_MAX_AGE_MS. */
export function allowedAge(startTimes: string[], maxAgeFlagMs?: number): { ms: number; basis: MaxAgeBasis; intervalMs: number | null } {
  const intervalMs = usualIntervalMs(startTimes);
  if (maxAgeFlagMs !== undefined) return { ms: maxAgeFlagMs, basis: 'max_age_flag', intervalMs };
  if (intervalMs === null) return { ms: DEFAULT_MAX_AGE_MS, basis: 'default', intervalMs };
  return { ms: Math.max(2 * intervalMs, SHORTEST_DEFAULT_MAX_AGE_MS), basis: 'usual_interval', intervalMs };
}

/** The verdict on every entity, and the reasons for an unhealthy one. */
export function judgeHealth(
  read: { entities: EntityState[]; hubspotQuota: DailyQuotaSeen | null },
  options: { now: number; maxAgeMs?: number },
): HealthReport {
  const objects: ObjectHealth[] = [];
  const reasons: HealthReason[] = [];
  for (const state of read.entities) {
    const allowed = allowedAge(state.recentFinishedStarts, options.maxAgeMs);
    const found = reasonsOf(state, allowed, options.now);
    objects.push(describe(state, allowed, options.now, found.length === 0));
    reasons.push(...found);
  }
  return { healthy: reasons.length === 0, checkedAt: new Date(options.now).toISOString(), objects, reasons, hubspotDailyQuota: read.hubspotQuota };
}

function reasonsOf(state: EntityState, allowed: ReturnType<typeof allowedAge>, now: number): HealthReason[] {
  const name = entityName(state.object, state.source);
  const reason = (kind: ReasonKind, message: string): HealthReason => ({ object: state.object, source: state.source, reason: kind, message: `${name}: ${message}` });
  const reasons: HealthReason[] = [];
  const since = finishedAt(state) ?? state.firstStartedAt;
  // Whole seconds, as the message says them: "ended 1s ago, longer than the 1s allowed" never happens.
  const age = ageSeconds(since, now);
  if (age > seconds(allowed.ms)) {
    const what = state.lastFinished ? `last finished run (run ${state.lastFinished.id}) ended` : `no run has finished since the first started`;
    const stopped = state.stoppedAtReserve ? `; run ${state.stoppedAtReserve.id} stopped at HubSpot's daily quota reserve and the next run continues it` : '';
    reasons.push(reason('stale', `${what} ${formatDuration(age * 1000)} ago (${since}), longer than the ${formatDuration(allowed.ms)} allowed (${describeAllowance(allowed)})${stopped}`));
  }
  if (state.failuresSinceFinished > 0 && state.lastFailed) {
    const { id, endTime, startTime, errorMessage } = state.lastFailed;
    const runs = state.failuresSinceFinished === 1 ? 'the last run failed' : `the last ${state.failuresSinceFinished} runs failed`;
    reasons.push(reason('failing', `${runs} (run ${id}, ${endTime ?? startTime}): ${firstLine(errorMessage) ?? 'no error recorded'}`));
  }
  for (const run of state.abandoned) {
    const holder = `pid ${run.pid ?? '?'} on ${run.host ?? '?'}, last heartbeat ${run.heartbeatAt ?? run.startedAt}`;
    reasons.push(reason('abandoned_run', `run ${run.runId} is still marked running but its process is gone (${holder}); the next run of ${state.object} closes it as failed`));
  }
  const dead = state.twoWay?.writesDeadOutstanding ?? 0;
  if (dead > 0) {
    const writes = dead === 1 ? '1 write' : `${dead} writes`;
    reasons.push(reason('dead_letters', `${writes} refused by the CRM and dead-lettered, the record not written there since (crmsync history lists them)`));
  }
  return reasons;
}

function describe(state: EntityState, allowed: ReturnType<typeof allowedAge>, now: number, healthy: boolean): ObjectHealth {
  const successAt = finishedAt(state);
  const failing = state.failuresSinceFinished > 0;
  return {
    object: state.object,
    source: state.source,
    healthy,
    lastStatus: state.lastRun.status,
    lastRunId: state.lastRun.id,
    lastSuccessAt: successAt,
    lastSuccessStatus: (state.lastFinished?.status as 'success' | 'partial' | undefined) ?? null,
    lastSuccessAgeSeconds: successAt === null ? null : ageSeconds(successAt, now),
    maxAgeSeconds: seconds(allowed.ms),
    maxAgeBasis: allowed.basis,
    usualIntervalSeconds: allowed.intervalMs === null ? null : seconds(allowed.intervalMs),
    consecutiveFailures: state.failuresSinceFinished,
    stoppedAtDailyReserveRunId: state.stoppedAtReserve?.id ?? null,
    lastError: failing ? (state.lastFailed?.errorMessage ?? null) : null,
    rejectedByLastRun: state.twoWay || !state.lastEnded ? null : state.lastEnded.recordsFailed,
    rejectionsOutstanding: state.rejectionsOutstanding,
    running: state.liveRuns,
    abandonedRuns: state.abandoned,
    openConflicts: state.twoWay?.openConflicts ?? null,
    writesWaiting: state.twoWay?.writesWaiting ?? null,
    writesDead: state.twoWay?.writesDead ?? null,
    writesDeadOutstanding: state.twoWay?.writesDeadOutstanding ?? null,
  };
}

/** When the newest finished run ended (its start, should a row lack an end). */
function finishedAt(state: EntityState): string | null {
  return state.lastFinished ? (state.lastFinished.endTime ?? state.lastFinished.startTime) : null;
}

function describeAllowance(allowed: ReturnType<typeof allowedAge>): string {
  if (allowed.basis === 'max_age_flag') return '--max-age';
  if (allowed.basis === 'default') return `fewer than ${MIN_RUNS_FOR_INTERVAL} finished runs to tell its usual interval from; --max-age sets another`;
  return `twice its usual interval of ${formatDuration(allowed.intervalMs!)}`;
}

/** "contacts (hubspot)", "contacts (two-way)" */
export function entityName(object: string, source: string): string {
  return `${object} (${source === 'two_way' ? 'two-way' : source})`;
}

const UNITS: [string, number][] = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];

/** 45s, 5m 30s, 2h 5m, 3d: the largest unit and the next one, to the second. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (parts.length > 0 || amount > 0) parts.push(amount > 0 ? `${amount}${unit}` : '');
    if (parts.length === 2) break;
  }
  return parts.filter(Boolean).join(' ') || '0s';
}

const seconds = (ms: number) => Math.round(ms / 1000);
/** Whole seconds from `time` to `now`; 0 for a time ahead of this machine's clock. */
const ageSeconds = (time: string, now: number) => Math.max(0, Math.floor((now - Date.parse(time)) / 1000));

function firstLine(text: string | null): string | null {
  return text === null ? null : (text.split(/\r?\n/)[0] ?? '').trim() || null;
}
