/**
 * The download trace (`--verbose`): one line a second with what decides the speed in a swarm
 * of many peers — each peer's receive rate, its outstanding requests against the depth its
 * rate calls for, whether it chokes us, and how the piece buffers are used (free, held by
 * pieces being filled, held by storage until hashed and written; pieces started, spilled
 * pieces and bytes of spilled blocks not yet written), the bytes
 * received twice or unasked so far, and whether the picker is in endgame. Once a peer has
 * unchoked us the line starts with the time since that first unchoke and the rate of the last
 * second alone (how soon the download reaches full speed); `ss` marks a peer in slow start.
 */

export interface PeerTrace {
  readonly port: number;
  /** Bytes per second received from it. */
  readonly rate: number;
  readonly outstanding: number;
  readonly depth: number;
  readonly choked: boolean;
  readonly slowStart?: boolean;
}

export interface SwarmTrace {
  /** Ms since the first unchoke (absent before it). */
  readonly sinceUnchokeMs?: number;
  /** Bytes per second over the last second alone (with `sinceUnchokeMs`). */
  readonly lastSecond?: number;
  readonly rate: number;
  readonly freeBuffers: number;
  /** Buffers held by pieces being filled, and by storage (hashing and writing). */
  readonly filling: number;
  readonly committing: number;
  readonly pieces: number;
  readonly spilled: number;
  readonly backlog: number;
  readonly wasted: number;
  readonly endgame: boolean;
  readonly peers: readonly PeerTrace[];
}

const MIB = 1 << 20;

/** `trace +2.0 s: 41.4 MiB/s (last s 60.2), buffers free 0 (8 filling, 56 with storage), pieces 63 (55 spilled, 1.7 MiB to write), wasted 0.3 MiB, endgame | :51020 4.3 q 497/500 ...` */
export function formatTrace(t: SwarmTrace): string {
  const peers = t.peers.map((p) => `:${p.port} ${(p.rate / MIB).toFixed(1)} q ${p.outstanding}/${p.depth}${p.slowStart === true ? ' ss' : ''}${p.choked ? ' choked' : ''}`);
  const since = t.sinceUnchokeMs === undefined ? '' : ` +${(t.sinceUnchokeMs / 1000).toFixed(1)} s`;
  const last = t.lastSecond === undefined ? '' : ` (last s ${(t.lastSecond / MIB).toFixed(1)})`;
  return (
    `trace${since}: ${(t.rate / MIB).toFixed(1)} MiB/s${last}, buffers free ${t.freeBuffers} (${t.filling} filling, ${t.committing} with storage), pieces ${t.pieces} ` +
    `(${t.spilled} spilled, ${(t.backlog / MIB).toFixed(1)} MiB to write), wasted ${(t.wasted / MIB).toFixed(1)} MiB${t.endgame ? ', endgame' : ''}` +
    peers.map((p) => ` | ${p}`).join('')
  );
}
