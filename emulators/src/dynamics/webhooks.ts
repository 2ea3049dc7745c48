/**
 * Webhooks as a Dataverse service endpoint (contract 8, a webhook) with asynchronous
 * post-operation steps for Create, Update and Delete of every served table receives them:
 * one POST per operation made through the Web API, its body the RemoteExecutionContext
 * serialized as JSON. Operations inside a $batch change set are sent once the set
 * commits; a rolled-back set sends nothing.
 *
 * The context's shape and its values' shapes follow the JSON of Dataverse's "Use webhooks"
 * documentation: `Target` is an Entity (Create, Update) or an EntityReference (Delete);
 * lookups are EntityReferences, choices OptionSetValues, money Money, date and time
 * `/Date(<ms>)/`; attribute names are logical names (`parentcustomerid`, not
 * `_parentcustomerid_value`). An Update's Target holds the columns the request wrote plus
 * those the platform set (modifiedon, modifiedby, a recomputed fullname); an update that
 * changes no value sends nothing. No entity images are registered.
 *
 * Authentication as a webhook registration sets it: WebhookKey sends the key as the
 * `code` query parameter, HttpQueryString as `key`, HttpHeader as the header
 * `x-webhook-key`. Dataverse retries a POST once, and only after a 502, 503 or 504; it
 * waits 60 s for an answer.
 */
import { randomUUID } from 'node:crypto';
import { hashString, mixSeed, Rng } from '../shared/prng.js';
import { checkDropRate, checkWebhookUrl, checkWhole, WebhookSender, type Delivery, type WebhookStats } from '../shared/webhook-sender.js';
import { stableGuid } from './principals.js';
import type { DynamicsStore, StoredRow, Table } from './store.js';
import type { Column } from './table-definitions.js';

export type WebhookAuth = 'WebhookKey' | 'HttpHeader' | 'HttpQueryString';

export interface DynamicsWebhookOptions {
  /** Where contexts are POSTed (http or https). */
  url: string;
  /** The key the receiver checks; without it no authentication is sent. */
  key?: string;
  /** How the key is sent; default 'WebhookKey' (`?code=<key>`). */
  auth?: WebhookAuth;
  /** Share (0..1) of contexts lost: never sent, never retried; drawn from the seeded PRNG. Default 0. */
  dropRate?: number;
  /** Wait before the one retry after a 502, 503 or 504; default 1000. */
  retryDelayMs?: number;
  /** POSTs in flight at once; default 4. */
  maxConcurrentRequests?: number;
  /** A request silent for this long has failed; default 60000 (Dataverse's 60 s). */
  timeoutMs?: number;
}

/** The header HttpHeader authentication sends the key in. */
export const WEBHOOK_KEY_HEADER = 'x-webhook-key';
const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';
const RETRIED_STATUSES = new Set([502, 503, 504]);
const AUTH_MODES: readonly WebhookAuth[] = ['WebhookKey', 'HttpHeader', 'HttpQueryString'];

type Message = 'Create' | 'Update' | 'Delete';
type KeyValue = { key: string; value: unknown };

/** `_parentcustomerid_value` → `parentcustomerid`: the attribute's logical name. */
function attributeName(column: Column): string {
  return /^_(.+)_value$/.exec(column.name)?.[1] ?? column.name;
}

function entityReference(logicalName: string, id: string): Record<string, unknown> {
  return { __type: `EntityReference:${CONTRACTS}`, Id: id, KeyAttributes: [], LogicalName: logicalName, Name: null, RowVersion: null };
}

const jsonDate = (ms: number) => `/Date(${ms})/`;

export class DataverseWebhooks {
  private readonly sender: WebhookSender<Record<string, unknown>>;
  private readonly url: string;
  private readonly key: string | undefined;
  private readonly auth: WebhookAuth;
  private readonly dropRate: number;
  private readonly drops: Rng;
  /** Contexts of the change set running, sent when it commits. */
  private held: Record<string, unknown>[] | null = null;

