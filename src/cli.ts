import { Command, CommanderError } from 'commander';
import { registerConfigCommand } from './commands/config.js';
import { registerConflictsCommand } from './commands/conflicts.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEmulatorCommand } from './commands/emulator.js';
import { registerHealthCommand } from './commands/health.js';
import { registerHistoryCommand } from './commands/history.js';
import { registerLinksCommand } from './commands/links.js';
import { registerMetricsCommand } from './commands/metrics.js';
import { registerPropertiesCommand } from './commands/properties.js';
import { registerReconcileCommand } from './commands/reconcile.js';
import { registerServeCommand } from './commands/serve.js';
import { registerShowCommand } from './commands/show.js';
import { registerSyncCommands } from './commands/sync.js';
import type { CommandContext } from './commands/context.js';
import { EXIT_CODES, exitCodeOf } from './errors.js';

const EXIT_CODE_HELP = `
Exit codes:
  0  success
  1  the run failed (API unreachable, credentials rejected, interrupted)
  2  bad usage or configuration; nothing was written
  3  finished partial: records were rejected and no valid version has arrived since (see crmsync history);
     reconcile: the local copy differs from the CRM (drift found, or left after --fix)
  4  another run of the same object holds the lease
  5  crmsync health: something is wrong (one line per reason on stderr)

Environment:
  HUBSPOT_ACCESS_TOKEN   private app token (required for sync commands)
  HUBSPOT_BASE_URL       API base URL (default https://api.hubapi.com)
  D365_TENANT_ID, D365_CLIENT_ID, D365_CLIENT_SECRET
                         Azure app registration (client credentials) for --source dynamics
  D365_RESOURCE_URL      Dynamics 365 organisation, e.g. https://contoso.crm.dynamics.com
  D365_AUTHORITY_HOST    sign-in authority (default https://login.microsoftonline.com)
  D365_CA_CERT           PEM file of extra CA certificates to trust (e.g. the emulator's)
  CRMSYNC_DB             database path (default ./crmsync.db; --db wins)
  CRMSYNC_METRICS_TEXTFILE
                         Prometheus textfile every sync refreshes when it ends (--metrics-textfile wins)
  A .env file in the working directory is read too.`;

/** Runs the command line and resolves to the process exit code; the only place codes are decided. */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT_CODES.success;
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    process.stderr.write(`${signal}: finishing the current page, then stopping (press Ctrl-C again to quit at once)\n`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const context: CommandContext = {
    signal: interrupt.signal,
    action: (handler) => async (...args) => {
      exitCode = (await handler(...args)) ?? EXIT_CODES.success;
    },
  };
  const program = new Command('crmsync')
    .description('Keep CRM data in sync: pull HubSpot and Dynamics 365 records into a local SQLite database, incrementally and resumably.')
    .option('--db <path>', 'SQLite database file (default ./crmsync.db, or $CRMSYNC_DB)')
    .option('--config <path>', 'object mappings file (default ./mappings.yaml)')
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('--quiet', 'log only warnings and errors', false)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODE_HELP)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
    // Every command sees ./.env, whatever it reads from the environment (CRMSYNC_DB too).
    .hook('preAction', async () => (await import('./config/env.js')).loadDotEnv());

  registerSyncCommands(program, context);
  registerHistoryCommand(program, context);
  registerHealthCommand(program, context);
  registerShowCommand(program, context);
  registerConflictsCommand(program, context);
  registerLinksCommand(program, context);
  registerMetricsCommand(program, context);
  registerReconcileCommand(program, context);
  registerServeCommand(program, context);
  registerPropertiesCommand(program, context);
  registerConfigCommand(program, context);
  registerDemoCommand(program, context);
  registerEmulatorCommand(program, context);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    const json = Boolean(program.opts().json);
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; unknown commands/flags with 1 → usage.
      // Commander has said what is wrong on stderr already.
      if (error.exitCode === 0) return EXIT_CODES.success;
      if (json) printJsonError(EXIT_CODES.usage, error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
      return EXIT_CODES.usage;
    }
    const message = (error as Error).message;
    process.stderr.write(`crmsync: ${message}\n`);
    if (process.env.CRMSYNC_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    if (json) printJsonError(exitCodeOf(error), message);
    return exitCodeOf(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}

/** With --json, stdout carries JSON whatever happens: a program reading it learns why nothing else came. */
function printJsonError(exitCode: number, error: string): void {
  process.stdout.write(`${JSON.stringify({ exitCode, error }, null, 2)}\n`);
}
