import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

export function registerPropertiesCommand(program: Command, context: CommandContext): void {
  program
    .command('properties')
    .description("list an object's properties from HubSpot's Properties API (name, label, type, field type)")
    .argument('<object>', 'an object in mappings.yaml, or a HubSpot object type (tickets, 0-5, 2-1234567)')
    .option('--yaml', 'print a ready-to-paste mappings.yaml entry instead', false)
    .addHelpText('after', '\nExample:\n  $ crmsync properties line_items --yaml >> mappings.yaml   (then indent-check and edit)')
    .action(
      context.action(async (name: string, options: { yaml: boolean }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig }, env, { portalProperties }, { mappingBlock }] = await Promise.all([
          import('../config/load.js'),
          import('../config/env.js'),
          import('../engines/portal-check.js'),
          import('../processors/property-types.js'),
        ]);
        env.loadDotEnv();
        const configured = loadConfig(global.config).objects.get(name);
        const objectType = configured?.hubspot?.objectType ?? name;
        const properties = await portalProperties(env.hubspotSettings(), objectType);
        if (options.yaml) {
          const entryName = /^[a-z_][a-z0-9_]*$/.test(name) ? name : `object_${name.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
          process.stdout.write(mappingBlock(entryName, objectType, properties));
        } else if (global.json) {
          process.stdout.write(`${JSON.stringify(properties, null, 2)}\n`);
        } else {
          const rows = [['name', 'label', 'type', 'field type'], ...properties.map((property) => [property.name, property.label ?? '', property.type, property.fieldType])];
          const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
          for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()}\n`);
        }
      }),
    );
}
