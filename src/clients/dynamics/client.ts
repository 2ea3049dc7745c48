import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { DynamicsSettings } from '../../config/env.js';
import { ApiError, AuthError } from '../../errors.js';
import { ChangesExpiredError } from '../crm.js';
import { RollingWindowLimiter } from '../http/rate-limiter.js';
import { JsonApi, bodyExcerpt, errorBody, type Reply } from '../http/request.js';
import { TransientError, type RequestMetrics, type RetryPolicy } from '../http/retry.js';
import { createDispatcher, DynamicsTokenProvider } from './auth.js';
import { batchBody, batchResponses, type BatchRequest, type BatchResponse } from './batch.js';
import { DYNAMICS_MAX_PAGE_SIZE, SERVICE_PROTECTION } from './limits.js';

export const WEB_API_PATH = '/api/data/v9.2';

/** A table's definition, from EntityDefinitions and its Attributes. */
export interface TableDefinition {
  entitySet: string;
  logicalName: string;
  primaryKey: string;
  changeTracking: boolean;
  /** The columns a query can $select, in the order Dataverse lists them. */
  attributes: AttributeDefinition[];
}

export interface AttributeDefinition {
  /** As $select and rows name it: the logical name, or _<name>_value for a lookup. */
  name: string;
  /** AttributeType: String, Memo, Integer, Money, DateTime, Picklist, Lookup, ... */
  type: string;
  /** Whether an update may set it (IsValidForUpdate): false for system columns (modifiedon, versionnumber). */
  updatable: boolean;
}

/** Lookups are read through their _<name>_value property, which holds the related row's id. */
const LOOKUP_TYPES = new Set(['Lookup', 'Customer', 'Owner']);

/** One page of an OData collection. */
export interface ODataPage {
  value: Record<string, unknown>[];
  nextLink?: string;
  deltaLink?: string;
}

/** Dataverse's answer when a delta token is older than the organisation keeps changes. */
const EXPIRED_VERSION_STAMP = '0x80044352';

interface Connection {
  dispatcher: Dispatcher;
  tokens: DynamicsTokenProvider;
  limiter: RollingWindowLimiter;
}

const connections = new Map<string, Connection>();

/** One connection pool, token cache and rate limiter per organisation and application, shared by every client. */
function connectionFor(settings: DynamicsSettings): Connection {
  const key = [settings.resourceUrl, settings.authorityHost, settings.tenantId, settings.clientId, settings.clientSecret].join('\n');
  let connection = connections.get(key);
  if (!connection) {
    const dispatcher = createDispatcher(settings);
    connection = {
      dispatcher,
      tokens: new DynamicsTokenProvider(settings, dispatcher),
      limiter: new RollingWindowLimiter(SERVICE_PROTECTION.requests, SERVICE_PROTECTION.windowMs),
    };
    connections.set(key, connection);
  }
  return connection;
}

export interface DataverseErrorBody {
  error?: { code?: string; message?: string };
}

/** A request to the Web API: a GET of a query, or the POST of a batch. */
interface WebApiRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** The answer to a batch: a response per request, in request order. */
export interface BatchAnswer {
  responses: BatchResponse[];
  requestId?: string;
}

/** Dataverse names each request it answers in these headers; support asks for the id. */
export function requestIdOf(reply: { header(name: string): string | undefined }): string | undefined {
  return reply.header('x-ms-service-request-id') ?? reply.header('req_id');
}

/**
 * The Dataverse Web API v9.2 over undici, with tokens from MSAL. Every request goes
 * through crmsync's one retry policy; a 401 is retried once at once with a new token
 * (tokens can be revoked or cut short before their stated expiry).
 */
export class DynamicsClient {
  private readonly api: JsonApi;
  private readonly connection: Connection;
  /** Every URL this client fetches starts with it: the organisation's Web API, e.g. https://contoso.crm.dynamics.com/api/data/v9.2/. */
  private readonly webApi: string;

  constructor(
    private readonly settings: DynamicsSettings,
    options: { retry?: RetryPolicy; onRetry?: (message: string) => void } = {},
  ) {
    this.api = new JsonApi('Dynamics 365', options);
    this.connection = connectionFor(settings);
    this.webApi = `${new URL(settings.resourceUrl).origin}${WEB_API_PATH}/`;
  }

  get metrics(): RequestMetrics {
    return this.api.metrics;
  }

  /** Token requests sent to the authority by this organisation's connection so far. */
  get tokenRequests(): number {
    return this.connection.tokens.tokenRequests;
  }

