import { Client } from '@hubspot/api-client';
import type { HubSpotSettings } from '../../config/env.js';
import { ApiError, AuthError } from '../../errors.js';
import { limitersFor, type HubSpotLimiters } from '../http/rate-limiter.js';
import { DEFAULT_RETRY_POLICY, TransientError, emptyMetrics, withRetry, withTimeout, type RetryPolicy } from '../http/retry.js';

export interface HubSpotPage<T = unknown> {
  results: T[];
  /** Cursor of the next page; absent on the last one. */
  after?: string;
  total?: number;
}

export interface SearchFilter {
  propertyName: string;
  operator: 'EQ' | 'NEQ' | 'LT' | 'LTE' | 'GT' | 'GTE' | 'IN' | 'NOT_IN' | 'HAS_PROPERTY' | 'NOT_HAS_PROPERTY';
  value?: string;
  values?: string[];
}

export interface SearchRequest {
  filterGroups: { filters: SearchFilter[] }[];
  sorts: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  properties: string[];
  limit: number;
  after?: string;
}

export interface AssociationResult {
  fromId: string;
  to: { toObjectId: number | string; associationTypes: { category: string; typeId: number; label?: string | null }[] }[];
}

/** A property as the Properties API describes it. */
export interface PropertyDefinition {
  name: string;
  label?: string;
  type: string;
  fieldType: string;
  hasUniqueValue?: boolean;
  hidden?: boolean;
  calculated?: boolean;
  options?: { value: string; label?: string; hidden?: boolean }[];
}

/** HubSpot's page limits: the objects list endpoint and the search endpoint. */
export const HUBSPOT_LIST_LIMIT = 100;
export const HUBSPOT_SEARCH_LIMIT = 200;
export const HUBSPOT_BATCH_LIMIT = 100;
export const HUBSPOT_ASSOCIATIONS_BATCH_LIMIT = 1_000;

interface HubSpotErrorBody {
  message?: string;
  category?: string;
  policyName?: string;
  errors?: { context?: { requiredGranularScopes?: string[]; requiredScopes?: string[] } }[];
}

/**
 * HubSpot CRM v3 over @hubspot/api-client. Requests go through the SDK's `apiRequest`
 * (auth, base path, user agent) rather than its typed methods: those deserialise every
 * record into model classes, which costs more than the rest of the pipeline and loses
 * the JSON exactly as received, which crmsync stores.
 */
export class HubSpotClient {
  readonly metrics = emptyMetrics();
  private readonly sdk: Client;
  private readonly limiters: HubSpotLimiters;

  constructor(
    private readonly settings: HubSpotSettings,
    private readonly options: { retry?: RetryPolicy; onRetry?: (message: string) => void } = {},
  ) {
    // numberOfApiCallRetries stays unset: the SDK's own retry decorator would retry a
    // second time, ignoring Retry-After; crmsync's policy in retry.ts is the only one.
    this.sdk = new Client({ accessToken: settings.accessToken, basePath: settings.baseUrl });
    this.limiters = limitersFor(settings.baseUrl, settings.accessToken);
  }

  listPage(objectType: string, page: { limit: number; after?: string; properties: string[]; archived?: boolean }): Promise<HubSpotPage> {
    const qs: Record<string, string> = { limit: String(Math.min(page.limit, HUBSPOT_LIST_LIMIT)), properties: page.properties.join(',') };
    if (page.after) qs.after = page.after;
    if (page.archived) qs.archived = 'true';
    return this.call(`list ${objectType}`, { method: 'GET', path: `/crm/v3/objects/${encodeURIComponent(objectType)}`, qs }).then(toPage);
  }

  search(objectType: string, request: SearchRequest): Promise<HubSpotPage> {
    const body = { ...request, limit: Math.min(request.limit, HUBSPOT_SEARCH_LIMIT) };
    return this.call(`search ${objectType}`, { method: 'POST', path: `/crm/v3/objects/${encodeURIComponent(objectType)}/search`, body }).then(toPage);
  }

  /** Up to 100 records by id; ids that are unknown or archived are left out (HubSpot answers 207). */
  async batchRead(objectType: string, ids: string[], properties: string[]): Promise<unknown[]> {
    const body = { inputs: ids.map((id) => ({ id })), properties };
    const reply = (await this.call(`batch read ${objectType}`, { method: 'POST', path: `/crm/v3/objects/${encodeURIComponent(objectType)}/batch/read`, body })) as { results?: unknown[] };
    return reply.results ?? [];
  }

  /**
   * Associations of up to 1,000 records (v4 batch read). A record with more than 500
   * associations comes back with a paging cursor; its remaining pages are read by id.
   * Records without associations are reported as errors by HubSpot; they simply have none.
   */
  async associations(fromType: string, toType: string, ids: string[]): Promise<AssociationResult[]> {
    const path = `/crm/v4/associations/${encodeURIComponent(fromType)}/${encodeURIComponent(toType)}/batch/read`;
    const collected: AssociationResult[] = [];
    let inputs: { id: string; after?: string }[] = ids.map((id) => ({ id }));
    while (inputs.length > 0) {
      const reply = (await this.call(`associations ${fromType}->${toType}`, { method: 'POST', path, body: { inputs } })) as {
        results?: { from: { id: string }; to: AssociationResult['to']; paging?: { next?: { after?: string } } }[];
      };
      const results = reply.results ?? [];
      for (const result of results) collected.push({ fromId: String(result.from.id), to: result.to });
      inputs = results.filter((result) => result.paging?.next?.after).map((result) => ({ id: String(result.from.id), after: result.paging!.next!.after }));
    }
    return collected;
  }

