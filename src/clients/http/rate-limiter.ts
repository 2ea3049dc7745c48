const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * At most `limit` requests in any `windowMs`, like HubSpot's rolling ten-second window or
 * Dataverse's five-minute one. Requests beyond that wait for the oldest one to leave the
 * window instead of drawing a 429. The API counts a request at some moment between its
 * sending and its answer: once answered, a request counts as made when its answer came, so
 * a request that waited in a queue on either side (a busy event loop, a busy server) never
 * frees its place early. A small margin absorbs the rest.
 */
export class RollingWindowLimiter {
  /** When each request of the window was sent, or answered once it has been; oldest first. */
  private readonly sent: { at: number }[] = [];

  constructor(
    private limit: number,
    private windowMs: number,
    private readonly marginMs = 25,
  ) {}

  /** Waits for a place in the window; the function returned tells of the request's answer. */
  async acquire(): Promise<() => void> {
    for (;;) {
      const now = Date.now();
      this.forgetBefore(now - this.windowMs);
      if (this.sent.length < this.limit) {
        const request = { at: now };
        this.sent.push(request);
        return () => this.answered(request);
      }
      await sleep(this.sent[0].at + this.windowMs - now + this.marginMs);
    }
  }

  private answered(request: { at: number }): void {
    request.at = Math.max(request.at, Date.now());
    this.sent.sort((a, b) => a.at - b.at);
  }

  private forgetBefore(time: number): void {
    while (this.sent.length > 0 && this.sent[0].at <= time) this.sent.shift();
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
    this.forgetBefore(now - this.windowMs);
    for (let missing = this.limit - this.sent.length - remaining; missing > 0; missing--) this.sent.push({ at: now });
  }
}
