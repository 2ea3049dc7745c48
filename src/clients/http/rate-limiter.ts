const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * At most `limit` requests in any `windowMs`, like HubSpot's rolling ten-second window or
 * Dataverse's five-minute one.
 * Requests beyond that wait for the oldest one to leave the window instead of drawing a
 * 429. A small margin absorbs the difference between when a request leaves here and when
 * HubSpot counts it.
 */
export class RollingWindowLimiter {
  private readonly sent: number[] = [];

  constructor(
    private limit: number,
    private windowMs: number,
    private readonly marginMs = 25,
  ) {}

  async acquire(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.sent.length > 0 && this.sent[0] <= now - this.windowMs) this.sent.shift();
      if (this.sent.length < this.limit) {
        this.sent.push(now);
        return;
      }
      await sleep(this.sent[0] + this.windowMs - now + this.marginMs);
    }
  }

  /**
   * HubSpot states the account's real limit (it depends on the plan: 100, 110, 190, 250
   * per 10 s) and what is left of it in every response. Other clients of the same account
   * use the same budget, so when HubSpot reports less left than we think, we count their
   * requests as ours.
   */
  observe(headers: { get(name: string): string | null }): void {
    const max = Number(headers.get('x-hubspot-ratelimit-max'));
    const interval = Number(headers.get('x-hubspot-ratelimit-interval-milliseconds'));
    if (max > 0 && interval > 0) {
      this.limit = max;
      this.windowMs = interval;
    }
    const remainingHeader = headers.get('x-hubspot-ratelimit-remaining');
    if (remainingHeader !== null) this.reconcile(Number(remainingHeader));
  }

  /** The API says `remaining` requests are left in the window: count the difference as sent. */
  reconcile(remaining: number): void {
    if (!Number.isFinite(remaining)) return;
    const now = Date.now();
    while (this.sent.length > 0 && this.sent[0] <= now - this.windowMs) this.sent.shift();
    for (let missing = this.limit - this.sent.length - remaining; missing > 0; missing--) this.sent.push(now);
  }
}

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
