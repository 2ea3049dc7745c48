/** Sliding-window counter of accepted requests. */
export class RollingWindow {
  private readonly times: number[] = [];
  private head = 0;

  constructor(
    readonly max: number,
    readonly intervalMs: number,
  ) {}

  private expire(now: number): void {
    const times = this.times;
    while (this.head < times.length && (times[this.head] as number) <= now - this.intervalMs) this.head++;
    if (this.head > 4096 && this.head * 2 > times.length) {
      times.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Takes a slot if one is free. */
  tryAcquire(now: number): boolean {
    this.expire(now);
    if (this.times.length - this.head >= this.max) return false;
    this.times.push(now);
    return true;
  }

  /** Counts a request whether or not a slot is free (a window that measures without limiting). */
  record(now: number): void {
    this.expire(now);
    this.times.push(now);
  }

  remaining(now: number): number {
    this.expire(now);
    return Math.max(0, this.max - (this.times.length - this.head));
  }

  /** Milliseconds until the oldest request leaves the window and frees a slot. */
  msUntilFree(now: number): number {
    this.expire(now);
    const oldest = this.times[this.head];
    return oldest === undefined ? 0 : Math.max(0, oldest + this.intervalMs - now);
  }
}
