/**
 * uTP's clocks on the sending side (BEP 29): the retransmission timeout from RTT samples,
 * and LEDBAT, which grows the congestion window while the one-way delay our packets see
 * stays under a 100 ms target and shrinks it as the queue behind us grows, so uTP yields
 * to TCP on a shared link.
 */

/** BEP 29: "CCONTROL_TARGET ... 100 ms". */
export const TARGET_DELAY_US = 100_000;
/** BEP 29: "MAX_CWND_INCREASE_PACKETS_PER_RTT", in bytes: the most the window grows in one RTT at zero delay. */
const MAX_CWND_INCREASE_BYTES_PER_RTT = 3000;
/** BEP 29: the timeout never drops below 500 ms. */
export const MIN_RTO_MS = 500;
/** BEP 29: 1000 ms before the first RTT sample. */
export const INITIAL_RTO_MS = 1000;
const MAX_RTO_MS = 60_000;
/** The base delay is the least sample over the last two minutes or so (minute buckets, as LEDBAT's RFC 6817 keeps them). */
const BASE_BUCKET_MS = 60_000;
const BASE_BUCKETS = 3;
const SLOW_START_LIMIT = 256 * 1024;

/** RTT and RTO, BEP 29's formulas (RFC 6298 in all but the 500 ms floor). */
export class RttEstimator {
  rtt = 0;
  rttVar = 0;
  /** Whether any sample came in (before, `rtt` means nothing). */
  sampled = false;
  private backoff = 1;

  get rto(): number {
    const base = this.sampled ? Math.max(MIN_RTO_MS, this.rtt + 4 * this.rttVar) : INITIAL_RTO_MS;
    return Math.min(MAX_RTO_MS, base * this.backoff);
  }

  sample(ms: number): void {
    const m = Math.max(0, ms);
    if (!this.sampled) {
      this.sampled = true;
      this.rtt = m;
      this.rttVar = m / 2;
    } else {
      const delta = this.rtt - m;
      this.rttVar += (Math.abs(delta) - this.rttVar) / 4;
      this.rtt += (m - this.rtt) / 8;
    }
    this.backoff = 1;
  }

  /** A timeout fired: double the timeout until an ACK brings a fresh sample. */
  backOff(): void {
    if (this.backoff < 64) this.backoff *= 2;
  }
}

/** LEDBAT congestion window, in bytes. */
export class Ledbat {
  cwnd: number;
  /** Halvings on loss and collapses on timeout so far, for tests and traces. */
  halvings = 0;
  collapses = 0;
  private slowStart = true;
  /** Slow start ends here at the latest: past it, bursts overrun socket buffers long before delay builds up on a fast link. */
  private ssthresh = SLOW_START_LIMIT;
  /** Least delay sample per minute bucket, newest last. */
  private readonly buckets: number[] = [];
  private bucketStart = 0;
  /** The latest delay above the base, µs; undefined before the first sample. */
  private ourDelay: number | undefined;

  constructor(
    private readonly minWindow: number,
    private readonly maxWindow: number,
    initialWindow: number,
  ) {
    this.cwnd = initialWindow;
  }

  /** How far above its base the delay of our packets is (µs); 0 before any sample. */
  get queuingDelay(): number {
    return this.ourDelay ?? 0;
  }

  /** A `timestamp_difference` the peer echoed: the one-way delay of our packets plus clock offset. */
  delaySample(sampleUs: number, nowMs: number): void {
    if (this.buckets.length === 0 || nowMs - this.bucketStart >= BASE_BUCKET_MS) {
      this.buckets.push(sampleUs);
      if (this.buckets.length > BASE_BUCKETS) this.buckets.shift();
      this.bucketStart = nowMs;
    } else if (sampleUs < this.buckets[this.buckets.length - 1]!) {
      this.buckets[this.buckets.length - 1] = sampleUs;
    }
    let base = sampleUs;
    for (const b of this.buckets) if (b < base) base = b;
    this.ourDelay = sampleUs - base;
  }

  /**
   * `acked` bytes left the network; `inFlight` were outstanding before. The window grows only
   * while it is what limits the sender (RFC 7661's idea): a window that grew while something
   * else held the flight back (the peer's window, a packet cap, the application) would take
   * many round trips of LEDBAT's linear decrease to come back down once the delay rises, and
   * all that time uTP would keep its share against TCP.
   */
  onAck(acked: number, inFlight: number): void {
    const delay = this.ourDelay ?? 0;
    const offTarget = (TARGET_DELAY_US - delay) / TARGET_DELAY_US;
    const windowLimited = inFlight + this.minWindow > this.cwnd;
    if (this.slowStart) {
      // Exponential growth until the queue starts to build or the threshold of the last loss.
      if (offTarget > 0.1 && this.cwnd < this.ssthresh) {
        if (windowLimited) this.cwnd = Math.min(this.maxWindow, this.cwnd + acked);
        return;
      }
      this.slowStart = false;
    }
    const windowFactor = acked / Math.max(this.cwnd, inFlight, acked);
    // Unclamped below (BEP 29's formula, as libtorrent has it): twice the target sheds twice as fast.
    const gain = MAX_CWND_INCREASE_BYTES_PER_RTT * offTarget * windowFactor;
    if (gain > 0 && !windowLimited) return;
    this.cwnd = Math.min(this.maxWindow, Math.max(this.minWindow, this.cwnd + gain));
  }

  /** A packet was lost (three duplicate ACKs or selective ACKs past it): halve, once per window. */
  onLoss(): void {
    this.halvings++;
    this.cwnd = Math.max(this.minWindow, this.cwnd / 2);
    this.ssthresh = this.cwnd;
    this.slowStart = false;
  }

  /** The retransmission timer fired: one packet in flight, then slow start up to half the old window. */
  onTimeout(): void {
    this.collapses++;
    this.ssthresh = Math.max(this.minWindow, this.cwnd / 2);
    this.cwnd = this.minWindow;
    this.slowStart = true;
  }
}
