import { CRM_NAMES, displayName, type SourceName } from '../config/sources.js';
import type { TwoWaySummary } from '../engines/two-way/two-way-engine.js';
import type { DeadLetter } from '../db/outbox.js';
import type { OutstandingRejection } from '../db/rejections.js';
import type { PageCounts, SyncHistoryRow } from '../db/sync-history.js';
import type { ProgressListener, RunResult } from '../engines/run-lifecycle.js';
import type { Logger } from '../log.js';
import { describeProblem } from '../processors/mapper.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * A progress bar per object on an interactive terminal; elsewhere (cron, CI) a plain log
 * line every 10,000 records of an object, so logs stay readable.
 */
export async function createProgress(log: Logger, enabled: boolean): Promise<ProgressListener | undefined> {
  if (!enabled) return undefined;
  const counts = new Map<string, { records: number; started: number; bar?: { update(value: number, payload: object): void } }>();
  const rate = (entry: { records: number; started: number }) => {
    const seconds = (performance.now() - entry.started) / 1000;
    return seconds > 0 ? Math.round(entry.records / seconds) : 0;
  };

  if (process.stderr.isTTY) {
    const { MultiBar } = (await import('cli-progress')).default;
    const bars = new MultiBar({ format: '{object} {value} records  {speed} records/s', stream: process.stderr, hideCursor: true, clearOnComplete: true });
    return {
      start(object) {
        counts.set(object, { records: 0, started: performance.now(), bar: bars.create(0, 0, { object: object.padEnd(12), speed: 0 }) });
      },
      advance(object, records) {
        const entry = counts.get(object)!;
        entry.records += records;
        entry.bar!.update(entry.records, { speed: rate(entry) });
      },
      stop(object) {
        counts.delete(object);
        if (counts.size === 0) bars.stop();
      },
    };
  }
  return {
    start(object) {
      counts.set(object, { records: 0, started: performance.now() });
    },
    advance(object, records) {
      const entry = counts.get(object)!;
      const before = entry.records;
      entry.records += records;
      if (Math.floor(entry.records / 10_000) > Math.floor(before / 10_000)) log.info(`${object}: ${entry.records} records read (${rate(entry)} records/s)`);
    },
    stop(object) {
      counts.delete(object);
    },
  };
}

export function printResults(results: RunResult[], exitCode: number, json: boolean): void {
  if (json) {
    out(JSON.stringify({ exitCode, results }, null, 2));
    return;
  }
  const name = (result: RunResult) => displayName(result.object, result.source);
  const width = Math.max(12, ...results.map((result) => name(result).length));
  for (const result of results) {
    const seconds = (result.metrics.durationMs / 1000).toFixed(1);
    if (result.runId === null) {
      out(`${name(result).padEnd(width)} not run  ${result.error}`);
      continue;
    }
    const verb = result.dryRun ? 'dry run, nothing written; would have: ' : '';
    out(
      `${name(result).padEnd(width)} ${result.status.padEnd(8)} ${result.syncMode.padEnd(11)} ${verb}${formatCounts(result.counts)} ` +
        `in ${seconds} s (${result.metrics.recordsPerSecond} records/s, ${count(result.metrics.requests, 'request', 'requests')}, ${count(result.metrics.retries, 'retry', 'retries')})`,
    );
    // A stop at the daily quota's reserve is no error: its line says why and what comes next.
    if (result.error) out(`${''.padEnd(width)} ${result.metrics.stoppedAtDailyReserve ? '' : 'error: '}${result.error}`);
    if (result.twoWay) for (const line of twoWayLines(result.object, result.twoWay, result.dryRun)) out(`${''.padEnd(width)} ${line}`);
    if (result.rejectedOutstanding > 0) {
      out(`${''.padEnd(width)} ${count(result.rejectedOutstanding, 'record', 'records')} whose latest version was rejected, by this run or an earlier one (crmsync history lists them)`);
    }
  }
}

function twoWayLines(object: string, summary: TwoWaySummary, dryRun: boolean): string[] {
  const crm = (side: SourceName) =>
    `${CRM_NAMES[side]}: ${summary.created[side]} created, ${summary.updated[side]} updated, ${summary.deleted[side]} deleted (${count(summary.writeRequests[side], 'request', 'requests')})`;
  const lines = [`${summary.pairsMerged} pairs merged, ${summary.linked} newly linked, ${summary.unmatched} unmatched (crmsync links ${object} --unmatched)`];
  if (dryRun) {
    const planned = new Map<string, number>();
    for (const write of summary.planned ?? []) planned.set(`${CRM_NAMES[write.crm]} ${write.operation}`, (planned.get(`${CRM_NAMES[write.crm]} ${write.operation}`) ?? 0) + 1);
    lines.push(`would write: ${[...planned].map(([what, n]) => `${what} ${n}`).join(', ') || 'nothing'} (--json lists every write)`);
  } else lines.push(`${crm('hubspot')}; ${crm('dynamics')}`);
  const waiting = [
    summary.conflictsOpen > 0 && `${count(summary.conflictsOpen, 'conflict', 'conflicts')} open (${summary.conflictsOpened} new; crmsync conflicts)`,
    summary.writesWaiting > 0 && `${count(summary.writesWaiting, 'write', 'writes')} waiting to be sent again`,
    summary.writesDead > 0 && `${count(summary.writesDead, 'write', 'writes')} refused (crmsync history lists them)`,
    summary.valueErrors > 0 && `${count(summary.valueErrors, 'value', 'values')} with no counterpart on the other side, not written`,
    summary.keptAfterDeletion > 0 && `${count(summary.keptAfterDeletion, 'pair', 'pairs')} with one side deleted, the other kept`,
  ].filter((line): line is string => typeof line === 'string');
  return [...lines, ...waiting];
}

