/**
 * Whole pieces read from disk for uploading, kept while peers ask for their blocks. A peer
 * asks for a piece's blocks one after another, so reading the piece once and slicing views
 * turns 64 small reads into one large one.
 *
 * Pieces are read into buffers the cache owns and reuses: seeding at disk speed allocated a
 * fresh piece buffer hundreds of times a second, and the garbage collector, not the cache,
 * decided when that memory went back. The bytes owned are bounded by `maxBytes`; least
 * recently used goes first. A piece is pinned while a read fills it or while socket writes
 * still reference its bytes (`pin`), and a pinned piece is never evicted nor its buffer
 * reused; only when every buffer is pinned does a read take one past the bound, and that
 * buffer is dropped once released.
 *
 * A buffer the cache drops is freed at once (`free`): dropped, it would stay in RSS until
 * V8's next full collection, since buffers that lived through a leecher are in the old
 * generation, and a seed at rest seldom runs one. Each leecher's buffers came on top of the
 * last one's, 8 MiB more at the peak of every new leecher.
 */
/**
 * Frees a buffer's memory now: its bytes move (a transfer, not a copy) to a new ArrayBuffer
 * that nothing references, which the next scavenge collects, and `buf` is left detached
 * (length 0). Only for a buffer nothing else views: the cache's own, unpinned.
 */
function free(buf: Buffer): void {
  // The cache's buffers come from `Buffer.allocUnsafeSlow`: a plain ArrayBuffer each, never shared.
  const memory = buf.buffer as ArrayBuffer;
  structuredClone(memory, { transfer: [memory] });
}

interface Entry {
  readonly piece: number;
  readonly buffer: Buffer;
  /** The piece's bytes (a view of `buffer`), once the read finished. */
  data: Buffer | undefined;
  readonly read: Promise<Buffer>;
  /** Reads and writes in flight that use `buffer`; the read counts as one. */
  pins: number;
  /** Out of the cache (a failed read, or trimmed) while pinned: its buffer returns when unpinned. */
  gone: boolean;
  /** Trimmed: once unpinned, its buffer is let go rather than kept spare. */
  dropped: boolean;
  /** The `clear` generation it belongs to; a cleared cache no longer counts its buffer. */
  readonly generation: number;
}

export class PieceCache {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<number, Entry>();
  private spare: Buffer[] = [];
  /** Bytes of every buffer the cache counts: cached, spare, and out but still pinned. */
  private owned = 0;
  private generation = 0;

  /**
   * `read` fills `into` (`bufferSize` bytes, at least the largest piece) with a piece and
   * resolves to the view that holds it.
   */
  constructor(
    private readonly read: (piece: number, into: Buffer) => Promise<Buffer>,
    private readonly maxBytes: number,
    private readonly bufferSize: number,
  ) {}

  /** Bytes of piece buffers the cache holds (cached pieces, spare buffers, pinned ones). */
  get bytes(): number {
    return this.owned;
  }

  get(piece: number): Promise<Buffer> {
    const hit = this.entries.get(piece);
    if (hit !== undefined) {
      this.touch(hit);
      return hit.read;
    }
    const buffer = this.takeBuffer();
    const read = this.read(piece, buffer);
    const entry: Entry = { piece, buffer, data: undefined, read, pins: 1, gone: false, dropped: false, generation: this.generation };
    this.entries.set(piece, entry);
    // A finished read never evicts: its piece is about to be sent.
    read.then(
      (data) => {
        entry.data = data;
        this.unpin(entry, false);
      },
      () => {
        this.remove(entry);
        this.unpin(entry, false);
      },
    );
    return read;
  }

  /** A cached piece whose read has finished, or undefined. Counts as a use. */
  peek(piece: number): Buffer | undefined {
    const entry = this.entries.get(piece);
    if (entry?.data === undefined) return undefined;
    this.touch(entry);
    return entry.data;
  }

  /**
   * Keeps a cached piece's buffer from reuse until the returned function is called (once the
   * socket has taken the bytes). The piece must have been read (`peek` gave it).
   */
  pin(piece: number): () => void {
    const entry = this.entries.get(piece);
    if (entry === undefined) throw new Error(`piece ${piece} is not cached`);
    entry.pins++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.unpin(entry, true);
    };
  }

  /**
   * Lets go of every piece and spare buffer (no peer is left to serve); a piece still pinned
   * by a socket write goes when the socket releases it.
   */
  trim(): void {
    this.owned -= this.spare.length * this.bufferSize;
    for (const b of this.spare.splice(0)) free(b);
    for (const e of [...this.entries.values()]) {
      this.remove(e);
      if (e.pins > 0) e.dropped = true;
      else this.drop(e.buffer);
    }
  }

  /** Forgets everything; buffers still pinned are collected once released. */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.spare = [];
    this.owned = 0;
  }

  private touch(entry: Entry): void {
    this.entries.delete(entry.piece);
    this.entries.set(entry.piece, entry);
  }

  private takeBuffer(): Buffer {
    const spare = this.spare.pop();
    if (spare !== undefined) return spare;
    if (this.owned + this.bufferSize > this.maxBytes) {
      for (const e of this.entries.values()) {
        if (e.pins > 0) continue;
        this.entries.delete(e.piece);
        return e.buffer;
      }
    }
    this.owned += this.bufferSize;
    return Buffer.allocUnsafeSlow(this.bufferSize);
  }

  private remove(entry: Entry): void {
    if (this.entries.get(entry.piece) === entry) this.entries.delete(entry.piece);
    entry.gone = true;
  }

  private unpin(entry: Entry, byWrite: boolean): void {
    if (--entry.pins > 0 || entry.generation !== this.generation) return;
    if (entry.gone) {
      if (entry.dropped || this.owned > this.maxBytes) this.drop(entry.buffer);
      else this.spare.push(entry.buffer);
      return;
    }
    // Over the bound (every buffer was pinned when a read needed one): shrink back, least
    // recently used first.
    if (!byWrite) return;
    for (const e of this.entries.values()) {
      if (this.owned <= this.maxBytes) break;
      if (e.pins > 0) continue;
      this.entries.delete(e.piece);
      this.drop(e.buffer);
    }
  }

  /** A buffer the cache counted and no longer keeps. */
  private drop(buffer: Buffer): void {
    this.owned -= this.bufferSize;
    free(buffer);
  }
}
