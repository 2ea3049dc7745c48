import { Option, type Command } from 'commander';
import type { ObjectMapping } from '../config/load.js';
import { DEFAULT_SOURCE, SOURCES, type SourceName } from '../config/sources.js';
import type { LatestRejection } from '../db/record-view.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync show contacts 101
  $ crmsync show contacts 101 --history          with every version and what changed
  $ crmsync show companies 8a3f5c2e-... --source dynamics --json`;

export function registerShowCommand(program: Command, context: CommandContext): void {
  program
    .command('show')
    .description('show one stored record: its state, mapped fields, latest rejection and associations (and with --history its versions)')
    .argument('<object>', 'object name under objects: in mappings.yaml')
    .argument('<id>', "the record's id in the CRM")
    .addOption(new Option('--source <crm>', 'CRM the record was read from').choices(SOURCES).default(DEFAULT_SOURCE))
    .option('--history', 'also list its versions and the fields each changed', false)
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (name: string, id: string, options: { source: SourceName; history: boolean }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig, objectByName }, { databasePath }, { openStore }, { latestRejection, readRecordDetails }, { recordView }, { printRecord }] = await Promise.all([
          import('../config/load.js'),
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/record-view.js'),
          import('../processors/record-view.js'),
          import('./show-output.js'),
        ]);
        const mapping = objectByName(loadConfig(global.config), name, options.source);
        const path = databasePath(global.db);
        const store = openStore(path, { readOnly: true });
        try {
          const key = { source: mapping.source, objectType: mapping.name, sourceId: id };
          const details = readRecordDetails(store, key, { versions: options.history });
          if (!details) throw new UsageError(notFound(path, mapping, id, latestRejection(store, key)));
          const view = recordView({ name: mapping.name, source: mapping.source, columns: mapping.fields.map((field) => field.column) }, details);
          printRecord(view, { json: global.json, keepsHistory: mapping.keepsHistory });
        } finally {
          store.close();
        }
      }),
    );
}

/** Why there is nothing to show, and what to do about it. */
function notFound(path: string, mapping: ObjectMapping, id: string, rejection: LatestRejection | null): string {
  const what = `${mapping.source} ${mapping.name}`;
  if (rejection) {
    const reasons = rejection.reasons.map((problem) => `${problem.column}: ${problem.reason}`).join('; ');
    return `${path} has no valid version of ${what} ${id}: every version read was rejected, the latest at ${rejection.rejectedAt} (${reasons}); crmsync history lists it`;
  }
  return `${path} has no ${what} record with id ${id}; check the id, or run ${syncCommand(mapping)} first`;
}

/** The command that reads the object: crmsync sync-contacts, crmsync sync-object tickets --source dynamics. */
function syncCommand(mapping: ObjectMapping): string {
  const command = ['contacts', 'companies', 'deals'].includes(mapping.name) ? `sync-${mapping.name}` : `sync-object ${mapping.name}`;
  return `crmsync ${command}${mapping.source === DEFAULT_SOURCE ? '' : ` --source ${mapping.source}`}`;
}
