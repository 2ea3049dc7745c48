/**
 * A local, in-memory emulator of HubSpot's CRM API (v3 objects, batch, search and
 * properties endpoints for contacts, companies, deals, tickets, line items and custom
 * objects; the custom object schemas API; associations v4), for tests, the demo and
 * benchmarks. It reproduces the behaviour a sync client has to cope with: bearer
 * auth and missing scopes, paging cursors, the search API's limits and index lag, the
 * rate limits and their 429s, and HubSpot's error bodies; on request it injects faults
 * (429s, 5xx, resets, truncated bodies, hung requests, wrongly typed records, a
 * permanent 401/403/500) from a seeded PRNG.
 *
 *   const emu = await startHubSpotEmulator({ seed: { contacts: 5000 } });
 *   const client = new Client({ accessToken: emu.token, basePath: emu.url });
 *   ...
 *   await emu.close();
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { listen } from '../shared/listen.js';
import { FaultInjector, HeldSockets, type FaultOptions } from './faults.js';
import { RateLimiter } from './rate-limit.js';
import { createHandler, Stats, type EmulatorStats, type ServerContext } from './server.js';
import { HubSpotStore } from './store.js';
import { HubSpotWebhooks, type HubSpotWebhookOptions } from './webhooks.js';
import { SwitchableWebhooks, type WebhookStats } from '../shared/webhook-sender.js';
import type { CustomObjectDefinition } from './custom-objects.js';
import { generateSharedSeed, type SharedSeedSpec } from '../shared/shared-seed.js';
import { putSharedSeedInHubSpot } from '../shared/shared-seed-stores.js';

export { HubSpotStore } from './store.js';
export type { EmulatedRecord, PutRecord, StoreOptions } from './store.js';
export {
  APPOINTMENTS,
  DEFAULT_CUSTOM_OBJECTS,
  DEFAULT_PORTAL_ID,
  DIVISIONS,
  type CustomObjectDefinition,
  type CustomPropertyDefinition,
} from './custom-objects.js';
export { USER_DEFINED_TYPE_ID_START, type AssociationCategory, type AssociationTarget, type AssociationType } from './associations.js';
export { ASSOCIATIONS_BATCH_MAX_INPUTS, ASSOCIATIONS_PAGE_LIMIT } from './api-v4.js';
export type { EmulatorStats } from './server.js';
export { signatureV3, WEBHOOK_BATCH_MAX_EVENTS, type HubSpotWebhookOptions, type WebhookEvent } from './webhooks.js';
export type { WebhookStats } from '../shared/webhook-sender.js';
export type { OptionInput, PropertyDefinition, PropertyOption, PropertyType } from './object-types.js';
export { HubSpotApiError, type HubSpotErrorBody } from './errors.js';
export { HELD_SOCKET_MS, parseFaultSpec, validateFaults, type FaultKind, type FaultOptions } from './faults.js';
export { BATCH_MAX_INPUTS, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './api-v3.js';
export { HISTORY_LIST_MAX_LIMIT } from './read-options.js';
export {
  MAX_FILTERS_PER_GROUP,
  MAX_FILTERS_TOTAL,
  MAX_FILTER_GROUPS,
  SEARCH_DEFAULT_LIMIT,
  SEARCH_MAX_LIMIT,
  SEARCH_RESULT_CAP,
} from './search.js';
export { SEED_CREATED_FROM, SEED_CREATED_TO, SEED_FIRST_ID, SEED_MODIFIED_TO } from './seed.js';
/** The shared seed: the same people and companies in both emulators (see SharedSeed). */
export * from '../shared/shared-seed.js';
export { putSharedSeedInHubSpot, type SharedHubSpotIds } from '../shared/shared-seed-stores.js';

