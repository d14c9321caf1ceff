/**
 * Which new piece a peer starts (the picker's step 3): an urgent piece first (a stream's read
 * position, most urgent first), then, for a web seed, the piece after the one it took last
 * (`near`); then, level by level from the highest priority, in index order with
 * `--sequential`, at random while we have fewer than `randomFirst` verified pieces (BEP 3
 * "random first piece", so that we soon have something to trade), else rarest first with
 * ties in random order (rarity.ts).
 *
 * Only candidates count: pieces neither verified nor started, which `RarityOrder` holds. The
 * picker owns the bookkeeping of started pieces; this file only orders the rest.
 */
import type { Bitfield } from '../util/bitfield.js';
import { NONE } from './picker-state.js';
import { NORMAL } from './piece-priority.js';
import type { RarityOrder } from './rarity.js';

/** Bound on `setUrgent`'s list: a stream needs the pieces of a few seconds ahead, not thousands. */
export const MAX_URGENT = 256;

/** The peer a piece is chosen for: does it have piece `p`, and is it a seed. */
export interface Chooser {
  readonly seed: boolean;
  has(p: number): boolean;
}

export class PieceOrder {
  /** Pieces to start before any other, most urgent first (`setUrgent`). */
  private urgent: number[] = [];
  private sequential = false;
  /** Below this index every piece is verified (sequential scans start here). */
  private sequentialFrom = 0;
  /** Level of each piece (piece-priority.ts); undefined while every piece is normal. */
  private prio: Uint8Array | undefined;
  /** Levels that some piece has, highest first, skip excluded: new pieces start in this order. */
  private levels: number[] = [NORMAL];

  constructor(
    private readonly pieceCount: number,
    private readonly rarity: RarityOrder,
    private readonly ours: Bitfield,
    private readonly rng: () => number,
    private readonly randomFirst: number,
  ) {}

  /** Replaces the urgent list; indices out of range are dropped, at most `MAX_URGENT` kept. */
  setUrgent(pieces: readonly number[]): void {
    this.urgent = pieces.filter((p) => Number.isSafeInteger(p) && p >= 0 && p < this.pieceCount).slice(0, MAX_URGENT);
  }

  setSequential(on: boolean): void {
    this.sequential = on;
  }

  /** One level per piece (already checked by the caller), with the levels present, highest first. */
  setLevels(prio: Uint8Array | undefined, levels: number[]): void {
    this.prio = prio;
    this.levels = levels;
  }

  /** The candidate to start for `c`, or NONE. `wanted`: the piece's priority is not skip. */
  next(c: Chooser, near: number | undefined, wanted: (p: number) => boolean): number {
    for (const p of this.urgent) if (this.rarity.contains(p) && wanted(p) && c.has(p)) return p;
    if (near !== undefined && near < this.pieceCount && this.rarity.contains(near) && wanted(near) && c.has(near)) return near;
    for (const level of this.levels) {
      const p = this.sequential ? this.sequentialCandidate(c, level) : this.ours.count < this.randomFirst ? this.randomCandidate(c, level) : this.rarestCandidate(c, level);
      if (p !== NONE) return p;
    }
    return NONE;
  }

  /** A piece of priority `level` (always true without priorities: every piece is normal). */
  private atLevel(p: number, level: number): boolean {
    return this.prio === undefined || this.prio[p] === level;
  }

  private sequentialCandidate(c: Chooser, level: number): number {
    while (this.sequentialFrom < this.pieceCount && this.ours.has(this.sequentialFrom)) this.sequentialFrom++;
    for (let p = this.sequentialFrom; p < this.pieceCount; p++) if (this.rarity.contains(p) && this.atLevel(p, level) && c.has(p)) return p;
    return NONE;
  }

  private rarestCandidate(c: Chooser, level: number): number {
    const n = this.rarity.size;
    // A piece a non-seed peer has counts that peer, so its availability is at least 1.
    for (let i = this.rarity.firstWithAvailability(c.seed ? 0 : 1); i < n; i++) {
      const p = this.rarity.at(i);
      if (this.atLevel(p, level) && c.has(p)) return p;
    }
    return NONE;
  }

  private randomCandidate(c: Chooser, level: number): number {
    const n = this.pieceCount;
    const from = Math.min(n - 1, Math.floor(this.rng() * n));
    for (let k = 0; k < n; k++) {
      const p = (from + k) % n;
      if (this.rarity.contains(p) && this.atLevel(p, level) && c.has(p)) return p;
    }
    return NONE;
  }
}
