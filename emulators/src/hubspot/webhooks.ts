/**
 * Webhooks as a HubSpot app subscribed to every creation, property change and deletion
 * receives them: events of changes made through the API, gathered briefly into batches of
 * at most 100, POSTed as a JSON array signed with the v3 signature, retried as HubSpot
 * retries them.
 *
 * Event fields as HubSpot's webhooks guide and captured deliveries show them: contacts,
 * companies, deals and tickets have their own subscription types (`contact.creation`);
 * other types (line items, custom objects) the generic `object.creation` with an
 * `objectTypeId`. API writes are `changeSource: 'INTEGRATION'` with the app id as
 * `sourceId`. Creations carry `changeFlag: 'CREATED'` and deletions `'DELETED'`
 * (HubSpot's test events say 'NEW'; real deliveries 'CREATED'); property changes carry no
 * changeFlag but `propertyName` and `propertyValue` (a cleared value: '').
 */
import { createHmac } from 'node:crypto';
import { hashString, mixSeed, Rng } from '../shared/prng.js';
import { checkDropRate, checkWebhookUrl, checkWhole, WebhookSender, type AttemptOutcome, type Delivery, type WebhookStats } from '../shared/webhook-sender.js';
import type { Snapshot } from './object-table.js';
import type { ObjectTypeDefinition } from './object-types.js';

export interface HubSpotWebhookOptions {
  /** Where events are POSTed (http or https). */
  url: string;
  /** The app's client secret: the key of the v3 signature. */
  secret: string;
  /** Share (0..1) of events lost: never sent, never retried; drawn per event from the seeded PRNG. Default 0. */
  dropRate?: number;
  /** Attempts per batch, the first included; default 10 (HubSpot's). */
  maxAttempts?: number;
  /** Wait before the first retry, doubling with each further one up to 60 s; default 1000. */
  retryBaseMs?: number;
  /** How long events are gathered before a batch goes out; default 20. */
  batchDelayMs?: number;
  /** The app id in events and `sourceId`; default 1160452. */
  appId?: number;
  /** POSTs in flight at once (HubSpot's maxConcurrentRequests setting); default 4. */
  maxConcurrentRequests?: number;
  /** A request silent for this long has failed; default 5000 (HubSpot's five seconds). */
  timeoutMs?: number;
}

/** At most this many events per POST. */
export const WEBHOOK_BATCH_MAX_EVENTS = 100;
const MAX_RETRY_DELAY_MS = 60_000;
/** Answers HubSpot does not retry; every other failure is retried. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 405]);
/** Objects with subscription types of their own (the generic ones cover the rest). */
const LEGACY_NAMES: Record<string, string> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-5': 'ticket' };
/** Percent-encoded sequences decoded in the signed URI, as HubSpot's v3 validation rule lists them. */
const SIGNED_URI_DECODED = /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

type Change = 'creation' | 'propertyChange' | 'deletion';

/** An event without its attemptNumber (set per delivery attempt). */
export type WebhookEvent = Record<string, string | number>;

/** The v3 signature: base64 HMAC-SHA256 of method, URI (some sequences decoded), body and timestamp. */
export function signatureV3(secret: string, method: string, url: string, body: string, timestamp: string): string {
  const uri = url.replace(SIGNED_URI_DECODED, (sequence) => decodeURIComponent(sequence));
  return createHmac('sha256', secret).update(`${method}${uri}${body}${timestamp}`, 'utf8').digest('base64');
}

export class HubSpotWebhooks {
  private readonly sender: WebhookSender<WebhookEvent[]>;
  private readonly url: string;
  private readonly secret: string;
  private readonly dropRate: number;
  private readonly batchDelayMs: number;
  private readonly appId: number;
  private readonly drops: Rng;
  private readonly jitter: Rng;
  private waiting: WebhookEvent[] = [];
  private batchTimer: NodeJS.Timeout | undefined;
  private nextEventId = 1;

  constructor(
    options: HubSpotWebhookOptions,
    private readonly portalId: number,
    seedValue: number,
  ) {
    this.url = checkWebhookUrl('webhooks.url', options.url);
    if (typeof options.secret !== 'string' || options.secret === '') throw new Error('webhooks.secret must be a non-empty string (the app client secret)');
    this.secret = options.secret;
    this.dropRate = checkDropRate('webhooks.dropRate', options.dropRate);
    this.batchDelayMs = checkWhole('webhooks.batchDelayMs', options.batchDelayMs, 20, 0);
    this.appId = checkWhole('webhooks.appId', options.appId, 1160452, 1);
    const retryBaseMs = checkWhole('webhooks.retryBaseMs', options.retryBaseMs, 1000, 0);
    this.drops = new Rng(mixSeed(seedValue, hashString('hubspot webhook drops')));
    this.jitter = new Rng(mixSeed(seedValue, hashString('hubspot webhook jitter')));
    this.sender = new WebhookSender<WebhookEvent[]>({
      concurrency: checkWhole('webhooks.maxConcurrentRequests', options.maxConcurrentRequests, 4, 1),
      timeoutMs: checkWhole('webhooks.timeoutMs', options.timeoutMs, 5000, 1),
      maxAttempts: checkWhole('webhooks.maxAttempts', options.maxAttempts, 10, 1),
      retryDelay: (outcome, retry) => this.retryDelay(outcome, retry, retryBaseMs),
      size: (events) => events.length,
      build: (events, attempt) => this.delivery(events, attempt),
    });
  }

