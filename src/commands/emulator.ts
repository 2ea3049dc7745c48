import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { parseSeed } from './options.js';

export const DEFAULT_SEED = 'contacts=5000,companies=500,deals=2000,tickets=300';

const number = (flag: string, text: string, min = 0): number => {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min) throw new UsageError(`${flag} must be a whole number${min ? ` of at least ${min}` : ''}, got "${text}"`);
  return value;
};

export function registerEmulatorCommand(program: Command, context: CommandContext): void {
  program
    .command('emulator')
    .description('serve a local HubSpot CRM API (in-memory, seeded with deterministic fake data) until Ctrl-C')
    .addOption(new Option('--port <n>', 'port to listen on (0 = any free port)').default('8080'))
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
      context.action(async (options: Record<string, string | boolean | undefined>) => {
        const { startHubSpotEmulator, parseFaultSpec } = await import('../emulators/hubspot/index.js');
        let faults;
        try {
          faults = options.faults ? parseFaultSpec(options.faults as string) : undefined;
        } catch (error) {
          throw new UsageError(`--faults: ${(error as Error).message}`);
        }
        const emulator = await startHubSpotEmulator({
          faults,
          host: options.host as string,
          port: number('--port', options.port as string),
          seed: parseSeed(options.seed as string),
          seedValue: number('--seed-value', options.seedValue as string),
          token: options.token as string | undefined,
          latencyMs: number('--latency', options.latency as string),
          searchLagMs: number('--search-lag', options.searchLag as string),
          rateLimit: options.rateLimit
            ? { perInterval: number('--rate-limit-max', options.rateLimitMax as string, 1), intervalMs: number('--rate-limit-window', options.rateLimitWindow as string, 1) }
            : false,
        });
        const counts = emulator.store.objectTypes().map((type) => `${type}=${emulator.store.count(type)}`).join(', ');
        process.stdout.write(
          `HubSpot emulator listening on ${emulator.url} (${counts})\n` +
            `  export HUBSPOT_BASE_URL=${emulator.url}\n` +
            `  export HUBSPOT_ACCESS_TOKEN=${emulator.token}\n` +
            `Press Ctrl-C to stop.\n`,
        );
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        await emulator.close();
      }),
    );
}
