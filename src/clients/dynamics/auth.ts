import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { DEFAULT_AUTHORITY_HOST, type DynamicsSettings } from '../../config/env.js';
import { AuthError } from '../../errors.js';
import { parseJson, redact } from '../http/request.js';
import { TransientError } from '../http/retry.js';

/**
 * The HTTPS connection pool for one Dynamics 365 organisation and its sign-in authority.
 * A configured CA bundle (D365_CA_CERT) is trusted in addition to Node's own roots;
 * certificate verification is never switched off.
 */
export function createDispatcher(settings: Pick<DynamicsSettings, 'caCertificate'>): Agent {
  return new Agent({
    connections: 16,
    keepAliveTimeout: 30_000,
    // Passing `ca` replaces Node's bundled roots: keep them, so Microsoft's hosts stay trusted.
    connect: settings.caCertificate ? { ca: [...rootCertificates, settings.caCertificate] } : undefined,
  });
}

/**
 * MSAL's HTTP calls (authority metadata, token requests) over the same undici pool as the
 * Web API, so both trust the same certificates. MSAL expects parsed JSON bodies and
 * lower-cased header names.
 */
export class UndiciNetworkClient implements INetworkModule {
  /**
   * The last connection failure. MSAL reports a failed metadata fetch as a bare
   * endpoints_resolution_error, without the cause (an untrusted certificate, a refused port).
   */
  lastTransportError: Error | undefined;

  constructor(private readonly dispatcher: Dispatcher) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    let response: Dispatcher.ResponseData;
    let text: string;
    try {
      response = await request(url, {
        method,
        headers: options?.headers,
        body: method === 'POST' ? (options?.body ?? '') : undefined,
        dispatcher: this.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      text = await response.body.text();
    } catch (error) {
      this.lastTransportError = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: response.statusCode, headers, body: parseJson(text, 'the sign-in authority') as T };
  }
}

/** Azure AD error codes (AADSTS…) that point at one setting. */
const SETTING_BY_AAD_ERROR: Record<string, string> = {
  '7000215': 'D365_CLIENT_SECRET (the secret value, not its id; secrets also expire)',
  '7000222': 'D365_CLIENT_SECRET (it has expired; create a new one)',
  '700016': 'D365_CLIENT_ID (no such application in the tenant)',
  '90002': 'D365_TENANT_ID (no such tenant)',
  '900023': 'D365_TENANT_ID (not a tenant id or domain)',
  '500011': 'D365_RESOURCE_URL (no such Dynamics 365 organisation for this tenant)',
  '1002012': 'D365_RESOURCE_URL (the scope built from it is not valid)',
};

/**
 * Access tokens for the Dataverse Web API by the OAuth 2.0 client-credentials grant.
 * MSAL keeps the token in its in-memory cache and fetches a new one five minutes before
 * it expires; `fresh` bypasses the cache after the API has refused a token.
 */
export class DynamicsTokenProvider {
  readonly scope: string;
  private readonly app: ConfidentialClientApplication;
  private readonly network: UndiciNetworkClient;
  /** Token requests sent to the authority (not answered from MSAL's cache). */
  tokenRequests = 0;

  constructor(
    private readonly settings: DynamicsSettings,
    dispatcher: Dispatcher,
  ) {
    this.scope = `${settings.resourceUrl}/.default`;
    const authorityHost = new URL(settings.authorityHost);
    const counting = (this.network = new UndiciNetworkClient(dispatcher));
    const post = counting.sendPostRequestAsync.bind(counting);
    counting.sendPostRequestAsync = (url, options) => {
      this.tokenRequests++;
      return post(url, options);
    };
    this.app = new ConfidentialClientApplication({
      auth: {
        clientId: settings.clientId,
        clientSecret: settings.clientSecret,
        authority: `${settings.authorityHost}/${settings.tenantId}`,
        // Microsoft's own cloud is discovered as usual; any other authority (a sovereign
        // cloud, a local emulator) is trusted as configured, without instance discovery.
        knownAuthorities: settings.authorityHost === DEFAULT_AUTHORITY_HOST ? [] : [authorityHost.host],
      },
      system: { networkClient: counting },
    });
  }

  async token(fresh = false): Promise<string> {
    this.network.lastTransportError = undefined;
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: fresh });
      if (!result?.accessToken) throw new AuthError('Dynamics 365 sign-in returned no access token');
      return result.accessToken;
    } catch (error) {
      throw this.classify(error);
    }
  }

  private classify(error: unknown): Error {
    if (error instanceof AuthError || error instanceof TransientError) return error;
    const { errorCode = '', errorMessage = '', message = '' } = error as { errorCode?: string; errorMessage?: string; message?: string };
    const transport = this.network.lastTransportError;
    const text = this.redact(transport ? describeTransportError(transport) : errorMessage || message);
    const aadCode = /AADSTS(\d+)/.exec(text)?.[1];
    const setting = aadCode ? SETTING_BY_AAD_ERROR[aadCode] : undefined;
    if (setting) return new AuthError(`Dynamics 365 sign-in failed (${errorCode || 'rejected'}, AADSTS${aadCode}): check ${setting}`);
    // The authority's OpenID metadata is read first; an unknown tenant fails there.
    if (errorCode === 'endpoints_resolution_error' && !transport) {
      return new AuthError(`Dynamics 365 sign-in failed: ${this.settings.authorityHost} does not know the tenant; check D365_TENANT_ID (and D365_AUTHORITY_HOST)`);
    }
    if (errorCode === 'invalid_client') return new AuthError('Dynamics 365 sign-in failed (invalid_client): check D365_CLIENT_ID and D365_CLIENT_SECRET');
    if (/certificate|self[- ]signed|CERT_/i.test(text)) {
      return new AuthError(`the certificate of ${this.settings.authorityHost} is not trusted: ${firstLine(text)} (set D365_CA_CERT to its CA bundle)`);
    }
    if (transport || errorCode === 'network_error' || /ECONNRESET|ECONNREFUSED|socket|timeout/i.test(text)) {
      return new TransientError(`could not reach the sign-in authority ${this.settings.authorityHost}: ${firstLine(text)}`);
    }
    return new AuthError(`Dynamics 365 sign-in failed (${errorCode || 'error'}): ${firstLine(text)}; check D365_TENANT_ID, D365_CLIENT_ID, D365_CLIENT_SECRET and D365_AUTHORITY_HOST`);
  }

  private redact(text: string): string {
    return redact(text, this.settings.clientSecret);
  }
}

/** undici's errors carry the useful part (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN) in code and cause. */
function describeTransportError(error: Error): string {
  const { code, cause } = error as Error & { code?: string; cause?: unknown };
  const parts = [error.message, code, cause instanceof Error ? `${cause.message} ${(cause as { code?: string }).code ?? ''}` : undefined];
  return parts.filter(Boolean).join(' ').trim();
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].slice(0, 300);
}