  get stats(): WebhookStats {
    return this.sender.stats;
  }

  idle(): Promise<void> {
    return this.sender.idle();
  }

  close(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.waiting = [];
    this.sender.close();
  }

  created(def: ObjectTypeDefinition, record: Snapshot, at: number): void {
    this.queue(def, 'creation', record.id, at);
  }

  deleted(def: ObjectTypeDefinition, id: number, at: number): void {
    this.queue(def, 'deletion', id, at);
  }

  /** One event per property whose value the write changed (not the ones the CRM sets itself). */
  changed(def: ObjectTypeDefinition, before: Snapshot, after: Snapshot, at: number): void {
    if (before === after) return;
    const calculated = new Set(['hs_object_id', def.creationProperty, def.modificationProperty]);
    const names = new Set([...Object.keys(before.props), ...Object.keys(after.props)]);
    for (const name of [...names].sort()) {
      if (calculated.has(name)) continue;
      const value = after.props[name] ?? '';
      if ((before.props[name] ?? '') === value) continue;
      this.queue(def, 'propertyChange', after.id, at, { propertyName: name, propertyValue: value });
    }
  }

  private queue(def: ObjectTypeDefinition, change: Change, objectId: number, at: number, property?: { propertyName: string; propertyValue: string }): void {
    const legacy = LEGACY_NAMES[def.objectTypeId];
    const subscriptionType = `${legacy ?? 'object'}.${change}`;
    const event: WebhookEvent = {
      eventId: this.nextEventId++,
      subscriptionId: subscriptionIdOf(subscriptionType, def.objectTypeId, property?.propertyName),
      portalId: this.portalId,
      appId: this.appId,
      occurredAt: at,
      subscriptionType,
      objectId,
      changeSource: 'INTEGRATION',
      sourceId: String(this.appId),
    };
    if (legacy === undefined) event.objectTypeId = def.objectTypeId;
    if (change === 'creation') event.changeFlag = 'CREATED';
    if (change === 'deletion') event.changeFlag = 'DELETED';
    if (property) Object.assign(event, property);
    this.sender.track(1);
    // Drawn per event in event order: the same writes lose the same events in every run.
    if (this.dropRate > 0 && this.drops.chance(this.dropRate)) {
      this.sender.drop(1);
      return;
    }
    this.waiting.push(event);
    this.batchTimer ??= setTimeout(() => this.flush(), this.batchDelayMs);
  }

  private flush(): void {
    this.batchTimer = undefined;
    const events = this.waiting;
    this.waiting = [];
    for (let start = 0; start < events.length; start += WEBHOOK_BATCH_MAX_EVENTS) this.sender.send(events.slice(start, start + WEBHOOK_BATCH_MAX_EVENTS));
  }

  private delivery(events: WebhookEvent[], attempt: number): Delivery {
    const body = JSON.stringify(events.map((event) => ({ ...event, attemptNumber: attempt })));
    // Receivers check the timestamp against their own clock: the wall clock, whatever the emulator's.
    const timestamp = String(Date.now());
    return {
      url: this.url,
      body,
      headers: {
        'Content-Type': 'application/json',
        'X-HubSpot-Signature-v3': signatureV3(this.secret, 'POST', this.url, body, timestamp),
        'X-HubSpot-Request-Timestamp': timestamp,
        'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/)',
      },
    };
  }

  private retryDelay(outcome: AttemptOutcome, retry: number, baseMs: number): number | undefined {
    if (outcome.status !== undefined && FINAL_STATUSES.has(outcome.status)) return undefined;
    if (outcome.status === 429 && outcome.retryAfterMs !== undefined) return outcome.retryAfterMs;
    const backoff = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** (retry - 1));
    return Math.round(backoff * (1 + 0.25 * this.jitter.next()));
  }
}

/** A stable id per subscription (a property change subscription is per property). */
function subscriptionIdOf(subscriptionType: string, objectTypeId: string, propertyName = ''): number {
  return 100_000 + (hashString(`${subscriptionType}\u0000${objectTypeId}\u0000${propertyName}`) % 900_000);
}
