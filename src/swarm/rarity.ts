/**
 * Rarest-first order of the pieces nobody has started yet ("candidates").
 *
 * Candidates live in one array grouped into buckets by availability, lowest first, as in
 * libtorrent's `piece_picker` (`m_pieces` with `m_priority_boundaries`): bucket `a` is
 * `order[start[a] .. start[a + 1])`. A `have` moves a piece to the next bucket by swapping it
 * with the bucket's edge and moving the boundary, so availability changes are O(1) and a
 * pick walks a plain array from the rarest end.
 *
 * Inside a bucket the order is random: the initial order is shuffled and every piece that
 * enters a bucket swaps with a uniformly chosen member (the "inside-out" Fisher–Yates step).
 * Ordering ties by index would make every client start on the same low pieces.
 *
 * Availability counts only peers that are not seeds; the picker adds its seed count when it
 * reports availability, since a seed raises every piece by one and changes no order.
 */
export class RarityOrder {
  private readonly order: Int32Array;
  private readonly pos: Int32Array;
  private readonly avail: Int32Array;
  /** `start[a]` is where bucket `a` begins; the last entry is the number of candidates. */
  private readonly start: number[];
  private readonly rng: () => number;

  constructor(pieceCount: number, isCandidate: (piece: number) => boolean, rng: () => number) {
    this.order = new Int32Array(pieceCount);
    this.pos = new Int32Array(pieceCount).fill(-1);
    this.avail = new Int32Array(pieceCount);
    this.rng = rng;
    let n = 0;
    for (let p = 0; p < pieceCount; p++) {
      if (!isCandidate(p)) continue;
      const j = this.randomBelow(n + 1);
      if (j !== n) {
        this.order[n] = this.order[j]!;
        this.pos[this.order[n]!] = n;
      }
      this.order[j] = p;
      this.pos[p] = j;
      n++;
    }
    this.start = [0, n];
  }

  /** Number of candidate pieces. */
  get size(): number {
    return this.start[this.start.length - 1]!;
  }

  contains(piece: number): boolean {
    return this.pos[piece]! >= 0;
  }

  /** Peers (not counting seeds) known to have `piece`, candidate or not. */
  availability(piece: number): number {
    return this.avail[piece]!;
  }

  /** The candidate at position `i` of the rarest-first order (`0 <= i < size`). */
  at(i: number): number {
    return this.order[i]!;
  }

  /** First position whose piece has availability `>= a`. */
  firstWithAvailability(a: number): number {
    const top = this.start.length - 2;
    return a > top ? this.size : this.start[a]!;
  }

  increment(piece: number): void {
    const a = this.avail[piece]!;
    this.avail[piece] = a + 1;
    if (this.pos[piece]! < 0) return;
    if (a + 1 > this.start.length - 2) this.start.push(this.size);
    const last = this.start[a + 1]! - 1;
    this.swap(this.pos[piece]!, last);
    this.start[a + 1] = last;
    this.shuffleIn(last, last, this.start[a + 2]!);
  }

  decrement(piece: number): void {
    const a = this.avail[piece]!;
    if (a === 0) throw new RangeError(`availability of piece ${piece} would go negative`);
    this.avail[piece] = a - 1;
    if (this.pos[piece]! < 0) return;
    const first = this.start[a]!;
    this.swap(this.pos[piece]!, first);
    this.start[a] = first + 1;
    this.shuffleIn(first, this.start[a - 1]!, first + 1);
    this.trim();
  }

  /** Takes a candidate out for good (it was started or verified). O(number of buckets above it). */
  remove(piece: number): void {
    let i = this.pos[piece]!;
    if (i < 0) return;
    // Bubble the piece to the end of each higher bucket in turn; each step moves one
    // boundary down by one, and the last step shrinks the candidate count.
    for (let b = this.avail[piece]!; b < this.start.length - 1; b++) {
      const last = this.start[b + 1]! - 1;
      this.swap(i, last);
      i = last;
      this.start[b + 1] = last;
    }
    this.pos[piece] = -1;
    this.trim();
  }

  /** Throws if the buckets are inconsistent. O(candidates); for tests. */
  check(): void {
    const top = this.start.length - 2;
    for (let a = 0; a <= top; a++) {
      for (let i = this.start[a]!; i < this.start[a + 1]!; i++) {
        const p = this.order[i]!;
        if (this.pos[p] !== i) throw new Error(`rarity: pos[${p}] = ${this.pos[p]}, expected ${i}`);
        if (this.avail[p] !== a) throw new Error(`rarity: piece ${p} has availability ${this.avail[p]} in bucket ${a}`);
      }
    }
  }

  private shuffleIn(i: number, lo: number, hi: number): void {
    this.swap(i, lo + this.randomBelow(hi - lo));
  }

  private trim(): void {
    // Empty top buckets would only lengthen `remove`.
    while (this.start.length > 2 && this.start[this.start.length - 2] === this.start[this.start.length - 1]) {
      this.start.pop();
    }
  }

  private swap(i: number, j: number): void {
    if (i === j) return;
    const pi = this.order[i]!;
    const pj = this.order[j]!;
    this.order[i] = pj;
    this.order[j] = pi;
    this.pos[pj] = i;
    this.pos[pi] = j;
  }

  private randomBelow(n: number): number {
    return Math.min(n - 1, Math.floor(this.rng() * n));
  }
}
