import { Option, type Command } from 'commander';
import { SOURCES, type SourceName } from '../config/sources.js';
import type { ConflictChoice } from '../db/conflict-repository.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags, wholeNumberFlag } from './options.js';

export const RESOLVE_USAGE = 'crmsync conflicts resolve <id> --use hubspot|dynamics, or --value <value>';

const EXAMPLES = `
Examples:
  $ crmsync conflicts
  $ crmsync conflicts --object contacts --json
  $ crmsync conflicts resolve 12 --use hubspot         keep HubSpot's value
  $ crmsync conflicts resolve 13 --value "Head of Sales"`;

interface ResolveFlags {
  use?: SourceName;
  value?: string;
}

export function registerConflictsCommand(program: Command, context: CommandContext): void {
  const conflicts = program
    .command('conflicts')
    .description('list open conflicts, oldest first: fields both CRMs changed to different values, left to a person to settle')
    .option('--object <name>', 'only conflicts of this object')
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (options: { object?: string }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig, objectEntry }, { databasePath }, { openStore }, { ConflictRepository }, { printConflicts }] = await Promise.all([
          import('../config/load.js'),
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/conflict-repository.js'),
          import('./conflicts-output.js'),
        ]);
        if (options.object !== undefined) objectEntry(loadConfig(global.config), options.object);
        const store = openStore(databasePath(global.db), { readOnly: true });
        try {
          printConflicts(new ConflictRepository(store).listOpen(options.object), { json: global.json, object: options.object });
        } finally {
          store.close();
        }
      }),
    );

  conflicts
    .command('resolve')
    .description("settle an open conflict with one CRM's value or a value given; the next --two-way run writes it where it is missing")
    .argument('<id>', 'the id crmsync conflicts lists')
    .addOption(new Option('--use <crm>', "keep this CRM's value, as that CRM holds it").choices(SOURCES))
    .option('--value <value>', 'use this value instead (an empty string empties the field)')
    .action(
      context.action(async (id: string, options: ResolveFlags, command: Command) => {
        const global = globalFlags(command);
        const choice = choiceOf(options, command);
        const conflictId = wholeNumberFlag('conflict id', id, 1);
        const [{ databasePath }, { openStore }, { ConflictRepository }, { printResolved }] = await Promise.all([
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/conflict-repository.js'),
          import('./conflicts-output.js'),
        ]);
        const store = openStore(databasePath(global.db), { existing: true });
        try {
          printResolved(new ConflictRepository(store).resolve(conflictId, choice), global.json);
        } finally {
          store.close();
        }
      }),
    );
}

/** Exactly one of --use and --value. */
function choiceOf(options: ResolveFlags, command: Command): ConflictChoice {
  // Options of `conflicts` are parsed after `resolve` too; --object only filters the list.
  if (command.parent?.opts().object !== undefined) throw new UsageError(`--object filters the list of conflicts; resolve takes a conflict id: ${RESOLVE_USAGE}`);
  if ((options.use === undefined) === (options.value === undefined)) throw new UsageError(`give exactly one of --use and --value: ${RESOLVE_USAGE}`);
  return options.use !== undefined ? { use: options.use } : { value: options.value! };
}
