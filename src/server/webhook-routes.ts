import type { IncomingMessage, ServerResponse } from 'node:http';
import { CRM_NAMES, type SourceName } from '../config/sources.js';
import type { WebhookEvents } from '../db/webhook-events.js';
import type { Logger } from '../log.js';
import { dynamicsEvent, hubspotEvents, WebhookBodyError, type IncomingEvent } from '../processors/webhook-events.js';
import { hubspotSignatureProblem, sameSecret, signedUri } from './hubspot-signature.js';
import { BodyTooLargeError, declaredLength, FloodLimiter, readBody } from './request-limits.js';

/** A request answered with a status other than 200, and the one line that says why. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** False when the refusal was logged already (a flood's are counted, not logged one by one). */
    readonly toLog = true,
  ) {
    super(message);
  }
}

/** What a webhook route needs of the server it runs in. */
export interface DeliveryContext {
  events: WebhookEvents;
  onStored(count: number): void;
  log: Logger;
  maxBodyBytes: number;
  now: () => number;
}

/** One CRM's webhook endpoint. */
export interface WebhookRoute {
  source: SourceName;
  limiter: FloodLimiter;
  /** The status past the flood limit. */
  floodStatus: 429 | 503;
  /** Refusals past the flood limit since the last line that counted them. */
  flood: { refused: number; loggedAt: number };
  /** Why the request is not the CRM's, judged before the body is read (null: go on). */
  checkHead(request: IncomingMessage): string | null;
  /** Why the request is not the CRM's, judged on the body as sent (null: go on). */
  checkBody(request: IncomingMessage, rawBody: Buffer): string | null;
  parse(body: unknown): IncomingEvent[];
}

/** Both routes refuse a flood: `requestsPerSecond` on average, twice that at once. */
function floodLimiter(requestsPerSecond: number, now: () => number): FloodLimiter {
  return new FloodLimiter(requestsPerSecond, 2 * requestsPerSecond, now);
}

/**
 * HubSpot's v3 webhooks. HubSpot signs the URI it posted to: behind a proxy that is the
 * public origin, not the Host this process sees.
 */
export function hubspotRoute(clientSecret: string, publicOrigin: string | undefined, requestsPerSecond: number, now: () => number): WebhookRoute {
  return {
    source: 'hubspot',
    limiter: floodLimiter(requestsPerSecond, now),
    // HubSpot honours Retry-After on a 429 and retries later.
    floodStatus: 429,
    flood: { refused: 0, loggedAt: -Infinity },
    checkHead: () => null,
    checkBody: (request, rawBody) =>
      hubspotSignatureProblem({
        clientSecret,
        method: request.method ?? 'POST',
        uri: signedUri(publicOrigin ?? `http://${request.headers.host ?? ''}`, request.url ?? '/'),
        rawBody,
        timestamp: oneHeader(request, 'x-hubspot-request-timestamp'),
        signature: oneHeader(request, 'x-hubspot-signature-v3'),
        now: now(),
      }),
    parse: hubspotEvents,
  };
}

/**
 * Dataverse's service endpoint: with auth WebhookKey the key comes as the `code` query
 * parameter, with HttpHeader as a header (x-webhook-key).
 */
export function dynamicsRoute(key: string, requestsPerSecond: number, now: () => number): WebhookRoute {
  return {
    source: 'dynamics',
    limiter: floodLimiter(requestsPerSecond, now),
    // Dataverse retries a failed delivery once, and only after 502, 503 or 504: a 429 would lose it.
    floodStatus: 503,
    flood: { refused: 0, loggedAt: -Infinity },
    checkHead: (request) => {
      const given = [...codeParameters(request.url ?? '/'), oneHeader(request, 'x-webhook-key')].filter((value): value is string => value !== undefined);
      if (given.length === 0) return 'no key: expected the code query parameter or an x-webhook-key header';
      return given.some((value) => sameSecret(value, key)) ? null : 'the key does not match D365_WEBHOOK_KEY';
    },
    checkBody: () => null,
    parse: (body) => [dynamicsEvent(body)],
  };
}

function oneHeader(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The `code` query parameter as sent and percent-decoded. URLSearchParams is not used: it
 * reads '+' as a space, and a key may hold a '+' that its sender did not escape.
 */
function codeParameters(requestUrl: string): string[] {
  const query = requestUrl.includes('?') ? requestUrl.slice(requestUrl.indexOf('?') + 1) : '';
  const values: string[] = [];
  for (const pair of query.split('&')) {
    if (!pair.startsWith('code=')) continue;
    const raw = pair.slice('code='.length);
    values.push(raw);
    try {
      values.push(decodeURIComponent(raw));
    } catch {
      // A malformed escape: only the value as sent can match.
    }
  }
  return values;
}

const isJson = (contentType: string | undefined) => (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/json';

/**
 * Receives one delivery: refused (Refusal) unless it is a POST within the flood limit, JSON,
 * within the size cap, the CRM's own and of the shape it sends; then its events are stored,
 * and only then answered 200.
 */
export async function receiveDelivery(route: WebhookRoute, context: DeliveryContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') throw new Refusal(405, 'only POST is accepted here', { Allow: 'POST' });
  const wait = route.limiter.take();
  if (wait > 0) throw floodRefusal(route, context, wait);
  if (!isJson(request.headers['content-type'])) throw new Refusal(415, 'the body must be sent as Content-Type: application/json');
  if ((declaredLength(request) ?? 0) > context.maxBodyBytes) throw new Refusal(413, `the body is larger than ${context.maxBodyBytes} bytes`);
  const headProblem = route.checkHead(request);
  if (headProblem !== null) throw new Refusal(401, headProblem);
  const rawBody = await readBody(request, context.maxBodyBytes).catch((error: Error) => {
    throw error instanceof BodyTooLargeError ? new Refusal(413, error.message) : error;
  });
  const bodyProblem = route.checkBody(request, rawBody);
  if (bodyProblem !== null) throw new Refusal(401, bodyProblem);
  const events = parseEvents(route, rawBody);
  let saved: { stored: number; duplicates: number };
  try {
    saved = context.events.save(events);
  } catch (error) {
    context.log.error(`webhook ${route.source}: ${events.length} events not stored: ${(error as Error).message}`);
    throw new Refusal(500, 'the events could not be stored; send them again');
  }
  sendJson(response, 200, saved);
  context.log.debug(`webhook ${route.source}: stored=${saved.stored} duplicates=${saved.duplicates}`);
  if (saved.stored > 0) context.onStored(saved.stored);
}

/** A flood would write a warning a request: one line a second at the most counts them. */
function floodRefusal(route: WebhookRoute, context: DeliveryContext, retryAfterSeconds: number): Refusal {
  route.flood.refused += 1;
  const now = context.now();
  if (now - route.flood.loggedAt >= 1000) {
    context.log.warn(`POST /webhooks/${route.source} refused: ${route.floodStatus} past the flood limit, ${route.flood.refused} since the last such line`);
    route.flood = { refused: 0, loggedAt: now };
  }
  return new Refusal(route.floodStatus, 'too many requests: past the flood limit, send it again later', { 'Retry-After': String(retryAfterSeconds) }, false);
}

function parseEvents(route: WebhookRoute, rawBody: Buffer): IncomingEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new Refusal(400, 'the body is not JSON');
  }
  try {
    return route.parse(body);
  } catch (error) {
    if (error instanceof WebhookBodyError) throw new Refusal(400, `the body is not a ${CRM_NAMES[route.source]} webhook: ${error.message}`);
    throw error;
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}
