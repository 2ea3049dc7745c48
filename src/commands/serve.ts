import type { Command } from 'commander';
import { SOURCES } from '../config/sources.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';
import { globalFlags, wholeNumberFlag } from './options.js';

const EXAMPLES = `
Examples:
  $ crmsync serve                                   webhooks on 127.0.0.1:3000, an incremental poll every 5 minutes
  $ crmsync serve --host 0.0.0.0 --port 8080 --public-url https://sync.example.com
  $ crmsync serve --objects contacts,companies --poll 15m

Routes:
  POST /webhooks/hubspot     HubSpot webhooks, signature v3 with HUBSPOT_CLIENT_SECRET (the app's client secret)
  POST /webhooks/dynamics    Dataverse service-endpoint webhooks, with the key D365_WEBHOOK_KEY (WebhookKey: ?code=)
  GET  /healthz              the verdict of crmsync health as JSON: 200 healthy, 503 not
  GET  /metrics              the Prometheus text of crmsync metrics

SIGTERM or Ctrl-C: stop accepting, process the events stored, exit 0; a second signal quits at once.`;

const DEFAULT_PORT = 3000;
const MAX_PORT = 65_535;

export function registerServeCommand(program: Command, context: CommandContext): void {
  program
    .command('serve')
    .description('keep objects current in seconds: take signed webhooks from HubSpot and Dynamics 365, read the changed records back, and poll as the backstop')
    .option('--port <n>', `port to listen on (0 = any free port)`, String(DEFAULT_PORT))
    .option('--host <address>', 'interface to listen on', '127.0.0.1')
    .option('--poll <duration>', 'run an incremental sync of every served object this often: 90s, 5m, 1h', '5m')
    .option('--objects <names>', 'comma-separated objects to serve (default: every enabled object)')
    .option('--public-url <url>', "the address the CRMs post to, when a proxy stands in front (HubSpot signs the URL it used): https://sync.example.com")
    .option('--debug', 'log every delivery and request', false)
    .addHelpText('after', EXAMPLES)
    .action(
      context.action(async (options: { port: string; host: string; poll: string; objects?: string; publicUrl?: string; debug: boolean }, command: Command) => {
        const global = globalFlags(command);
        const [{ loadConfig }, { connectorFor }, env, { openStore }, { createLogger }, { parseDurationFlag }, { serve }] = await Promise.all([
          import('../config/load.js'),
          import('../clients/registry.js'),
          import('../config/env.js'),
          import('../db/database.js'),
          import('../log.js'),
          import('../processors/health.js'),
          import('../server/serve.js'),
        ]);
        const port = wholeNumberFlag('--port', options.port, 0, MAX_PORT);
        const pollMs = parseDurationFlag('--poll', options.poll);
        const objects = options.objects?.split(',').map((name) => name.trim()).filter(Boolean);
        if (objects?.length === 0) throw new UsageError('--objects names no object: give comma-separated names from mappings.yaml');
        const config = loadConfig(global.config);
        const settings = Object.fromEntries(
          SOURCES.filter((source) => connectorFor(source).settingsGiven(process.env)).map((source) => [source, connectorFor(source).settings(process.env)]),
        );
        if (Object.keys(settings).length === 0) {
          throw new UsageError("serve reads from HubSpot or Dynamics 365 and neither's settings are given: set HUBSPOT_ACCESS_TOKEN, or D365_RESOURCE_URL and its credentials");
        }
        const log = createLogger(options.debug ? 'debug' : global.quiet ? 'warn' : 'info');
        const store = openStore(env.databasePath(global.db));
        try {
          await serve(
            { host: options.host, port, pollMs, objects, publicUrl: options.publicUrl, ...env.webhookSecrets() },
            { config, settings, store, log, signal: context.signal, onListening: (url) => process.stdout.write(`crmsync serve listening on ${url}\n`) },
          );
        } finally {
          store.close();
        }
      }),
    );
}
