import { CRM_NAMES, type SourceName } from '../config/sources.js';
import type { ReconciliationRow } from '../db/reconciliation-runs.js';
import type { ReconcileResult } from '../engines/reconcile.js';
import type { PairReport } from '../engines/reconcile-pairs.js';
import { printTable, tableTime, type Listed } from './output.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Ids of each kind shown in text; --json lists them all. */
export const IDS_SHOWN = 10;
/** Pairs shown per field in text. */
const PAIRS_SHOWN = 3;

/** What one reconciliation found and did: counts, the first ids of each kind, the pairs by field; with `json` all of it as one object. */
export function printReconcile(result: ReconcileResult, json: boolean): void {
  if (json) {
    out(JSON.stringify(result, null, 2));
    return;
  }
  const crm = CRM_NAMES[result.source];
  const seconds = (result.durationMs / 1000).toFixed(1);
  out(
    `${result.object} in ${crm}: ${result.sourceRecords} there, ${result.localRecords} stored; ` +
      `${result.missing.length} missing, ${result.gone.length} gone, ${result.stale.length} stale (${count(result.requests, 'request', 'requests')}, ${seconds} s)`,
  );
  idLine(`missing (in ${crm}, not stored)`, result.missing);
  idLine(`gone (stored, no longer in ${crm})`, result.gone);
  idLine(`stale (changed in ${crm} after the stored copy)`, result.stale);
  if (result.rejected > 0) out(`  ${count(result.rejected, 'record', 'records')} whose latest version was rejected left out (crmsync history lists them)`);
  if (result.pairs && result.pairs.compared + result.pairs.unread > 0) pairLines(result.pairs);
  fixLines(result);
  out(verdict(result));
}

function idLine(kind: string, ids: string[]): void {
  if (ids.length === 0) return;
  const more = ids.length > IDS_SHOWN ? ` and ${ids.length - IDS_SHOWN} more (--json lists every id)` : '';
  out(`  ${kind}: ${ids.slice(0, IDS_SHOWN).join(', ')}${more}`);
}

function pairLines(pairs: PairReport): void {
  const waiting = pairs.waiting > 0 ? ` (${pairs.waiting} with writes already waiting in the outbox)` : '';
  out(`  linked pairs: ${pairs.compared} compared, ${pairs.drifted.length} differ${waiting}`);
  if (pairs.unread > 0) out(`  ${count(pairs.unread, 'pair', 'pairs')} left out: written by crmsync since the store last read them (the next sync reads the writes back)`);
  for (const [field, n] of Object.entries(pairs.fields)) {
    const first = pairs.drifted.filter((drift) => drift.fields.includes(field)).slice(0, PAIRS_SHOWN);
    const listed = first.map((drift) => `${CRM_NAMES.hubspot} ${drift.hubspotId} / ${CRM_NAMES.dynamics} ${drift.dynamicsId}`).join(', ');
    out(`    ${field}: ${count(n, 'pair', 'pairs')} (${listed}${n > first.length ? ', ...' : ''})`);
  }
}

function fixLines(result: ReconcileResult): void {
  const { fixRun, pairFix } = result;
  if (fixRun) {
    const { created, updated, deleted, failed } = fixRun.counts;
    const rejected = failed > 0 ? `, ${failed} rejected (crmsync history lists them)` : '';
    out(`  fix: run ${fixRun.runId} ${fixRun.status}: ${created} created, ${updated} updated, ${deleted} marked deleted${rejected}`);
  }
  if (pairFix) {
    const manual = pairFix.manual > 0 ? `; ${count(pairFix.manual, 'pair', 'pairs')} with a field left to you (crmsync conflicts)` : '';
    out(`  fix: run ${pairFix.runId} ${pairFix.status}: ${count(pairFix.writesQueued, 'write', 'writes')} queued in the outbox for the next --two-way run${manual}`);
  }
}

function verdict(result: ReconcileResult): string {
  switch (result.status) {
    case 'clean':
      return 'no drift';
    case 'fixed':
      return result.pairFix ? 'fixed; the queued writes reach the CRMs with the next --two-way run' : 'fixed';
    case 'drift':
      return result.fix ? 'drift left after --fix (exit 3)' : `drift found (exit 3): crmsync reconcile ${result.object}${sourceFlag(result.source)} --fix repairs it`;
    case 'failed':
      return `failed: ${result.error}`;
  }
}

const sourceFlag = (source: SourceName) => (source === 'hubspot' ? '' : ` --source ${source}`);

/** The latest reconciliations, after the runs in `crmsync history`. */
export function printReconciliations(listed: Listed<ReconciliationRow>): void {
  if (listed.total === 0) return;
  out();
  out(`${count(listed.total, 'reconciliation', 'reconciliations')} (crmsync reconcile), newest first:`);
  const rows = listed.rows.map((row) => [
    String(row.id),
    row.objectType,
    row.source,
    tableTime(row.startedAt),
    row.status,
    row.fix ? 'yes' : 'no',
    String(row.missing),
    String(row.gone),
    String(row.stale),
    row.pairsCompared === null ? '-' : String(row.pairDrift),
    String(row.fixed),
    String(row.requests),
  ]);
  printTable([['id', 'object', 'source', 'started', 'status', 'fix', 'missing', 'gone', 'stale', 'pair drift', 'fixed', 'requests'], ...rows]);
  for (const row of listed.rows) if (row.error) out(`reconciliation ${row.id}: ${row.error}`);
  if (listed.total > listed.rows.length) out(`... and ${listed.total - listed.rows.length} more (reconciliation_runs)`);
}
