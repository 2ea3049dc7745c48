import { ApiError } from '../../errors.js';
import { DEFAULT_RETRY_POLICY, TransientError, emptyMetrics, withRetry, withTimeout, type RetryPolicy } from './retry.js';

/** An HTTP answer, read to the end, as both CRMs' clients see it. */
export interface Reply {
  status: number;
  /** A header's value; names are case-insensitive. */
  header(name: string): string | undefined;
  text: string;
}

/** One request: how to send it and what to make of its answers. */
export interface Exchange {
  /** Gives the request its place in the API's rate limit; the function it returns is called once the answer is in. */
  limiter: { acquire(): Promise<() => void> };
  /** Sends the request once and reads the whole answer. */
  send(): Promise<Reply>;
  /** Learns from a successful answer (the rate-limit headers). */
  observe?(reply: Reply): void;
  /** What an unsuccessful answer means: the CRM's own table, after transientFailure. */
  failure(reply: Reply): Error;
  /** What a successful answer holds: its JSON body unless told otherwise. A TransientError if it cannot be read. */
  parse?(reply: Reply): unknown;
}

/** A CRM's JSON API as its client uses it: the one retry policy, the request counters, and the request loop. */
export class JsonApi {
  readonly metrics = emptyMetrics();

  constructor(
    /** As messages name the API: HubSpot, Dynamics 365. */
    readonly name: string,
    private readonly options: { retry?: RetryPolicy; onRetry?: (message: string) => void } = {},
  ) {}

  get policy(): RetryPolicy {
    return this.options.retry ?? DEFAULT_RETRY_POLICY;
  }

  /** Sends a request through its rate limiter and the retry policy and returns its body, parsed. */
  request(operation: string, exchange: Exchange): Promise<unknown> {
    const { policy, metrics } = this;
    return withRetry(
      operation,
      async () => {
        // Waiting for the rate limiter is not the API being slow: the timeout starts after it.
        const answered = await exchange.limiter.acquire();
        const reply = await withTimeout(exchange.send(), policy.timeoutMs).finally(answered);
        if (reply.status < 200 || reply.status >= 300) throw exchange.failure(reply);
        exchange.observe?.(reply);
        return exchange.parse ? exchange.parse(reply) : parseJson(reply.text, this.name);
      },
      { policy, metrics, onRetry: this.options.onRetry },
    );
  }

  /**
   * Whatever the CRM: 429 waits at least as long as Retry-After says (in seconds) and is
   * counted, 5xx is retried with backoff. Anything else is the CRM's to classify (undefined).
   */
  transientFailure(reply: Reply, said: { message: string; rateLimitReason: string; waitWithoutRetryAfterMs: number }): TransientError | undefined {
    if (reply.status === 429) {
      this.metrics.rateLimited++;
      const retryAfter = Number(reply.header('retry-after'));
      return new TransientError(said.rateLimitReason, retryAfter > 0 ? retryAfter * 1000 : said.waitWithoutRetryAfterMs, true);
    }
    if (reply.status >= 500) return new TransientError(`${this.name} answered ${reply.status}: ${said.message}`);
    return undefined;
  }

  /** Connection refused or reset, socket hang-up, body cut off mid-stream: worth retrying. */
  connectionFailed(error: unknown, redact: (text: string) => string = (text) => text): TransientError {
    const { code, message } = (error ?? {}) as { code?: string; message?: string };
    return new TransientError(`connection to ${this.name} failed: ${redact(code || message || String(error))}`);
  }

  /** A 4xx the CRM's table does not know. */
  rejected(operation: string, reply: Reply, code: string, message: string): ApiError {
    return new ApiError(`${operation}: ${this.name} rejected the request (${reply.status}${code ? ` ${code}` : ''}): ${message}`, reply.status);
  }
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

/** The text with every occurrence of the secret replaced, so that no message carries it. */
export function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join('***') : text;
}

/** A request started ahead of need: if the consumer stops early, its failure is nobody's concern. */
export function prefetch<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
