import { Option, type Command } from 'commander';
import { DEFAULT_SOURCE, SOURCES, type SourceName } from '../config/sources.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync reconcile contacts                     compare every HubSpot contact with the stored copy
  $ crmsync reconcile companies --source dynamics  the same for Dynamics 365 accounts (mapped to companies)
  $ crmsync reconcile contacts --fix               repair what it finds; queue the writes linked pairs call for
  $ crmsync reconcile deals --json                 every id of each kind

Exit codes: 0 no drift (or --fix repaired all it found), 3 drift found (or left after --fix),
1 failed, 2 bad usage, 4 a sync of the object holds the lease (--fix).`;

export function registerReconcileCommand(program: Command, context: CommandContext): void {
  program
    .command('reconcile')
    .description("prove the local copy of an object is its CRM's: list every id and modification time there and report records missing, gone or stale (and linked pairs that differ); --fix repairs them")
    .argument('<object>', 'object name under objects: in mappings.yaml')
    .addOption(new Option('--source <crm>', 'CRM to compare with').choices(SOURCES).default(DEFAULT_SOURCE))
    .option('--fix', 'read the missing and stale records by id and save them, mark the gone ones deleted, and queue the writes differing linked pairs call for', false)
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (name: string, options: { source: SourceName; fix: boolean }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig, objectByName, objectEntry }, { connectorFor }, env, { openStore }, { createLogger }, { reconcileObject }, { printReconcile }] = await Promise.all([
          import('../config/load.js'),
          import('../clients/registry.js'),
          import('../config/env.js'),
          import('../db/database.js'),
          import('../log.js'),
          import('../engines/reconcile.js'),
          import('./reconcile-output.js'),
        ]);
        const config = loadConfig(global.config);
        objectByName(config, name, options.source);
        const entry = objectEntry(config, name);
        const settings = { [options.source]: connectorFor(options.source).settings(process.env) };
        // Queueing a pair's writes asks HubSpot when properties changed, whichever CRM is listed.
        const hubspot = connectorFor('hubspot');
        if (options.fix && entry.twoWay && hubspot.settingsGiven(process.env)) settings.hubspot = hubspot.settings(process.env);
        const store = openStore(env.databasePath(global.db), { existing: true });
        try {
          const log = createLogger(global.quiet ? 'warn' : 'info');
          const result = await reconcileObject(entry, options.source, { store, ...settings, log, signal: context.signal }, { fix: options.fix });
          printReconcile(result, global.json);
          return result.exitCode;
        } finally {
          store.close();
        }
      }),
    );
}
