import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import type { DynamicsEmulatorOptions, DynamicsWebhookOptions } from '@crmsync/emulators/dynamics';
import type { HubSpotEmulatorOptions, HubSpotWebhookOptions, SharedSeedSpec } from '@crmsync/emulators/hubspot';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { parseSeed, wholeNumberFlag } from './options.js';

export const DEFAULT_SEED = 'contacts=5000,companies=500,deals=2000,tickets=300';
export const DEFAULT_DYNAMICS_SEED = 'contacts=2000,accounts=300';

const number = (flag: string, text: string, min = 0): number => wholeNumberFlag(flag, text, min);
const port = (flag: string, text: string): number => wholeNumberFlag(flag, text, 0, MAX_PORT);
const MAX_PORT = 65_535;

/** Why a server could not listen, as the system's error code says it. */
const CANNOT_LISTEN: Record<string, (host: string) => string> = {
  EADDRINUSE: () => 'the port is in use; choose another (0 = any free port)',
  EACCES: () => 'permission denied (ports below 1024 need privileges); choose another port',
  EADDRNOTAVAIL: (host) => `--host ${host} is not an address of this machine`,
  ENOTFOUND: (host) => `--host ${host} is not a known host name`,
};

/** Starts one emulator; a port or host it cannot listen on is a usage error naming the flag. */
async function listening<T>(flag: string, { host, port }: { host?: string; port?: number }, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const reason = CANNOT_LISTEN[(error as NodeJS.ErrnoException).code ?? ''];
    if (!reason) throw error;
    throw new UsageError(`cannot listen on ${host}:${port} (${flag}): ${reason(host ?? '')}`);
  }
}

type Flags = Record<string, string | boolean | undefined>;

/** A webhook target: an absolute http or https URL. */
function webhookUrlFlag(flag: string, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new UsageError(`${flag} must be an http or https URL, such as http://127.0.0.1:8787/webhooks, got "${text}"`);
  }
  return text;
}

/** A share of webhooks to lose, from 0 to 1. */
function dropRateFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const rate = Number(text);
  if (text.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw new UsageError(`${flag} must be a number from 0 to 1, such as 0.2, got "${text}"`);
  return rate;
}

interface WebhookFlagNames {
  url: string;
  secret: string;
  dropRate: string;
}

/**
 * Webhook flags of one emulator (`values` as given, by the names in `flags`): the URL
 * turns them on and needs the secret (flag or environment variable); the other flags
 * without the URL are a mistake.
 */
function webhookFlags(
  values: Partial<Record<keyof WebhookFlagNames, string>>,
  flags: WebhookFlagNames,
  secretVariable: string,
): { url: string; secret: string; dropRate?: number } | undefined {
  if (values.url === undefined) {
    const stray = values.secret !== undefined ? flags.secret : values.dropRate !== undefined ? flags.dropRate : undefined;
    if (stray !== undefined) throw new UsageError(`${stray} needs ${flags.url} <url>: webhooks go only where a URL says`);
    return undefined;
  }
  const secret = values.secret ?? process.env[secretVariable];
  if (secret === undefined || secret === '') throw new UsageError(`${flags.url} needs ${flags.secret} <value> (or ${secretVariable}) to authenticate the webhooks`);
  return { url: webhookUrlFlag(flags.url, values.url), secret, dropRate: dropRateFlag(flags.dropRate, values.dropRate) };
}

/** --webhook-*: HubSpot's webhooks, signed with the app's client secret. */
function hubSpotWebhooks(options: Flags): HubSpotWebhookOptions | undefined {
  return webhookFlags(
    { url: options.webhookUrl as string | undefined, secret: options.webhookSecret as string | undefined, dropRate: options.webhookDropRate as string | undefined },
    { url: '--webhook-url', secret: '--webhook-secret', dropRate: '--webhook-drop-rate' },
    'HUBSPOT_CLIENT_SECRET',
  );
}

