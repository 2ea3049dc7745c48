import type { Command } from 'commander';
import { EXIT_CODES } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

export function registerConfigCommand(program: Command, context: CommandContext): void {
  program
    .command('config')
    .description('work with mappings.yaml')
    .command('check')
    .description('validate mappings.yaml, and with HUBSPOT_ACCESS_TOKEN set also against the portal: unknown objects and properties, type mismatches, keys that are not unique (exit 2 if any)')
    .action(
      context.action(async (_options: unknown, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig }, env, { checkAgainstPortal }] = await Promise.all([import('../config/load.js'), import('../config/env.js'), import('../engines/portal-check.js')]);
        env.loadDotEnv();
        const config = loadConfig(global.config);
        const fields = [...config.objects.values()].reduce((total, object) => total + (object.hubspot?.fields.length ?? 0) + (object.dynamics?.fields.length ?? 0), 0);
        const summary = `${config.path}: ${config.objects.size} objects, ${fields} fields, ${config.associations.length} association pairs`;
        if (!process.env.HUBSPOT_ACCESS_TOKEN?.trim()) {
          process.stdout.write(`${summary}: the file is valid (set HUBSPOT_ACCESS_TOKEN to check it against the portal too)\n`);
          return EXIT_CODES.success;
        }
        const settings = env.hubspotSettings();
        const problems = await checkAgainstPortal(config, settings);
        for (const problem of problems) process.stdout.write(`${config.path}: ${problem}\n`);
        if (problems.length > 0) {
          process.stderr.write(`crmsync: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${config.path} against ${settings.baseUrl}\n`);
          return EXIT_CODES.usage;
        }
        process.stdout.write(`${summary}: matches the portal at ${settings.baseUrl}\n`);
        return EXIT_CODES.success;
      }),
    );
}
