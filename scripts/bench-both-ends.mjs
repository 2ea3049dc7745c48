// The full-read section of `npm run bench`: full HubSpot reads from both ends (the list
// endpoint walking ids upwards, searches walking them down) at HubSpot's own limits,
// measured against the time the list endpoint alone needs for the same records.

/** HubSpot's limits, unscaled: 100 requests per rolling 10 s, 5 searches per second; 20 ms latency per response. */
const LIMITS = { max: 100, windowMs: 10_000, searchPerSecond: 5, latencyMs: 20 };
const LIST_PAGE = 100;

const sizes = (quick) =>
  quick
    ? [['sync-contacts', { contacts: 6_000 }], ['sync-all', { contacts: 3_000, companies: 1_500, deals: 1_500 }]]
    : [['sync-contacts', { contacts: 60_000 }], ['sync-all', { contacts: 30_000, companies: 15_000, deals: 15_000 }]];

const round = (value, digits = 2) => Number(value.toFixed(digits));
const sum = (results, key) => results.reduce((total, result) => total + (result.metrics[key] ?? 0), 0);
const seedList = (seeds) => Object.entries(seeds).map(([name, count]) => `${name}=${count}`).join(',');

/**
 * What a full read of the list endpoint alone sends for these records (a page per 100, and
 * one page of archived records per object), and the least time the window lets it take:
 * at the window's rate, and exactly (a rolling window admits its first 100 at once).
 */
function listOnlyBound(seeds) {
  const requests = Object.values(seeds).reduce((total, count) => total + Math.ceil(count / LIST_PAGE) + 1, 0);
  const windowSeconds = LIMITS.windowMs / 1000;
  return { requests, seconds: requests / (LIMITS.max / windowSeconds), exactSeconds: (Math.ceil(requests / LIMITS.max) - 1) * windowSeconds };
}

/** Each case: one crmsync process against an emulator of its own enforcing HubSpot's limits. */
export async function bothEnds({ quick, work, join, startEmulator, crmsync, envFor, log }) {
  const figures = [];
  for (const [command, seeds] of sizes(quick)) {
    log(`full read from both ends: ${command} of ${seedList(seeds)} with HubSpot's limits (${LIMITS.max} per ${LIMITS.windowMs} ms, ${LIMITS.searchPerSecond} searches/s) and ${LIMITS.latencyMs} ms latency`);
    const emulator = await startEmulator(['--seed', seedList(seeds), '--rate-limit', '--rate-limit-max', String(LIMITS.max), '--rate-limit-window', String(LIMITS.windowMs), '--latency', String(LIMITS.latencyMs)]);
    try {
      const args = command === 'sync-all' ? ['sync-all', '--skip-associations'] : [command];
      const run = await crmsync([...args, '--json', '--quiet'], envFor(emulator, join(work, `both-ends-${command}.db`)));
      if (run.code !== 0) throw new Error(`${command} exited ${run.code}`);
      const results = run.summary.results.filter((result) => result.source === undefined || result.source === 'hubspot');
      const bound = listOnlyBound(seeds);
      const wallSeconds = run.wallMs / 1000;
      figures.push({
        command,
        seeds,
        records: results.reduce((total, result) => total + result.counts.processed, 0),
        requests: sum(results, 'requests'),
        searches: sum(results, 'searches'),
        received429: sum(results, 'rateLimited'),
        wallSeconds: round(wallSeconds, 1),
        boundSeconds: round(bound.seconds, 1),
        exactSeconds: round(bound.exactSeconds, 1),
        listOnlyRequests: bound.requests,
        ratio: round(wallSeconds / bound.seconds),
        exactRatio: bound.exactSeconds > 0 ? round(wallSeconds / bound.exactSeconds) : null,
      });
    } finally {
      await emulator.stop();
    }
  }
  return figures;
}

const describeSeeds = (seeds) => Object.entries(seeds).map(([name, count]) => `${count.toLocaleString('en')} ${name}`).join(', ');

export function bothEndsRows(figures) {
  const rows = figures.map((figure) => [
    `Full read from both ends, HubSpot's limits: wall time ÷ list-only lower bound, ${figure.command} of ${describeSeeds(figure.seeds)}`,
    `${figure.ratio} (${figure.wallSeconds} s vs ${figure.boundSeconds} s for ${figure.listOnlyRequests} list requests; ${figure.exactRatio} of the window's exact minimum, ${figure.exactSeconds} s; ${figure.requests} requests, ${figure.searches} of them searches, for ${figure.records} records)`,
    '≤ 0.6',
    figure.ratio <= 0.6,
  ]);
  const received = figures.reduce((total, figure) => total + figure.received429, 0);
  return [...rows, ['Full read from both ends: 429 responses received', String(received), '0', received === 0]];
}

export function bothEndsMethod(quick) {
  const cases = sizes(quick)
    .map(([command, seeds]) => `\`${command === 'sync-all' ? 'sync-all --skip-associations' : command}\` of ${describeSeeds(seeds)}`)
    .join(' and ');
  return `- **Full reads from both ends**: ${cases}, each into a fresh database, the emulator enforcing HubSpot's own limits
  (${LIMITS.max} requests per rolling ${LIMITS.windowMs / 1000} s, ${LIMITS.searchPerSecond} searches per second; crmsync keeps to 4) with ${LIMITS.latencyMs} ms latency per response. The
  list endpoint walks ids upwards while searches sorted by id walk down; sync-all's three objects share one limiter.
  Wall time is the process's, start-up included. The list-only lower bound is the time the list endpoint alone needs
  for the same records at the window's rate: a request per ${LIST_PAGE} records and one of archived records, per object.
  A rolling window lets its first ${LIMITS.max} requests go at once, so the exact minimum, (⌈requests ÷ ${LIMITS.max}⌉ − 1) × ${LIMITS.windowMs / 1000} s,
  can be up to one window shorter; the row gives the ratio to that too.`;
}