function formatCounts(counts: PageCounts): string {
  return `${counts.processed} processed, ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.deleted} deleted, ${counts.failed} rejected`;
}

/** Newest first, at most as many as asked for; `total`: how many there are in all. */
export interface Listed<T> {
  rows: T[];
  total: number;
}

/**
 * The runs, newest first; then the records whose latest version was rejected and is not yet
 * resolved, and the writes given up on (dead-lettered). --json prints the runs only.
 */
export function printHistory(rows: SyncHistoryRow[], outstanding: { rejected: Listed<OutstandingRejection>; dead: Listed<DeadLetter> }, json: boolean): void {
  if (json) {
    out(JSON.stringify(rows.map((row) => ({ ...row, performanceMetrics: parse(row.performanceMetrics), configuration: parse(row.configuration), checkpoint: parse(row.checkpoint) })), null, 2));
    return;
  }
  if (rows.length === 0) {
    out('no runs recorded yet');
    return;
  }
  const header = ['run', 'entity', 'source', 'mode', 'status', 'started', 'seconds', 'processed', 'created', 'updated', 'unchanged', 'deleted', 'rejected', 'watermark'];
  const table = rows.map((row) => [
    String(row.id),
    row.syncType,
    row.crmSource,
    row.syncMode,
    row.status,
    tableTime(row.startTime),
    row.endTime ? ((Date.parse(row.endTime) - Date.parse(row.startTime)) / 1000).toFixed(1) : '-',
    String(row.recordsProcessed),
    String(row.recordsCreated),
    String(row.recordsUpdated),
    String(row.recordsUnchanged),
    String(row.recordsDeleted),
    String(row.recordsFailed),
    row.watermark ?? '-',
  ]);
  printTable([header, ...table]);
  for (const row of rows) if (row.errorMessage) out(`run ${row.id}: ${row.errorMessage}`);
  printRejected(outstanding.rejected);
  printDeadLetters(outstanding.dead);
}

function printRejected(rejected: Listed<OutstandingRejection>): void {
  if (rejected.total === 0) return;
  out();
  out(`${count(rejected.total, 'record', 'records')} whose latest version was rejected (until a valid version arrives or the record is deleted in the CRM):`);
  const listed = rejected.rows.map((row) => [row.objectType, row.source, row.sourceId, tableTime(row.rejectedAt), row.reasons.map(describeProblem).join('; ')]);
  printTable([['object', 'source', 'id', 'rejected', 'reasons'], ...listed]);
  if (rejected.total > rejected.rows.length) out(`... and ${rejected.total - rejected.rows.length} more (rejected_records WHERE resolved_at IS NULL)`);
}

function printDeadLetters(dead: Listed<DeadLetter>): void {
  if (dead.total === 0) return;
  out();
  out(`${count(dead.total, 'write', 'writes')} refused and dead-lettered (not sent again; a --two-way run plans them anew once the record changes, or with --full):`);
  const record = (row: DeadLetter) => row.recordId ?? (row.matchKey === null ? '(new)' : `(new) ${row.matchKey}`);
  const listed = dead.rows.map((row) => [row.objectType, CRM_NAMES[row.crm], row.operation, record(row), tableTime(row.finishedAt), row.reason === null ? '-' : oneLine(row.reason)]);
  printTable([['object', 'crm', 'operation', 'record', 'when', 'reason'], ...listed]);
  if (dead.total > dead.rows.length) out(`... and ${dead.total - dead.rows.length} more (outbox WHERE status = 'dead')`);
}

/** "2026-03-01 10:00:00": a time as tables show it, to the second. */
export const tableTime = (iso: string) => iso.slice(0, 19).replace('T', ' ');

/** A value on one line: text as it is unless it holds line breaks or other control characters, which are escaped; anything else as JSON. */
export function oneLine(value: unknown): string {
  return typeof value === 'string' && !/[\u0000-\u001f\u007f]/.test(value) ? value : JSON.stringify(value);
}

/** Rows of cells as aligned columns; the first row is the header. */
export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) out(row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
}

function parse(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}
