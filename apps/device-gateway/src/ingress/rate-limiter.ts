/** A token bucket per device: a misbehaving agent gets RATE_LIMITED instead of starving the others. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** null when allowed, else the milliseconds until a token is available. */
  take(key: string, now = Date.now()): number | null {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return null;
    }
    return Math.ceil(((1 - b.tokens) / this.perSecond) * 1000);
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
