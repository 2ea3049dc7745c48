import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { WebhookEvents } from '../db/webhook-events.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { dynamicsRoute, hubspotRoute, receiveDelivery, Refusal, sendJson, type DeliveryContext, type WebhookRoute } from './webhook-routes.js';

export interface WebhookServerLimits {
  /** The largest body read; a longer one is answered 413. */
  maxBodyBytes: number;
  /** How long a client may take to send its headers, and its whole request; past either node answers 408 and closes. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** The flood limit of each webhook route: this many requests a second on average, twice as many at once. */
  requestsPerSecond: number;
  /** Connections held at once; those past it are dropped. Unlimited when not given. */
  maxConnections?: number;
}

export const DEFAULT_LIMITS: WebhookServerLimits = { maxBodyBytes: 1024 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, requestsPerSecond: 100 };

export interface WebhookServerOptions {
  host: string;
  port: number;
  /** HUBSPOT_CLIENT_SECRET; without it POST /webhooks/hubspot answers 404. */
  hubspotSecret?: string;
  /** D365_WEBHOOK_KEY; without it /webhooks/dynamics answers 404. */
  dynamicsKey?: string;
  /**
   * The public URL the CRMs post to (https://sync.example.com). HubSpot signs the URI it
   * used, which behind a proxy is not the one this process sees; only its origin counts, the
   * path is the one requested. Default: http:// and the Host header.
   */
  publicUrl?: string;
  events: WebhookEvents;
  /** Called once a delivery's new events are stored (not for a delivery of duplicates only). */
  onStored(count: number): void;
  /** GET /healthz: the JSON body, and whether healthy (200) or not (503). */
  health(): Promise<{ healthy: boolean; body: unknown }>;
  /** GET /metrics: Prometheus text. */
  metrics(): Promise<string>;
  log: Logger;
  limits?: Partial<WebhookServerLimits>;
  now?: () => number;
}

export interface WebhookServer {
  url: string;
  port: number;
  /** Stops accepting connections, lets the requests in progress finish (their events stored), then resolves. */
  close(): Promise<void>;
}

const WEBHOOK_PATHS = { '/webhooks/hubspot': 'hubspot', '/webhooks/dynamics': 'dynamics' } as const;
const NOT_CONFIGURED = {
  hubspot: 'HubSpot webhooks are not configured (set HUBSPOT_CLIENT_SECRET)',
  dynamics: 'Dynamics 365 webhooks are not configured (set D365_WEBHOOK_KEY)',
} as const;
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** Listens on host:port; the answer says where (port 0 picks a free port). */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const publicOrigin = options.publicUrl === undefined ? undefined : originOf(options.publicUrl);
  const routes = {
    hubspot: options.hubspotSecret ? hubspotRoute(options.hubspotSecret, publicOrigin, limits.requestsPerSecond, now) : undefined,
    dynamics: options.dynamicsKey ? dynamicsRoute(options.dynamicsKey, limits.requestsPerSecond, now) : undefined,
  };
  const context: DeliveryContext = { events: options.events, onStored: options.onStored, log: options.log, maxBodyBytes: limits.maxBodyBytes, now };
  let closing = false;
  let closed: Promise<void> | undefined;
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // How often node looks for requests past those timeouts (its default is 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  });
  if (limits.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (closing) response.setHeader('Connection', 'close');
    response.on('finish', () => {
      // A connection kept alive after its last answer would hold close() open.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    void dispatch(request, response, { routes, context, options });
  });
  const port = await listen(server, options.host, options.port);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        closing = true;
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

interface Dispatch {
  routes: Record<keyof typeof NOT_CONFIGURED, WebhookRoute | undefined>;
  context: DeliveryContext;
  options: WebhookServerOptions;
}

async function dispatch(request: IncomingMessage, response: ServerResponse, { routes, context, options }: Dispatch): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  try {
    if (Object.hasOwn(WEBHOOK_PATHS, path)) {
      const source = WEBHOOK_PATHS[path as keyof typeof WEBHOOK_PATHS];
      const route = routes[source];
      if (route === undefined) throw new Refusal(404, NOT_CONFIGURED[source]);
      await receiveDelivery(route, context, request, response);
    } else if (path === '/healthz') {
      await answerProbe(request, response, async () => {
        const { healthy, body } = await options.health();
        sendJson(response, healthy ? 200 : 503, body);
      });
    } else if (path === '/metrics') {
      await answerProbe(request, response, async () => {
        const text = await options.metrics();
        response.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT });
        response.end(text);
      });
    } else {
      throw new Refusal(404, 'no such path: the paths are POST /webhooks/hubspot, POST /webhooks/dynamics, GET /healthz and GET /metrics');
    }
  } catch (error) {
    answerFailure(request, response, path, error, context.log);
  }
}

async function answerProbe(request: IncomingMessage, response: ServerResponse, answer: () => Promise<void>): Promise<void> {
  if (request.method !== 'GET') throw new Refusal(405, 'only GET is accepted here', { Allow: 'GET' });
  try {
    await answer();
  } catch (error) {
    throw new Refusal(503, `${request.url} could not be read: ${(error as Error).message}`);
  }
}

/**
 * A refusal is answered with its status and one line, and logged at warn with neither
 * header values nor the query (Dataverse may send its key there). A body not read to its end
 * is left unread: the connection closes after the answer.
 */
function answerFailure(request: IncomingMessage, response: ServerResponse, path: string, error: unknown, log: Logger): void {
  const refusal = error instanceof Refusal ? error : new Refusal(500, 'the request could not be handled');
  if (!(error instanceof Refusal)) log.error(`${request.method} ${path}: ${(error as Error).message}`);
  else if (refusal.toLog) log.warn(`${request.method} ${path} refused: ${refusal.status} ${refusal.message}`);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const headers = request.complete ? refusal.headers : { ...refusal.headers, Connection: 'close' };
  sendJson(response, refusal.status, { message: refusal.message }, headers);
}

function originOf(publicUrl: string): string {
  let url: URL | undefined;
  try {
    url = new URL(publicUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new UsageError(`--public-url "${publicUrl}" is not an http(s) URL: give the address the CRMs post to, such as https://sync.example.com`);
  }
  return url.origin;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenProblem(error, host, port)));
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function listenProblem(error: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new UsageError(`cannot listen on ${host}:${port}: the port is in use; stop what holds it or choose another with --port`);
    case 'EACCES':
      return new UsageError(`cannot listen on ${host}:${port}: no permission (ports below 1024 need privileges); choose another with --port`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new UsageError(`cannot listen on ${host}: not an address of this machine; use --host 127.0.0.1, or 0.0.0.0 for every interface`);
    default:
      return error;
  }
}