  async properties(objectType: string): Promise<PropertyDefinition[]> {
    const body = (await this.call(`properties of ${objectType}`, { method: 'GET', path: `/crm/v3/properties/${encodeURIComponent(objectType)}` })) as { results: PropertyDefinition[] };
    return body.results;
  }

  private call(operation: string, request: { method: string; path: string; qs?: Record<string, string>; body?: unknown }): Promise<unknown> {
    const isSearch = request.path.endsWith('/search');
    const limiter = isSearch ? this.limiters.search : this.limiters.general;
    const policy = this.options.retry ?? DEFAULT_RETRY_POLICY;
    return withRetry(
      operation,
      async () => {
        // Waiting for the rate limiter is not the API being slow: the timeout starts after it.
        await limiter.acquire();
        this.metrics.requests++;
        const { status, headers, text } = await withTimeout(this.send(request), policy.timeoutMs);
        this.metrics.bytesReceived += text.length;
        // A 429's headers describe the exhausted window; the retry waits for that instead.
        if (!isSearch && status < 300) limiter.observe(headers);
        if (status >= 200 && status < 300) {
          if (text === '') return {};
          try {
            return JSON.parse(text);
          } catch {
            throw new TransientError(`HubSpot sent an unreadable response (${text.length} bytes of invalid JSON)`);
          }
        }
        throw this.failure(operation, status, headers, text);
      },
      { policy, metrics: this.metrics, onRetry: this.options.onRetry },
    );
  }

  private async send(request: { method: string; path: string; qs?: Record<string, string>; body?: unknown }): Promise<{ status: number; headers: { get(name: string): string | null }; text: string }> {
    try {
      const response = await this.sdk.apiRequest(request);
      return { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      // Connection refused/reset, socket hang-up, body cut off mid-stream.
      throw new TransientError(`connection to HubSpot failed: ${this.redact(errorCode(error))}`);
    }
  }

  /** HubSpot's error responses, classified: what to retry and what to tell the user. */
  private failure(operation: string, status: number, headers: { get(name: string): string | null }, text: string): Error {
    let body: HubSpotErrorBody = {};
    try {
      body = JSON.parse(text) as HubSpotErrorBody;
    } catch {
      // Not JSON (a proxy's HTML page, a truncated body): the status decides.
    }
    const message = this.redact(body.message ?? (text.slice(0, 200) || `HTTP ${status}`));
    if (status === 429) {
      this.metrics.rateLimited++;
      const retryAfter = Number(headers.get('retry-after'));
      // Without Retry-After: the secondly (search) limit frees within a second, the
      // ten-secondly one within its window.
      const windowWait = (this.options.retry ?? DEFAULT_RETRY_POLICY).rateLimitWaitMs;
      const waitMs = retryAfter > 0 ? retryAfter * 1000 : body.policyName === 'SECONDLY' ? Math.min(1_000, windowWait) : windowWait;
      return new TransientError(`rate limited (${body.policyName ?? 'HTTP 429'})`, waitMs, true);
    }
    if (status >= 500) return new TransientError(`HubSpot answered ${status}: ${message}`);
    if (status === 401) {
      return new AuthError(
        `HubSpot rejected HUBSPOT_ACCESS_TOKEN (401 ${body.category ?? 'unauthorized'}): check that the token is current and belongs to the portal at ${this.settings.baseUrl}`,
      );
    }
    if (status === 403) {
      const scopes = body.errors?.flatMap((error) => error.context?.requiredGranularScopes ?? error.context?.requiredScopes ?? []) ?? [];
      const missing = scopes.length ? `grant the private app the scope ${scopes.join(' or ')}` : 'grant the private app the read scope for this object';
      return new AuthError(`HubSpot refused ${operation} (403 ${body.category ?? 'forbidden'}): HUBSPOT_ACCESS_TOKEN lacks a scope; ${missing}`);
    }
    if (status === 404) {
      return new ApiError(`${operation}: HubSpot answered 404 (${message}); check object_type in mappings.yaml`, status);
    }
    return new ApiError(`${operation}: HubSpot rejected the request (${status} ${body.category ?? ''}): ${message}`.replace(' )', ')'), status);
  }

  private redact(text: string): string {
    return text.split(this.settings.accessToken).join('***');
  }
}

function toPage(body: unknown): HubSpotPage {
  const page = body as { results?: unknown; total?: number; paging?: { next?: { after?: string } } };
  if (!Array.isArray(page.results)) throw new TransientError('HubSpot sent a page without a results array');
  return { results: page.results, after: page.paging?.next?.after, total: page.total };
}

function errorCode(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ?? message ?? String(error);
}
