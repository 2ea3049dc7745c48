import type { Config } from '../config/load.js';
import { SOURCES, type SourceName } from '../config/sources.js';
import type { WebhookSecrets } from '../config/env.js';
import type { Store } from '../db/database.js';
import { WebhookEvents } from '../db/webhook-events.js';
import type { Logger } from '../log.js';
import { startWebhookServer, type WebhookServer } from './webhook-server.js';
import { healthVerdict } from './probes.js';
import { storeExposition } from '../db/metrics-exposition.js';
import type { RunResult } from '../engines/run-lifecycle.js';
import type { CrmSettings, RunContext } from '../engines/run-objects.js';
import { PollingBackstop } from '../engines/serve/backstop.js';
import { ObjectLocks } from '../engines/serve/object-locks.js';
import { eventRoutes, servedObjects, type ServedObject } from '../engines/serve/served-objects.js';
import { WebhookProcessor } from '../engines/serve/webhook-processor.js';

export interface ServeOptions extends WebhookSecrets {
  host: string;
  port: number;
  pollMs: number;
  /** --objects: these objects only (disabled ones too); otherwise every enabled one. */
  objects?: string[];
  /** The URL the CRMs post to, when a proxy stands between (HubSpot signs the URI it used). */
  publicUrl?: string;
}

export interface ServeDependencies {
  config: Config;
  settings: CrmSettings;
  store: Store;
  log: Logger;
  /** Aborted on the first SIGINT/SIGTERM: stop accepting, finish the events stored, close. */
  signal: AbortSignal;
  /** Told the address once listening (the command prints it). */
  onListening?: (url: string) => void;
  /** Told of every run (tests, the bench). */
  onRuns?: (results: RunResult[]) => void;
}

/**
 * `crmsync serve`: webhooks in, stored before they are answered, read back per object in
 * passes; the polling backstop every interval; both share this process's rate limiters,
 * leases and per-object queue. Resolves once a signal stopped it and the stored events are
 * processed.
 */
export async function serve(options: ServeOptions, deps: ServeDependencies): Promise<void> {
  const { config, settings, store, log, signal } = deps;
  const available = SOURCES.filter((source) => settings[source] !== undefined);
  const served = servedObjects(config, options.objects, available);
  const context: RunContext = { store, ...settings, log };
  const routes = await eventRoutes(served, context);
  warnAboutSecrets(options, available, log);

  const locks = new ObjectLocks();
  const processor = new WebhookProcessor({ store, context, routes, locks, log, onRun: deps.onRuns });
  const polling = new AbortController();
  const backstop = new PollingBackstop({
    served,
    associations: config.associations.filter((pair) => [pair.from, pair.to].every((mapping) => served.some((object) => !object.twoWay && object.mappings.includes(mapping)))),
    context: { ...context, signal: polling.signal },
    locks,
    log,
    intervalMs: options.pollMs,
    onPoll: deps.onRuns,
  });
  const server = await startWebhookServer({
    host: options.host,
    port: options.port,
    hubspotSecret: options.hubspotSecret,
    dynamicsKey: options.dynamicsKey,
    publicUrl: options.publicUrl,
    events: new WebhookEvents(store),
    onStored: () => processor.wake(),
    health: async () => healthVerdict(store),
    metrics: () => storeExposition(store),
    log,
  });
  deps.onListening?.(server.url);
  log.info(`listening on ${server.url}: ${served.map(describe).join(', ')}; polling every ${Math.round(options.pollMs / 1000)} s`);
  // Events stored by a process that stopped before processing them come first.
  processor.wake();
  backstop.start();

  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  await shutDown(server, backstop, polling, processor, locks, store, log);
}

async function shutDown(server: WebhookServer, backstop: PollingBackstop, polling: AbortController, processor: WebhookProcessor, locks: ObjectLocks, store: Store, log: Logger): Promise<void> {
  log.info('stopping: no new deliveries; processing the events stored (a second signal quits at once)');
  await server.close();
  polling.abort();
  await backstop.stop();
  await processor.drain();
  await locks.idle();
  const { waiting } = new WebhookEvents(store).counts();
  if (waiting > 0) log.warn(`${waiting} events could not be processed now; the next start processes them`);
  log.info('stopped');
}

function warnAboutSecrets(options: ServeOptions, available: SourceName[], log: Logger): void {
  if (!options.hubspotSecret && available.includes('hubspot')) log.warn('HUBSPOT_CLIENT_SECRET is not set: HubSpot webhooks are refused (404); HubSpot changes arrive by polling only');
  if (!options.dynamicsKey && available.includes('dynamics')) log.warn('D365_WEBHOOK_KEY is not set: Dataverse webhooks are refused (404); Dynamics 365 changes arrive by polling only');
  if (options.hubspotSecret && !available.includes('hubspot')) log.warn('HUBSPOT_CLIENT_SECRET is set but HubSpot is not (HUBSPOT_ACCESS_TOKEN): its webhooks are stored and ignored');
  if (options.dynamicsKey && !available.includes('dynamics')) log.warn("D365_WEBHOOK_KEY is set but Dynamics 365's settings are not: its webhooks are stored and ignored");
}

const describe = (object: ServedObject) => `${object.entry.name} (${object.twoWay ? 'two-way' : object.mappings.map((mapping) => mapping.source).join(', ')})`;
