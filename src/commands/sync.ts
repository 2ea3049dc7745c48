import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { addSyncFlags, globalFlags, parseSyncFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync sync-contacts                 incremental when a previous run exists, else full
  $ crmsync sync-contacts --full          read every contact again
  $ crmsync sync-deals --since 2025-01-01 --dry-run
  $ crmsync sync-all --objects contacts,companies --json`;

/** sync-contacts, sync-companies, sync-deals and sync-all. */
export function registerSyncCommands(program: Command, context: CommandContext): void {
  for (const object of ['contacts', 'companies', 'deals']) {
    addSyncFlags(program.command(`sync-${object}`).description(`pull HubSpot ${object} into the local database`))
      .addHelpText('after', EXAMPLES)
      .action(context.action((options: Record<string, unknown>, command: Command) => syncAction([object], options, command, context.signal)));
  }
  addSyncFlags(program.command('sync-all').description('sync every object in mappings.yaml (or those in --objects), each even if another fails'))
    .option('--objects <names>', 'comma-separated subset of the objects in mappings.yaml')
    .option('--concurrency <n>', 'objects synced at the same time, sharing the rate limit (default 3)')
    .addHelpText('after', EXAMPLES)
    .action(
      context.action((options: Record<string, unknown> & { objects?: string }, command: Command) => {
        const names = options.objects?.split(',').map((name) => name.trim()).filter(Boolean);
        const { objects: _omit, ...flags } = options;
        return syncAction(names ?? 'all', flags, command, context.signal);
      }),
    );
}

async function syncAction(names: string[] | 'all', rawFlags: Record<string, unknown>, command: Command, signal: AbortSignal): Promise<number> {
  const { concurrency, ...flags } = await parseSyncFlags(rawFlags);
  const global = globalFlags(command);
  const [{ loadConfig, objectByName }, env, { openStore }, { syncObjects, worstExitCode }, { createLogger }, output] = await Promise.all([
    import('../config/load.js'),
    import('../config/env.js'),
    import('../db/database.js'),
    import('../engines/run-objects.js'),
    import('../log.js'),
    import('./output.js'),
  ]);
  env.loadDotEnv();
  const config = loadConfig(global.config);
  const objects = names === 'all' ? [...config.objects.values()] : names.map((name) => objectByName(config, name));
  const hubspot = env.hubspotSettings();
  const log = createLogger(flags.debug ? 'debug' : global.quiet ? 'warn' : 'info');
  const progress = await output.createProgress(log, !global.quiet && !global.json);

  const store = openStore(env.databasePath(global.db), { dryRun: flags.dryRun });
  try {
    const results = await syncObjects(objects, flags, { store, hubspot, log, progress, signal }, concurrency);
    const exitCode = worstExitCode(results.map((result) => result.exitCode));
    output.printResults(results, exitCode, global.json);
    return exitCode;
  } finally {
    store.close();
  }
}
