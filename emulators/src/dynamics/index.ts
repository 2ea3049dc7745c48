/**
 * A local, in-memory emulator of a Dynamics 365 organisation's Dataverse Web API (v9.2)
 * and of the Azure AD (Entra ID) sign-in authority in front of it, for tests, the demo
 * and benchmarks. It serves HTTPS (MSAL only talks to https authorities) with a
 * self-signed certificate for 127.0.0.1/localhost, and reproduces what a sync client
 * meets: the client-credentials flow and AAD's errors, bearer auth and 401 challenges,
 * OData queries with server-driven (keyset) paging, change tracking with delta links
 * and deletions, ETags and conditional writes, $batch with atomic change sets, the
 * service protection limits and their 429s; on request it injects throttling, 503s and
 * dropped connections from a seeded PRNG.
 *
 * It serves the standard contact and account tables with their real columns
 * (catalogue.ts); other tables and custom columns only when given explicitly.
 *
 *   const emu = await startDynamicsEmulator({ seed: { contacts: 2000, accounts: 300 } });
 *   // D365_RESOURCE_URL=emu.url, D365_AUTHORITY_HOST=emu.authorityHost, D365_TENANT_ID=emu.tenantId,
 *   // D365_CLIENT_ID=emu.clientId, D365_CLIENT_SECRET=emu.clientSecret, D365_CA_CERT=emu.certificateFile
 *   ...
 *   await emu.close();
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen } from '../shared/listen.js';
import { EMULATOR_CERTIFICATE, EMULATOR_PRIVATE_KEY } from './certificate.js';
import { FaultInjector, type DynamicsFaultOptions } from './faults.js';
import { TokenRegistry, type IdentityConfig } from './identity.js';
import { DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID, Organisation } from './principals.js';
import { ServiceProtection, type RateLimitOptions } from './rate-limit.js';
import { createHandler, Stats, type DynamicsStats, type ServerContext } from './server.js';
import { DynamicsStore } from './store.js';
import { servedTables, type DynamicsTables } from './tables.js';
import { DataverseWebhooks, type DynamicsWebhookOptions } from './webhooks.js';
import { SwitchableWebhooks, type WebhookStats } from '../shared/webhook-sender.js';
import { generateSharedSeed, type SharedSeedSpec } from '../shared/shared-seed.js';
import { putSharedSeedInDynamics } from '../shared/shared-seed-stores.js';

export { ACCOUNTS, CATALOGUE, CONTACTS } from './catalogue.js';
export { ATTRIBUTE_TYPES, SYSTEM_COLUMNS, type AttributeDefinition, type AttributeType, type EntitySetDefinition } from './table-definitions.js';
export { parseDynamicsTables, servedTables, type DynamicsTables } from './tables.js';
export { DynamicsStore, type CreateOptions, type DynamicsRow, type UpdateOptions } from './store.js';
export { DataverseError, ERROR_CODES, type DataverseErrorBody } from './errors.js';
export { parseDynamicsFaultSpec, validateDynamicsFaults, type DynamicsFaultOptions, type FaultKind } from './faults.js';
export { DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID } from './principals.js';
export type { RateLimitOptions } from './rate-limit.js';
export type { DynamicsStats } from './server.js';
export { WEBHOOK_KEY_HEADER, type DynamicsWebhookOptions, type WebhookAuth } from './webhooks.js';
export type { WebhookStats } from '../shared/webhook-sender.js';
export { BATCH_MAX_REQUESTS } from './batch.js';
export { formatDeltaToken } from './change-tracking.js';
export { COUNT_LIMIT } from './webapi.js';
export { SEED_FROM, SEED_TO, seededGuid } from './seed.js';
export { compareGuids } from './values.js';
export { EMULATOR_CERTIFICATE } from './certificate.js';
/** The shared seed: the same people and companies in both emulators (see SharedSeed). */
export * from '../shared/shared-seed.js';
export { checkSharedSeedTables, putSharedSeedInDynamics } from '../shared/shared-seed-stores.js';

