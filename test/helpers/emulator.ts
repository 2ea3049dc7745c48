import { afterEach } from 'vitest';
import { hubspotSettingsOf } from '../../src/commands/demo.js';
import type { FullRead, HubSpotSettings } from '../../src/config/env.js';
import { tempDir } from './cli.js';
import { startHubSpotEmulator, type HubSpotEmulator, type HubSpotEmulatorOptions } from '@crmsync/emulators/hubspot';

/** A fresh emulator per test, closed after it: `const start = emulatorPerTest(); const emulator = await start({...})`. */
export function emulatorPerTest(): (options: HubSpotEmulatorOptions) => Promise<HubSpotEmulator> {
  let current: HubSpotEmulator | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options) => (current = await startHubSpotEmulator(options));
}

/** Connection settings for crmsync's HubSpot client. */
export const settingsOf = hubspotSettingsOf;

/** The same for the command line, with the database to write. */
export const hubspotEnvOf = (emulator: HubSpotEmulator, db: string) => ({ HUBSPOT_BASE_URL: emulator.url, HUBSPOT_ACCESS_TOKEN: emulator.token, CRMSYNC_DB: db });

/** How full HubSpot reads walk the records (HUBSPOT_FULL_READ): the suites about completeness run in each. */
export const FULL_READS: FullRead[] = ['both', 'list'];

/** settingsOf and hubspotEnvOf for full reads made one way, and a folder of its own for their databases. */
export function fullReadSettings(fullRead: FullRead) {
  return {
    dir: tempDir(),
    settingsOf: (emulator: HubSpotEmulator): HubSpotSettings => ({ ...hubspotSettingsOf(emulator), fullRead }),
    hubspotEnvOf: (emulator: HubSpotEmulator, db: string) => ({ ...hubspotEnvOf(emulator, db), HUBSPOT_FULL_READ: fullRead }),
  };
}
