import { Option, type Command } from 'commander';
import { DEFAULT_SOURCE, SOURCES, type SourceName } from '../config/sources.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

const out = (text: string) => process.stdout.write(text);

export function registerPropertiesCommand(program: Command, context: CommandContext): void {
  program
    .command('properties')
    .description("list an object's properties from HubSpot's Properties API (name, label, type, field type), or a Dynamics 365 table's columns with --source dynamics")
    .argument('<object>', 'an object in mappings.yaml, a HubSpot object type (tickets, 0-5, 2-1234567), or with --source dynamics an entity set (incidents)')
    .addOption(new Option('--source <crm>', 'CRM to ask').choices(SOURCES).default(DEFAULT_SOURCE))
    .option('--yaml', 'print a ready-to-paste mappings.yaml entry instead', false)
    .addHelpText(
      'after',
      '\nExamples:\n  $ crmsync properties line_items --yaml >> mappings.yaml   (then indent-check and edit)\n  $ crmsync properties incidents --source dynamics --yaml >> mappings.yaml',
    )
    .action(
      context.action(async (name: string, options: { yaml: boolean; source: SourceName }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig }, { connectorFor }, { entryYaml }, { printTable }] = await Promise.all([
          import('../config/load.js'),
          import('../clients/registry.js'),
          import('../config/scaffold.js'),
          import('./output.js'),
        ]);
        const crm = connectorFor(options.source);
        const remoteName = loadConfig(global.config).objects.get(name)?.[crm.name]?.remoteName ?? name;
        const entryName = /^[a-z_][a-z0-9_]*$/.test(name) ? name : `object_${name.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
        const connection = await crm.connect(crm.settings(process.env));
        const description = await connection.describe(remoteName);
        if (options.yaml) out(entryYaml(entryName, connection.draft(description)));
        else if (global.json) out(`${JSON.stringify(description.definition, null, 2)}\n`);
        else printTable(description.listing);
      }),
    );
}