  constructor(
    options: DynamicsWebhookOptions,
    private readonly store: DynamicsStore,
    seedValue: number,
    private readonly now: () => number,
    /** The organisation's URL, https://host:port. */
    private readonly origin: () => string,
  ) {
    this.url = checkWebhookUrl('webhooks.url', options.url);
    if (options.key !== undefined && (typeof options.key !== 'string' || options.key === '')) throw new Error('webhooks.key must be a non-empty string');
    if (options.auth !== undefined && !AUTH_MODES.includes(options.auth)) throw new Error(`webhooks.auth must be one of ${AUTH_MODES.join(', ')}, got "${String(options.auth)}"`);
    if (options.auth !== undefined && options.key === undefined) throw new Error('webhooks.auth needs webhooks.key');
    this.key = options.key;
    this.auth = options.auth ?? 'WebhookKey';
    this.dropRate = checkDropRate('webhooks.dropRate', options.dropRate);
    this.drops = new Rng(mixSeed(seedValue, hashString('dataverse webhook drops')));
    const retryDelayMs = checkWhole('webhooks.retryDelayMs', options.retryDelayMs, 1000, 0);
    this.sender = new WebhookSender({
      concurrency: checkWhole('webhooks.maxConcurrentRequests', options.maxConcurrentRequests, 4, 1),
      timeoutMs: checkWhole('webhooks.timeoutMs', options.timeoutMs, 60_000, 1),
      maxAttempts: 2,
      retryDelay: (outcome) => (outcome.status !== undefined && RETRIED_STATUSES.has(outcome.status) ? retryDelayMs : undefined),
      size: () => 1,
      build: (context) => this.delivery(context),
    });
  }

  get stats(): WebhookStats {
    return this.sender.stats;
  }

  idle(): Promise<void> {
    return this.sender.idle();
  }

  close(): void {
    this.held = null;
    this.sender.close();
  }

  /** Runs a change set: its contexts are sent if it returns, forgotten if it throws. */
  atomically<T>(fn: () => T): T {
    if (this.held !== null) return fn();
    this.held = [];
    try {
      const result = fn();
      const contexts = this.held;
      this.held = null;
      for (const context of contexts) this.queue(context);
      return result;
    } catch (error) {
      this.held = null;
      throw error;
    }
  }

  created(table: Table, row: StoredRow): void {
    const columns = table.model.fields.filter((column) => row.values[column.index] !== null && row.values[column.index] !== undefined);
    this.emit(table, 'Create', row.id, this.entity(table, row, columns), [{ key: 'id', value: row.id }]);
  }

  /** An update of `before` into `after` writing `assigned` columns; nothing when no value changed. */
  updated(table: Table, before: StoredRow, after: StoredRow, assigned: ReadonlyMap<number, unknown>): void {
    const model = table.model;
    const platform = new Set([model.modifiedon.index, model.modifiedby.index, model.versionnumber.index]);
    const changed = model.fields.filter((column) => !platform.has(column.index) && before.values[column.index] !== after.values[column.index]);
    if (changed.length === 0) return;
    const written = new Set([model.key.index, model.modifiedon.index, model.modifiedby.index, ...assigned.keys(), ...changed.map((column) => column.index)]);
    const columns = model.fields.filter((column) => written.has(column.index));
    this.emit(table, 'Update', after.id, this.entity(table, after, columns), []);
  }

  deleted(table: Table, id: string): void {
    this.emit(table, 'Delete', id, entityReference(table.model.logicalName, id), []);
  }

  private emit(table: Table, message: Message, id: string, target: unknown, output: KeyValue[]): void {
    const context = this.context(table, message, id, target, output);
    if (this.held !== null) this.held.push(context);
    else this.queue(context);
  }

  private queue(context: Record<string, unknown>): void {
    this.sender.track(1);
    if (this.dropRate > 0 && this.drops.chance(this.dropRate)) this.sender.drop(1);
    else this.sender.send(context);
  }