export interface HubSpotEmulatorOptions {
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string;
  /** Port; default 0 = pick a free port. */
  port?: number;
  /** The bearer token accepted; default a random 'pat-emu-<hex>'. */
  token?: string;
  /**
   * Records to generate per object type (name, type id or fully qualified name), e.g.
   * { contacts: 5000, companies: 500, appointments: 300 }. Associations are seeded
   * between seeded types (see the README).
   */
  seed?: Record<string, number>;
  /**
   * People and companies that a Dynamics 365 emulator given the same sharedSeed and
   * seedValue has too, matched by email and by name and domain, some fields differing
   * (see SharedSeed). They get ids after the seeded records'.
   */
  sharedSeed?: SharedSeedSpec;
  /**
   * The portal's custom object types. Undefined: DEFAULT_CUSTOM_OBJECTS (APPOINTMENTS
   * '2-1234567' and DIVISIONS '2-7654321'); [] for none.
   */
  customObjects?: readonly CustomObjectDefinition[];
  /** The portal id in custom objects' fully qualified names ('p<portalId>_<name>'); default 12345678. */
  portalId?: number;
  /** PRNG seed, default 42: the same seed gives identical data (ids, values, timestamps). */
  seedValue?: number;
  /** Delay added before every response, default 0. */
  latencyMs?: number;
  /** Writes become visible to the search API only this long after they happen, default 0. */
  searchLagMs?: number;
  /** HubSpot's request limits; off (false/undefined) by default. */
  rateLimit?:
    | false
    | {
        /** Requests per rolling window, default 100 ... */
        perInterval?: number;
        /** ... per this many ms, default 10_000 (search requests are exempt from it). */
        intervalMs?: number;
        /** Search requests per 1000 ms, default 5. */
        searchPerSecond?: number;
        /** Requests per day (UTC), searches included, default 250,000 (a free portal's quota). */
        daily?: number;
        /** Send a Retry-After header (seconds) with 429s, default true. */
        retryAfter?: boolean;
      };
  /** Object types (name, type id or fully qualified name) the token lacks scopes for: 403 MISSING_SCOPES. */
  forbiddenObjects?: string[];
  /** Clock in ms (timestamps, search lag, rate-limit windows); default Date.now. */
  now?: () => number;
  /** Fault injection (off by default); see FaultOptions and `setFaults`. */
  faults?: FaultOptions;
  /**
   * Deliver webhooks of the creations, property changes and deletions made through the
   * API (not of the store's direct writes) to `url`, signed with `secret`; off by default.
   */
  webhooks?: HubSpotWebhookOptions;
}

export interface HubSpotEmulator {
  /** Base URL, e.g. 'http://127.0.0.1:43123' (use as the SDK's basePath). */
  url: string;
  port: number;
  token: string;
  /** Direct in-memory access to the data (no HTTP, auth or limits). */
  store: HubSpotStore;
  stats: EmulatorStats;
  /**
   * Switches fault injection on (or changes it) or, with undefined, off, from the next
   * request on. Each call restarts the fault PRNG from the options' seed. Throws on
   * invalid options (shares outside 0..1 or adding up to more than 1, `permanent` not
   * 401/403/500).
   */
  setFaults(faults: FaultOptions | undefined): void;
  /**
   * Starts webhook deliveries, changes where they go, or (undefined) stops them, from the
   * next API write on: a receiver that listens only after the emulator started. Events of
   * the previous setting not yet delivered are abandoned. Throws on invalid options.
   */
  setWebhooks(webhooks: HubSpotWebhookOptions | undefined): void;
  /** Webhook counters, in events, of the current setting (all 0 without webhooks). */
  readonly webhooks: WebhookStats;
  /** Resolves when no webhook event is waiting, in flight or waiting for a retry. */
  webhooksIdle(): Promise<void>;
  /**
   * Stops the server; requests held by the `timeout` fault are dropped, so it never hangs.
   * Webhook deliveries stop: pending events are abandoned, no timer or socket is left.
   */
  close(): Promise<void>;
}

export async function startHubSpotEmulator(options: HubSpotEmulatorOptions = {}): Promise<HubSpotEmulator> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const token = options.token ?? `pat-emu-${randomBytes(16).toString('hex')}`;
  const store = new HubSpotStore({
    seed: options.seed,
    seedValue: options.seedValue,
    searchLagMs: options.searchLagMs,
    now,
    customObjects: options.customObjects,
    portalId: options.portalId,
  });
  if (options.sharedSeed) putSharedSeedInHubSpot(store, generateSharedSeed(options.sharedSeed, options.seedValue ?? 42), now());
  const forbidden = new Set<string>();
  for (const type of options.forbiddenObjects ?? []) {
    const def = store.findType(type);
    if (!def) throw new Error(`forbiddenObjects: unknown object type "${type}"`);
    forbidden.add(def.name);
  }
  const makeInjector = (faults: FaultOptions | undefined) => (faults === undefined ? null : new FaultInjector(faults));
  const initialFaults = makeInjector(options.faults);
  const stats = new Stats();
  const webhooks = new SwitchableWebhooks((settings: HubSpotWebhookOptions) => new HubSpotWebhooks(settings, store.portalId, options.seedValue ?? 42), options.webhooks, (hooks) => (context.webhooks = hooks));
  let url = '';
  const held = new HeldSockets();
  const context: ServerContext = {
    store,
    token,
    forbidden,
    latencyMs: Math.max(0, options.latencyMs ?? 0),
    limiter: new RateLimiter(options.rateLimit),
    now,
    stats,
    baseUrl: () => url,
    faults: initialFaults,
    held,
    webhooks: webhooks.current,
  };
  const server = createServer(createHandler(context));
  const port = await listen(server, options.port ?? 0, host);
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    token,
    store,
    stats,
    setFaults(faults) {
      context.faults = makeInjector(faults);
    },
    setWebhooks: (settings) => webhooks.set(settings),
    get webhooks() {
      return webhooks.stats;
    },
    webhooksIdle: () => webhooks.idle(),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        webhooks.close();
        server.close((error) => (error ? reject(error) : resolve()));
        held.dropAll();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