  /** The URL of an entity set query, e.g. collectionUrl('contacts', { $select: 'firstname' }). */
  collectionUrl(entitySet: string, query: Record<string, string | undefined> = {}): string {
    const parts = Object.entries(query)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      // OData option names keep their $; values are percent-encoded (spaces, quotes, colons).
      .map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
    return `${this.settings.resourceUrl}${WEB_API_PATH}/${entitySet}${parts.length ? `?${parts.join('&')}` : ''}`;
  }

  /** The URL of one row, e.g. rowUrl('contacts', '<guid>'). */
  rowUrl(entitySet: string, id: string): string {
    return `${this.collectionUrl(entitySet)}(${id})`;
  }

  /**
   * Sends requests that do not depend on each other as one $batch. Dataverse runs each on
   * its own and answers every one (odata.continue-on-error); throttling and outages of the
   * whole batch go through the retry policy.
   */
  async batch(operation: string, requests: BatchRequest[]): Promise<BatchAnswer> {
    const boundary = `batch_${randomUUID()}`;
    const answer = await this.call(
      operation,
      {
        method: 'POST',
        url: `${this.settings.resourceUrl}${WEB_API_PATH}/$batch`,
        headers: { 'content-type': `multipart/mixed; boundary=${boundary}`, prefer: 'odata.continue-on-error' },
        body: batchBody(requests, boundary),
      },
      (reply) => ({ responses: batchResponses(reply.header('content-type'), reply.text), requestId: requestIdOf(reply) }),
    );
    return answer as BatchAnswer;
  }

  /**
   * One page of a collection. `url` is a query built by collectionUrl or an
   * @odata.nextLink / @odata.deltaLink followed unchanged, with the same preferences.
   */
  async page(operation: string, url: string, prefer: { maxPageSize?: number; trackChanges?: boolean } = {}): Promise<ODataPage> {
    this.refuseForeign(url);
    const preferences = [`odata.maxpagesize=${Math.min(prefer.maxPageSize ?? DYNAMICS_MAX_PAGE_SIZE, DYNAMICS_MAX_PAGE_SIZE)}`];
    if (prefer.trackChanges) preferences.push('odata.track-changes');
    const body = (await this.get(operation, url, { Prefer: preferences.join(',') })) as {
      value?: unknown;
      '@odata.nextLink'?: string;
      '@odata.deltaLink'?: string;
    };
    if (!Array.isArray(body.value)) throw new TransientError('Dynamics 365 sent a page without a value array');
    return { value: body.value as Record<string, unknown>[], nextLink: body['@odata.nextLink'], deltaLink: body['@odata.deltaLink'] };
  }

  /**
   * A link followed unchanged (a delta link stored by an earlier run, a next link) is sent
   * with this organisation's token: one that leads anywhere but its Web API is never fetched.
   */
  private refuseForeign(url: string): void {
    let where: string;
    try {
      const parsed = new URL(url);
      where = `${parsed.origin}${parsed.pathname}`;
    } catch {
      where = 'a link that is not a URL';
    }
    if (!where.startsWith(this.webApi)) {
      throw new ApiError(`refusing to send the access token for ${this.settings.resourceUrl} to ${where}: it is not under the organisation's Web API (${this.webApi})`);
    }
  }

  /** The definition of the table behind an entity set, or null when the organisation has none. */
  async tableDefinition(entitySet: string): Promise<TableDefinition | null> {
    // OData string literals double their single quotes.
    const literal = `'${entitySet.replaceAll("'", "''")}'`;
    const tables = await this.page(
      `definition of ${entitySet}`,
      this.collectionUrl('EntityDefinitions', { $select: 'LogicalName,EntitySetName,PrimaryIdAttribute,ChangeTrackingEnabled', $filter: `EntitySetName eq ${literal}` }),
    );
    const table = tables.value[0] as { LogicalName: string; PrimaryIdAttribute: string; ChangeTrackingEnabled: boolean } | undefined;
    if (!table) return null;
    const columns = await this.page(
      `columns of ${entitySet}`,
      this.collectionUrl(`EntityDefinitions(LogicalName='${table.LogicalName}')/Attributes`, { $select: 'LogicalName,AttributeType,AttributeOf,IsValidForRead,IsValidForUpdate' }),
    );
    const attributes = (columns.value as { LogicalName: string; AttributeType: string; AttributeOf: string | null; IsValidForRead: boolean; IsValidForUpdate?: boolean }[])
      // A lookup's name and type columns (AttributeOf set) are no Web API properties: $select refuses them.
      .filter((column) => column.IsValidForRead && !column.AttributeOf)
      .map((column) => ({
        name: LOOKUP_TYPES.has(column.AttributeType) ? `_${column.LogicalName}_value` : column.LogicalName,
        type: column.AttributeType,
        updatable: column.IsValidForUpdate === true,
      }));
    return { entitySet, logicalName: table.LogicalName, primaryKey: table.PrimaryIdAttribute, changeTracking: table.ChangeTrackingEnabled === true, attributes };
  }

