import { Client } from '@hubspot/api-client';
import { HUBSPOT_API_URL, type HubSpotSettings } from '../../config/env.js';
import { ApiError, AuthError, UnknownObjectError } from '../../errors.js';
import { JsonApi, bodyExcerpt, errorBody, parseJson, redact, type Reply } from '../http/request.js';
import { TransientError, type RequestMetrics } from '../http/retry.js';
import type { ConnectOptions, DailyReserve } from '../crm.js';
import { DailyQuota, dailyQuotaSpent } from './daily-quota.js';
import { HUBSPOT_LIST_LIMIT, HUBSPOT_SEARCH_LIMIT, limitersFor, observeRateLimit, recordDailyQuota, type HubSpotLimiters } from './limits.js';

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
  modificationMetadata?: { readOnlyValue?: boolean };
  options?: { value: string; label?: string; hidden?: boolean }[];
}

/** A batch create, update, upsert or archive (HubSpot's delete, which moves records to its recycle bin). */
export type BatchAction = 'create' | 'update' | 'upsert' | 'archive';

export interface BatchWriteInput {
  id?: string;
  idProperty?: string;
  properties: Record<string, string>;
  objectWriteTraceId: string;
}

/**
 * HubSpot's answer to a batch write: 200/201 (all written), 207 (some failed: `errors`),
 * 204 without a body (an archive), or a 400/409 refusing the whole batch (`body` is then
 * the error).
 */
export interface BatchWriteAnswer {
  status: number;
  body: unknown;
  /** X-HubSpot-Correlation-Id: what HubSpot's support asks for. */
  requestId?: string;
}

/** A 400 or 409 answering a batch write: some of its records, not the request, are what HubSpot refuses. */
class BatchRefused extends Error {
  constructor(readonly answer: BatchWriteAnswer) {
    super(`HubSpot refused the batch (${answer.status})`);
  }
}

/** HubSpot's JSON error shape: { status: "error", message, correlationId, category?, ... }. */
interface HubSpotErrorBody {
  status?: string;
  correlationId?: string;
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
  private readonly api: JsonApi;
  private readonly sdk: Client;
  private readonly limiters: HubSpotLimiters;
  private readonly dailyReserve?: DailyReserve;
  /** Learnt from this connection's answers: a run starts from what its first answer states. */
  private readonly daily = new DailyQuota();

  constructor(
    private readonly settings: HubSpotSettings,
    options: ConnectOptions = {},
  ) {
    this.api = new JsonApi('HubSpot', options);
    this.dailyReserve = options.dailyReserve;
    // numberOfApiCallRetries stays unset: the SDK's own retry decorator would retry a
    // second time, ignoring Retry-After; crmsync's policy in retry.ts is the only one.
    this.sdk = new Client({ accessToken: settings.accessToken, basePath: settings.baseUrl });
    this.limiters = limitersFor(settings.baseUrl, settings.accessToken);
  }

