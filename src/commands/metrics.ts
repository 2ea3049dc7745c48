import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync metrics                                   print the metrics (Prometheus text format)
  $ crmsync metrics --textfile /var/lib/node_exporter/textfile/crmsync.prom
  $ crmsync sync-all --metrics-textfile /var/lib/node_exporter/textfile/crmsync.prom   refresh it after every sync`;

export function registerMetricsCommand(program: Command, context: CommandContext): void {
  program
    .command('metrics')
    .description("Prometheus metrics from the database: each object's last success, last run, record and request counters, conflicts, outbox and webhook backlog")
    .option('--textfile <path>', "write them to this file (replaced in one step, for node_exporter's textfile collector) instead of stdout")
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (options: { textfile?: string }, command: Command) => {
        const global = globalFlags(command);
        if (options.textfile !== undefined && options.textfile.trim() === '') throw new UsageError('--textfile needs a file path, such as /var/lib/node_exporter/textfile/crmsync.prom');
        const [{ databasePath }, { openStore }, { storeExposition }, { writeFileAtomically }] = await Promise.all([
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/metrics-exposition.js'),
          import('./metrics-output.js'),
        ]);
        const store = openStore(databasePath(global.db), { readOnly: true });
        let text: string;
        try {
          text = await storeExposition(store);
        } finally {
          store.close();
        }
        if (options.textfile === undefined) process.stdout.write(text);
        else writeFileAtomically(options.textfile, text);
      }),
    );
}
