import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { DEFAULT_SEED } from './emulator.js';
import { globalFlags, parseSeed } from './options.js';

const DEMO_DB = 'crmsync-demo.db';
const PACKAGED_MAPPINGS = fileURLToPath(new URL('../../mappings.yaml', import.meta.url));

export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description('run the whole job against a built-in HubSpot emulator: full sync, some changes, incremental sync, history')
    .addOption(new Option('--seed <counts>', 'records the emulator generates per object').default(DEFAULT_SEED))
    .addHelpText('after', `\nWrites a fresh ${DEMO_DB} (or the file given with --db, which must not exist yet).`)
    .action(
      context.action(async (options: { seed: string }, command: Command) => {
        const global = globalFlags(command);
        const seed = parseSeed(options.seed);
        const path = global.db ?? DEMO_DB;
        if (global.db && existsSync(path)) throw new UsageError(`demo writes a fresh database and ${path} already exists: remove it or choose another --db`);
        const configPath = global.config ?? (existsSync('mappings.yaml') ? 'mappings.yaml' : PACKAGED_MAPPINGS);

        const [{ loadConfig }, { startHubSpotEmulator }, { openStore }, { syncObjects, syncAssociations, worstExitCode }, { createLogger }, { SyncHistoryRepository }, output] =
          await Promise.all([
            import('../config/load.js'),
            import('../emulators/hubspot/index.js'),
            import('../db/database.js'),
            import('../engines/run-objects.js'),
            import('../log.js'),
            import('../db/sync-history.js'),
            import('./output.js'),
          ]);
        const config = loadConfig(configPath);
        const objects = [...config.objects.values()].filter((object) => object.enabled);
        const pairs = config.associations.filter((pair) => objects.includes(pair.from) && objects.includes(pair.to));
        const syncEverything = async () => [...(await syncObjects(objects, syncOptions, runContext)), ...(await syncAssociations(pairs, syncOptions, runContext))];
        const log = createLogger(global.quiet ? 'warn' : 'info');
        const say = (line: string) => !global.json && process.stdout.write(`${line}\n`);

        const syncOptions = { full: false, forceOverwrite: false, dryRun: false, maxRecords: 0 };
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
        const emulator = await startHubSpotEmulator({ seed, seedValue: 42 });
        const store = openStore(path);
        const runContext = { store, hubspot: { accessToken: emulator.token, baseUrl: emulator.url }, log, signal: context.signal };
        try {

          say(`HubSpot emulator on ${emulator.url} seeded with ${options.seed}; database ${path}\n\n1. First run: nothing synced yet, so every object (then the associations between them) is read in full`);
          const first = await syncEverything();
          output.printResults(first, worstExitCode(first.map((result) => result.exitCode)), global.json);

          const changed = makeSomeChanges(emulator.store);
          say(`\n2. Meanwhile in HubSpot: ${changed}\n\n3. Second run: incremental, reads only what changed`);
          const second = await syncEverything();
          output.printResults(second, worstExitCode(second.map((result) => result.exitCode)), global.json);

          say('\n4. crmsync history');
          output.printHistory(new SyncHistoryRepository(store).list({ limit: 10 }), global.json);
          say(`\nQuery the result: sqlite3 ${path} "SELECT id, email, firstname, lastname FROM hubspot_contacts LIMIT 5"`);
          return worstExitCode([...first, ...second].map((result) => result.exitCode));
        } finally {
          store.close();
          await emulator.close();
        }
      }),
    );
}

/** Edits a few records the way users do in HubSpot, so the incremental run has work. */
function makeSomeChanges(store: import('../emulators/hubspot/index.js').HubSpotEmulator['store']): string {
  const contacts = store.all('contacts').slice(0, 3);
  for (const contact of contacts) store.update('contacts', contact.id, { jobtitle: 'Head of Operations' });
  store.create('contacts', { email: 'new.customer@example.com', firstname: 'Nova', lastname: 'Customer', lifecyclestage: 'lead' });
  const deal = store.all('deals')[0];
  if (deal) store.update('deals', deal.id, { amount: '125000', dealstage: 'closedwon' });
  const company = store.all('companies')[0];
  if (company) store.archive('companies', company.id);
  return `updated ${contacts.length} contacts and ${deal ? 1 : 0} deal, created 1 contact, archived ${company ? 1 : 0} company`;
}
