import { Option, type Command } from 'commander';
import type { z as Zod } from 'zod';
import type { CrmConnector, DailyReserve } from '../clients/crm.js';
import { allConnectors, connectorFor } from '../clients/registry.js';
import { DEFAULT_SOURCE, SOURCES } from '../config/sources.js';
import { UsageError } from '../errors.js';
import { isCalendarDate } from '../processors/calendar.js';

/** More objects at once than this only queue behind the shared rate limit. */
export const MAX_CONCURRENCY = 10;

export function addSyncFlags(command: Command): Command {
  return command
    .option('--full', 'read every record instead of only changes since the last run', false)
    .option('--since <date>', 'read records modified since YYYY-MM-DD or an ISO-8601 date-time (UTC unless an offset is given)')
    .option('--dry-run', 'do everything except commit: the database file is left untouched', false)
    .option('--force-overwrite', 'read everything and replace local rows even when unchanged or newer (two-way: write every field the rules allow)', false)
    .option('--two-way', 'keep HubSpot and Dynamics 365 alike both ways, as the two_way: block of each object in mappings.yaml says', false)
    .addOption(new Option('--source <crm>', 'CRM to read from').choices(SOURCES).default(DEFAULT_SOURCE))
    .option('--batch-size <n>', `records per API page (default: the largest page the API allows; ${allConnectors().map(pageSizes).join('; ')})`)
    .addOption(new Option('--max-records <n>', 'stop after this many records (0 = no limit)').default('0'))
    .option('--daily-reserve <n|p%>', "HubSpot: stop at a page boundary before leaving fewer requests of the portal's daily quota than this, a number or a share of the daily limit; the next run continues (default 10%, or $CRMSYNC_DAILY_RESERVE; 0 = no reserve)")
    .option('--metrics-textfile <path>', "when the runs end, rewrite this Prometheus textfile from the database, as crmsync metrics --textfile does (default $CRMSYNC_METRICS_TEXTFILE)")
    .option('--debug', 'log every page and request detail', false);
}

/** "HubSpot: 1-200, 100 when reading everything" */
function pageSizes(crm: CrmConnector): string {
  return `${crm.label}: 1-${crm.pageSize.max}${crm.pageSize.note ? `, ${crm.pageSize.note}` : ''}`;
}

const ISO_DATE_OR_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** "2025-01-01" → midnight UTC; "2025-01-01T10:00:00+02:00" as given; no offset → UTC. */
export function parseSince(text: string): Date {
  const match = ISO_DATE_OR_DATETIME.exec(text.trim());
  const problem = () =>
    new UsageError(`--since "${text}" is not a valid date: use YYYY-MM-DD or an ISO-8601 date-time such as 2025-01-31T12:00:00Z`);
  if (!match) throw problem();
  const [, year, month, day, hour = '00', minute = '00', second = '00', , zone] = match;
  if (!isCalendarDate(Number(year), Number(month), Number(day)) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    throw problem();
  }
  const iso = text.trim().replace(' ', 'T');
  const date = new Date(match[4] === undefined ? `${iso}T00:00:00Z` : zone ? iso : `${iso}Z`);
  if (Number.isNaN(date.getTime())) throw problem();
  return date;
}

/** What to say about a --since after now: the run goes ahead, but can find no change (a mistyped year, a wrong clock). */
export function futureSinceWarning(since: Date | undefined, now = new Date()): string | undefined {
  if (since && since.getTime() > now.getTime()) return `--since ${since.toISOString()} is in the future: nothing can have changed since then`;
  return undefined;
}

