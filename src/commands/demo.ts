import { existsSync, rmSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { DEFAULT_DYNAMICS_SEED, DEFAULT_SEED, packagedOrLocalMappings, parseSharedSeed } from './emulator.js';
import { globalFlags, parseSeed, type GlobalFlags } from './options.js';
import { SOURCES } from '../config/sources.js';
import type { DynamicsSettings, HubSpotSettings } from '../config/env.js';
import type { DynamicsEmulator } from '@crmsync/emulators/dynamics';
import type { HubSpotEmulator } from '@crmsync/emulators/hubspot';

const DEMO_DB = 'crmsync-demo.db';
/** People and companies in both CRMs, for the two-way steps. */
const DEMO_SHARED_SEED = 'contacts=50,companies=10';

interface DemoFlags {
  seed: string;
  dynamicsSeed: string;
  sharedSeed: string;
}

export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description('run the whole job against built-in HubSpot and Dynamics 365 emulators: full sync, some changes, incremental sync, history; then two-way sync, a conflict and its resolution; then a change arriving by webhook')
    .addOption(new Option('--seed <counts>', 'records the HubSpot emulator generates per object').default(DEFAULT_SEED))
    .addOption(new Option('--dynamics-seed <counts>', 'rows the Dynamics 365 emulator generates per entity set').default(DEFAULT_DYNAMICS_SEED))
    .addOption(new Option('--shared-seed <counts>', 'people and companies in both emulators, for the two-way steps').default(DEMO_SHARED_SEED))
    .addHelpText('after', `\nWrites a fresh ${DEMO_DB} (or the file given with --db, which must not exist yet).`)
    .action(context.action((options: DemoFlags, command: Command) => runDemo(options, globalFlags(command), context.signal)));
}

/**
 * Full sync of both emulators, some edits in each, an incremental sync, the history; then
 * two-way runs, a conflict and its resolution; then serve, and a change arriving by webhook:
 * the whole job in one process.
 */
