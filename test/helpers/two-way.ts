import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CrmConnection, DailyReserve, RecordWrite, RecordWriter, WriteOutcome } from '../../src/clients/crm.js';
import type { RetryPolicy } from '../../src/clients/http/retry.js';
import { connectorFor } from '../../src/clients/registry.js';
import { parseConfig, type Config, type ObjectMapping } from '../../src/config/load.js';
import { SOURCES, type SourceName } from '../../src/config/sources.js';
import type { TwoWayField } from '../../src/config/two-way.js';
import { openStore } from '../../src/db/database.js';
import { ensureObjectView } from '../../src/db/views.js';
import type { RunResult, SyncOptions } from '../../src/engines/run-lifecycle.js';
import { TwoWaySyncEngine, type TwoWaySummary } from '../../src/engines/two-way/two-way-engine.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { fieldParser, type FieldValue } from '../../src/processors/field-types.js';
import { startDynamicsEmulator, type DynamicsEmulator, type DynamicsEmulatorOptions } from '@crmsync/emulators/dynamics';
import { startHubSpotEmulator, type HubSpotEmulator, type HubSpotEmulatorOptions, type SharedSeedSpec } from '@crmsync/emulators/hubspot';
import { afterEach } from 'vitest';
import { ROOT, tempDir } from './cli.js';
import { dynamicsSettingsOf } from './dynamics.js';
import { settingsOf } from './emulator.js';
import { DEFAULT_OPTIONS, config as shippedConfig } from './engine.js';

/** Short delays so the suite stays quick; the policy itself is the production one. */
export const TWO_WAY_RETRY: RetryPolicy = { retries: 6, minDelayMs: 5, maxDelayMs: 40, timeoutMs: 10_000, rateLimitWaitMs: 50 };

/** A HubSpot emulator and a Dynamics 365 emulator holding the same people and companies. */
export interface EmulatorPair {
  hubspot: HubSpotEmulator;
  dynamics: DynamicsEmulator;
}

export interface PairOptions {
  seedValue?: number;
  hubspot?: Omit<HubSpotEmulatorOptions, 'sharedSeed' | 'seedValue'>;
  dynamics?: Omit<DynamicsEmulatorOptions, 'sharedSeed' | 'seedValue'>;
}

/** A fresh pair of emulators per test, given the same shared seed, closed after it. */
export function sharedEmulatorsPerTest(): (shared: SharedSeedSpec, options?: PairOptions) => Promise<EmulatorPair> {
  let current: Partial<EmulatorPair> = {};
  afterEach(async () => {
    await Promise.all([current.hubspot?.close(), current.dynamics?.close()]);
    current = {};
  });
  return async (shared, options = {}) => {
    const seedValue = options.seedValue ?? 42;
    current.hubspot = await startHubSpotEmulator({ ...options.hubspot, sharedSeed: shared, seedValue });
    current.dynamics = await startDynamicsEmulator({ ...options.dynamics, sharedSeed: shared, seedValue });
    return current as EmulatorPair;
  };
}

/** Changes the connections an engine is given: a writer or reader wrapped by the test. */
export type ConnectionsAdapter = (connections: Record<SourceName, CrmConnection>) => Record<SourceName, CrmConnection>;

export interface TwoWayRunOptions {
  sync?: Partial<SyncOptions>;
  /** A variant of mappings.yaml (parseConfig of a changed text); the shipped file by default. */
  config?: Config;
  log?: Logger;
  retry?: RetryPolicy;
  adapt?: ConnectionsAdapter;
  /** What HubSpot's connection keeps of the portal's daily quota, as --daily-reserve says; none by default. */
  dailyReserve?: DailyReserve;
}

/** A two-way run's own result, its summary, and the two inbound runs it made. */
export interface TwoWayRun {
  result: RunResult;
  summary: TwoWaySummary;
  inbound: RunResult[];
}

const SHIPPED_MAPPINGS = readFileSync(join(ROOT, 'mappings.yaml'), 'utf8');