// zod is loaded when flags are parsed, not at start-up: `crmsync --help` stays fast.
function syncFlagsSchema(z: typeof Zod) {
  const wholeNumber = (flag: string, min: number, max?: number) => z.string().transform((text) => wholeNumberFlag(flag, text, min, max));
  return z.object({
    source: z.enum(SOURCES).default(DEFAULT_SOURCE),
    full: z.boolean().default(false),
    since: z.string().optional(),
    dryRun: z.boolean().default(false),
    forceOverwrite: z.boolean().default(false),
    twoWay: z.boolean().default(false),
    batchSize: z.string().optional(),
    dailyReserve: z.string().optional(),
    maxRecords: wholeNumber('--max-records', 0),
    debug: z.boolean().default(false),
    metricsTextfile: z
      .string()
      .refine((path) => path.trim() !== '', '--metrics-textfile needs a file path, such as /var/lib/node_exporter/textfile/crmsync.prom')
      .optional(),
    concurrency: wholeNumber('--concurrency', 1, MAX_CONCURRENCY).optional(),
  });
}

export type SyncFlags = Omit<Zod.infer<ReturnType<typeof syncFlagsSchema>>, 'since' | 'batchSize' | 'dailyReserve'> & { since?: Date; batchSize?: number; dailyReserve: DailyReserve };

export async function parseSyncFlags(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<SyncFlags> {
  const { z } = await import('zod');
  const parsed = syncFlagsSchema(z).safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues[0].message);
  const { since, batchSize, dailyReserve, ...flags } = parsed.data;
  return {
    ...flags,
    dailyReserve: dailyReserveOf(dailyReserve, env),
    since: since === undefined ? undefined : parseSince(since),
    batchSize: batchSize === undefined ? undefined : wholeNumberFlag('--batch-size', batchSize, 1, connectorFor(flags.source).pageSize.max),
  };
}

/** HubSpot's daily quota is shared by every app of the portal: a sync leaves a tenth of it to the others unless told otherwise. */
export const DEFAULT_DAILY_RESERVE: DailyReserve = { percent: 10 };

/** --daily-reserve, else CRMSYNC_DAILY_RESERVE, else DEFAULT_DAILY_RESERVE; a value that is neither a count nor a share is a usage error naming where it came from. */
export function dailyReserveOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DailyReserve {
  const variable = env.CRMSYNC_DAILY_RESERVE?.trim();
  if (flag !== undefined) return parseDailyReserve('--daily-reserve', flag);
  return variable ? parseDailyReserve('CRMSYNC_DAILY_RESERVE', variable) : DEFAULT_DAILY_RESERVE;
}

/** "25000" → 25,000 requests; "10%" or "2.5%" → that share of the daily limit; "0" or "0%" → none kept. */
export function parseDailyReserve(source: string, text: string): DailyReserve {
  const trimmed = text.trim();
  const share = /^(\d{1,2}(?:\.\d+)?)\s*%$/.exec(trimmed);
  if (share) return { percent: Number(share[1]) };
  if (/^\d+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed))) return { requests: Number(trimmed) };
  throw new UsageError(`${source} must be a number of requests (such as 25000) or a share of HubSpot's daily limit below 100% (such as 10%), 0 for no reserve; got "${text}"`);
}

/** A flag's whole number within [min, max] (no max: any size); else a usage error naming the flag, the range and what was given. */
export function wholeNumberFlag(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be a whole number ${range}, got "${text}"`);
  }
  return value;
}

export interface GlobalFlags {
  db?: string;
  config?: string;
  json: boolean;
  quiet: boolean;
}

export function globalFlags(command: Command): GlobalFlags {
  const options = command.optsWithGlobals() as Partial<GlobalFlags>;
  return { db: options.db, config: options.config, json: Boolean(options.json), quiet: Boolean(options.quiet) };
}

/** "contacts=5000,companies=500" → { contacts: 5000, companies: 500 } */
export function parseSeed(text: string, flag = '--seed'): Record<string, number> {
  const seed: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const match = /^([a-z_][a-z0-9_-]*)=(\d+)$/i.exec(part.trim());
    if (!match) throw new UsageError(`${flag} "${text}" is not a list like contacts=5000,companies=500`);
    seed[match[1]] = Number(match[2]);
  }
  return seed;
}
