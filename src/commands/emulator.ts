import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import type { Config } from '../config/load.js';
import type { FieldType } from '../config/mappings-schema.js';
import type { AttributeType, EntitySetDefinition } from '@crmsync/emulators/dynamics';
import type { FaultOptions } from '@crmsync/emulators/hubspot';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags, parseSeed, wholeNumberFlag } from './options.js';

export const DEFAULT_SEED = 'contacts=5000,companies=500,deals=2000,tickets=300';
export const DEFAULT_DYNAMICS_SEED = 'contacts=2000,accounts=300';
/** Where `crmsync emulator` writes the Dynamics emulator's certificate for D365_CA_CERT. */
export const EMULATOR_CA_FILE = join(tmpdir(), 'crmsync-emulator-ca.pem');

const ATTRIBUTE_TYPES: Record<FieldType, AttributeType> = {
  string: 'string',
  email: 'email',
  phone: 'phone',
  url: 'url',
  date: 'date',
  datetime: 'datetime',
  decimal: 'decimal',
  integer: 'integer',
  boolean: 'boolean',
  enumeration: 'string',
};

/**
 * The Dynamics tables mappings.yaml reads, as the emulator should serve them: the built-in
 * contacts and accounts with any further mapped attributes, and any other entity set.
 */
export function entitySetsFromMappings(config: Config, builtIn: EntitySetDefinition[]): EntitySetDefinition[] {
  const definitions = new Map(builtIn.map((definition) => [definition.entitySet, definition]));
  for (const object of config.objects.values()) {
    const dynamics = object.dynamics;
    if (!dynamics) continue;
    const known = definitions.get(dynamics.remoteName);
    const attributes = { ...known?.attributes };
    for (const field of dynamics.fields) {
      if (field.property === dynamics.primaryKey || field.property in attributes || SYSTEM_ATTRIBUTES.includes(field.property)) continue;
      attributes[field.property] = field.property.startsWith('_') && field.property.endsWith('_value') ? 'lookup' : ATTRIBUTE_TYPES[field.type];
    }
    definitions.set(dynamics.remoteName, {
      entitySet: dynamics.remoteName,
      // Dataverse's logical names are singular: incidents → incident.
      logicalName: known?.logicalName ?? dynamics.remoteName.replace(/ies$/, 'y').replace(/s$/, ''),
      primaryKey: dynamics.primaryKey,
      changeTracking: dynamics.changeTracking,
      attributes,
    });
  }
  return [...definitions.values()];
}

const SYSTEM_ATTRIBUTES = ['createdon', 'modifiedon', 'versionnumber', 'statecode'];

const MAX_PORT = 65_535;

/** Why a server could not listen, as the system's error code says it. */
const CANNOT_LISTEN: Record<string, (host: string) => string> = {
  EADDRINUSE: () => 'the port is in use; choose another (0 = any free port)',
  EACCES: () => 'permission denied (ports below 1024 need privileges); choose another port',
  EADDRNOTAVAIL: (host) => `--host ${host} is not an address of this machine`,
  ENOTFOUND: (host) => `--host ${host} is not a known host name`,
};

/** Starts one emulator; a port or host it cannot listen on is a usage error naming the flag. */
async function listening<T>(flag: string, { host, port }: { host: string; port: number }, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const reason = CANNOT_LISTEN[(error as NodeJS.ErrnoException).code ?? ''];
    if (!reason) throw error;
    throw new UsageError(`cannot listen on ${host}:${port} (${flag}): ${reason(host)}`);
  }
}

