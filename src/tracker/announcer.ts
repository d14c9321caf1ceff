/**
 * The announce schedule of one torrent: when to ask which tracker, on an injected clock.
 *
 * Each round walks the tiers in BEP 12 order and stops at the first tracker that answers;
 * the next round comes after that tracker's interval (sooner, within its `min interval`,
 * while the torrent wants peers). Each tracker has a state of its own:
 *  - one that fails is skipped until its back-off is over: 30 s · 2^(failures − 1), at most
 *    30 min, each delay scaled by a random factor in [0.75, 1.25) so that many clients of a
 *    tracker that comes back do not all return at once;
 *  - BEP 31 `retry in` replaces the back-off by the tracker's own delay (at least a minute);
 *  - one that answers HTTP 404 or 410, or `retry in: never`, is gone for the session: it is
 *    never asked again, not even to be told `stopped`.
 * Events: a tracker gets `started` in its first announce that succeeds, `completed` in the
 * first one after the download completes (if it had seen us start), and `stopped` when the
 * torrent stops, if it ever answered. `stop` is bounded: whatever the trackers do, it
 * resolves within `stopTimeoutMs`, with every request aborted.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { TrackerOptions } from './announce.js';
import type { TrackerError } from './errors.js';
import { TrackerSet } from './tiers.js';
import type { AnnounceEvent, AnnounceParams } from './types.js';

/** Re-announce bounds: never more often than a minute, never less than every half hour. */
export const MIN_ANNOUNCE_S = 60;
export const MAX_ANNOUNCE_S = 1800;
/** First back-off after a failure; it doubles with each further failure. */
export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_MAX_MS = 30 * 60_000;
/** Default bound on `stop`: the `stopped` announces and anything still in flight. */
export const STOP_TIMEOUT_MS = 1500;

export interface AnnouncerOptions {
  readonly tiers: readonly (readonly string[])[];
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  /** The transfer counters to report, read at each announce. */
  stats(): { readonly uploaded: number; readonly downloaded: number; readonly left: number };
  /** True while more peers would help: the next regular announce then comes as early as allowed. */
  wantPeers?(): boolean;
  onPeers(peers: PeerAddress[]): void;
  /** One tracker failed (it may be retried later, or be gone: `error.gone`). */
  onError?(url: string, error: TrackerError): void;
  onWarning?(url: string, warning: string): void;
  /** Timeouts and transport options of each exchange. */
  readonly tracker?: Omit<TrackerOptions, 'clock'>;
  readonly clock?: Clock;
  /** Uniform in [0, 1): tier shuffles and back-off jitter (default Math.random). */
  readonly random?: () => number;
  readonly stopTimeoutMs?: number;
  /** Peers asked for in each announce (default 200). */
  readonly numWant?: number;
  /** Our public addresses to announce (BEP 7 `ipv4=`/`ipv6=`), read at each announce. */
  externalAddresses?(): { readonly ipv4?: string; readonly ipv6?: string };
}

export interface TrackerStatus {
  readonly url: string;
  /** It answered at least once (so it will be told `stopped`). */
  readonly announced: boolean;
  readonly failures: number;
  readonly gone: boolean;
  /** While backing off: when it may be asked again (clock ms). */
  readonly retryAt: number | undefined;
}

interface TrackerState {
  announced: boolean;
  completedPending: boolean;
  failures: number;
  gone: boolean;
  retryAt: number | undefined;
}

export class Announcer {
  private readonly set: TrackerSet;
  private readonly opts: AnnouncerOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly state = new Map<string, TrackerState>();
  private readonly abort = new AbortController();
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;

  constructor(opts: AnnouncerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.set = new TrackerSet(opts.tiers, { ...opts.tracker, clock: this.clock, random: this.random });
    for (const url of this.set.urls) this.state.set(url, { announced: false, completedPending: false, failures: 0, gone: false, retryAt: undefined });
  }

  /** Announce now (`started` to each tracker on its first success), then on schedule. */
  start(): void {
    this.announceNow();
  }