/** The shipped mappings.yaml with each `[text, replacement]` made, read as the command line reads a file. */
export function mappingsVariant(...changes: [string, string][]): Config {
  let text = SHIPPED_MAPPINGS;
  for (const [from, to] of changes) {
    if (!text.includes(from)) throw new Error(`mappings.yaml has no ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  return parseConfig(text, 'mappings.yaml');
}

/** A database file of the test run's own. */
export const twoWayDb = (): string => join(tempDir(), 'crmsync.db');

/**
 * Runs one object's two-way engine in-process against both emulators, the way `crmsync
 * sync --two-way` builds it, with a store opened on `db` for this run only.
 */
export async function runTwoWay(object: string, db: string, emulators: EmulatorPair, options: TwoWayRunOptions = {}): Promise<TwoWayRun> {
  const entry = (options.config ?? shippedConfig).objects.get(object);
  if (!entry?.hubspot || !entry.dynamics || !entry.twoWay) throw new Error(`${object} has no two_way: block`);
  const retry = options.retry ?? TWO_WAY_RETRY;
  const settings = { hubspot: settingsOf(emulators.hubspot), dynamics: dynamicsSettingsOf(emulators.dynamics) };
  let connections = {
    hubspot: await connectorFor('hubspot').connect(settings.hubspot, { retry, dailyReserve: options.dailyReserve }),
    dynamics: await connectorFor('dynamics').connect(settings.dynamics, { retry }),
  };
  if (options.adapt) connections = options.adapt(connections);
  const store = openStore(db);
  try {
    for (const mapping of [entry.hubspot, entry.dynamics]) ensureObjectView(store, mapping);
    const engine = new TwoWaySyncEngine({
      object,
      twoWay: entry.twoWay,
      mappings: { hubspot: entry.hubspot, dynamics: entry.dynamics },
      crms: { hubspot: connectorFor('hubspot'), dynamics: connectorFor('dynamics') },
      connections,
      store,
      log: options.log ?? silentLogger,
    });
    const results = await engine.run({ ...DEFAULT_OPTIONS, ...options.sync });
    const result = results.at(-1)!;
    return { result, summary: result.twoWay!, inbound: results.slice(0, -1) };
  } finally {
    store.close();
  }
}

/** The connection with its writer replaced by `wrap(the original writer)`. */
export function withWriter(connection: CrmConnection, wrap: (writer: RecordWriter) => RecordWriter['write']): CrmConnection {
  const writer: RecordWriter = { batchLimit: connection.writer.batchLimit, write: wrap(connection.writer) };
  return withMember(connection, 'writer', writer);
}

/** The connection with one member replaced; its other methods still run on the connection itself. */
export function withMember<K extends keyof CrmConnection>(connection: CrmConnection, name: K, value: CrmConnection[K]): CrmConnection {
  return new Proxy(connection, {
    get(target, key) {
      if (key === name) return value;
      const member: unknown = Reflect.get(target, key);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  });
}

/** Writes by CRM and what became of them, as one writer call saw them. */
export interface WriteCall {
  writes: RecordWrite[];
  outcomes: WriteOutcome[];
}

/** Keeps every writer call of both connections. */
export function recordWrites(calls: Record<SourceName, WriteCall[]>): ConnectionsAdapter {
  return (connections) => {
    const adapted = { ...connections };
    for (const side of SOURCES) {
      adapted[side] = withWriter(connections[side], (writer) => async (mapping: ObjectMapping, writes: RecordWrite[]) => {
        const outcomes = await writer.write(mapping, writes);
        calls[side].push({ writes, outcomes });
        return outcomes;
      });
    }
    return adapted;
  };
}

/**
 * A field's value as its type reads it, in HubSpot's terms (a Dataverse option value
 * through the field's value map): what two records must agree on. A value that cannot be
 * read, or an option without a counterpart, equals nothing.
 */
export function normalised(field: TwoWayField, side: SourceName, value: unknown): FieldValue | object {
  const parsed = fieldParser({ type: field[side].type }, true)(value ?? null);
  if (!parsed.ok) return { unreadable: value };
  if (side === 'dynamics' && field.values && parsed.value !== null) return field.values.toHubspot.get(Number(parsed.value)) ?? { unmapped: parsed.value };
  return parsed.value;
}

/** The two-way fields on which a HubSpot record's properties and a Dataverse row differ, with both values. */
export function differences(fields: TwoWayField[], hubspot: Record<string, unknown>, dynamics: Record<string, unknown>): { field: string; hubspot: unknown; dynamics: unknown }[] {
  return fields
    .filter((field) => normalised(field, 'hubspot', hubspot[field.hubspot.property]) !== normalised(field, 'dynamics', dynamics[field.dynamics.property]))
    .map((field) => ({ field: field.column, hubspot: hubspot[field.hubspot.property] ?? null, dynamics: dynamics[field.dynamics.property] ?? null }));
}