  private entity(table: Table, row: StoredRow, columns: readonly Column[]): Record<string, unknown> {
    const attributes: KeyValue[] = columns.map((column) => ({ key: attributeName(column), value: this.attributeValue(column, row.values[column.index]) }));
    return {
      __type: `Entity:${CONTRACTS}`,
      Attributes: attributes,
      EntityState: null,
      FormattedValues: [],
      Id: row.id,
      KeyAttributes: [],
      LogicalName: table.model.logicalName,
      RelatedEntities: [],
      RowVersion: String(row.version),
    };
  }

  private attributeValue(column: Column, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    switch (column.type) {
      case 'lookup':
      case 'customer':
      case 'owner':
        return entityReference(this.referencedTable(column, value as string), value as string);
      case 'picklist':
      case 'state':
      case 'status':
        return { __type: `OptionSetValue:${CONTRACTS}`, Value: value };
      case 'money':
        return { __type: `Money:${CONTRACTS}`, Value: value };
      case 'datetime':
        return jsonDate(value as number);
      case 'date':
        return jsonDate(Date.parse(`${value as string}T00:00:00Z`));
      default:
        return value;
    }
  }

  /** The table a lookup's value is a row of: among its targets, the one holding that id. */
  private referencedTable(column: Column, id: string): string {
    const holder = column.targets.find((logicalName) => this.store.tableByLogicalName(logicalName)?.rows.has(id) || this.store.organisation.has(logicalName, id));
    return holder ?? column.targets[0] ?? attributeName(column);
  }

  /** The organisation's unique name, as Dataverse names organisations ('org' and hex digits). */
  private get organizationName(): string {
    return `org${this.store.organisation.organizationId.replace(/-/g, '').slice(0, 8)}`;
  }

  private context(table: Table, message: Message, id: string, target: unknown, output: KeyValue[]): Record<string, unknown> {
    const organisation = this.store.organisation;
    const logicalName = table.model.logicalName;
    return {
      BusinessUnitId: organisation.businessUnitId,
      CorrelationId: randomUUID(),
      Depth: 1,
      InitiatingUserId: organisation.userId,
      InputParameters: [{ key: 'Target', value: target }],
      IsExecutingOffline: false,
      IsInTransaction: false,
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: message,
      Mode: 1,
      OperationCreatedOn: jsonDate(this.now()),
      OperationId: randomUUID(),
      OrganizationId: organisation.organizationId,
      OrganizationName: this.organizationName,
      OutputParameters: output,
      OwningExtension: {
        Id: stableGuid('webhook step', message, logicalName),
        KeyAttributes: [],
        LogicalName: 'sdkmessageprocessingstep',
        Name: `crmsync emulator: ${message} of ${logicalName}`,
        RowVersion: null,
      },
      ParentContext: null,
      PostEntityImages: [],
      PreEntityImages: [],
      PrimaryEntityId: id,
      PrimaryEntityName: logicalName,
      RequestId: randomUUID(),
      SecondaryEntityName: 'none',
      SharedVariables: [],
      Stage: 40,
      UserId: organisation.userId,
    };
  }

  private delivery(context: Record<string, unknown>): Delivery {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'x-request-id': context.RequestId as string,
      'x-ms-correlation-request-id': context.CorrelationId as string,
      'x-ms-dynamics-organization': new URL(this.origin()).host,
      'x-ms-dynamics-entity-name': context.PrimaryEntityName as string,
      'x-ms-dynamics-request-name': context.MessageName as string,
    };
    let url = this.url;
    if (this.key !== undefined) {
      if (this.auth === 'HttpHeader') headers[WEBHOOK_KEY_HEADER] = this.key;
      else {
        const target = new URL(this.url);
        target.searchParams.set(this.auth === 'WebhookKey' ? 'code' : 'key', this.key);
        url = target.toString();
      }
    }
    return { url, headers, body: JSON.stringify(context) };
  }
}
