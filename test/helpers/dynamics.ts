import { afterEach } from 'vitest';
import { dynamicsSettingsOf as settingsOfEmulator } from '../../src/commands/demo.js';
import type { DynamicsSettings } from '../../src/config/env.js';
import { startDynamicsEmulator, type DynamicsEmulator, type DynamicsEmulatorOptions } from '@crmsync/emulators/dynamics';

/** A fresh Dynamics 365 emulator per test (the standard contacts and accounts tables unless told otherwise), closed after it. */
export function dynamicsEmulatorPerTest(): (options: DynamicsEmulatorOptions) => Promise<DynamicsEmulator> {
  let current: DynamicsEmulator | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options) => (current = await startDynamicsEmulator(options));
}

/** Connection settings for crmsync's Dynamics client, trusting the emulator's certificate. */
export const dynamicsSettingsOf = (emulator: DynamicsEmulator, overrides: Partial<DynamicsSettings> = {}): DynamicsSettings => ({
  ...settingsOfEmulator(emulator),
  ...overrides,
});

/** The same as environment variables, for the command line; the certificate from the emulator's own file. */
export const dynamicsEnvOf = (emulator: DynamicsEmulator): Record<string, string> => ({
  D365_RESOURCE_URL: emulator.url,
  D365_AUTHORITY_HOST: emulator.authorityHost,
  D365_TENANT_ID: emulator.tenantId,
  D365_CLIENT_ID: emulator.clientId,
  D365_CLIENT_SECRET: emulator.clientSecret,
  D365_CA_CERT: emulator.certificateFile,
});
