const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * At most `limit` requests in any `windowMs`, like HubSpot's rolling ten-second window or
 * Dataverse's five-minute one. Requests beyond that wait for the oldest one to leave the
 * window instead of drawing a 429. A small margin absorbs the difference between when a
 * request leaves here and when the API counts it.
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

  /** The API states its real limit: use it from now on. */
  resize(limit: number, windowMs: number): void {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** The API says `remaining` requests are left in the window: count the difference as sent. */
  reconcile(remaining: number): void {
    if (!Number.isFinite(remaining)) return;
    const now = Date.now();
    while (this.sent.length > 0 && this.sent[0] <= now - this.windowMs) this.sent.shift();
    for (let missing = this.limit - this.sent.length - remaining; missing > 0; missing--) this.sent.push(now);
  }
}
