import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';

export const DEFAULT_DB_PATH = './crmsync.db';
export const HUBSPOT_API_URL = 'https://api.hubapi.com';

/** Loads ./.env into process.env (variables already set win), if the file exists. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export function databasePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.CRMSYNC_DB ?? DEFAULT_DB_PATH;
}

export interface HubSpotSettings {
  accessToken: string;
  baseUrl: string;
}

export function hubspotSettings(env: NodeJS.ProcessEnv = process.env): HubSpotSettings {
  const accessToken = env.HUBSPOT_ACCESS_TOKEN?.trim();
  if (!accessToken) {
    throw new UsageError(
      'HUBSPOT_ACCESS_TOKEN is not set: export the access token of a HubSpot private app (Settings › Integrations › Private Apps) or put it in .env',
    );
  }
  const baseUrl = (env.HUBSPOT_BASE_URL?.trim() || HUBSPOT_API_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) {
    throw new UsageError(`HUBSPOT_BASE_URL "${baseUrl}" is not an http(s) URL`);
  }
  return { accessToken, baseUrl };
}