/** --dynamics-webhook-*: Dataverse's webhooks, the key sent as the `code` query parameter. */
function dynamicsWebhooks(options: Flags): DynamicsWebhookOptions | undefined {
  const flags = webhookFlags(
    { url: options.dynamicsWebhookUrl as string | undefined, secret: options.dynamicsWebhookKey as string | undefined, dropRate: options.dynamicsWebhookDropRate as string | undefined },
    { url: '--dynamics-webhook-url', secret: '--dynamics-webhook-key', dropRate: '--dynamics-webhook-drop-rate' },
    'D365_WEBHOOK_KEY',
  );
  return flags && { url: flags.url, key: flags.secret, auth: 'WebhookKey', dropRate: flags.dropRate };
}

/** --shared-seed's counts, checked as the emulators check them; undefined without the flag. */
async function sharedSeedOf(options: Flags): Promise<SharedSeedSpec | undefined> {
  return options.sharedSeed === undefined ? undefined : parseSharedSeed(options.sharedSeed as string);
}

/** "contacts=50,companies=10" → { contacts: 50, companies: 10 }, checked as the emulators check it. */
export async function parseSharedSeed(text: string): Promise<SharedSeedSpec> {
  const { validateSharedSeed } = await import('@crmsync/emulators/hubspot');
  const spec = parseSeed(text, '--shared-seed');
  try {
    validateSharedSeed(spec);
  } catch (error) {
    throw new UsageError(`--shared-seed: ${(error as Error).message}`);
  }
  return spec;
}

/**
 * The Dynamics 365 emulator's options from the command line: the standard contact and
 * account tables, plus the tables and custom columns of --dynamics-tables; limits and
 * faults only when asked for.
 */
async function dynamicsEmulatorOptions(options: Flags): Promise<DynamicsEmulatorOptions> {
  const { checkSharedSeedTables, parseDynamicsFaultSpec, parseDynamicsTables, servedTables } = await import('@crmsync/emulators/dynamics');
  const file = options.dynamicsTables as string | undefined;
  let tables = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--dynamics-tables: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    try {
      tables = parseDynamicsTables(text);
    } catch (error) {
      throw new UsageError(`--dynamics-tables ${file}: ${(error as Error).message}`);
    }
  }
  const seed = parseSeed(options.dynamicsSeed as string, '--dynamics-seed');
  const served = servedTables(tables).map((definition) => definition.entitySet);
  const unknown = Object.keys(seed).find((entitySet) => !served.includes(entitySet));
  if (unknown !== undefined) {
    throw new UsageError(`--dynamics-seed: the emulator serves no entity set "${unknown}" (it serves ${served.join(', ')}); describe further tables in a --dynamics-tables file`);
  }
  const sharedSeed = await sharedSeedOf(options);
  try {
    if (sharedSeed) checkSharedSeedTables(sharedSeed, servedTables(tables));
  } catch (error) {
    throw new UsageError(`--shared-seed: ${(error as Error).message}; a --dynamics-tables file that replaces a standard table must keep that column`);
  }
  let faults;
  try {
    faults = options.dynamicsFaults ? parseDynamicsFaultSpec(options.dynamicsFaults as string) : undefined;
  } catch (error) {
    throw new UsageError(`--dynamics-faults: ${(error as Error).message}`);
  }
  return {
    ...tables,
    seed,
    sharedSeed,
    faults,
    webhooks: dynamicsWebhooks(options),
    host: options.host as string,
    port: port('--dynamics-port', options.dynamicsPort as string),
    seedValue: number('--seed-value', options.seedValue as string),
    latencyMs: number('--latency', options.latency as string),
    rateLimit: options.dynamicsRateLimit
      ? {
          requests: number('--dynamics-rate-limit-max', options.dynamicsRateLimitMax as string, 1),
          windowMs: number('--dynamics-rate-limit-window', options.dynamicsRateLimitWindow as string, 1),
          concurrent: number('--dynamics-rate-limit-concurrent', options.dynamicsRateLimitConcurrent as string, 1),
        }
      : false,
  };
}