  /** The download completed: tell the trackers that saw us start, now. */
  complete(): void {
    for (const st of this.state.values()) if (st.announced) st.completedPending = true;
    this.announceNow();
  }

  /** Stop announcing; tell `stopped` to every tracker that answered and is not gone; bounded. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.timer?.cancel();
    const deadline = new AbortController();
    const timer = this.clock.setTimeout(() => deadline.abort(), this.opts.stopTimeoutMs ?? STOP_TIMEOUT_MS);
    const expired = new Promise<void>((resolve) => deadline.signal.addEventListener('abort', () => resolve(), { once: true }));
    this.abort.abort();
    try {
      await Promise.race([this.running, expired]);
      if (deadline.signal.aborted) return;
      const params = { ...this.params(), event: 'stopped' as const, numWant: 0, signal: deadline.signal };
      const told = [...this.state].filter(([, st]) => st.announced && !st.gone).map(([url]) => this.set.announceTo(url, params));
      await Promise.race([Promise.all(told), expired]);
    } finally {
      timer.cancel();
      deadline.abort();
    }
  }

  status(): TrackerStatus[] {
    return this.set.urls.map((url) => {
      const st = this.state.get(url)!;
      return { url, announced: st.announced, failures: st.failures, gone: st.gone, retryAt: st.retryAt };
    });
  }

  /** Run a round now, or right after the one in flight. */
  private announceNow(): void {
    if (this.stopping) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.running = this.round().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.announceNow();
      }
    });
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.announceNow(), Math.max(0, ms));
  }

  /** One BEP 12 walk over the trackers not backing off; schedules the next one. */
  private async round(): Promise<void> {
    for (const tier of this.set.tiers) {
      for (const url of tier) {
        const st = this.state.get(url)!;
        if (st.gone || (st.retryAt !== undefined && st.retryAt > this.clock.now())) continue;
        const event: AnnounceEvent | undefined = !st.announced ? 'started' : st.completedPending ? 'completed' : undefined;
        const outcome = await this.set.announceTo(url, {
          ...this.params(),
          ...(event === undefined ? {} : { event }),
          numWant: this.opts.numWant ?? 200,
          signal: this.abort.signal,
        });
        if (this.stopping) return;
        if ('error' in outcome) {
          this.failed(st, outcome.error);
          this.opts.onError?.(url, outcome.error);
          continue;
        }
        const r = outcome.result;
        st.announced = true;
        if (event === 'completed') st.completedPending = false;
        st.failures = 0;
        st.retryAt = undefined;
        if (r.warning !== undefined) this.opts.onWarning?.(url, r.warning);
        this.opts.onPeers(r.peers);
        const min = Math.max(MIN_ANNOUNCE_S, r.minInterval ?? 0);
        const next = this.opts.wantPeers?.() === true ? min : Math.min(MAX_ANNOUNCE_S, Math.max(min, r.interval));
        this.schedule(next * 1000);
        return;
      }
    }
    // Nobody answered: try again when the first tracker's back-off is over (never, if all are gone).
    let first: number | undefined;
    for (const st of this.state.values()) if (!st.gone && st.retryAt !== undefined) first = Math.min(first ?? Infinity, st.retryAt);
    if (first !== undefined) this.schedule(first - this.clock.now());
  }

  private failed(st: TrackerState, error: TrackerError): void {
    st.failures++;
    if (error.gone) {
      st.gone = true;
      st.retryAt = undefined;
      return;
    }
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(st.failures - 1, 30)) * (0.75 + 0.5 * this.random());
    const delay = typeof error.retryIn === 'number' ? Math.max(MIN_ANNOUNCE_S * 1000, error.retryIn * 60_000) : backoff;
    st.retryAt = this.clock.now() + Math.round(delay);
  }

  private params(): Omit<AnnounceParams, 'event' | 'signal'> {
    const s = this.opts.stats();
    const ours = this.opts.externalAddresses?.() ?? {};
    return { infoHash: this.opts.infoHash, peerId: this.opts.peerId, port: this.opts.port, uploaded: s.uploaded, downloaded: s.downloaded, left: s.left, ...ours };
  }
}