/** Dataverse's page size cap and default. */
export const MAX_PAGE_SIZE = 5000;
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3599;
export const DEFAULT_CHANGE_TRACKING_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface DynamicsEmulatorOptions extends DynamicsTables {
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string;
  /** Port; default 0 (a free port). */
  port?: number;
  /** Default DEFAULT_TENANT_ID. */
  tenantId?: string;
  /** Default DEFAULT_CLIENT_ID. */
  clientId?: string;
  /** Default a random 'emu-secret-<hex>'. */
  clientSecret?: string;
  /** Rows to generate per entity set, e.g. { contacts: 2000, accounts: 300 }; default none. */
  seed?: Record<string, number>;
  /**
   * People and companies that a HubSpot emulator given the same sharedSeed and seedValue
   * has too, as contacts and accounts matched by email and by name and website, some
   * fields differing (see SharedSeed). Needs the contacts and accounts tables.
   */
  sharedSeed?: SharedSeedSpec;
  /** PRNG seed, default 42: the same seed gives identical data (GUIDs, values, timestamps). */
  seedValue?: number;
  /** expires_in of issued tokens, default 3599; a token past its lifetime gets 401. */
  tokenLifetimeSeconds?: number;
  /** Delta tokens older than this are expired; default 7 days (ExpireChangeTrackingInDays). */
  changeTrackingRetentionMs?: number;
  /** odata.maxpagesize cap and default, default 5000. */
  maxPageSize?: number;
  /** Delay before every response, default 0. */
  latencyMs?: number;
  /** Service protection limits; off by default. */
  rateLimit?: false | RateLimitOptions;
  /** Fault injection; off by default. */
  faults?: DynamicsFaultOptions;
  /** Clock (ms) for timestamps, token expiry, delta-token age and rate windows; default Date.now. It must not go backwards. */
  now?: () => number;
  /**
   * POST a RemoteExecutionContext to `url` for every create, update and delete made
   * through the Web API (not of the store's direct writes), as a Dataverse webhook
   * registration would; off by default.
   */
  webhooks?: DynamicsWebhookOptions;
}

