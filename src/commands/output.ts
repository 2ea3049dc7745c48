import type { RunResult, ProgressListener } from '../engines/base-sync-engine.js';
import { formatCounts } from '../engines/base-sync-engine.js';
import type { Logger } from '../log.js';
import type { SyncHistoryRow } from '../db/sync-history.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

/**
 * A progress bar on an interactive terminal; elsewhere (cron, CI) a plain log line every
 * 10,000 records so logs stay readable.
 */
export async function createProgress(log: Logger, enabled: boolean): Promise<ProgressListener | undefined> {
  if (!enabled) return undefined;
  if (process.stderr.isTTY) {
    const { SingleBar } = (await import('cli-progress')).default;
    const bar = new SingleBar(
      { format: '{object} {value} records  {speed} records/s', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    );
    let started = 0;
    return {
      start(object) {
        started = performance.now();
        bar.start(0, 0, { object, speed: 0 });
      },
      advance(records) {
        const value = ((bar as unknown as { value: number }).value ?? 0) + records;
        const seconds = (performance.now() - started) / 1000;
        bar.update(value, { speed: seconds > 0 ? Math.round(value / seconds) : 0 });
      },
      stop: () => bar.stop(),
    };
  }
  let object = '';
  let count = 0;
  let nextReport = 10_000;
  let started = 0;
  return {
    start(name) {
      object = name;
      count = 0;
      nextReport = 10_000;
      started = performance.now();
    },
    advance(records) {
      count += records;
      if (count >= nextReport) {
        const rate = Math.round(count / ((performance.now() - started) / 1000));
        log.info(`${object}: ${count} records read (${rate} records/s)`);
        nextReport += 10_000;
      }
    },
    stop() {},
  };
}

export function printResults(results: RunResult[], exitCode: number, json: boolean): void {
  if (json) {
    out(JSON.stringify({ exitCode, results }, null, 2));
    return;
  }
  for (const result of results) {
    const seconds = (result.metrics.durationMs / 1000).toFixed(1);
    const verb = result.dryRun ? 'dry run, nothing written; would have: ' : '';
    out(
      `${result.object.padEnd(12)} ${result.status.padEnd(8)} ${result.syncType.padEnd(11)} ${verb}${formatCounts(result.counts)} ` +
        `in ${seconds} s (${result.metrics.recordsPerSecond} records/s, ${result.metrics.requests} requests, ${result.metrics.retries} retries)`,
    );
    if (result.error) out(`${''.padEnd(12)} error: ${result.error}`);
  }
}

export function printHistory(rows: SyncHistoryRow[], json: boolean): void {
  if (json) {
    out(JSON.stringify(rows.map((row) => ({ ...row, performanceMetrics: parse(row.performanceMetrics), configuration: parse(row.configuration), checkpoint: parse(row.checkpoint) })), null, 2));
    return;
  }
  if (rows.length === 0) {
    out('no runs recorded yet');
    return;
  }
  const header = ['run', 'object', 'source', 'type', 'status', 'started', 'seconds', 'processed', 'created', 'updated', 'unchanged', 'rejected', 'watermark'];
  const table = rows.map((row) => [
    String(row.id),
    row.objectType,
    row.crmSource,
    row.syncType,
    row.status,
    row.startTime.slice(0, 19).replace('T', ' '),
    row.endTime ? ((Date.parse(row.endTime) - Date.parse(row.startTime)) / 1000).toFixed(1) : '-',
    String(row.recordsProcessed),
    String(row.recordsCreated),
    String(row.recordsUpdated),
    String(row.recordsUnchanged),
    String(row.recordsFailed),
    row.watermark ?? '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column].length)));
  for (const cells of [header, ...table]) out(cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  for (const row of rows) if (row.errorMessage) out(`run ${row.id}: ${row.errorMessage}`);
}

function parse(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}
