/**
 * The download trace (`--verbose`): one line a second with what decides the speed in a swarm
 * of many peers — each peer's receive rate, its outstanding requests against the depth its
 * rate calls for, whether it chokes us, and how the piece buffers are used (free buffers,
 * pieces started, spilled pieces and bytes of spilled blocks not yet written), the bytes
 * received twice or unasked so far, and whether the picker is in endgame.
 */

export interface PeerTrace {
  readonly port: number;
  /** Bytes per second received from it. */
  readonly rate: number;
  readonly outstanding: number;
  readonly depth: number;
  readonly choked: boolean;
}

export interface SwarmTrace {
  readonly rate: number;
  readonly freeBuffers: number;
  readonly pieces: number;
  readonly spilled: number;
  readonly backlog: number;
  readonly wasted: number;
  readonly endgame: boolean;
  readonly peers: readonly PeerTrace[];
}

const MIB = 1 << 20;

/** `trace: 41.4 MiB/s, buffers free 0, pieces 63 (55 spilled, 1.7 MiB to write), wasted 0.3 MiB, endgame | :51020 4.3 q 497/500 ...` */
export function formatTrace(t: SwarmTrace): string {
  const peers = t.peers.map((p) => `:${p.port} ${(p.rate / MIB).toFixed(1)} q ${p.outstanding}/${p.depth}${p.choked ? ' choked' : ''}`);
  return (
    `trace: ${(t.rate / MIB).toFixed(1)} MiB/s, buffers free ${t.freeBuffers}, pieces ${t.pieces} ` +
    `(${t.spilled} spilled, ${(t.backlog / MIB).toFixed(1)} MiB to write), wasted ${(t.wasted / MIB).toFixed(1)} MiB${t.endgame ? ', endgame' : ''}` +
    peers.map((p) => ` | ${p}`).join('')
  );
}