  /**
   * The options of each choice (Picklist) column of a table, by column name. The Attributes
   * collection lists no options: they are in each choice column's OptionSet, which only the
   * PicklistAttributeMetadata cast can expand.
   */
  async choiceOptions(logicalName: string): Promise<Map<string, number[]>> {
    const choices = await this.page(
      `choice columns of ${logicalName}`,
      this.collectionUrl(`EntityDefinitions(LogicalName='${logicalName}')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`, {
        $select: 'LogicalName',
        $expand: 'OptionSet($select=Options)',
      }),
    );
    const columns = choices.value as { LogicalName: string; OptionSet?: { Options?: { Value: number }[] } | null }[];
    return new Map(columns.map((column) => [column.LogicalName, (column.OptionSet?.Options ?? []).map((option) => option.Value)]));
  }

  private get(operation: string, url: string, headers: Record<string, string> = {}): Promise<unknown> {
    return this.call(operation, { method: 'GET', url, headers });
  }

  private call(operation: string, webRequest: WebApiRequest, parse?: (reply: Reply) => unknown): Promise<unknown> {
    const { limiter, tokens } = this.connection;
    return this.api.request(operation, {
      limiter,
      send: async () => {
        const reply = await this.send(webRequest, await tokens.token());
        return reply.status === 401 ? this.send(webRequest, await tokens.token(true)) : reply;
      },
      observe: (reply) => {
        const remaining = reply.header('x-ms-ratelimit-burst-remaining-xrm-requests');
        if (remaining !== undefined) limiter.reconcile(Number(remaining));
      },
      failure: (reply) => this.failure(operation, reply, webRequest.method === 'POST'),
      parse,
    });
  }

  private async send({ method, url, headers, body }: WebApiRequest, token: string): Promise<Reply> {
    this.metrics.requests++;
    try {
      const response = await request(url, {
        method,
        body,
        dispatcher: this.connection.dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'odata-maxversion': '4.0',
          'odata-version': '4.0',
          // Without it a proxy or the service may answer from a cache.
          'if-none-match': 'null',
          ...headers,
        },
      });
      const text = await response.body.text();
      this.metrics.bytesReceived += text.length;
      return { status: response.statusCode, header: (name) => headerValue(response.headers[name.toLowerCase()]), text };
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        throw new ApiError(`the certificate of ${this.settings.resourceUrl} is not trusted (${code}); set D365_CA_CERT to its CA bundle`);
      }
      throw this.api.connectionFailed(error);
    }
  }

  /** Dataverse's error responses, classified: what to retry and what to tell the user. */
  private failure(operation: string, reply: Reply, writes: boolean): Error {
    const body = errorBody<DataverseErrorBody>(reply);
    const code = body.error?.code ?? '';
    const message = body.error?.message ?? bodyExcerpt(reply);
    // Service protection always says how long to wait, in seconds.
    const transient = this.api.transientFailure(reply, {
      message,
      rateLimitReason: `throttled by service protection (${code || 'HTTP 429'})`,
      waitWithoutRetryAfterMs: this.api.policy.rateLimitWaitMs,
    });
    if (transient) return transient;
    const { status } = reply;
    if (code === EXPIRED_VERSION_STAMP) return new ChangesExpiredError(message);
    if (status === 401) {
      return new AuthError(
        `Dynamics 365 refused the access token for ${this.settings.resourceUrl} (401): check D365_RESOURCE_URL and that the application (D365_CLIENT_ID) is an application user of this environment`,
      );
    }
    if (status === 403) {
      return new AuthError(`Dynamics 365 refused ${operation} (403 ${code}): give the application user a security role that can ${writes ? 'write' : 'read'} this table (${message})`);
    }
    if (status === 400 && /change ?tracking|track-changes/i.test(message)) {
      return new ApiError(`${operation}: ${message}; turn on "Track changes" for the table, or set change_tracking: false for this object in mappings.yaml`, status);
    }
    if (status === 400 && /Could not find a property named/i.test(message)) {
      return new ApiError(`${operation}: ${message} Check the dynamics: block of this object in mappings.yaml; crmsync config check names every column the table lacks`, status);
    }
    if (status === 404) return new ApiError(`${operation}: Dynamics 365 answered 404 (${message}); check entity_set in mappings.yaml`, status);
    return this.api.rejected(operation, reply, code, message);
  }
}

/** undici gives a repeated header as an array. */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
