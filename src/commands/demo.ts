import { existsSync, rmSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { DEFAULT_DYNAMICS_SEED, DEFAULT_SEED, entitySetsFromMappings, packagedOrLocalMappings } from './emulator.js';
import { globalFlags, parseSeed } from './options.js';

const DEMO_DB = 'crmsync-demo.db';

export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description('run the whole job against built-in HubSpot and Dynamics 365 emulators: full sync, some changes, incremental sync, history')
    .addOption(new Option('--seed <counts>', 'records the HubSpot emulator generates per object').default(DEFAULT_SEED))
    .addOption(new Option('--dynamics-seed <counts>', 'rows the Dynamics 365 emulator generates per entity set').default(DEFAULT_DYNAMICS_SEED))
    .addHelpText('after', `\nWrites a fresh ${DEMO_DB} (or the file given with --db, which must not exist yet).`)
    .action(
      context.action(async (options: { seed: string; dynamicsSeed: string }, command: Command) => {
        const global = globalFlags(command);
        const seed = parseSeed(options.seed);
        const dynamicsSeed = parseSeed(options.dynamicsSeed);
        const path = global.db ?? DEMO_DB;
        if (global.db && existsSync(path)) throw new UsageError(`demo writes a fresh database and ${path} already exists: remove it or choose another --db`);
        const configPath = global.config ?? packagedOrLocalMappings();

        const [{ loadConfig, enabledObjects }, { startHubSpotEmulator }, dynamicsEmulator, { openStore }, { syncObjects, syncAssociations, worstExitCode }, { createLogger }, { SyncHistoryRepository }, { outstandingRejections }, output] =
          await Promise.all([
            import('../config/load.js'),
            import('@crmsync/emulators/hubspot'),
            import('@crmsync/emulators/dynamics'),
            import('../db/database.js'),
            import('../engines/run-objects.js'),
            import('../log.js'),
            import('../db/sync-history.js'),
            import('../db/rejections.js'),
            import('./output.js'),
          ]);
        const config = loadConfig(configPath);
        const objects = enabledObjects(config, 'hubspot');
        const fromDynamics = enabledObjects(config, 'dynamics');
        const pairs = config.associations.filter((pair) => objects.includes(pair.from) && objects.includes(pair.to));
        const syncEverything = async () => [
          ...(await syncObjects([...objects, ...fromDynamics], syncOptions, runContext)),
          ...(await syncAssociations(pairs, syncOptions, runContext)),
        ];
        const log = createLogger(global.quiet ? 'warn' : 'info');
        const say = (line: string) => !global.json && process.stdout.write(`${line}\n`);

        const syncOptions = { full: false, forceOverwrite: false, dryRun: false, maxRecords: 0 };
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
        const emulator = await startHubSpotEmulator({ seed, seedValue: 42 });
        const dynamics = await dynamicsEmulator.startDynamicsEmulator({
          seed: dynamicsSeed,
          seedValue: 42,
          entitySets: entitySetsFromMappings(config, [dynamicsEmulator.CONTACTS, dynamicsEmulator.ACCOUNTS]),
        });
        const store = openStore(path);
        const runContext = {
          store,
          hubspot: { accessToken: emulator.token, baseUrl: emulator.url },
          dynamics: {
            resourceUrl: dynamics.url,
            authorityHost: dynamics.authorityHost,
            tenantId: dynamics.tenantId,
            clientId: dynamics.clientId,
            clientSecret: dynamics.clientSecret,
            caCertificate: dynamics.certificate,
          },
          log,
          signal: context.signal,
        };
        try {
          say(
            `HubSpot emulator on ${emulator.url} seeded with ${options.seed}; Dynamics 365 emulator on ${dynamics.url} seeded with ${options.dynamicsSeed}; database ${path}\n\n` +
              '1. First run: nothing synced yet, so every object (then the associations between them) is read in full, from both CRMs',
          );
          const first = await syncEverything();
          output.printResults(first, worstExitCode(first.map((result) => result.exitCode)), global.json);

          const changed = makeSomeChanges(emulator.store);
          const changedInDynamics = makeSomeDynamicsChanges(dynamics.store);
          say(
            `\n2. Meanwhile in HubSpot: ${changed}; in Dynamics 365: ${changedInDynamics}\n\n` +
              '3. Second run: incremental, reads only what changed (Dynamics 365 through its change-tracking delta link)',
          );
          const second = await syncEverything();
          output.printResults(second, worstExitCode(second.map((result) => result.exitCode)), global.json);

          say('\n4. crmsync history');
          output.printHistory(new SyncHistoryRepository(store).list({ limit: 10 }), outstandingRejections(store, { limit: 10 }), global.json);
          say(`\nQuery the result: sqlite3 ${path} "SELECT id, email, firstname, lastname FROM hubspot_contacts LIMIT 5"`);
          say(`                  sqlite3 ${path} "SELECT id, name, city FROM dynamics_companies LIMIT 5"`);
          return worstExitCode([...first, ...second].map((result) => result.exitCode));
        } finally {
          store.close();
          await Promise.all([emulator.close(), dynamics.close()]);
        }
      }),
    );
}

/** Edits a few records the way users do in HubSpot, so the incremental run has work. */
function makeSomeChanges(store: import('@crmsync/emulators/hubspot').HubSpotEmulator['store']): string {
  const contacts = store.all('contacts').slice(0, 3);
  for (const contact of contacts) store.update('contacts', contact.id, { jobtitle: 'Head of Operations' });
  store.create('contacts', { email: 'new.customer@example.com', firstname: 'Nova', lastname: 'Customer', lifecyclestage: 'lead' });
  const deal = store.all('deals')[0];
  if (deal) store.update('deals', deal.id, { amount: '125000', dealstage: 'closedwon' });
  const company = store.all('companies')[0];
  if (company) store.archive('companies', company.id);
  return `updated ${contacts.length} contacts and ${deal ? 1 : 0} deal, created 1 contact, archived ${company ? 1 : 0} company`;
}

/** The same kinds of edits in Dynamics 365: they reach crmsync through change tracking. */
function makeSomeDynamicsChanges(store: import('@crmsync/emulators/dynamics').DynamicsEmulator['store']): string {
  const contacts = store.all('contacts').slice(0, 2);
  for (const contact of contacts) store.update('contacts', String(contact.contactid), { jobtitle: 'Chief Revenue Officer' });
  store.create('contacts', { firstname: 'Ada', lastname: 'Prospect', emailaddress1: 'ada.prospect@example.com' });
  const account = store.all('accounts')[0];
  if (account) store.delete('accounts', String(account.accountid));
  return `updated ${contacts.length} contacts, created 1 contact, deleted ${account ? 1 : 0} account`;
}
