/**
 * Delivery of webhook POSTs, shared by both emulators: a queue worked off by a few
 * concurrent requests, retries on a schedule each CRM's policy sets, and counters. A
 * request that caused a change only queues; sending happens later, on its own, so a slow
 * or failing receiver never slows or breaks the API.
 *
 * A unit is what one POST carries (HubSpot: a batch of events; Dataverse: one context);
 * the counters count events. Requests go out through an agent of the sender's own, so
 * close() can end every socket it opened.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Webhook counters, in events. */
export interface WebhookStats {
  /** Events the emulator produced for delivery (dropped ones included). */
  queued: number;
  /** Events a receiver acknowledged with a 2xx answer. */
  delivered: number;
  /** Events lost on purpose (`dropRate`): never sent, never retried. */
  dropped: number;
  /** Events given up on: a final error answer, or every attempt used. */
  failed: number;
  /** POSTs sent again after a failed attempt. */
  retries: number;
  /** Events neither delivered, dropped nor failed yet: waiting, in flight or waiting for a retry. */
  pending: number;
}

/** The counters of an emulator without webhooks: all 0, for good. */
export function noWebhookStats(): WebhookStats {
  return { queued: 0, delivered: 0, dropped: 0, failed: 0, retries: 0, pending: 0 };
}

/** One POST: where, with which headers (Content-Type included) and body. */
export interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How an attempt ended: an answer's status (and Retry-After), or no answer at all. */
export interface AttemptOutcome {
  status?: number;
  /** Retry-After of the answer, in ms. */
  retryAfterMs?: number;
}

export interface SenderOptions<Unit> {
  /** POSTs in flight at once. */
  concurrency: number;
  /** An attempt without a complete answer after this long has failed. */
  timeoutMs: number;
  /** Attempts per unit, the first included. */
  maxAttempts: number;
  /** The wait before retry `retry` (1 = the first) after a failed attempt; undefined: give up. */
  retryDelay(outcome: AttemptOutcome, retry: number): number | undefined;
  /** The events a unit holds. */
  size(unit: Unit): number;
  /** The POST of a unit's attempt `attempt` (0 = the first). */
  build(unit: Unit, attempt: number): Delivery;
}

interface Job<Unit> {
  unit: Unit;
  attempt: number;
}

/** Retry-After: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export class WebhookSender<Unit> {
  readonly stats: WebhookStats = noWebhookStats();
  private readonly queue: Job<Unit>[] = [];
  private inFlight = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly requests = new Set<ClientRequest>();
  private readonly waiters: (() => void)[] = [];
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });
  private closed = false;

  constructor(private readonly options: SenderOptions<Unit>) {}

  /** `count` new events (pending until sent, dropped or failed). */
  track(count: number): void {
    this.stats.queued += count;
    this.stats.pending += count;
  }

  /** `count` tracked events are lost on purpose. */
  drop(count: number): void {
    this.stats.dropped += count;
    this.settle(count);
  }

  /** Queues a unit of tracked events for delivery. */
  send(unit: Unit): void {
    if (this.closed) return;
    this.queue.push({ unit, attempt: 0 });
    this.pump();
  }

  /** Resolves when no event is pending (at once after close()). */
  idle(): Promise<void> {
    if (this.closed || this.stats.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops delivering: retry timers cleared, requests in flight and idle sockets ended. Pending events are abandoned. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const request of this.requests) request.destroy();
    this.requests.clear();
    this.queue.length = 0;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private settle(count: number): void {
    this.stats.pending -= count;
    if (this.stats.pending === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const job = this.queue.shift() as Job<Unit>;
      this.inFlight++;
      void this.attempt(job).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async attempt(job: Job<Unit>): Promise<void> {
    const outcome = await this.post(this.options.build(job.unit, job.attempt));
    if (this.closed) return;
    const count = this.options.size(job.unit);
    if (outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300) {
      this.stats.delivered += count;
      this.settle(count);
      return;
    }
    const retry = job.attempt + 1;
    const delay = retry < this.options.maxAttempts ? this.options.retryDelay(outcome, retry) : undefined;
    if (delay === undefined) {
      this.stats.failed += count;
      this.settle(count);
      return;
    }
    this.stats.retries++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.push({ unit: job.unit, attempt: retry });
      this.pump();
    }, delay);
    this.timers.add(timer);
  }

  /** One POST; never rejects: a connection failure or timeout is an outcome without status. */
  private post(delivery: Delivery): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(delivery.url);
      } catch {
        resolve({});
        return;
      }
      const https = url.protocol === 'https:';
      const body = Buffer.from(delivery.body, 'utf8');
      const headers = { ...delivery.headers, 'Content-Length': String(body.length) };
      const send = https ? httpsRequest : httpRequest;
      const request = send(url, { method: 'POST', headers, agent: https ? this.httpsAgent : this.httpAgent });
      this.requests.add(request);
      const done = (outcome: AttemptOutcome) => {
        this.requests.delete(request);
        resolve(outcome);
      };
      request.setTimeout(this.options.timeoutMs, () => request.destroy(new Error('webhook request timed out')));
      request.on('error', () => done({}));
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => done({ status: response.statusCode, retryAfterMs: retryAfterMs(response.headers['retry-after']) }));
        response.on('error', () => done({}));
      });
      request.end(body);
    });
  }
}

/** A webhook target URL: absolute http or https; anything else throws naming the option. */
export function checkWebhookUrl(option: string, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`${option} must be an http or https URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${option} must be an http or https URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${option} must be an http or https URL, got "${value}"`);
  return value;
}

/** A share of events to lose: a number in 0..1 (default 0). */
export function checkDropRate(option: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw new Error(`${option} must be a number from 0 to 1, got ${String(value)}`);
  return value;
}

/** A whole number ≥ min (default `fallback`). */
export function checkWhole(option: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${option} must be a whole number of at least ${min}, got ${String(value)}`);
  return value;
}

/** What each emulator's webhooks offer its handle. */
interface EmulatorWebhooks {
  readonly stats: WebhookStats;
  idle(): Promise<void>;
  close(): void;
}

/**
 * An emulator's webhooks, switched on, pointed elsewhere or off while it runs (a receiver
 * that listens only after the emulator started); `onChange` hands the server the current ones.
 */
export class SwitchableWebhooks<Options, Hooks extends EmulatorWebhooks> {
  current: Hooks | null;

  constructor(
    private readonly make: (options: Options) => Hooks,
    initial: Options | undefined,
    private readonly onChange: (hooks: Hooks | null) => void,
  ) {
    this.current = initial === undefined ? null : make(initial);
  }

  /** New options are checked before the current webhooks stop; their undelivered events are abandoned. */
  set(options: Options | undefined): void {
    const next = options === undefined ? null : this.make(options);
    this.current?.close();
    this.current = next;
    this.onChange(next);
  }

  get stats(): WebhookStats {
    return this.current?.stats ?? noWebhookStats();
  }

  idle(): Promise<void> {
    return this.current?.idle() ?? Promise.resolve();
  }

  close(): void {
    this.current?.close();
  }
}