export function registerEmulatorCommand(program: Command, context: CommandContext): void {
  program
    .command('emulator')
    .description('serve a local HubSpot CRM API and Dynamics 365 Web API (in-memory, seeded with deterministic fake data) until Ctrl-C')
    .addOption(new Option('--port <n>', 'port of the HubSpot API (0 = any free port)').default('8080'))
    .addOption(new Option('--dynamics-port <n>', 'port of the Dynamics 365 API and its sign-in endpoint, over HTTPS (0 = any free port)').default('8443'))
    .addOption(new Option('--dynamics-seed <counts>', 'rows to generate per Dynamics 365 entity set').default(DEFAULT_DYNAMICS_SEED))
    .addOption(new Option('--host <address>', 'address to bind').default('127.0.0.1'))
    .addOption(new Option('--seed <counts>', 'records to generate per object').default(DEFAULT_SEED))
    .addOption(new Option('--seed-value <n>', 'random seed: the same value gives the same data').default('42'))
    .option('--token <token>', 'access token to accept (default: a random one, printed at start)')
    .addOption(new Option('--latency <ms>', 'delay added to every response').default('0'))
    .addOption(new Option('--search-lag <ms>', 'how long writes take to become visible to the search API').default('0'))
    .option('--rate-limit', "enforce HubSpot's limits: 100 requests per 10 s, 5 searches per second", false)
    .addOption(new Option('--rate-limit-max <n>', 'requests allowed per window when --rate-limit is on').default('100'))
    .addOption(new Option('--rate-limit-window <ms>', 'length of the rate-limit window').default('10000'))
    .option('--faults <spec>', 'inject faults, e.g. 429=0.1,5xx=0.05,reset=0.02,truncated=0.01,timeout=0.005,wrong-types=0.01,seed=7 or permanent=401')
    .addHelpText('after', '\nExample:\n  $ crmsync emulator --port 8080 --seed contacts=5000,companies=500,deals=2000 --seed-value 42')
    .action(
      context.action(async (options: EmulatorFlags, command: Command) => {
        const [hubspotEmulator, dynamicsEmulator, { loadConfig }] = await Promise.all([
          import('@crmsync/emulators/hubspot'),
          import('@crmsync/emulators/dynamics'),
          import('../config/load.js'),
        ]);
        // Every flag and mappings.yaml are checked before either emulator starts.
        const config = loadConfig(globalFlags(command).config ?? packagedOrLocalMappings());
        const settings = emulatorOptions(options, hubspotEmulator.parseFaultSpec, entitySetsFromMappings(config, [dynamicsEmulator.CONTACTS, dynamicsEmulator.ACCOUNTS]));
        const emulator = await listening('--port', settings.hubspot, () => hubspotEmulator.startHubSpotEmulator(settings.hubspot));
        let dynamics;
        try {
          dynamics = await listening('--dynamics-port', settings.dynamics, () => dynamicsEmulator.startDynamicsEmulator(settings.dynamics));
        } catch (error) {
          await emulator.close();
          throw error;
        }
        writeFileSync(EMULATOR_CA_FILE, dynamics.certificate);
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
            `  export D365_CA_CERT=${EMULATOR_CA_FILE}\n` +
            `Press Ctrl-C to stop.\n`,
        );
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        await Promise.all([emulator.close(), dynamics.close()]);
      }),
    );
}

/** The emulator command's flags as commander hands them over: text. */
interface EmulatorFlags {
  port: string;
  dynamicsPort: string;
  dynamicsSeed: string;
  host: string;
  seed: string;
  seedValue: string;
  token?: string;
  latency: string;
  searchLag: string;
  rateLimit: boolean;
  rateLimitMax: string;
  rateLimitWindow: string;
  faults?: string;
}

/** Both emulators' options from the flags; a bad flag is a usage error naming it. */
function emulatorOptions(flags: EmulatorFlags, parseFaultSpec: (spec: string) => FaultOptions, entitySets: EntitySetDefinition[]) {
  let faults: FaultOptions | undefined;
  try {
    faults = flags.faults ? parseFaultSpec(flags.faults) : undefined;
  } catch (error) {
    throw new UsageError(`--faults: ${(error as Error).message}`);
  }
  const { host } = flags;
  const seedValue = wholeNumberFlag('--seed-value', flags.seedValue, 0);
  const latencyMs = wholeNumberFlag('--latency', flags.latency, 0);
  const rateLimit = flags.rateLimit
    ? { perInterval: wholeNumberFlag('--rate-limit-max', flags.rateLimitMax, 1), intervalMs: wholeNumberFlag('--rate-limit-window', flags.rateLimitWindow, 1) }
    : (false as const);
  return {
    hubspot: {
      host,
      port: wholeNumberFlag('--port', flags.port, 0, MAX_PORT),
      seed: parseSeed(flags.seed),
      seedValue,
      token: flags.token,
      latencyMs,
      searchLagMs: wholeNumberFlag('--search-lag', flags.searchLag, 0),
      rateLimit,
      faults,
    },
    dynamics: { host, port: wholeNumberFlag('--dynamics-port', flags.dynamicsPort, 0, MAX_PORT), entitySets, seed: parseSeed(flags.dynamicsSeed), seedValue, latencyMs },
  };
}

/** The mappings.yaml of the working directory, else the one shipped with crmsync. */
export function packagedOrLocalMappings(): string {
  return existsSync('mappings.yaml') ? 'mappings.yaml' : fileURLToPath(new URL('../../mappings.yaml', import.meta.url));
}