/** The HubSpot emulator's options from the command line. */
async function hubSpotEmulatorOptions(options: Flags): Promise<HubSpotEmulatorOptions> {
  const { parseFaultSpec } = await import('@crmsync/emulators/hubspot');
  let faults;
  try {
    faults = options.faults ? parseFaultSpec(options.faults as string) : undefined;
  } catch (error) {
    throw new UsageError(`--faults: ${(error as Error).message}`);
  }
  return {
    faults,
    webhooks: hubSpotWebhooks(options),
    host: options.host as string,
    port: port('--port', options.port as string),
    seed: parseSeed(options.seed as string),
    sharedSeed: await sharedSeedOf(options),
    seedValue: number('--seed-value', options.seedValue as string),
    token: options.token as string | undefined,
    latencyMs: number('--latency', options.latency as string),
    searchLagMs: number('--search-lag', options.searchLag as string),
    rateLimit: options.rateLimit
      ? {
          perInterval: number('--rate-limit-max', options.rateLimitMax as string, 1),
          intervalMs: number('--rate-limit-window', options.rateLimitWindow as string, 1),
          daily: number('--rate-limit-daily', options.rateLimitDaily as string, 1),
        }
      : false,
  };
}

// Long only because it declares every flag of both emulators; the action is a dozen lines.
export function registerEmulatorCommand(program: Command, context: CommandContext): void {
  program
    .command('emulator')
    .description('serve a local HubSpot CRM API and Dynamics 365 Web API (in-memory, seeded with deterministic fake data) until Ctrl-C')
    .addOption(new Option('--port <n>', 'port of the HubSpot API (0 = any free port)').default('8080'))
    .addOption(new Option('--dynamics-port <n>', 'port of the Dynamics 365 API and its sign-in endpoint, over HTTPS (0 = any free port)').default('8443'))
    .addOption(new Option('--dynamics-seed <counts>', 'rows to generate per Dynamics 365 entity set').default(DEFAULT_DYNAMICS_SEED))
    .option('--dynamics-tables <file>', 'JSON file of further Dynamics 365 tables and custom columns: {"entitySets": [...], "extraColumns": {"contacts": {"new_tier": "picklist"}}}')
    .addOption(new Option('--host <address>', 'address to bind').default('127.0.0.1'))
    .addOption(new Option('--seed <counts>', 'records to generate per object').default(DEFAULT_SEED))
    .option('--shared-seed <counts>', 'people and companies in both CRMs (contacts=N,companies=M), matched by email and by name and domain, some fields differing')
    .addOption(new Option('--seed-value <n>', 'random seed: the same value gives the same data').default('42'))
    .option('--token <token>', 'access token to accept (default: a random one, printed at start)')
    .addOption(new Option('--latency <ms>', 'delay added to every response').default('0'))
    .addOption(new Option('--search-lag <ms>', 'how long writes take to become visible to the search API').default('0'))
    .option('--rate-limit', "enforce HubSpot's limits: 100 requests per 10 s, 5 searches per second", false)
    .addOption(new Option('--rate-limit-max <n>', 'requests allowed per window when --rate-limit is on').default('100'))
    .addOption(new Option('--rate-limit-window <ms>', 'length of the rate-limit window').default('10000'))
    .addOption(new Option('--rate-limit-daily <n>', 'requests allowed per day (UTC) when --rate-limit is on, searches included').default('250000'))
    .option('--faults <spec>', 'HubSpot: inject faults, e.g. 429=0.1,5xx=0.05,reset=0.02,truncated=0.01,timeout=0.005,wrong-types=0.01,seed=7 or permanent=401')
    .option('--dynamics-rate-limit', "enforce Dynamics 365's service protection limits: 6,000 requests per 5 minutes, 52 at once", false)
    .addOption(new Option('--dynamics-rate-limit-max <n>', 'requests allowed per window when --dynamics-rate-limit is on').default('6000'))
    .addOption(new Option('--dynamics-rate-limit-window <ms>', 'length of the Dynamics 365 window').default('300000'))
    .addOption(new Option('--dynamics-rate-limit-concurrent <n>', 'requests allowed at once when --dynamics-rate-limit is on').default('52'))
    .option('--dynamics-faults <spec>', 'Dynamics 365: inject faults, e.g. 429=0.1,5xx=0.05,reset=0.02,retry-after=2,seed=7')
    .option('--webhook-url <url>', 'HubSpot: POST signed v3 webhooks of creations, property changes and deletions made through the API to this URL')
    .option('--webhook-secret <secret>', 'HubSpot: the app client secret that signs the webhooks (default $HUBSPOT_CLIENT_SECRET)')
    .option('--webhook-drop-rate <share>', 'HubSpot: share of webhook events lost on purpose, 0 to 1 (seeded by --seed-value)')
    .option('--dynamics-webhook-url <url>', 'Dynamics 365: POST a RemoteExecutionContext for every create, update and delete made through the Web API to this URL')
    .option('--dynamics-webhook-key <key>', 'Dynamics 365: the webhook key, sent as the code query parameter (default $D365_WEBHOOK_KEY)')
    .option('--dynamics-webhook-drop-rate <share>', 'Dynamics 365: share of webhooks lost on purpose, 0 to 1 (seeded by --seed-value)')
    .addHelpText(
      'after',
      '\nThe Dynamics 365 emulator serves the standard contacts and accounts tables with their real columns; other\n' +
        'tables and custom columns only from a --dynamics-tables file (see emulators/src/dynamics/README.md).\n' +
        '\nExamples:\n  $ crmsync emulator --port 8080 --seed contacts=5000,companies=500,deals=2000 --seed-value 42' +
        '\n  $ crmsync emulator --shared-seed contacts=500,companies=50   # the same people and companies in both, for two-way syncs',
    )
    .action(
      context.action(async (options: Flags) => {
        // Every flag is checked before anything listens.
        const [hubspotOptions, dynamicsOptions, { startHubSpotEmulator }, { startDynamicsEmulator }] = await Promise.all([
          hubSpotEmulatorOptions(options),
          dynamicsEmulatorOptions(options),
          import('@crmsync/emulators/hubspot'),
          import('@crmsync/emulators/dynamics'),
        ]);
        const emulator = await listening('--port', hubspotOptions, () => startHubSpotEmulator(hubspotOptions));
        const dynamics = await listening('--dynamics-port', dynamicsOptions, () => startDynamicsEmulator(dynamicsOptions)).catch(async (error: unknown) => {
          await emulator.close();
          throw error;
        });
        const counts = emulator.store.objectTypes().map((type) => `${type}=${emulator.store.count(type)}`).join(', ');
        const dynamicsCounts = dynamics.store.entitySets().map((set) => `${set}=${dynamics.store.count(set)}`).join(', ');
        process.stdout.write(
          `HubSpot emulator listening on ${emulator.url} (${counts})\n` +
            `  export HUBSPOT_BASE_URL=${emulator.url}\n` +
            `  export HUBSPOT_ACCESS_TOKEN=${emulator.token}\n` +
            `Dynamics 365 emulator listening on ${dynamics.url} (${dynamicsCounts})\n` +
            `  export D365_RESOURCE_URL=${dynamics.url}\n` +
            `  export D365_AUTHORITY_HOST=${dynamics.authorityHost}\n` +
            `  export D365_TENANT_ID=${dynamics.tenantId}\n` +
            `  export D365_CLIENT_ID=${dynamics.clientId}\n` +
            `  export D365_CLIENT_SECRET=${dynamics.clientSecret}\n` +
            `  export D365_CA_CERT=${dynamics.certificateFile}\n` +
            webhookLines(hubspotOptions.webhooks, dynamicsOptions.webhooks) +
            `Press Ctrl-C to stop.\n`,
        );
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        await Promise.all([emulator.close(), dynamics.close()]);
      }),
    );
}

/** Where the webhooks go, if anywhere (never their secret or key). */
function webhookLines(hubspot: HubSpotWebhookOptions | undefined, dynamics: DynamicsWebhookOptions | undefined): string {
  const line = (crm: string, url: string, dropRate: number | undefined) => `${crm} webhooks to ${url}${dropRate ? ` (losing ${dropRate * 100}%)` : ''}\n`;
  return (hubspot ? line('HubSpot', hubspot.url, hubspot.dropRate) : '') + (dynamics ? line('Dynamics 365', dynamics.url, dynamics.dropRate) : '');
}

/** The mappings.yaml of the working directory, else the one shipped with crmsync. */
export function packagedOrLocalMappings(): string {
  return existsSync('mappings.yaml') ? 'mappings.yaml' : fileURLToPath(new URL('../../mappings.yaml', import.meta.url));
}
