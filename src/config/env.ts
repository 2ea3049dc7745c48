import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { UsageError } from '../errors.js';

export const DEFAULT_DB_PATH = './crmsync.db';
export const HUBSPOT_API_URL = 'https://api.hubapi.com';

/** Loads ./.env into `env` (variables already set win), if the file exists. */
export function loadDotEnv(path = '.env', env: NodeJS.ProcessEnv = process.env): void {
  const text = dotEnvText(path);
  if (text === undefined) return;
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
}

/** The file's text; undefined when there is none. Node's own loader fails on the rest with messages about its arguments. */
function dotEnvText(path: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw new UsageError(`${path} is a directory, not a file of VAR=value lines`);
    throw new UsageError(`${path} cannot be read (${code ?? (error as Error).message}): make it a readable file of VAR=value lines, or remove it`);
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (!text.includes('\0')) return text;
  } catch {
    // not UTF-8: said below
  }
  throw new UsageError(`${path} is not a text file of VAR=value lines (it is not UTF-8 text)`);
}

export function databasePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.CRMSYNC_DB ?? DEFAULT_DB_PATH;
}

/** The Prometheus textfile a sync refreshes when it ends: the flag, else CRMSYNC_METRICS_TEXTFILE; none when both are unset or empty. */
export function metricsTextfilePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag ?? (env.CRMSYNC_METRICS_TEXTFILE?.trim() || undefined);
}

/** How a full HubSpot read walks the records: from both ends (list and search at once), or down the list alone. */
export type FullRead = 'both' | 'list';

export interface HubSpotSettings {
  accessToken: string;
  baseUrl: string;
  /** HUBSPOT_FULL_READ; both when unset. */
  fullRead?: FullRead;
}

/** Whether HubSpot's token is given: then `config check` checks the portal too. */
export function hubspotSettingsGiven(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.HUBSPOT_ACCESS_TOKEN?.trim());
}

/**
 * A setting's value without surrounding white space. A line break or another control
 * character inside would corrupt the request it goes into (and fail as if the network
 * did), so it is refused here, without showing the value: it may be a secret.
 */
function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  if (value && /[\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`${name} has a line break or another control character in it: set it again as one line`);
  }
  return value;
}

export function hubspotSettings(env: NodeJS.ProcessEnv = process.env): HubSpotSettings {
  const accessToken = setting(env, 'HUBSPOT_ACCESS_TOKEN');
  if (!accessToken) {
    throw new UsageError(
      'HUBSPOT_ACCESS_TOKEN is not set: export the access token of a HubSpot private app (Settings › Integrations › Private Apps) or put it in .env',
    );
  }
  // An HTTP header carries the token: only visible ASCII fits (a copied token may hold a typographic dash or a space).
  if (/[^\x21-\x7e]/.test(accessToken)) {
    throw new UsageError('HUBSPOT_ACCESS_TOKEN has a space or a character that is not ASCII in it: copy the token again from the private app');
  }
  const baseUrl = (setting(env, 'HUBSPOT_BASE_URL') || HUBSPOT_API_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) {
    throw new UsageError(`HUBSPOT_BASE_URL "${baseUrl}" is not an http(s) URL`);
  }
  const fullRead = setting(env, 'HUBSPOT_FULL_READ') || 'both';
  if (fullRead !== 'both' && fullRead !== 'list') {
    throw new UsageError(`HUBSPOT_FULL_READ "${fullRead}" is not both or list: unset it (both: list and search at once), or set list to leave the search budget to other apps`);
  }
  return { accessToken, baseUrl, fullRead };
}

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

export interface DynamicsSettings {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The organisation, e.g. https://contoso.crm4.dynamics.com; the Web API is under /api/data/v9.2/. */
  resourceUrl: string;
  /** Where tokens come from: Microsoft's cloud unless D365_AUTHORITY_HOST says otherwise. */
  authorityHost: string;
  /** Extra CA certificates (PEM) to trust for the organisation and the authority. */
  caCertificate?: string;
}

const DYNAMICS_VARIABLES = {
  tenantId: 'D365_TENANT_ID',
  clientId: 'D365_CLIENT_ID',
  clientSecret: 'D365_CLIENT_SECRET',
  resourceUrl: 'D365_RESOURCE_URL',
} as const;

/** Whether any of the D365_* settings is given: Dynamics 365 is then meant, and a missing one is an error, not a skip. */
export function dynamicsSettingsGiven(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.values(DYNAMICS_VARIABLES).some((name) => env[name]?.trim());
}

export function dynamicsSettings(env: NodeJS.ProcessEnv = process.env): DynamicsSettings {
  const values = Object.fromEntries(Object.entries(DYNAMICS_VARIABLES).map(([key, name]) => [key, setting(env, name) ?? ''])) as Record<keyof typeof DYNAMICS_VARIABLES, string>;
  const missing = Object.entries(DYNAMICS_VARIABLES).filter(([key]) => !values[key as keyof typeof values]).map(([, name]) => name);
  if (missing.length > 0) {
    throw new UsageError(
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: export the Azure app registration's tenant id, client id and client secret and the organisation URL (https://<org>.crm.dynamics.com), or put them in .env`,
    );
  }
  const resourceUrl = values.resourceUrl.replace(/\/+$/, '');
  const authorityHost = (setting(env, 'D365_AUTHORITY_HOST') || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
  for (const [name, url] of [['D365_RESOURCE_URL', resourceUrl], ['D365_AUTHORITY_HOST', authorityHost]]) {
    // MSAL refuses http authorities, and Dataverse is only served over https.
    if (!/^https:\/\/[^/]+$/.test(url)) throw new UsageError(`${name} "${url}" must be an https URL without a path, such as https://contoso.crm.dynamics.com`);
  }
  const caPath = setting(env, 'D365_CA_CERT');
  let caCertificate: string | undefined;
  if (caPath) {
    try {
      caCertificate = readFileSync(caPath, 'utf8');
    } catch (error) {
      throw new UsageError(`D365_CA_CERT: cannot read ${caPath} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    checkPemBundle(caPath, caCertificate);
  }
  return { ...values, resourceUrl, authorityHost, caCertificate };
}

/** TLS skips a certificate it cannot read without a word, and then distrusts the server: say so before any request. */
function checkPemBundle(path: string, text: string): void {
  const certificates = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (certificates.length === 0) throw new UsageError(`D365_CA_CERT: ${path} holds no PEM certificate`);
  certificates.forEach((pem, index) => {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new UsageError(`D365_CA_CERT: certificate ${index + 1} in ${path} cannot be read (${(error as Error).message})`);
    }
  });
}

/** The secrets that authenticate webhooks: HubSpot's app client secret (signatures v3) and the key Dataverse's service endpoint sends. */
export interface WebhookSecrets {
  hubspotSecret?: string;
  dynamicsKey?: string;
}

export function webhookSecrets(env: NodeJS.ProcessEnv = process.env): WebhookSecrets {
  const hubspotSecret = setting(env, 'HUBSPOT_CLIENT_SECRET') || undefined;
  const dynamicsKey = setting(env, 'D365_WEBHOOK_KEY') || undefined;
  return { ...(hubspotSecret && { hubspotSecret }), ...(dynamicsKey && { dynamicsKey }) };
}
