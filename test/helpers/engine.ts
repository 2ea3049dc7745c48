import { join } from 'node:path';
import { loadConfig, objectByName, type ObjectMapping } from '../../src/config/load.js';
import type { RetryPolicy } from '../../src/clients/http/retry.js';
import type { DynamicsSettings, HubSpotSettings } from '../../src/config/env.js';
import { openStore } from '../../src/db/database.js';
import type { RunResult, SyncOptions } from '../../src/engines/run-lifecycle.js';
import { createEngine, type RunContext } from '../../src/engines/run-objects.js';
import { createLogger, silentLogger, type Logger, type LogLevel } from '../../src/log.js';
import { ROOT } from './cli.js';

export const config = loadConfig(join(ROOT, 'mappings.yaml'));
export const DEFAULT_OPTIONS: SyncOptions = { full: false, forceOverwrite: false, dryRun: false, maxRecords: 0 };

/** A logger that keeps its lines (of `level` and above) for the test to read. */
export function recordingLogger(level: LogLevel = 'warn'): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  return { lines, log: createLogger(level, (line) => lines.push(line)) };
}

/** Runs one object's engine in-process against a HubSpot API (the emulator, or a live portal). */
export function syncObject(
  object: string,
  db: string,
  hubspot: HubSpotSettings,
  options: Partial<SyncOptions> = {},
  log: Logger = silentLogger,
  retry?: RetryPolicy,
): Promise<RunResult> {
  return runEngine(objectByName(config, object), db, { hubspot, log, retry }, options);
}

/** Runs the engine of one object's Dynamics 365 mapping in-process against the emulator. */
export function syncFromDynamics(
  object: string,
  db: string,
  dynamics: DynamicsSettings,
  options: Partial<SyncOptions> = {},
  log: Logger = silentLogger,
  retry?: RetryPolicy,
): Promise<RunResult> {
  return runEngine(objectByName(config, object, 'dynamics'), db, { dynamics, log, retry }, options);
}

export async function runEngine(mapping: ObjectMapping, db: string, context: Omit<RunContext, 'store'>, options: Partial<SyncOptions>): Promise<RunResult> {
  const merged = { ...DEFAULT_OPTIONS, ...options };
  const store = openStore(db, { dryRun: merged.dryRun });
  try {
    return await (await createEngine(mapping, { ...context, store })).run(merged);
  } finally {
    store.close();
  }
}
