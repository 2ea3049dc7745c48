import type { Command } from 'commander';
import { EXIT_CODES } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync health || alert "crmsync: see the reasons above"
  $ crmsync health --max-age 30m                  any object whose last finished run is older is unhealthy
  $ crmsync health --object contacts --json

Exit codes: 0 healthy; 5 unhealthy, one line per reason on stderr; 2 bad usage or no database.`;

export function registerHealthCommand(program: Command, context: CommandContext): void {
  program
    .command('health')
    .description('check every object: last finished run and its age, failures, runs left behind by a dead process, dead-lettered writes; exit 5 with the reasons when something is wrong')
    .option('--max-age <duration>', "how old an object's last finished run may be: 90s, 30m, 2h, 1d (default: twice its usual interval, or 1h while it has fewer than 3 finished runs)")
    .option('--object <name>', 'only this object (or associations: contacts:companies), from every source and two-way')
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (options: { maxAge?: string; object?: string }, command: Command) => {
        const global = globalFlags(command);
        const [{ databasePath }, { openStore }, { healthReport }, { parseMaxAge }, { printHealth }] = await Promise.all([
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/health.js'),
          import('../processors/health.js'),
          import('./health-output.js'),
        ]);
        const maxAgeMs = options.maxAge === undefined ? undefined : parseMaxAge(options.maxAge);
        const store = openStore(databasePath(global.db), { readOnly: true });
        let report: ReturnType<typeof healthReport>;
        try {
          report = healthReport(store, { object: options.object, maxAgeMs });
        } finally {
          store.close();
        }
        printHealth(report, global.json);
        return report.healthy ? EXIT_CODES.success : EXIT_CODES.unhealthy;
      }),
    );
}
