/**
 * HubSpot's request limits: a rolling window (100 requests per 10 s for a free-tier
 * private app) for every call except search, which has its own per-second limit and is
 * exempt from the window, plus a daily quota that search counts against too. All windows
 * run on the emulator's clock.
 */
import { RollingWindow } from '../shared/rolling-window.js';

export interface RateLimitOptions {
  perInterval?: number;
  intervalMs?: number;
  searchPerSecond?: number;
  /** Requests per day, searches included; default 250,000. */
  daily?: number;
  retryAfter?: boolean;
}

/** The daily quota, reset at midnight UTC. */
export class DailyQuota {
  private day = -1;
  private used = 0;

  constructor(readonly max: number) {}

  private roll(now: number): void {
    const day = Math.floor(now / 86_400_000);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
  }

  tryAcquire(now: number): boolean {
    this.roll(now);
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  remaining(now: number): number {
    this.roll(now);
    return Math.max(0, this.max - this.used);
  }

  msUntilReset(now: number): number {
    return (Math.floor(now / 86_400_000) + 1) * 86_400_000 - now;
  }
}

export type RateDecision =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; headers: Record<string, string>; policyName: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY'; message: string };

/** Free/Starter private-app quota (crm-apis.md, "HubSpot: rate limits"). */
const DEFAULT_DAILY = 250_000;
/** With rate limiting off the headers still come, with values no client will hit. */
const UNLIMITED_PER_INTERVAL = 1_000_000;
const UNLIMITED_DAILY = 1_000_000_000;

/**
 * HubSpot's per-second figure next to a ten-secondly window: its share of one second
 * (100 per 10 s -> X-HubSpot-RateLimit-Secondly: 10, 190 -> 19, as real responses show).
 */
export function secondlyLimit(perInterval: number, intervalMs: number): number {
  return Math.max(1, Math.ceil((perInterval * 1000) / intervalMs));
}

export class RateLimiter {
  private readonly window: RollingWindow;
  /** Non-search requests of the last second, for the Secondly headers (not a limit of its own). */
  private readonly lastSecond: RollingWindow;
  private readonly secondly: number;
  private readonly search: RollingWindow | null;
  private readonly daily: DailyQuota;
  private readonly enforce: boolean;
  private readonly retryAfter: boolean;

  constructor(options: false | RateLimitOptions | undefined) {
    this.enforce = options !== undefined && options !== false;
    const settings = this.enforce ? (options as RateLimitOptions) : {};
    this.window = new RollingWindow(
      this.enforce ? (settings.perInterval ?? 100) : UNLIMITED_PER_INTERVAL,
      settings.intervalMs ?? 10_000,
    );
    this.secondly = secondlyLimit(this.window.max, this.window.intervalMs);
    // Large enough to count every request the window can admit within one second.
    this.lastSecond = new RollingWindow(Math.max(this.window.max, this.secondly), 1_000);
    this.search = this.enforce ? new RollingWindow(settings.searchPerSecond ?? 5, 1_000) : null;
    this.daily = new DailyQuota(this.enforce ? (settings.daily ?? DEFAULT_DAILY) : UNLIMITED_DAILY);
    this.retryAfter = settings.retryAfter ?? true;
  }

  private retryHeader(headers: Record<string, string>, waitMs: number): Record<string, string> {
    if (this.retryAfter) headers['Retry-After'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
    return headers;
  }

  /** Admits (or refuses) one request at `now`. */
  admit(isSearch: boolean, now: number): RateDecision {
    if (isSearch) {
      // Search responses carry the daily headers only: search counts against the daily
      // quota but has its own per-second limit instead of the ten-secondly window.
      if (this.search !== null && this.search.remaining(now) === 0) {
        return {
          ok: false,
          headers: this.retryHeader(this.dailyHeaders(now), this.search.msUntilFree(now)),
          policyName: 'SECONDLY',
          message: 'You have reached your secondly limit.',
        };
      }
      if (this.daily.remaining(now) === 0 && this.enforce) return this.dailyRefusal(this.dailyHeaders(now), now);
      this.search?.tryAcquire(now);
      this.daily.tryAcquire(now);
      return { ok: true, headers: this.dailyHeaders(now) };
    }
    const windowOk = this.window.remaining(now) > 0;
    const dailyOk = this.daily.remaining(now) > 0;
    if (windowOk && dailyOk) {
      this.window.tryAcquire(now);
      this.lastSecond.tryAcquire(now);
      this.daily.tryAcquire(now);
      return { ok: true, headers: this.headers(now) };
    }
    if (!dailyOk && this.enforce) return this.dailyRefusal(this.headers(now), now);
    return {
      ok: false,
      headers: this.retryHeader(this.headers(now), this.window.msUntilFree(now)),
      policyName: 'TEN_SECONDLY_ROLLING',
      message: 'You have reached your ten_secondly_rolling limit.',
    };
  }

  private dailyRefusal(headers: Record<string, string>, now: number): RateDecision {
    return {
      ok: false,
      headers: this.retryHeader(headers, this.daily.msUntilReset(now)),
      policyName: 'DAILY',
      message: 'You have reached your daily limit.',
    };
  }

  private dailyHeaders(now: number): Record<string, string> {
    return {
      'X-HubSpot-RateLimit-Daily': String(this.daily.max),
      'X-HubSpot-RateLimit-Daily-Remaining': String(this.daily.remaining(now)),
    };
  }

  private headers(now: number): Record<string, string> {
    const usedThisSecond = this.lastSecond.max - this.lastSecond.remaining(now);
    return {
      ...this.dailyHeaders(now),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(this.window.intervalMs),
      'X-HubSpot-RateLimit-Max': String(this.window.max),
      'X-HubSpot-RateLimit-Remaining': String(this.window.remaining(now)),
      'X-HubSpot-RateLimit-Secondly': String(this.secondly),
      'X-HubSpot-RateLimit-Secondly-Remaining': String(Math.max(0, this.secondly - usedThisSecond)),
    };
  }
}
