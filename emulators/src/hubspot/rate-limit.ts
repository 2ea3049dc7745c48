/**
 * HubSpot's request limits: a rolling window (100 requests per 10 s for a free-tier
 * private app) for every call except search, which has its own per-second limit and is
 * exempt from the window, plus a daily quota. All windows run on the emulator's clock.
 */
import { RollingWindow } from '../shared/rolling-window.js';

export interface RateLimitOptions {
  perInterval?: number;
  intervalMs?: number;
  searchPerSecond?: number;
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

export class RateLimiter {
  private readonly window: RollingWindow;
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
    this.search = this.enforce ? new RollingWindow(settings.searchPerSecond ?? 5, 1_000) : null;
    this.daily = new DailyQuota(this.enforce ? DEFAULT_DAILY : UNLIMITED_DAILY);
    this.retryAfter = settings.retryAfter ?? true;
  }

  private retryHeader(headers: Record<string, string>, waitMs: number): Record<string, string> {
    if (this.retryAfter) headers['Retry-After'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
    return headers;
  }

  /** Admits (or refuses) one request at `now`. */
  admit(isSearch: boolean, now: number): RateDecision {
    if (isSearch) {
      // Search responses carry no X-HubSpot-RateLimit headers.
      if (this.search === null || this.search.tryAcquire(now)) return { ok: true, headers: {} };
      return {
        ok: false,
        headers: this.retryHeader({}, this.search.msUntilFree(now)),
        policyName: 'SECONDLY',
        message: 'You have reached your secondly limit.',
      };
    }
    const windowOk = this.window.remaining(now) > 0;
    const dailyOk = this.daily.remaining(now) > 0;
    if (windowOk && dailyOk) {
      this.window.tryAcquire(now);
      this.daily.tryAcquire(now);
      return { ok: true, headers: this.headers(now) };
    }
    if (!dailyOk && this.enforce) {
      return {
        ok: false,
        headers: this.retryHeader(this.headers(now), this.daily.msUntilReset(now)),
        policyName: 'DAILY',
        message: 'You have reached your daily limit.',
      };
    }
    return {
      ok: false,
      headers: this.retryHeader(this.headers(now), this.window.msUntilFree(now)),
      policyName: 'TEN_SECONDLY_ROLLING',
      message: 'You have reached your ten_secondly_rolling limit.',
    };
  }

  private headers(now: number): Record<string, string> {
    return {
      'X-HubSpot-RateLimit-Daily': String(this.daily.max),
      'X-HubSpot-RateLimit-Daily-Remaining': String(this.daily.remaining(now)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(this.window.intervalMs),
      'X-HubSpot-RateLimit-Max': String(this.window.max),
      'X-HubSpot-RateLimit-Remaining': String(this.window.remaining(now)),
    };
  }
}
