/**
 * Reading `crmsync metrics` output with a parser of the Prometheus text format, and what the
 * database says those metrics should be, worked out here from the rows themselves.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { query } from './db.js';

export interface Family {
  help: string;
  type: string;
  /** Series by their labels (see seriesKey), each with its value. */
  samples: Map<string, number>;
}

/** `{"a":"1","b":"2"}` whatever the order of the labels. */
export const seriesKey = (labels: Record<string, string> = {}): string => JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))));

/** The families of a text exposition by name; throws on a sample line the parser merged away (a duplicate series) or a value that is no number. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let parsedSamples = 0;
  for (const family of parsePrometheusTextFormat(text)) {
    const samples = new Map<string, number>();
    for (const sample of family.metrics) {
      const value = Number(sample.value);
      if (Number.isNaN(value)) throw new Error(`${family.name}${seriesKey(sample.labels)} has the value "${sample.value}"`);
      samples.set(seriesKey(sample.labels), value);
    }
    parsedSamples += family.metrics.length;
    families.set(family.name, { help: family.help, type: family.type, samples });
  }
  const sampleLines = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).length;
  if (sampleLines !== parsedSamples) throw new Error(`${sampleLines} sample lines, but ${parsedSamples} distinct series`);
  return families;
}

interface HistoryRow {
  id: number;
  crm_source: string;
  sync_type: string;
  status: string;
  start_time: string;
  end_time: string | null;
  records_created: number;
  records_updated: number;
  records_unchanged: number;
  records_deleted: number;
  records_failed: number;
  performance_metrics: string | null;
}

type Expected = Map<string, Map<string, number>>;

/** Each metric's series as the database's rows say they should be, by the same keys as parseExposition. */
export function expectedMetrics(db: string): Expected {
  const expected: Expected = new Map();
  const put = (name: string, labels: Record<string, string>, value: number) => {
    if (!expected.has(name)) expected.set(name, new Map());
    expected.get(name)!.set(seriesKey(labels), value);
  };
  const rows = query<HistoryRow>(db, 'SELECT * FROM sync_history ORDER BY id').filter((row) => row.status !== 'running');
  const groups = new Map<string, HistoryRow[]>();
  for (const row of rows) groups.set(`${row.sync_type}\u0000${row.crm_source}`, [...(groups.get(`${row.sync_type}\u0000${row.crm_source}`) ?? []), row]);
  for (const runs of groups.values()) {
    const labels = { object: runs[0].sync_type, source: runs[0].crm_source };
    const last = runs.at(-1)!;
    const completed = runs.filter((row) => row.status === 'success' || row.status === 'partial');
    if (completed.length > 0) put('crmsync_last_success_timestamp_seconds', labels, Date.parse(completed.at(-1)!.end_time!) / 1000);
    const lastMetrics = JSON.parse(last.performance_metrics ?? 'null') as { durationMs: number } | null;
    put('crmsync_last_run_duration_seconds', labels, lastMetrics ? lastMetrics.durationMs / 1000 : (Date.parse(last.end_time!) - Date.parse(last.start_time)) / 1000);
    for (const status of ['success', 'partial', 'failed']) put('crmsync_last_run_status', { ...labels, status }, last.status === status ? 1 : 0);
    const sum = (read: (row: HistoryRow) => number) => runs.reduce((total, row) => total + read(row), 0);
    const columns = { created: 'records_created', updated: 'records_updated', unchanged: 'records_unchanged', deleted: 'records_deleted', rejected: 'records_failed' } as const;
    for (const [operation, column] of Object.entries(columns)) put('crmsync_records_total', { ...labels, operation }, sum((row) => row[column]));
    const metric = (row: HistoryRow, name: string) => (JSON.parse(row.performance_metrics ?? '{}') as Record<string, number>)[name] ?? 0;
    put('crmsync_requests_total', labels, sum((row) => metric(row, 'requests')));
    put('crmsync_retries_total', labels, sum((row) => metric(row, 'retries')));
    put('crmsync_rate_limited_total', labels, sum((row) => metric(row, 'rateLimited')));
  }
  const twoWayObjects = new Set(rows.filter((row) => row.crm_source === 'two_way').map((row) => row.sync_type));
  for (const { object_type } of query<{ object_type: string }>(db, 'SELECT object_type FROM conflicts UNION SELECT object_type FROM outbox')) twoWayObjects.add(object_type);
  const conflicts = query<{ object_type: string; resolved_at: string | null }>(db, 'SELECT object_type, resolved_at FROM conflicts');
  const outbox = query<{ object_type: string; crm: string; status: string }>(db, 'SELECT object_type, crm, status FROM outbox');
  for (const object of twoWayObjects) {
    put('crmsync_conflicts_open', { object }, conflicts.filter((row) => row.object_type === object && row.resolved_at === null).length);
    for (const crm of ['hubspot', 'dynamics']) {
      const writes = outbox.filter((row) => row.object_type === object && row.crm === crm);
      put('crmsync_outbox_depth', { object, crm }, writes.filter((row) => row.status === 'pending').length);
      put('crmsync_outbox_dead_total', { object, crm }, writes.filter((row) => row.status === 'dead').length);
    }
  }
  const events = query<{ source: string; processed_at: string | null; outcome: string | null }>(db, 'SELECT source, processed_at, outcome FROM webhook_events');
  for (const source of new Set(['hubspot', 'dynamics', ...events.map((row) => row.source)])) {
    const ofSource = events.filter((row) => row.source === source);
    put('crmsync_webhook_events_waiting', { source }, ofSource.filter((row) => row.processed_at === null).length);
    for (const outcome of ['applied', 'ignored']) put('crmsync_webhook_events_total', { source, outcome }, ofSource.filter((row) => row.processed_at !== null && row.outcome === outcome).length);
  }
  return expected;
}

/** The samples of each family, in the shape of expectedMetrics. */
export const samplesOf = (families: Map<string, Family>): Expected => new Map([...families].map(([name, family]) => [name, family.samples]));