  get metrics(): RequestMetrics {
    return this.api.metrics;
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

  /**
   * Up to 100 records by id (50 with `propertiesWithHistory`), or by the values of a property
   * with unique values (`idProperty`); ids that are unknown or archived are left out (HubSpot
   * answers 207).
   */
  async batchRead(objectType: string, ids: string[], properties: string[], options: { propertiesWithHistory?: string[]; idProperty?: string } = {}): Promise<unknown[]> {
    const { propertiesWithHistory, idProperty } = options;
    const body = { inputs: ids.map((id) => ({ id })), properties, ...(propertiesWithHistory ? { propertiesWithHistory } : {}), ...(idProperty ? { idProperty } : {}) };
    const reply = (await this.call(`batch read ${objectType}`, { method: 'POST', path: `/crm/v3/objects/${encodeURIComponent(objectType)}/batch/read`, body })) as { results?: unknown[] };
    return reply.results ?? [];
  }

  /**
   * One batch create, update, upsert or archive of up to 100 inputs. Rate limits, outages
   * and lost answers go through the retry policy; a 400 or 409 is answered, not thrown, for
   * the caller to tell which records it concerns.
   */
  async writeBatch(objectType: string, action: BatchAction, inputs: BatchWriteInput[]): Promise<BatchWriteAnswer> {
    const path = `/crm/v3/objects/${encodeURIComponent(objectType)}/batch/${action}`;
    // An archive's inputs are ids alone (SimplePublicObjectId): no properties, no trace id.
    const body = { inputs: action === 'archive' ? inputs.map(({ id }) => ({ id })) : inputs };
    try {
      const answer = await this.call(`batch ${action} ${objectType}`, { method: 'POST', path, body }, { writes: true, parse: (reply) => this.answerOf(reply) });
      return answer as BatchWriteAnswer;
    } catch (error) {
      if (error instanceof BatchRefused) return error.answer;
      throw error;
    }
  }

  /**
   * An answer to a batch write, without the token anywhere in it. One that cannot be read
   * (cut off) is a TransientError: a refusal nobody can read is no refusal of any record.
   */
  private answerOf(reply: Reply): BatchWriteAnswer {
    return { status: reply.status, body: parseJson(this.redact(reply.text), 'HubSpot'), requestId: reply.header('x-hubspot-correlation-id') };
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

  private call(
    operation: string,
    request: { method: string; path: string; qs?: Record<string, string>; body?: unknown },
    options: { writes?: boolean; parse?: (reply: Reply) => unknown } = {},
  ): Promise<unknown> {
    const isSearch = request.path.endsWith('/search');
    const limiter = isSearch ? this.limiters.search : this.limiters.general;
    return this.api.request(operation, {
      limiter,
      send: () => this.send(request),
      // A 429's headers describe the exhausted window; the retry waits for that instead.
      observe: isSearch ? undefined : (reply) => observeRateLimit(limiter, reply),
      failure: (reply) => this.failure(operation, request.path, reply, options.writes === true),
      parse: options.parse,
    });
  }

  private async send(request: { method: string; path: string; qs?: Record<string, string>; body?: unknown }): Promise<Reply> {
    // Not a failure worth retrying: the quota does not come back within the run.
    this.daily.admit(this.dailyReserve);
    this.metrics.requests++;
    let stated: { remaining?: number; limit?: number } = {};
    if (request.path.endsWith('/search')) this.metrics.searches = (this.metrics.searches ?? 0) + 1;
    try {
      const response = await this.sdk.apiRequest(request);
      const text = await response.text();
      this.metrics.bytesReceived += text.length;
      const reply: Reply = { status: response.status, header: (name) => response.headers.get(name) ?? undefined, text };
      stated = recordDailyQuota(this.metrics, reply);
      return reply;
    } catch (error) {
      throw this.api.connectionFailed(error, (text) => this.redact(text));
    } finally {
      this.daily.settle(stated.remaining, stated.limit);
    }
  }

  /** HubSpot's error responses, classified: what to retry and what to tell the user. */
  private failure(operation: string, path: string, reply: Reply, writes: boolean): Error {
    const body = errorBody<HubSpotErrorBody>(reply);
    if (reply.status === 429 && body.policyName === 'DAILY') {
      this.metrics.rateLimited++;
      return dailyQuotaSpent(reply, this.metrics.hubspotDailyLimit);
    }
    const message = this.redact(body.message ?? bodyExcerpt(reply));
    // Without Retry-After: the secondly (search) limit frees within a second, the
    // ten-secondly one within its window.
    const windowWait = this.api.policy.rateLimitWaitMs;
    const transient = this.api.transientFailure(reply, {
      message,
      rateLimitReason: `rate limited (${body.policyName ?? 'HTTP 429'})`,
      waitWithoutRetryAfterMs: body.policyName === 'SECONDLY' ? Math.min(1_000, windowWait) : windowWait,
    });
    if (transient) return transient;
    const { status } = reply;
    if (status === 401) {
      return new AuthError(
        `HubSpot rejected HUBSPOT_ACCESS_TOKEN (401 ${body.category ?? 'unauthorized'}): check that the token is current and belongs to the portal at ${this.settings.baseUrl}`,
      );
    }
    if (status === 403) {
      const scopes = body.errors?.flatMap((error) => error.context?.requiredGranularScopes ?? error.context?.requiredScopes ?? []) ?? [];
      const missing = scopes.length ? `grant the private app the scope ${scopes.join(' or ')}` : `grant the private app the ${writes ? 'write' : 'read'} scope for this object`;
      return new AuthError(`HubSpot refused ${operation} (403 ${body.category ?? 'forbidden'}): HUBSPOT_ACCESS_TOKEN lacks a scope; ${missing}`);
    }
    if (isWrongEndpoint(path, status, body)) {
      return new ApiError(
        `${operation}: ${this.settings.baseUrl} answered 404 (${message}): HubSpot's API is not there; check HUBSPOT_BASE_URL (${HUBSPOT_API_URL} unless you go through a proxy)`,
        status,
      );
    }
    if (status === 400 && body.message?.startsWith('Unable to infer object type from') === true) {
      return new UnknownObjectError(`${operation}: HubSpot answered ${status} (${message}); check object_type in mappings.yaml`, status);
    }
    if (writes && (status === 400 || status === 409)) return new BatchRefused(this.answerOf(reply));
    return this.api.rejected(operation, reply, body.category ?? '', message);
  }

  private redact(text: string): string {
    return redact(text, this.settings.accessToken);
  }
}

/**
 * Endpoints HubSpot has for every object type, known or not: it answers a type it does not
 * know with 400 "Unable to infer object type from: <type>", never with 404.
 */
const ENDPOINTS_OF_EVERY_TYPE = [/^\/crm\/v3\/objects\/[^/]+(\/search|\/batch\/(read|create|update|upsert|archive))?$/, /^\/crm\/v3\/properties\/[^/]+$/, /^\/crm\/v4\/associations\/[^/]+\/[^/]+\/batch\/read$/];

/**
 * Whether a 404 says the request went somewhere other than HubSpot's API (a wrong
 * HUBSPOT_BASE_URL) rather than that HubSpot has no such record: a 404 from an endpoint
 * that exists for every object type, or a 404 without HubSpot's JSON error shape.
 */
export function isWrongEndpoint(path: string, status: number, body: object): boolean {
  if (status !== 404) return false;
  const error = body as Partial<HubSpotErrorBody>;
  const hubspotShaped = error.status === 'error' && typeof error.message === 'string' && typeof error.correlationId === 'string';
  return !hubspotShaped || ENDPOINTS_OF_EVERY_TYPE.some((endpoint) => endpoint.test(path));
}

function toPage(body: unknown): HubSpotPage {
  const page = body as { results?: unknown; total?: number; paging?: { next?: { after?: string } } };
  if (!Array.isArray(page.results)) throw new TransientError('HubSpot sent a page without a results array');
  return { results: page.results, after: page.paging?.next?.after, total: page.total };
}
