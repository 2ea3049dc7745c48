import { RollingWindowLimiter } from '../http/rate-limiter.js';
import type { Reply } from '../http/request.js';
import type { RequestMetrics } from '../http/retry.js';

/** HubSpot's page limits: the objects list endpoint and the search endpoint. */
export const HUBSPOT_LIST_LIMIT = 100;
export const HUBSPOT_SEARCH_LIMIT = 200;
/** Inputs of one batch request (read, create, update, upsert, archive). */
export const HUBSPOT_BATCH_LIMIT = 100;
/** "From" records of one v4 associations batch read. */
export const HUBSPOT_ASSOCIATIONS_BATCH_LIMIT = 1_000;

export interface HubSpotLimiters {
  /** Every request except searches: 100 per 10 s until HubSpot's headers say otherwise. */
  general: RollingWindowLimiter;
  /**
   * Searches have their own per-second limit and are exempt from the 10-second one. The
   * 2024 changelog gives 4 requests per second per token (later pages say 5 per account);
   * the lower figure never draws a 429.
   */
  search: RollingWindowLimiter;
}

const shared = new Map<string, HubSpotLimiters>();

/** One set of limiters per account (token and API), shared by every client in the process. */
export function limitersFor(baseUrl: string, accessToken: string): HubSpotLimiters {
  const key = `${baseUrl}\n${accessToken}`;
  let limiters = shared.get(key);
  if (!limiters) {
    limiters = { general: new RollingWindowLimiter(100, 10_000), search: new RollingWindowLimiter(4, 1_000) };
    shared.set(key, limiters);
  }
  return limiters;
}

/**
 * HubSpot states the account's real limit (it depends on the plan: 100, 110, 190, 250 per
 * 10 s) and what is left of it in every response. Other clients of the same account use
 * the same budget, so when HubSpot reports less left than we think, we count their
 * requests as ours.
 */
export function observeRateLimit(limiter: RollingWindowLimiter, reply: Reply): void {
  const max = Number(reply.header('x-hubspot-ratelimit-max'));
  const interval = Number(reply.header('x-hubspot-ratelimit-interval-milliseconds'));
  if (max > 0 && interval > 0) limiter.resize(max, interval);
  const remaining = reply.header('x-hubspot-ratelimit-remaining');
  if (remaining !== undefined) limiter.reconcile(Number(remaining));
}

/**
 * HubSpot states the account's daily quota in every answer to a private app's token, 429s
 * included (`X-HubSpot-RateLimit-Daily`, `-Daily-Remaining`; answers to OAuth tokens carry
 * neither). The run's metrics keep the latest figures, for `crmsync health`; they are
 * returned for the reserve the run keeps of the quota (daily-quota.ts).
 */
export function recordDailyQuota(metrics: RequestMetrics, reply: Reply): { remaining?: number; limit?: number } {
  const remaining = wholeNumber(reply.header('x-hubspot-ratelimit-daily-remaining'));
  if (remaining === undefined) return {};
  metrics.hubspotDailyRemaining = remaining;
  const limit = wholeNumber(reply.header('x-hubspot-ratelimit-daily'));
  if (limit !== undefined) metrics.hubspotDailyLimit = limit;
  return { remaining, limit };
}

function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text.trim()) ? Number(text) : undefined;
}
