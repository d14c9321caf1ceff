/** The picker's internal records: one per started piece and one per peer. Not public API. */
import type { Bitfield } from '../util/bitfield.js';
import type { PeerKey } from './picker-types.js';

export const NEED = 0;
export const REQUESTED = 1;
export const RECEIVED = 2;
export const NONE = -1;

/** A started piece: per-block state in typed arrays. */
export class Download {
  readonly state: Uint8Array;
  /** The first requester while requested, the sender once received, else NONE. */
  readonly who: Int32Array;
  need: number;
  received = 0;
  /** No `NEED` block below this index. */
  cursor = 0;
  /** The peer filling this piece contiguously (step 1), or NONE. */
  owner: PeerKey = NONE;
  /** Failed its hash once: only its owner fills it, so the retry names a liar (smart ban). */
  exclusive = false;

  constructor(
    readonly piece: number,
    readonly blocks: number,
  ) {
    this.state = new Uint8Array(blocks);
    this.who = new Int32Array(blocks).fill(NONE);
    this.need = blocks;
  }
}

export interface PeerEntry {
  readonly key: PeerKey;
  has: Bitfield;
  /** Has every piece (BEP 6 have_all or a full bitfield): counted once, not per piece. */
  seed: boolean;
  /** Pieces it has that we have not verified (not kept for seeds). */
  wanted: number;
  /** The piece it fills contiguously, or NONE. */
  current: number;
  /** Global ids (`piece * blocksPerPiece + block`) of blocks requested from it. */
  readonly outstanding: Set<number>;
  /** The last walk for a new piece found none; cleared when it announces a candidate. */
  stale: boolean;
}

/** Calls `fn` for each set bit, skipping empty bytes. */
export function forEachSet(bf: Bitfield, fn: (i: number) => void): void {
  const bytes = bf.bytes;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0) continue;
    for (let j = 0; j < 8; j++) if (byte & (0x80 >> j)) fn(i * 8 + j);
  }
}
