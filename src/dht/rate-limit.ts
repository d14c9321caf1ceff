/**
 * Token buckets that keep the node from being used for amplification or flooding: one per
 * source IP for incoming queries, one global for everything we send. Pure, on an injected
 * clock (milliseconds).
 */

export interface RateOptions {
  /** Sustained rate, in events per second. */
  readonly perSecond: number;
  /** Events allowed at once after a quiet period. */
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: RateOptions,
    private readonly now: () => number,
  ) {
    this.tokens = rate.burst;
    this.at = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is available (0 if one is available now). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.at) / 1000) * this.rate.perSecond);
    this.at = now;
  }
}

/**
 * One bucket per key (source IP), in a bounded map. When the map is full the least recently
 * created bucket is dropped: that can only make a source's limit more generous, never let the
 * map grow.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: RateOptions,
    private readonly now: () => number,
    private readonly maxKeys = 4096,
  ) {}

  allow(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      bucket = new TokenBucket(this.rate, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  size(): number {
    return this.buckets.size;
  }
}
