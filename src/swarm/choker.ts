/**
 * The choker: whom we upload to. Pure; the swarm calls `rechoke` every 10 seconds with a
 * snapshot of its peers, then unchokes exactly the returned set and chokes everyone else.
 *
 * Rules and their sources (BEP 3 "Choking and optimistic unchoking", and the BitTorrent wiki
 * "Choking Algorithm" describing the original client, which BEP 3 summarises):
 *  - Reciprocation: `slots` (4) interested peers are unchoked, the regular ones being those
 *    with the best rate. While leeching the rate is what they give us (`downloadRate`); while
 *    seeding, what they take from us (`uploadRate`), so data goes where it flows fastest
 *    (BEP 3: "If a downloader has a complete file, it uses its upload rate").
 *  - Optimistic unchoke: one more interested peer is unchoked regardless of rate, and it
 *    counts as one of the `slots` (BEP 3). It rotates every `optimisticEvery` rounds (3 × 10 s
 *    = 30 s), among interested peers we are choking that got no regular slot. Peers connected
 *    for less than `newPeerMs` are three times as likely to be chosen, "to give them a decent
 *    chance of getting a complete piece to upload" (BEP 3).
 *  - Anti-snubbing: while leeching, a peer we are interested in that has sent no block for
 *    `snubAfterMs` (60 s) gets no regular slot, only an optimistic one (wiki "Anti-snubbing").
 *    Connection time counts as the last block, so a new peer is not snubbed at once.
 *  - Uninterested peers take no slot. They are unchoked when slots are left over, or when
 *    their rate beats the slowest regular peer, so they can start at once if they become
 *    interested (BEP 3: "Peers which have a better upload rate but aren't interested get
 *    unchoked").
 * Ties in rate go to the peer connected longest, then the lower key, so rounds are stable.
 * Each call is one round: calling it more often than every 10 s rotates the optimistic
 * slot sooner.
 */
import type { PeerKey } from './picker.js';

export interface ChokerPeer {
  readonly key: PeerKey;
  /** The peer is interested in us. */
  readonly interested: boolean;
  /** We are interested in the peer; snubbing only applies then. Absent means yes. */
  readonly amInterested?: boolean;
  /** Bytes/s we receive from the peer. */
  readonly downloadRate: number;
  /** Bytes/s we send to the peer. */
  readonly uploadRate: number;
  /** Time (ms) of the last block received from the peer; anything older than `connectedAt` if none. */
  readonly lastPieceFrom: number;
  readonly connectedAt: number;
  /** We are currently choking the peer. */
  readonly amChoking: boolean;
}

export interface ChokerOptions {
  /** Upload slots, the optimistic one included. Default 4. */
  readonly slots?: number;
  /** Rounds between optimistic rotations. Default 3 (30 s at one round per 10 s). */
  readonly optimisticEvery?: number;
  /** Default 60 000 ms. */
  readonly snubAfterMs?: number;
  /** Peers connected for less than this are "new" (weight 3). Default 60 000 ms. */
  readonly newPeerMs?: number;
  /** Uniform in [0, 1). Default `Math.random`. */
  readonly rng?: () => number;
}

export interface ChokeDecision {
  /** Everyone to unchoke, the optimistic peer included; choke all others. */
  readonly unchoke: Set<PeerKey>;
  readonly optimistic?: PeerKey;
}

export class Choker {
  private readonly slots: number;
  private readonly optimisticEvery: number;
  private readonly snubAfterMs: number;
  private readonly newPeerMs: number;
  private readonly rng: () => number;
  private round = 0;
  private optimistic: PeerKey | undefined;

  constructor(opts: ChokerOptions = {}) {
    this.slots = opts.slots ?? 4;
    this.optimisticEvery = opts.optimisticEvery ?? 3;
    this.snubAfterMs = opts.snubAfterMs ?? 60_000;
    this.newPeerMs = opts.newPeerMs ?? 60_000;
    this.rng = opts.rng ?? Math.random;
    if (!(this.slots >= 1) || !(this.optimisticEvery >= 1)) throw new RangeError('Choker: slots and optimisticEvery must be >= 1');
  }

  /** Snubbed: we want data from the peer and it has sent none for `snubAfterMs`. */
  isSnubbed(peer: ChokerPeer, now: number): boolean {
    return peer.amInterested !== false && now - Math.max(peer.lastPieceFrom, peer.connectedAt) >= this.snubAfterMs;
  }

  rechoke(peers: readonly ChokerPeer[], now: number, seeding: boolean): ChokeDecision {
    const rotate = this.round % this.optimisticEvery === 0;
    this.round++;
    const rate = (p: ChokerPeer): number => (seeding ? p.uploadRate : p.downloadRate);
    const byRate = (a: ChokerPeer, b: ChokerPeer): number =>
      rate(b) - rate(a) || a.connectedAt - b.connectedAt || a.key - b.key;

    const current = peers.find((p) => p.key === this.optimistic && p.interested);
    const keep = rotate ? undefined : current;
    const eligible = peers
      .filter((p) => p.interested && p !== keep && (seeding || !this.isSnubbed(p, now)))
      .sort(byRate);
    const regular = eligible.slice(0, this.slots - 1);

    let opt = keep;
    if (opt === undefined) {
      const chosen = new Set(regular);
      const pool = peers.filter((p) => p.interested && !chosen.has(p) && p !== current);
      const choked = pool.filter((p) => p.amChoking);
      opt = this.weightedPick(choked.length > 0 ? choked : pool, now) ?? current;
      // The previous optimistic peer, kept for want of others, must not also hold a regular slot.
      if (opt !== undefined && chosen.has(opt)) opt = undefined;
    }
    this.optimistic = opt?.key;

    const unchoke = new Set<PeerKey>(regular.map((p) => p.key));
    if (opt !== undefined) unchoke.add(opt.key);
    const full = regular.length + (opt === undefined ? 0 : 1) >= this.slots;
    const worst = regular.length > 0 ? rate(regular[regular.length - 1]!) : 0;
    for (const p of peers) {
      if (!p.interested && (!full || rate(p) > worst)) unchoke.add(p.key);
    }
    return opt === undefined ? { unchoke } : { unchoke, optimistic: opt.key };
  }

  private weightedPick(pool: readonly ChokerPeer[], now: number): ChokerPeer | undefined {
    if (pool.length === 0) return undefined;
    const weight = (p: ChokerPeer): number => (now - p.connectedAt < this.newPeerMs ? 3 : 1);
    let total = 0;
    for (const p of pool) total += weight(p);
    let r = this.rng() * total;
    for (const p of pool) {
      r -= weight(p);
      if (r < 0) return p;
    }
    return pool[pool.length - 1];
  }
}
