/**
 * Whole pieces read from disk for uploading, kept while peers ask for their blocks. A peer
 * asks for a piece's blocks one after another, so reading the piece once and slicing views
 * turns 64 small reads into one large one. Bounded by bytes; least recently used goes first.
 */
export class PieceCache {
  private readonly entries = new Map<number, Promise<Buffer>>();
  /** The pieces whose read has finished, for synchronous access. */
  private readonly ready = new Map<number, Buffer>();
  private bytes = 0;
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly read: (piece: number) => Promise<Buffer>,
    private readonly maxBytes: number,
    private readonly pieceSize: (piece: number) => number,
  ) {}

  get(piece: number): Promise<Buffer> {
    const hit = this.entries.get(piece);
    if (hit !== undefined) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(piece);
      this.entries.set(piece, hit);
      return hit;
    }
    const size = this.pieceSize(piece);
    while (this.bytes + size > this.maxBytes && this.entries.size > 0) {
      const oldest = this.entries.keys().next().value as number;
      this.drop(oldest);
    }
    const p = this.read(piece);
    this.entries.set(piece, p);
    this.sizes.set(piece, size);
    this.bytes += size;
    p.then(
      (data) => {
        if (this.entries.get(piece) === p) this.ready.set(piece, data);
      },
      () => this.drop(piece),
    );
    return p;
  }

  /** A cached piece whose read has finished, or undefined. Counts as a use. */
  peek(piece: number): Buffer | undefined {
    const data = this.ready.get(piece);
    if (data !== undefined) {
      const p = this.entries.get(piece)!;
      this.entries.delete(piece);
      this.entries.set(piece, p);
    }
    return data;
  }

  clear(): void {
    this.entries.clear();
    this.ready.clear();
    this.sizes.clear();
    this.bytes = 0;
  }

  private drop(piece: number): void {
    if (!this.entries.delete(piece)) return;
    this.ready.delete(piece);
    this.bytes -= this.sizes.get(piece) ?? 0;
    this.sizes.delete(piece);
  }
}
