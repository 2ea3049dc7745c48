import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import type { CrmSettings, RunContext } from '../engines/run-objects.js';
import type { RunResult } from '../engines/run-lifecycle.js';
import { addSyncFlags, futureSinceWarning, globalFlags, parseSyncFlags, type GlobalFlags, type SyncFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync sync-contacts                 incremental when a previous run exists, else full
  $ crmsync sync-contacts --full          read every contact again
  $ crmsync sync-companies --source dynamics   Dynamics 365 accounts (mapped to companies)
  $ crmsync sync-deals --since 2025-01-01 --dry-run
  $ crmsync sync-object appointments      any object in mappings.yaml, custom objects too
  $ crmsync sync-associations --from-object deals --to-object contacts --full
  $ crmsync sync-all --objects contacts,companies --json
  $ crmsync sync-contacts --two-way       HubSpot and Dynamics 365 kept alike, both ways
  $ crmsync sync-all --two-way --dry-run  every object with a two_way: block; print the writes, send none`;

/** What the sync flags ask of the command rather than of the runs' reads: the textfile it rewrites, and the reserve of HubSpot's daily quota its connections keep. */
type CommandSettings = Pick<SyncFlags, 'metricsTextfile' | 'dailyReserve'>;

/** What one invocation syncs: objects by name, then association pairs. */
interface Selection {
  objects: string[] | 'enabled';
  /** 'selected': the configured pairs whose two objects are both selected. */
  associations: 'none' | 'selected' | { from: string; to: string };
}

/** sync-contacts, sync-companies, sync-deals, sync-object, sync-associations and sync-all. */
export function registerSyncCommands(program: Command, context: CommandContext): void {
  const declare = (name: string, description: string) => addSyncFlags(program.command(name).description(description)).addHelpText('after', EXAMPLES);
  const run = (select: (options: Record<string, unknown>, args: string[]) => Selection) =>
    context.action(async (...args: unknown[]) => {
      const command = args.at(-1) as Command;
      const options = args.at(-2) as Record<string, unknown>;
      const { objects: _objects, fromObject: _from, toObject: _to, skipAssociations: _skip, ...flags } = options;
      return syncAction(select(options, args.slice(0, -2) as string[]), flags, command, context.signal);
    });

  for (const object of ['contacts', 'companies', 'deals']) {
    declare(`sync-${object}`, `pull ${object} from HubSpot (or Dynamics 365 with --source dynamics) into the local database`).action(run(() => ({ objects: [object], associations: 'none' })));
  }
  declare('sync-object', 'pull any object defined in mappings.yaml (standard or custom) into the local database')
    .argument('<name>', 'object name under objects: in mappings.yaml')
    .action(run((_, [name]) => ({ objects: [name], associations: 'none' })));
  declare('sync-associations', 'pull the associations between two objects (a pair listed under associations: in mappings.yaml)')
    .requiredOption('--from-object <name>', 'object whose records the associations start from')
    .requiredOption('--to-object <name>', 'object they point to')
    .action(run((options) => ({ objects: [], associations: { from: String(options.fromObject), to: String(options.toObject) } })));
  declare('sync-all', 'sync every enabled object in mappings.yaml (or those in --objects), each even if another fails, then their associations')
    .option('--objects <names>', 'comma-separated subset of the objects in mappings.yaml (may name disabled ones)')
    .option('--skip-associations', 'sync the objects only', false)
    .option('--concurrency <n>', 'objects synced at the same time, sharing the rate limit (default 3)')
    .action(
      run((options) => ({
        objects: typeof options.objects === 'string' ? options.objects.split(',').map((name) => name.trim()).filter(Boolean) : 'enabled',
        associations: options.skipAssociations ? 'none' : 'selected',
      })),
    );
}

async function syncAction(selection: Selection, rawFlags: Record<string, unknown>, command: Command, signal: AbortSignal): Promise<number> {
  // The textfile is what the command does after the runs, not how they read: it stays out of their configuration.
  // The reserve is how the connection spends HubSpot's quota, not how the runs read: it stays out of their configuration too.
  const { concurrency, twoWay, metricsTextfile, dailyReserve, ...flags } = await parseSyncFlags(rawFlags);
  const after: CommandSettings = { metricsTextfile, dailyReserve };
  if (twoWay) {
    if (command.getOptionValueSource('source') === 'cli') throw new UsageError(`--two-way reads both HubSpot and Dynamics 365; drop --source ${flags.source}`);
    return twoWayAction(selection, flags, command, signal, after);
  }
  const global = globalFlags(command);
  const [{ loadConfig, objectByName, enabledObjects }, { connectorFor }, { syncObjects, syncAssociations }] = await Promise.all([
    import('../config/load.js'),
    import('../clients/registry.js'),
    import('../engines/run-objects.js'),
  ]);
  const config = loadConfig(global.config);
  const { source } = flags;
  // A plain sync-all takes the enabled objects that the source has.
  const objects = selection.objects === 'enabled' ? enabledObjects(config, source) : selection.objects.map((name) => objectByName(config, name, source));
  // Pairs whose objects are both selected from this source; a pair named outright must be of this source.
  const pairs =
    selection.associations === 'none'
      ? []
      : selection.associations === 'selected'
        ? config.associations.filter((pair) => objects.includes(pair.from) && objects.includes(pair.to))
        : [pairByName(config, selection.associations.from, selection.associations.to)];
  for (const pair of pairs) {
    if (pair.from.source !== source) throw new UsageError(`sync-associations reads ${connectorFor(pair.from.source).label} associations only; drop --source ${source}`);
  }
  const settings = { [source]: connectorFor(source).settings(process.env) };
  return runAndPrint(flags, global, settings, signal, after, async (context) => [
    ...(await syncObjects(objects, flags, context, concurrency)),
    ...(await syncAssociations(pairs, flags, context)),
  ]);

  function pairByName(config: import('../config/load.js').Config, from: string, to: string) {
    objectByName(config, from);
    objectByName(config, to);
    const pair = config.associations.find((candidate) => candidate.from.name === from && candidate.to.name === to);
    if (!pair) {
      const listed = config.associations.map((candidate) => candidate.name).join(', ') || 'none';
      throw new UsageError(`${from}:${to} is not listed under associations: in ${config.path} (listed: ${listed})`);
    }
    return pair;
  }
}

/** --two-way: objects with a two_way: block, read from both CRMs and written to both. */
async function twoWayAction(
  selection: Selection,
  flags: Omit<SyncFlags, 'concurrency' | 'twoWay' | keyof CommandSettings>,
  command: Command,
  signal: AbortSignal,
  after: CommandSettings,
): Promise<number> {
  const global = globalFlags(command);
  if (selection.objects.length === 0 && selection.associations !== 'none' && typeof selection.associations === 'object') {
    throw new UsageError('sync-associations reads associations one way only; drop --two-way');
  }
  const [{ loadConfig, twoWayObjects }, { connectorFor }, { syncTwoWay }] = await Promise.all([
    import('../config/load.js'),
    import('../clients/registry.js'),
    import('../engines/run-objects.js'),
  ]);
  const config = loadConfig(global.config);
  const entries = twoWayObjects(config, selection.objects === 'enabled' ? undefined : selection.objects);
  const settings = { hubspot: connectorFor('hubspot').settings(process.env), dynamics: connectorFor('dynamics').settings(process.env) };
  return runAndPrint(flags, global, settings, signal, after, (context) => syncTwoWay(entries, flags, context));
}

/**
 * Opens the store (an in-memory copy for --dry-run), runs, prints the results; the exit code
 * is the worst run's. Then the metrics textfile, if one is named, is rewritten from the
 * database, failed runs included; a dry run records nothing, so it leaves the file alone.
 */
async function runAndPrint(
  flags: Pick<SyncFlags, 'debug' | 'since' | 'dryRun'>,
  global: GlobalFlags,
  settings: CrmSettings,
  signal: AbortSignal,
  { metricsTextfile, dailyReserve }: CommandSettings,
  run: (context: RunContext) => Promise<RunResult[]>,
): Promise<number> {
  const [env, { openStore }, { worstExitCode }, { createLogger }, output] = await Promise.all([
    import('../config/env.js'),
    import('../db/database.js'),
    import('../engines/run-objects.js'),
    import('../log.js'),
    import('./output.js'),
  ]);
  const log = createLogger(flags.debug ? 'debug' : global.quiet ? 'warn' : 'info');
  const futureSince = futureSinceWarning(flags.since);
  if (futureSince) log.warn(futureSince);
  const progress = await output.createProgress(log, !global.quiet && !global.json);
  const textfile = flags.dryRun ? undefined : env.metricsTextfilePath(metricsTextfile);
  const store = openStore(env.databasePath(global.db), { dryRun: flags.dryRun });
  try {
    const results = await run({ store, ...settings, log, progress, signal, dailyReserve });
    const exitCode = worstExitCode(results.map((result) => result.exitCode));
    output.printResults(results, exitCode, global.json);
    return exitCode;
  } finally {
    try {
      if (textfile !== undefined) await (await import('./metrics-output.js')).refreshMetricsTextfile(store, textfile, log);
    } finally {
      store.close();
    }
  }
}
