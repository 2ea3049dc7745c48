import type { RunInfo } from '../db/record-view.js';
import type { FieldProblem } from '../records.js';
import type { FieldChange, RecordView, VersionView } from '../processors/record-view.js';
import { oneLine, printTable } from './output.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

/** What stands for "no value" in every cell. */
const NONE = '-';

/**
 * One record: its state, its mapped fields, its latest rejection, its associations and, when
 * asked for, its versions. With `json`, one object; versions then carry the names of the
 * fields they changed (`changed`, null for the first version).
 */
export function printRecord(view: RecordView, options: { json: boolean; keepsHistory: boolean }): void {
  if (options.json) {
    const { versions, ...record } = view;
    const withNames = versions?.map(({ changes, ...version }) => ({ ...version, changed: changes?.map((change) => change.field) ?? null }));
    out(JSON.stringify({ ...record, ...(withNames ? { versions: withNames } : {}) }, null, 2));
    return;
  }
  out(`${view.source} ${view.object} ${view.id}`);
  printTable([
    [`modified in ${view.source}`, view.sourceModifiedAt ?? NONE],
    ['deleted', view.deleted ? `yes, at ${view.deletedAt ?? NONE}` : 'no'],
    ['last written by', describeRun(view.lastRun)],
    ['first written by', describeRun(view.firstRun)],
  ]);
  out();
  printTable([['field', 'value'], ...Object.entries(view.fields).map(([field, value]) => [field, cell(value)])]);
  if (view.rejection) {
    const { rejection } = view;
    out();
    const state = rejection.outstanding
      ? 'outstanding: the fields above are the last valid version'
      : `resolved at ${rejection.resolvedAt} (a valid version arrived, or the record was deleted)`;
    out(`latest rejected version: rejected at ${rejection.rejectedAt} by run ${rejection.runId}, ${state}`);
    for (const reason of rejection.reasons) out(`  ${describeReason(reason)}`);
  }
  out();
  const associations = Object.entries(view.associations).map(([object, count]) => `${object}: ${count}`);
  out(`associated records: ${associations.length > 0 ? associations.join(', ') : 'none stored'}`);
  if (view.versions) printVersions(view.versions, options.keepsHistory);
}

function printVersions(versions: VersionView[], keepsHistory: boolean): void {
  out();
  if (versions.length === 0) {
    out(keepsHistory ? 'no versions stored' : 'no versions stored: mappings.yaml sets history: false for this object');
    return;
  }
  out('versions:');
  const rows = versions.flatMap((version) => {
    const until = version.current ? 'current' : `${version.validTo}${version.endedByDeletion ? ' (deleted)' : ''}`;
    const [first, ...more] = version.changes === null ? ['first version'] : version.changes.length > 0 ? version.changes.map(describeChange) : ['no change'];
    return [[version.validFrom, until, String(version.runId), first], ...more.map((change) => ['', '', '', change])];
  });
  printTable([['valid from', 'valid to', 'run', 'changes'], ...rows]);
}

/** "run 3 (incremental, started 2026-03-01T10:00:00.000Z)" */
function describeRun(run: RunInfo): string {
  if (run.startTime === null) return `run ${run.id} (no longer in sync_history)`;
  return `run ${run.id} (${run.syncMode}, started ${run.startTime})`;
}

/** `jobtitle: "Engineer" → "Manager"` */
function describeChange(change: FieldChange): string {
  const value = (text: unknown) => (text === null ? NONE : JSON.stringify(text));
  return `${change.field}: ${value(change.from)} → ${value(change.to)}`;
}

/** `email: not a valid email address (value "x")`, naming the CRM's property where it has another name. */
function describeReason(problem: FieldProblem): string {
  const field = problem.property === problem.column ? problem.column : `${problem.column} (${problem.property})`;
  const value = problem.value === null || problem.value === undefined ? '' : ` (value ${JSON.stringify(problem.value)})`;
  return `${field}: ${problem.reason}${value}`;
}

/** A value on one line, or NONE. */
function cell(value: unknown): string {
  return value === null || value === undefined ? NONE : oneLine(value);
}
