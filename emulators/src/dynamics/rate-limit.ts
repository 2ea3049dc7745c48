/**
 * Dataverse service protection limits, evaluated per user (here: per application, the
 * client id of the token) on the emulator's clock:
 *  - number of requests in a 5-minute sliding window (default 6000): 429 0x80072322,
 *    with Retry-After = seconds until the oldest request leaves the window;
 *  - concurrent requests (default 52): 429 0x80072326 at once;
 *  - combined execution time (1,200,000 ms per window): reported in the debug header
 *    x-ms-ratelimit-time-remaining-xrm-requests, never reached by emulated requests.
 * Refused requests do not take a slot. A $batch is one request.
 *
 * Dataverse sends x-ms-ratelimit-burst-remaining-xrm-requests and
 * x-ms-ratelimit-time-remaining-xrm-requests on every response, and clients pace
 * themselves by them; so does the emulator, with limits off too (then against
 * Dataverse's defaults, counted but never enforced).
 */
import { RollingWindow } from '../shared/rolling-window.js';
import { DataverseError, ERROR_CODES } from './errors.js';

export interface RateLimitOptions {
  /** Requests per window, default 6000. */
  requests?: number;
  /** Window length in ms, default 300_000. */
  windowMs?: number;
  /** Concurrent requests, default 52. */
  concurrent?: number;
}

const EXECUTION_BUDGET_MS = 1_200_000;

class UserLimits {
  readonly window: RollingWindow;
  inFlight = 0;
  /** [time, ms] of finished requests, for the execution-time header. */
  private readonly executions: [number, number][] = [];
  private executionMs = 0;

  constructor(
    max: number,
    readonly windowMs: number,
  ) {
    this.window = new RollingWindow(max, windowMs);
  }

  addExecution(now: number, ms: number): void {
    this.executions.push([now, ms]);
    this.executionMs += ms;
  }

  executionRemainingMs(now: number): number {
    while (this.executions.length > 0 && (this.executions[0] as [number, number])[0] <= now - this.windowMs) {
      this.executionMs -= (this.executions.shift() as [number, number])[1];
    }
    return Math.max(0, EXECUTION_BUDGET_MS - this.executionMs);
  }
}

export type Admission =
  | { ok: true; headers: Record<string, string>; release: (now: number, elapsedMs: number) => void }
  | { ok: false; error: DataverseError };

/** "1,199.46": seconds with a thousands separator and two decimals, as Dataverse sends it. */
function formatSeconds(ms: number): string {
  return (ms / 1000).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export class ServiceProtection {
  readonly enabled: boolean;
  readonly requests: number;
  readonly windowMs: number;
  readonly concurrent: number;
  private readonly users = new Map<string, UserLimits>();

  constructor(options: false | RateLimitOptions | undefined) {
    this.enabled = options !== undefined && options !== false;
    const settings = this.enabled ? (options as RateLimitOptions) : {};
    this.requests = settings.requests ?? 6000;
    this.windowMs = settings.windowMs ?? 300_000;
    this.concurrent = settings.concurrent ?? 52;
    for (const [name, value] of [['requests', this.requests], ['windowMs', this.windowMs], ['concurrent', this.concurrent]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`rateLimit.${name} must be a positive integer, got ${String(value)}`);
    }
  }

  private user(id: string): UserLimits {
    let limits = this.users.get(id);
    if (!limits) this.users.set(id, (limits = new UserLimits(this.requests, this.windowMs)));
    return limits;
  }

  /** Admits one request of `userId` at `now`, or refuses it with the service-protection 429. */
  admit(userId: string, now: number): Admission {
    const limits = this.user(userId);
    if (this.enabled) {
      const error = this.refusal(limits, now);
      if (error) return { ok: false, error };
    } else limits.window.record(now);
    limits.inFlight++;
    const headers = {
      'x-ms-ratelimit-burst-remaining-xrm-requests': String(limits.window.remaining(now)),
      'x-ms-ratelimit-time-remaining-xrm-requests': formatSeconds(limits.executionRemainingMs(now)),
    };
    let released = false;
    return {
      ok: true,
      headers,
      release: (at, elapsedMs) => {
        if (released) return;
        released = true;
        limits.inFlight--;
        limits.addExecution(at, elapsedMs);
      },
    };
  }

  /** The 429 for a request the limits refuse; otherwise it takes a slot of the window. */
  private refusal(limits: UserLimits, now: number): DataverseError | undefined {
    if (limits.inFlight >= this.concurrent) {
      return new DataverseError(429, ERROR_CODES.concurrencyLimit, `Number of concurrent requests exceeded the limit of ${this.concurrent}.`, { 'Retry-After': '1' });
    }
    if (limits.window.tryAcquire(now)) return undefined;
    const seconds = Math.max(1, Math.ceil(limits.window.msUntilFree(now) / 1000));
    return new DataverseError(
      429,
      ERROR_CODES.requestLimit,
      `Number of requests exceeded the limit of ${this.requests} over time window of ${Math.round(this.windowMs / 1000)} seconds.`,
      { 'Retry-After': String(seconds) },
    );
  }
}
