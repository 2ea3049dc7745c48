import { join } from 'node:path';
import { loadConfig, objectByName } from '../../src/config/load.js';
import type { RetryPolicy } from '../../src/clients/retry.js';
import type { HubSpotSettings } from '../../src/config/env.js';
import { openStore } from '../../src/db/database.js';
import type { SyncOptions, RunResult } from '../../src/engines/base-sync-engine.js';
import { createEngine } from '../../src/engines/run-objects.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { ROOT } from './cli.js';

export const config = loadConfig(join(ROOT, 'mappings.yaml'));
export const DEFAULT_OPTIONS: SyncOptions = { full: false, forceOverwrite: false, dryRun: false, maxRecords: 0 };

/** Runs one object's engine in-process against a HubSpot API (the emulator, or a live portal). */
export async function syncObject(
  object: string,
  db: string,
  hubspot: HubSpotSettings,
  options: Partial<SyncOptions> = {},
  log: Logger = silentLogger,
  retry?: RetryPolicy,
): Promise<RunResult> {
  const merged = { ...DEFAULT_OPTIONS, ...options };
  const store = openStore(db, { dryRun: merged.dryRun });
  try {
    return await createEngine(objectByName(config, object), { store, hubspot, log, retry }).run(merged);
  } finally {
    store.close();
  }
}
