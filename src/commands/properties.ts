import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { DEFAULT_SOURCE, SOURCES, type SourceName } from '../config/sources.js';
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
        const [{ loadConfig }, env, portal, propertyTypes, attributeTypes, { printTable }] = await Promise.all([
          import('../config/load.js'),
          import('../config/env.js'),
          import('../config/remote-check.js'),
          import('../clients/hubspot/properties.js'),
          import('../clients/dynamics/columns.js'),
          import('./output.js'),
        ]);
        env.loadDotEnv();
        const configured = loadConfig(global.config).objects.get(name);
        const entryName = /^[a-z_][a-z0-9_]*$/.test(name) ? name : `object_${name.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;

        if (options.source === 'dynamics') {
          const entitySet = configured?.dynamics?.remoteName ?? name;
          const table = await portal.organisationTable(env.dynamicsSettings(), entitySet);
          if (!table) throw new UsageError(`Dynamics 365 has no entity set "${entitySet}"; entity sets are plural logical names such as contacts, accounts, incidents`);
          if (options.yaml) out(attributeTypes.dynamicsMappingBlock(entryName, table));
          else if (global.json) out(`${JSON.stringify(table, null, 2)}\n`);
          else printTable([['name', 'type', 'crmsync type'], ...table.attributes.filter(attributeTypes.isReadable).map((column) => [column.name, column.type, attributeTypes.fieldTypeForAttribute(column)])]);
          return;
        }

        const objectType = configured?.hubspot?.remoteName ?? name;
        const properties = await portal.portalProperties(env.hubspotSettings(), objectType);
        if (options.yaml) out(propertyTypes.mappingBlock(entryName, objectType, properties));
        else if (global.json) out(`${JSON.stringify(properties, null, 2)}\n`);
        else printTable([['name', 'label', 'type', 'field type'], ...properties.map((property) => [property.name, property.label ?? '', property.type, property.fieldType])]);
      }),
    );
}
