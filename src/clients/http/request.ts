import { ApiError } from '../../errors.js';
import { TransientError, withRetry, withTimeout, type RequestMetrics, type RetryPolicy } from './retry.js';

/** An HTTP answer, read to the end, as both CRMs' clients see it. */
export interface Reply {
  status: number;
  /** A header's value; names are case-insensitive. */
  header(name: string): string | undefined;
  text: string;
}

/** One request to a CRM's API, with what to make of its answers. */
export interface JsonRequest {
  /** The API as messages name it: HubSpot, Dynamics 365. */
  api: string;
  policy: RetryPolicy;
  metrics: RequestMetrics;
  onRetry?: (message: string) => void;
  limiter: { acquire(): Promise<void> };
  /** Sends the request once and reads the whole answer. */
  send(): Promise<Reply>;
  /** Learns from a successful answer (the rate-limit headers). */
  observe?(reply: Reply): void;
  /** What an unsuccessful answer means: the CRM's own table, after transientFailure. */
  failure(reply: Reply): Error;
}

/** Sends a request through the rate limiter and the one retry policy and returns its JSON body. */
export function requestJson(operation: string, request: JsonRequest): Promise<unknown> {
  const { policy, metrics, onRetry } = request;
  return withRetry(
    operation,
    async () => {
      // Waiting for the rate limiter is not the API being slow: the timeout starts after it.
      await request.limiter.acquire();
      const reply = await withTimeout(request.send(), policy.timeoutMs);
      if (reply.status < 200 || reply.status >= 300) throw request.failure(reply);
      request.observe?.(reply);
      return parseJson(reply.text, request.api);
    },
    { policy, metrics, onRetry },
  );
}

/**
 * A successful answer's body. An empty one (204 No Content) is `{}`; one that is not JSON
 * (cut off mid-stream) is a transient failure, retried like a reset connection.
 */
export function parseJson(text: string, sender: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new TransientError(`${sender} sent an unreadable response (${text.length} bytes of invalid JSON)`);
  }
}

/** The error body of an answer, or nothing when it is not JSON (a proxy's HTML page, a truncated body): the status decides. */
export function errorBody<T extends object>(reply: Reply): Partial<T> {
  try {
    const body: unknown = JSON.parse(reply.text);
    return body !== null && typeof body === 'object' ? (body as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** The start of a body without a message of its own, or the bare status. */
export function bodyExcerpt(reply: Reply): string {
  return reply.text.slice(0, 200) || `HTTP ${reply.status}`;
}

/**
 * Whatever the CRM: 429 waits at least as long as Retry-After says (in seconds) and is
 * counted, 5xx is retried with backoff. Anything else is the CRM's to classify (undefined).
 */
export function transientFailure(
  reply: Reply,
  api: string,
  said: { message: string; rateLimitReason: string; waitWithoutRetryAfterMs: number },
  metrics: RequestMetrics,
): TransientError | undefined {
  if (reply.status === 429) {
    metrics.rateLimited++;
    const retryAfter = Number(reply.header('retry-after'));
    return new TransientError(said.rateLimitReason, retryAfter > 0 ? retryAfter * 1000 : said.waitWithoutRetryAfterMs, true);
  }
  if (reply.status >= 500) return new TransientError(`${api} answered ${reply.status}: ${said.message}`);
  return undefined;
}

/** Connection refused or reset, socket hang-up, body cut off mid-stream: worth retrying. */
export function connectionFailed(api: string, error: unknown, redact: (text: string) => string = (text) => text): TransientError {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return new TransientError(`connection to ${api} failed: ${redact(code || message || String(error))}`);
}

/** The text with every occurrence of the secret replaced, so that no message carries it. */
export function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join('***') : text;
}

/** A 4xx the CRM's table does not know. */
export function rejected(operation: string, api: string, reply: Reply, code: string, message: string): ApiError {
  return new ApiError(`${operation}: ${api} rejected the request (${reply.status}${code ? ` ${code}` : ''}): ${message}`, reply.status);
}

/** A request started ahead of need: if the consumer stops early, its failure is nobody's concern. */
export function prefetch<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
