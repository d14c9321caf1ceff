/**
 * Bandwidth limits (`--max-down`, `--max-up`): token buckets in bytes per second, on an
 * injected clock.
 *
 * The bucket runs on debt rather than permission: bytes that have already moved (a socket read,
 * a block written) are charged with `consume`, which may take the balance below zero, and the
 * caller then holds off for `delayMs()` (pauses the socket it reads, or delays the next send).
 * Charging after the fact is what a download needs, since the bytes of a read arrive whether
 * asked for or not; over any long interval the bytes moved are rate × time plus at most one
 * burst, whatever the size of each charge.
 *
 * A limit may have a parent (the session's limit above each torrent's): every charge counts
 * against the whole chain, and the delay is the longest in it. A rate of 0 means unlimited.
 */
import type { Clock } from '../util/clock.js';

/** Bytes that may pass at once after a quiet spell: a tenth of a second of the rate… */
const BURST_SECONDS = 0.1;
/** …but never less than one block, so a slow limit still moves whole blocks. */
const MIN_BURST = 16 * 1024;

export class BandwidthLimit {
  private rateBps: number;
  /** Bytes that may move now; negative while in debt. */
  private balance = 0;
  private at: number;

  constructor(
    rateBytesPerSecond: number,
    private readonly clock: Clock,
    readonly parent?: BandwidthLimit,
  ) {
    this.rateBps = checkedRate(rateBytesPerSecond);
    this.at = clock.now();
  }

  /** Bytes per second; 0 is unlimited. */
  get rate(): number {
    return this.rateBps;
  }

  /** Change the rate while transfers run; the debt owed so far is kept (at the new rate). */
  setRate(rateBytesPerSecond: number): void {
    this.refill();
    this.rateBps = checkedRate(rateBytesPerSecond);
    this.balance = Math.min(this.balance, this.burst());
  }

  /** Charge bytes that moved (here and up the chain); returns `delayMs()` after the charge. */
  consume(bytes: number): number {
    for (let l: BandwidthLimit | undefined = this; l !== undefined; l = l.parent) {
      if (l.rateBps === 0) continue;
      l.refill();
      l.balance -= bytes;
    }
    return this.delayMs();
  }

  /** Milliseconds to wait before moving more bytes: 0 when no limit in the chain is in debt. */
  delayMs(): number {
    let wait = 0;
    for (let l: BandwidthLimit | undefined = this; l !== undefined; l = l.parent) {
      if (l.rateBps === 0) continue;
      l.refill();
      if (l.balance < 0) wait = Math.max(wait, Math.ceil((-l.balance / l.rateBps) * 1000));
    }
    return wait;
  }

  private burst(): number {
    return Math.max(MIN_BURST, this.rateBps * BURST_SECONDS);
  }

  private refill(): void {
    const now = this.clock.now();
    // Time that goes backwards (a wall-clock step) adds nothing.
    const elapsed = Math.max(0, now - this.at);
    this.at = now;
    if (this.rateBps === 0) return;
    this.balance = Math.min(this.burst(), this.balance + (elapsed / 1000) * this.rateBps);
  }
}

function checkedRate(r: number): number {
  if (!(Number.isFinite(r) && r >= 0)) throw new RangeError(`bandwidth limit must be a finite number ≥ 0, got ${r}`);
  return r;
}

/** A reader that `throttleReads` can pause: a peer and its socket. */
export interface ThrottledReader {
  throttled: boolean;
  readonly conn: { readonly state: string; pause(): void; resume(): void };
}

/**
 * The download limit: bytes that arrived are charged, and while the limit is in debt the
 * peer's socket is not read, so TCP slows the sender down (libtorrent and aria2 do the same).
 * `live` says whether the swarm still runs; a closed socket is left alone.
 */
export function throttleReads(p: ThrottledReader, bytes: number, limit: BandwidthLimit, clock: Clock, live: () => boolean): void {
  const wait = limit.consume(bytes);
  if (wait <= 0 || p.throttled) return;
  p.throttled = true;
  p.conn.pause();
  const check = (): void => {
    if (p.conn.state === 'closed' || !live()) return;
    const more = limit.delayMs();
    if (more > 0) {
      clock.setTimeout(check, more);
      return;
    }
    p.throttled = false;
    p.conn.resume();
  };
  clock.setTimeout(check, wait);
}