export interface DynamicsEmulator {
  /** 'https://127.0.0.1:PORT': the organisation URL (D365_RESOURCE_URL); the Web API is at `${url}/api/data/v9.2/`. */
  url: string;
  /** `${url}/api/data/v9.2` */
  apiUrl: string;
  port: number;
  /** The sign-in authority (same origin): tokens at `${authorityHost}/${tenantId}/oauth2/v2.0/token`. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The emulator's self-signed certificate (PEM), to trust explicitly. */
  certificate: string;
  /** A file holding `certificate` (D365_CA_CERT), in a directory of this emulator's own, removed by close(). */
  certificateFile: string;
  /** Direct in-memory access, no HTTP, auth or limits. */
  store: DynamicsStore;
  stats: DynamicsStats;
  /** An access token as the token endpoint would issue it, without a token request (not counted). */
  issueToken(lifetimeSeconds?: number): string;
  /** Every token issued so far is refused (401) from now on. */
  revokeTokens(): void;
  /** Every delta token issued so far is expired from now on. */
  expireDeltaTokens(): void;
  /** The next `count` Web API requests get service-protection 429s (execution-time limit) with Retry-After (default 1 s). */
  throttleNext(count: number, retryAfterSeconds?: number): void;
  /** Switches fault injection on, changes it or (undefined) switches it off; each call restarts the fault PRNG. */
  setFaults(faults: DynamicsFaultOptions | undefined): void;
  /**
   * Starts webhook deliveries, changes where they go, or (undefined) stops them, from the
   * next Web API write on. Contexts of the previous setting not yet delivered are
   * abandoned. Throws on invalid options.
   */
  setWebhooks(webhooks: DynamicsWebhookOptions | undefined): void;
  /** Webhook counters, in contexts, of the current setting (all 0 without webhooks). */
  readonly webhooks: WebhookStats;
  /** Resolves when no webhook context is waiting, in flight or waiting for its retry. */
  webhooksIdle(): Promise<void>;
  /** Stops the server and webhook deliveries (pending contexts are abandoned, no timer or socket is left). */
  close(): Promise<void>;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export async function startDynamicsEmulator(options: DynamicsEmulatorOptions = {}): Promise<DynamicsEmulator> {
  const listenHost = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const tenantId = (options.tenantId ?? DEFAULT_TENANT_ID).toLowerCase();
  const clientId = (options.clientId ?? DEFAULT_CLIENT_ID).toLowerCase();
  if (!GUID.test(tenantId)) throw new Error(`tenantId must be a GUID, got "${tenantId}"`);
  if (!GUID.test(clientId)) throw new Error(`clientId must be a GUID, got "${clientId}"`);
  const clientSecret = options.clientSecret ?? `emu-secret-${randomBytes(16).toString('hex')}`;
  const identity: IdentityConfig = {
    tenantId,
    clientId,
    clientSecret,
    tokenLifetimeSeconds: positiveInteger('tokenLifetimeSeconds', options.tokenLifetimeSeconds, DEFAULT_TOKEN_LIFETIME_SECONDS),
  };
  const seedValue = options.seedValue ?? 42;
  const store = new DynamicsStore({ entitySets: servedTables(options), seed: options.seed, seedValue, now, organisation: new Organisation(seedValue, clientId) });
  if (options.sharedSeed) putSharedSeedInDynamics(store, generateSharedSeed(options.sharedSeed, seedValue), now());
  let url = '';
  const tokens = new TokenRegistry(identity, () => url);
  const makeInjector = (faults: DynamicsFaultOptions | undefined) => (faults === undefined ? null : new FaultInjector(faults));
  const stats = new Stats();
  const webhooks = new SwitchableWebhooks((settings: DynamicsWebhookOptions) => new DataverseWebhooks(settings, store, seedValue, now, () => url), options.webhooks, (hooks) => (context.webhooks = hooks));
  const context: ServerContext = {
    store,
    identity,
    tokens,
    limiter: new ServiceProtection(options.rateLimit),
    faults: makeInjector(options.faults),
    throttleQueue: { remaining: 0, retryAfterSeconds: 1 },
    stats,
    now,
    latencyMs: Math.max(0, options.latencyMs ?? 0),
    maxPageSize: positiveInteger('maxPageSize', options.maxPageSize, MAX_PAGE_SIZE),
    retentionMs: positiveInteger('changeTrackingRetentionMs', options.changeTrackingRetentionMs, DEFAULT_CHANGE_TRACKING_RETENTION_MS),
    deltaMinVersion: 0,
    origin: () => url,
    webhooks: webhooks.current,
  };
  const server = createServer({ cert: EMULATOR_CERTIFICATE, key: EMULATOR_PRIVATE_KEY }, createHandler(context));
  const port = await listen(server, options.port ?? 0, listenHost);
  let certificateDir: string;
  let certificateFile: string;
  try {
    // Each emulator its own file: two at once (parallel tests, a demo beside a test run)
    // neither share nor remove each other's.
    certificateDir = await mkdtemp(join(tmpdir(), 'crmsync-dynamics-emulator-'));
    certificateFile = join(certificateDir, 'ca.pem');
    await writeFile(certificateFile, EMULATOR_CERTIFICATE, { mode: 0o600 });
  } catch (error) {
    server.close();
    throw error;
  }
  // The certificate names 127.0.0.1 and localhost: a wildcard listener is reached through loopback.
  const host = listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
  url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    apiUrl: `${url}/api/data/v9.2`,
    port,
    authorityHost: url,
    tenantId,
    clientId,
    clientSecret,
    certificate: EMULATOR_CERTIFICATE,
    certificateFile,
    store,
    stats,
    issueToken(lifetimeSeconds) {
      return tokens.issue(now(), lifetimeSeconds === undefined ? undefined : positiveInteger('lifetimeSeconds', lifetimeSeconds, 1)).token;
    },
    revokeTokens() {
      tokens.revokeAll();
    },
    expireDeltaTokens() {
      // Every token issued so far carries a version at or below the current one; moving
      // the version on keeps tokens issued from now on valid.
      context.deltaMinVersion = store.advanceVersion();
    },
    throttleNext(count, retryAfterSeconds = 1) {
      if (!Number.isSafeInteger(count) || count < 0) throw new Error(`throttleNext: count must be a non-negative integer, got ${String(count)}`);
      if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) throw new Error(`throttleNext: retryAfterSeconds must be a non-negative integer`);
      context.throttleQueue = { remaining: count, retryAfterSeconds };
    },
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
        server.closeAllConnections();
      }).finally(() => rm(certificateDir, { recursive: true, force: true }));
      return closing;
    },
  };
}
