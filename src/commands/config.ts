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
      'validate mappings.yaml; with HUBSPOT_ACCESS_TOKEN set also against the portal, with the D365_* settings also against the Dynamics 365 organisation: unknown objects, tables, properties and columns, type mismatches, keys (exit 2 if any)',
    )
    .action(
      context.action(async (_options: unknown, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig }, env, portal] = await Promise.all([import('../config/load.js'), import('../config/env.js'), import('../config/remote-check.js')]);
        env.loadDotEnv();
        const config = loadConfig(global.config);
        const fields = [...config.objects.values()].reduce((total, object) => total + (object.hubspot?.fields.length ?? 0) + (object.dynamics?.fields.length ?? 0), 0);
        const summary = `${config.path}: ${config.objects.size} objects, ${fields} fields, ${config.associations.length} association pairs`;

        // Each CRM whose credentials are set is checked; with none, the file alone is.
        const checks: { against: string; problems: () => Promise<string[]> }[] = [];
        if (process.env.HUBSPOT_ACCESS_TOKEN?.trim()) {
          const settings = env.hubspotSettings();
          checks.push({ against: `the portal at ${settings.baseUrl}`, problems: () => portal.checkAgainstPortal(config, settings) });
        }
        if (env.dynamicsSettingsGiven()) {
          const settings = env.dynamicsSettings();
          checks.push({ against: `the Dynamics 365 organisation at ${settings.resourceUrl}`, problems: () => portal.checkAgainstOrganisation(config, settings) });
        }
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
