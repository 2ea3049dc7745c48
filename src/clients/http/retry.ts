import pRetry, { AbortError } from 'p-retry';
import { ApiError } from '../../errors.js';

/** A failure worth retrying: 429, 5xx, connection reset, timeout, unreadable body. */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly rateLimited = false,
  ) {
    super(message);
  }
}

/** Transient failures outlasted every retry: the API may well answer later. */
export class RetriesExhaustedError extends ApiError {}

export interface RetryPolicy {
  /** Retries after the first attempt; the run fails once they are used up. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** A response slower than this counts as a transient failure. */
  timeoutMs: number;
  /** How long a 429 without Retry-After waits: HubSpot's window is ten seconds. */
  rateLimitWaitMs: number;
}

/**
 * Five retries with backoff from 0.5 s doubling to at most 8 s: a flaky minute is ridden
 * out, a dead API fails the run within about half a minute.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, minDelayMs: 500, maxDelayMs: 8_000, timeoutMs: 60_000, rateLimitWaitMs: 10_000 };

/** What the run reports in performance_metrics. */
export interface RequestMetrics {
  requests: number;
  retries: number;
  rateLimited: number;
  bytesReceived: number;
  /**
   * HubSpot's daily request quota as its latest answer stated it (X-HubSpot-RateLimit-Daily-Remaining
   * and X-HubSpot-RateLimit-Daily); absent until an answer carried the headers, and for Dynamics 365.
   */
  hubspotDailyRemaining?: number;
  hubspotDailyLimit?: number;
  /** HubSpot: how many of `requests` went to the search endpoint, which has a budget of its own. */
  searches?: number;
}

export const emptyMetrics = (): RequestMetrics => ({ requests: 0, retries: 0, rateLimited: 0, bytesReceived: 0 });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one retry policy of crmsync. Transient failures back off exponentially with jitter
 * (and at least as long as Retry-After asks), bounded by `policy.retries`; anything else
 * (auth, bad request) fails at once.
 */
export async function withRetry<T>(
  operation: string,
  attempt: () => Promise<T>,
  options: { policy: RetryPolicy; metrics: RequestMetrics; onRetry?: (message: string) => void },
): Promise<T> {
  const { policy, metrics } = options;
  try {
    return await pRetry(
      async () => {
        try {
          return await attempt();
        } catch (error) {
          if (error instanceof TransientError) throw error;
          throw new AbortError(error as Error);
        }
      },
      {
        retries: policy.retries,
        minTimeout: policy.minDelayMs,
        maxTimeout: policy.maxDelayMs,
        factor: 2,
        randomize: true,
        onFailedAttempt: async ({ error, retriesLeft }) => {
          if (!(error instanceof TransientError) || retriesLeft <= 0) return;
          metrics.retries++;
          options.onRetry?.(`${operation}: ${error.message}; retrying (${retriesLeft} left)`);
          // p-retry adds its own jittered backoff after this wait.
          if (error.retryAfterMs) await sleep(error.retryAfterMs);
        },
      },
    );
  } catch (error) {
    if (error instanceof TransientError) {
      throw new RetriesExhaustedError(`${operation} still failing after ${policy.retries + 1} attempts: ${error.message}`);
    }
    throw error;
  }
}

/** Rejects with a TransientError when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`no response within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