async function runDemo(options: DemoFlags, global: GlobalFlags, signal: AbortSignal): Promise<number> {
  const seed = parseSeed(options.seed);
  const dynamicsSeed = parseSeed(options.dynamicsSeed, '--dynamics-seed');
  const sharedSeed = await parseSharedSeed(options.sharedSeed);
  const path = global.db ?? DEMO_DB;
  if (global.db && existsSync(path)) throw new UsageError(`demo writes a fresh database and ${path} already exists: remove it or choose another --db`);
  const [{ loadConfig, enabledObjects }, { startHubSpotEmulator }, { startDynamicsEmulator }, { openStore }, { syncObjects, syncAssociations, worstExitCode }, { createLogger }, { SyncHistoryRepository }, { outstandingRejections }, { deadLetters }, output, twoWay, webhooks] =
    await Promise.all([
      import('../config/load.js'),
      import('@crmsync/emulators/hubspot'),
      import('@crmsync/emulators/dynamics'),
      import('../db/database.js'),
      import('../engines/run-objects.js'),
      import('../log.js'),
      import('../db/sync-history.js'),
      import('../db/rejections.js'),
      import('../db/outbox.js'),
      import('./output.js'),
      import('./demo-two-way.js'),
      import('./demo-webhooks.js'),
    ]);
  const config = loadConfig(global.config ?? packagedOrLocalMappings());
  const twoWayPlan = twoWay.planTwoWayDemo(config);
  // Every enabled object of each CRM; associations between the objects both ends of which are synced.
  const objects = SOURCES.flatMap((source) => enabledObjects(config, source));
  const pairs = config.associations.filter((pair) => objects.includes(pair.from) && objects.includes(pair.to));
  const say = (line: string) => !global.json && process.stdout.write(`${line}\n`);

  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  const hubspot = await startHubSpotEmulator({ seed, sharedSeed, seedValue: 42 });
  // The standard contacts and accounts tables: what the shipped mappings.yaml reads.
  const dynamics = await startDynamicsEmulator({ seed: dynamicsSeed, sharedSeed, seedValue: 42 });
  const store = openStore(path);
  const runContext = { store, hubspot: hubspotSettingsOf(hubspot), dynamics: dynamicsSettingsOf(dynamics), log: createLogger(global.quiet ? 'warn' : 'info'), signal };
  const syncOptions = { full: false, forceOverwrite: false, dryRun: false, maxRecords: 0 };
  const syncEverything = async () => {
    const results = [...(await syncObjects(objects, syncOptions, runContext)), ...(await syncAssociations(pairs, syncOptions, runContext))];
    output.printResults(results, worstExitCode(results.map((result) => result.exitCode)), global.json);
    return results;
  };
  try {
    say(
      `HubSpot emulator on ${hubspot.url} seeded with ${options.seed}; Dynamics 365 emulator on ${dynamics.url} seeded with ${options.dynamicsSeed}; ` +
        `both with the same people and companies (${options.sharedSeed}); database ${path}\n\n` +
        '1. First run: nothing synced yet, so every object (then the associations between them) is read in full, from both CRMs',
    );
    const first = await syncEverything();
    say(
      `\n2. Meanwhile in HubSpot: ${makeSomeChanges(hubspot.store)}; in Dynamics 365: ${makeSomeDynamicsChanges(dynamics.store)}\n\n` +
        '3. Second run: incremental, reads only what changed (Dynamics 365 through its change-tracking delta link)',
    );
    const second = await syncEverything();
    say('\n4. crmsync history');
    output.printHistory(new SyncHistoryRepository(store).list({ limit: 10 }), { rejected: outstandingRejections(store, { limit: 10 }), dead: deadLetters(store, { limit: 10 }) }, global.json);
    const session = { store, hubspot, dynamics, context: runContext, options: syncOptions, json: global.json, say };
    const twoWayCodes = await twoWay.demonstrateTwoWay(session, twoWayPlan);
    const webhookCodes = await webhooks.demonstrateWebhooks(session, twoWayPlan, config);
    say(`\nQuery the result: sqlite3 ${path} "SELECT id, email, firstname, lastname FROM hubspot_contacts LIMIT 5"`);
    say(`                  sqlite3 ${path} "SELECT id, name, city FROM dynamics_companies LIMIT 5"`);
    say(`Every version:     sqlite3 ${path} "SELECT id, valid_from, valid_to, jobtitle FROM hubspot_contacts_history WHERE id IN (SELECT id FROM hubspot_contacts_history WHERE NOT is_current) ORDER BY id, valid_from LIMIT 6"`);
    return worstExitCode([...[...first, ...second].map((result) => result.exitCode), ...twoWayCodes, ...webhookCodes]);
  } finally {
    store.close();
    await Promise.all([hubspot.close(), dynamics.close()]);
  }
}

/** What crmsync's HubSpot client needs to reach an emulator (the demo's and the tests'). */
export const hubspotSettingsOf = (emulator: HubSpotEmulator): HubSpotSettings => ({ accessToken: emulator.token, baseUrl: emulator.url });

/** What crmsync's Dynamics 365 client needs to sign in to an emulator and trust its certificate. */
export const dynamicsSettingsOf = (emulator: DynamicsEmulator): DynamicsSettings => ({
  resourceUrl: emulator.url,
  authorityHost: emulator.authorityHost,
  tenantId: emulator.tenantId,
  clientId: emulator.clientId,
  clientSecret: emulator.clientSecret,
  caCertificate: emulator.certificate,
});

/** Edits a few records the way users do in HubSpot, so the incremental run has work. */
function makeSomeChanges(store: HubSpotEmulator['store']): string {
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
function makeSomeDynamicsChanges(store: DynamicsEmulator['store']): string {
  const contacts = store.all('contacts').slice(0, 2);
  for (const contact of contacts) store.update('contacts', String(contact.contactid), { jobtitle: 'Chief Revenue Officer' });
  store.create('contacts', { firstname: 'Ada', lastname: 'Prospect', emailaddress1: 'ada.prospect@example.com' });
  const account = store.all('accounts')[0];
  if (account) store.delete('accounts', String(account.accountid));
  return `updated ${contacts.length} contacts, created 1 contact, deleted ${account ? 1 : 0} account`;
}
