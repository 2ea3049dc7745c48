import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { SOURCES } from '../config/sources.js';
import { globalFlags, wholeNumberFlag } from './options.js';

export function registerHistoryCommand(program: Command, context: CommandContext): void {
  program
    .command('history')
    .description('list recent sync runs from the sync_history table, newest first; then records rejected, writes dead-lettered and reconciliations')
    .option('--object <name>', 'only runs of this object (or associations: contacts:companies)')
    .addOption(new Option('--source <crm>', 'only runs that read from this CRM (and writes to it)').choices(SOURCES))
    .addOption(new Option('--limit <n>', 'number of runs (and of rejected records, of dead-lettered writes) to show').default('20'))
    .action(
      context.action(async (options: { object?: string; source?: string; limit: string }, command: Command) => {
        const limit = wholeNumberFlag('--limit', options.limit, 1);
        const global = globalFlags(command);
        const [{ databasePath }, { openStore }, { SyncHistoryRepository }, { outstandingRejections }, { deadLetters }, { ReconciliationRuns }, { printHistory }, { printReconciliations }] = await Promise.all([
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/sync-history.js'),
          import('../db/rejections.js'),
          import('../db/outbox.js'),
          import('../db/reconciliation-runs.js'),
          import('./output.js'),
          import('./reconcile-output.js'),
        ]);
        const path = databasePath(global.db);
        const { existsSync } = await import('node:fs');
        if (!existsSync(path)) throw new UsageError(`no database at ${path}: run a sync first, or pass --db <path>`);
        const store = openStore(path, { readOnly: true });
        try {
          const filter = { source: options.source, limit };
          const runs = new SyncHistoryRepository(store).list({ ...filter, entity: options.object });
          const rejected = outstandingRejections(store, { ...filter, objectType: options.object });
          const dead = deadLetters(store, { objectType: options.object, crm: options.source, limit });
          printHistory(runs, { rejected, dead }, global.json);
          // --json stays an array of runs.
          if (!global.json) printReconciliations(new ReconciliationRuns(store).list({ ...filter, objectType: options.object }));
        } finally {
          store.close();
        }
      }),
    );
}
