import type { Command } from 'commander';
import { EXIT_CODES } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

export function registerConfigCommand(program: Command, context: CommandContext): void {
  program
    .command('config')
    .description('work with mappings.yaml')
    .command('check')
    .description(
      'validate mappings.yaml; with HUBSPOT_ACCESS_TOKEN set also against the portal, with the D365_* settings also against the Dynamics 365 organisation: unknown objects, tables, properties and columns, type mismatches, keys, two-way fields written into read-only properties or mapping options the CRM does not list (exit 2 if any)',
    )
    .action(
      context.action(async (_options: unknown, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig }, { allConnectors }, { checkMappings }, { withTwoWayCheck }] = await Promise.all([
          import('../config/load.js'),
          import('../clients/registry.js'),
          import('../config/remote-check.js'),
          import('../config/two-way-check.js'),
        ]);
        const config = loadConfig(global.config);
        const mappings = [...config.objects.values()].flatMap((entry) => allConnectors().flatMap((crm) => entry[crm.name] ?? []));
        const fields = mappings.reduce((total, mapping) => total + mapping.fields.length, 0);
        const summary = `${config.path}: ${config.objects.size} objects, ${fields} fields, ${config.associations.length} association pairs`;

        // Each CRM whose settings are given is checked; with none, the file alone is.
        const checks = allConnectors()
          .filter((crm) => crm.settingsGiven(process.env))
          .map((crm) => {
            const settings = crm.settings(process.env);
            return { against: crm.target(settings), problems: async () => checkMappings(config, crm.name, withTwoWayCheck(config, crm.name, await crm.connect(settings))) };
          });
        if (checks.length === 0) {
          process.stdout.write(`${summary}: the file is valid (set HUBSPOT_ACCESS_TOKEN or the D365_* settings to check it against the CRMs too)\n`);
          return EXIT_CODES.success;
        }
        let failed = false;
        for (const check of checks) {
          const problems = await check.problems();
          for (const problem of problems) process.stdout.write(`${config.path}: ${problem}\n`);
          if (problems.length > 0) {
            failed = true;
            process.stderr.write(`crmsync: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${config.path} against ${check.against}\n`);
          } else {
            process.stdout.write(`${summary}: matches ${check.against}\n`);
          }
        }
        return failed ? EXIT_CODES.usage : EXIT_CODES.success;
      }),
    );
}
