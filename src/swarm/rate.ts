/**
 * Transfer-rate measurement and the request pipeline depth derived from it.
 * Pure: the caller passes the time (milliseconds, any monotonic origin).
 */
import { BLOCK_SIZE } from './picker.js';

export interface RateMeterOptions {
  /** Length of the averaging window. Default 20 s: the choker compares peers over two rounds. */
  readonly windowMs?: number;
  /** Granularity; the window holds `windowMs / bucketMs` buckets. Default 1 s. */
  readonly bucketMs?: number;
}

/**
 * Bytes per second over a sliding window of fixed buckets. `add` and `rate` are O(1)
 * amortized (each bucket is cleared once per window). The window spans the full older
 * buckets plus the elapsed part of the current one, so a steady stream reads steady. While
 * the meter is younger than its window the rate is taken over its age (at least one
 * bucket), so a new peer is not under-rated for the first 20 s.
 * Time that goes backwards is treated as no time passing.
 */
export class RateMeter {
  private readonly bucketMs: number;
  private readonly buckets: Float64Array;
  private total = 0;
  /** Index (time / bucketMs) of the newest bucket, or undefined before the first call. */
  private head: number | undefined;
  private latest = 0;
  private started = 0;

  constructor(opts: RateMeterOptions = {}) {
    this.bucketMs = opts.bucketMs ?? 1000;
    const windowMs = opts.windowMs ?? 20_000;
    if (!(this.bucketMs > 0) || !(windowMs >= this.bucketMs)) throw new RangeError('RateMeter: need windowMs >= bucketMs > 0');
    this.buckets = new Float64Array(Math.round(windowMs / this.bucketMs));
  }

  add(bytes: number, now: number): void {
    const slot = this.advance(now);
    this.buckets[slot % this.buckets.length]! += bytes;
    this.total += bytes;
  }

  /** Bytes per second. */
  rate(now: number): number {
    const slot = this.advance(now);
    const window = (this.buckets.length - 1) * this.bucketMs + (this.latest - slot * this.bucketMs);
    const span = Math.min(window, Math.max(this.bucketMs, this.latest - this.started));
    return (this.total * 1000) / span;
  }

  private advance(now: number): number {
    const slot = Math.floor(now / this.bucketMs);
    if (this.head === undefined) {
      this.head = slot;
      this.started = now;
      this.latest = now;
      return slot;
    }
    if (now > this.latest) this.latest = now;
    if (slot <= this.head) return this.head;
    const n = this.buckets.length;
    if (slot - this.head >= n) {
      this.buckets.fill(0);
      this.total = 0;
    } else {
      for (let s = this.head + 1; s <= slot; s++) {
        this.total -= this.buckets[s % n]!;
        this.buckets[s % n] = 0;
      }
    }
    this.head = slot;
    return slot;
  }
}

export interface QueueDepthOptions {
  /** Round-trip time to the peer; matters only when longer than half the queue time. */
  readonly rttMs?: number;
  /** Seconds of transfer to keep requested. Default 3 s (libtorrent `request_queue_time`). */
  readonly queueTimeMs?: number;
  /** Floor, so a peer with no measured rate yet still ramps up. Default 4. */
  readonly min?: number;
  /** Ceiling (libtorrent `max_out_request_queue`, 500). Default 500. */
  readonly max?: number;
}

/**
 * How many 16 KiB requests to keep outstanding with a peer: the bandwidth-delay product,
 * rate × max(queueTime, 2 × rtt) / block size, clamped to [min, max]. libtorrent sizes its
 * queue the same way (rate × request_queue_time / block size); the generous 3 s covers disk
 * and scheduling stalls, and 2 × rtt keeps a long link full.
 */
export function requestQueueDepth(rateBytesPerSec: number, opts: QueueDepthOptions = {}): number {
  const min = opts.min ?? 4;
  const max = opts.max ?? 500;
  const ms = Math.max(opts.queueTimeMs ?? 3000, 2 * (opts.rttMs ?? 0));
  // NaN and negative rates count as "not measured yet"; Infinity clamps to `max`.
  const rate = rateBytesPerSec > 0 ? rateBytesPerSec : 0;
  return Math.min(max, Math.max(min, Math.ceil((rate * ms) / 1000 / BLOCK_SIZE)));
}
