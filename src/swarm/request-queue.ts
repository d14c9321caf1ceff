/**
 * How many requests to keep outstanding with one peer (libtorrent's request queue sizing).
 *
 * Steady state: three seconds of the peer's measured rate (`request_queue_time`), at least
 * `MIN_REQUEST_DEPTH`, at most what the peer accepts (BEP 10 `reqq`) and 500
 * (`max_out_request_queue`).
 *
 * Slow start: a new peer's rate is not known yet (the meter spreads its first bytes over a
 * whole second), so the queue starts at `MIN_REQUEST_DEPTH` and grows by one request for each
 * block received: it doubles every round trip, as a TCP window does, and a fast peer is kept
 * full within its first second. Slow start ends at the first tick whose rate is no more than
 * a tenth above the tick before (the rate stopped growing: the queue is deep enough) or when
 * the queue reached its bound; from then on the rate alone sizes the queue. Every unchoke
 * starts it again.
 *
 * Near the end a peer keeps no more than its share of what is left, in proportion to its
 * rate (`blocksLeft` × `share`): each then finishes when the swarm does, where a slow peer
 * that took three seconds of blocks would hold the last ones while the fast peers wait for
 * them. A peer in slow start has no measured share and keeps its ramp. Endgame keeps a
 * fifth of a second of the rate.
 *
 * Pure over time: the caller passes the rates it measured.
 */
import { requestQueueDepth, type QueueDepthOptions } from './rate.js';

/**
 * Requests kept with a peer whose rate is not measured yet: 1 MiB. A rate-capped seeder
 * (libtorrent hands out upload quota in 0.5 s rounds) then sends 2 MiB/s from the first
 * round, and slow start grows the queue from there.
 */
export const MIN_REQUEST_DEPTH = 64;
/** libtorrent `max_out_request_queue`. */
export const MAX_REQUEST_DEPTH = 500;
/** Endgame: a peer keeps a fifth of a second of its rate requested, and at least a few blocks. */
const ENDGAME_QUEUE_MS = 200;
const ENDGAME_MIN_DEPTH = 4;
/** Steady state: seconds of the rate kept requested (libtorrent `request_queue_time`). */
const QUEUE_MS = 3000;
/** Slow start ends when a tick's rate is below this factor of the tick before. */
const GROWTH = 1.1;

/** `requestQueueDepth`'s settings, made once: `depth` runs for every block received. */
const BY_RATE: QueueDepthOptions = { queueTimeMs: QUEUE_MS, min: MIN_REQUEST_DEPTH, max: MAX_REQUEST_DEPTH };
const IN_ENDGAME: QueueDepthOptions = { queueTimeMs: ENDGAME_QUEUE_MS, min: ENDGAME_MIN_DEPTH };

export interface DepthInput {
  /** The peer's measured receive rate, bytes per second. */
  readonly rate: number;
  /** Its BEP 10 `reqq`. */
  readonly maxOutstanding: number;
  readonly snubbed: boolean;
  readonly endgame: boolean;
  /** Blocks not received yet (an upper bound will do). */
  readonly blocksLeft?: number;
  /** The peer's part of the swarm's receive rate, 0..1 (undefined: not measured). */
  readonly share?: number;
}

export class RequestQueue {
  private slow = true;
  private ramp = MIN_REQUEST_DEPTH;
  private lastRate = -1;

  /** The peer is still in slow start. */
  get slowStart(): boolean {
    return this.slow;
  }

  /**
   * The peer unchoked us (again): its rate from before says little about now, and a peer
   * idle long enough to measure near zero would otherwise start from its share near the end.
   */
  restart(): void {
    this.slow = true;
    this.ramp = MIN_REQUEST_DEPTH;
    this.lastRate = -1;
  }

  /** A block we asked for arrived. */
  onBlock(): void {
    if (this.slow) this.ramp = Math.min(MAX_REQUEST_DEPTH, this.ramp + 1);
  }

  /**
   * Once a second with the peer's rate, while it is sending (unchoked, with requests). The
   * first tick only records the rate: it may have covered part of a second.
   */
  onTick(rate: number, maxOutstanding: number): void {
    if (!this.slow) return;
    if ((this.lastRate >= 0 && rate <= this.lastRate * GROWTH) || this.ramp >= Math.min(maxOutstanding, MAX_REQUEST_DEPTH)) this.slow = false;
    this.lastRate = rate;
  }

  /** Requests to keep outstanding now. */
  depth(s: DepthInput): number {
    if (s.snubbed) return 1;
    const byRate = requestQueueDepth(s.rate, BY_RATE);
    let depth = Math.min(s.maxOutstanding, this.slow ? Math.max(this.ramp, byRate) : byRate);
    if (!this.slow && s.blocksLeft !== undefined && s.share !== undefined) {
      depth = Math.min(depth, Math.max(ENDGAME_MIN_DEPTH, Math.ceil(s.blocksLeft * s.share)));
    }
    return s.endgame ? Math.min(depth, requestQueueDepth(s.rate, IN_ENDGAME)) : depth;
  }
}
