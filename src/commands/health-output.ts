import type { HealthReport, ObjectHealth } from '../processors/health.js';
import { formatDuration } from '../processors/health.js';
import { printTable, tableTime } from './output.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const number = (value: number | null) => (value === null ? '-' : String(value));

/**
 * A table of every entity on stdout (with `json`, the whole report as one object), and one
 * line per reason on stderr, where cron mails and monitoring checks look.
 */
export function printHealth(report: HealthReport, json: boolean): void {
  for (const reason of report.reasons) process.stderr.write(`unhealthy: ${reason.message}\n`);
  if (json) {
    out(JSON.stringify(report, null, 2));
    return;
  }
  const header = ['object', 'source', 'status', 'last success', 'age', 'max age', 'failures', 'rejected', 'outstanding', 'abandoned', 'conflicts', 'waiting', 'dead-lettered'];
  printTable([header, ...report.objects.map(row)]);
  out();
  const quota = report.hubspotDailyQuota;
  if (quota) {
    const limit = quota.limit === null ? '' : ` of ${quota.limit.toLocaleString('en-US')}`;
    out(`HubSpot daily quota: ${quota.remaining.toLocaleString('en-US')}${limit} requests left, as of run ${quota.runId} (${tableTime(quota.seenAt)})`);
  }
  const count = report.reasons.length;
  out(report.healthy ? 'healthy' : `unhealthy: ${count} ${count === 1 ? 'reason' : 'reasons'} (on stderr)`);
}

function row(entity: ObjectHealth): string[] {
  const success = entity.lastSuccessAt === null ? '-' : `${tableTime(entity.lastSuccessAt)}${entity.lastSuccessStatus === 'partial' ? ' (partial)' : ''}`;
  const dead = entity.writesDead === null ? '-' : entity.writesDead === entity.writesDeadOutstanding ? String(entity.writesDead) : `${entity.writesDead} (${entity.writesDeadOutstanding} open)`;
  return [
    entity.object,
    entity.source,
    entity.running > 0 ? 'running' : entity.lastStatus,
    success,
    entity.lastSuccessAgeSeconds === null ? '-' : formatDuration(entity.lastSuccessAgeSeconds * 1000),
    formatDuration(entity.maxAgeSeconds * 1000),
    String(entity.consecutiveFailures),
    number(entity.rejectedByLastRun),
    number(entity.rejectionsOutstanding),
    String(entity.abandonedRuns.length),
    number(entity.openConflicts),
    number(entity.writesWaiting),
    dead,
  ];
}
