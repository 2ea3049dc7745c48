import type { Command } from 'commander';
import type { SourceName } from '../config/sources.js';
import type { CommandContext } from './context.js';
import { globalFlags } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync links contacts                       every pair: HubSpot id, Dynamics 365 id, how they were matched
  $ crmsync links contacts --unmatched           records without a link, and why
  $ crmsync links companies --unmatched --json`;

export function registerLinksCommand(program: Command, context: CommandContext): void {
  program
    .command('links')
    .description("list an object's two-way links (a HubSpot record and its Dynamics 365 row), or with --unmatched its records without one and why")
    .argument('<object>', 'object with a two_way: block in mappings.yaml')
    .option('--unmatched', 'list the records of both CRMs that have no link, with the reason (or what the next two-way run does with them)', false)
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (name: string, options: { unmatched: boolean }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig, twoWayObjects }, { databasePath }, { openStore }, { listLinks, listUnlinked }, { connectorFor }, { printLinks, printUnlinked }] = await Promise.all([
          import('../config/load.js'),
          import('../config/env.js'),
          import('../db/database.js'),
          import('../db/link-report.js'),
          import('../clients/registry.js'),
          import('./links-output.js'),
        ]);
        const [entry] = twoWayObjects(loadConfig(global.config), [name]);
        const store = openStore(databasePath(global.db), { readOnly: true });
        try {
          if (!options.unmatched) return printLinks(name, listLinks(store, name), global.json);
          const shape = (side: SourceName) => connectorFor(side).recordShape;
          printUnlinked(name, listUnlinked(store, name, entry!.twoWay!, { hubspot: shape('hubspot'), dynamics: shape('dynamics') }), global.json);
        } finally {
          store.close();
        }
      }),
    );
}
