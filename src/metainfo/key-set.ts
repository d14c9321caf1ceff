/**
 * A set of keys, each a run of 16-bit code units given either as a JS string or as a span of
 * latin1 bytes (one unit per byte) in a buffer, so a key read from a .torrent needs no string.
 * Open addressing over typed arrays: no object per key, and nothing for the collector to trace.
 */
export class KeySet {
  private table: Int32Array;
  private hashes: Uint32Array;
  private starts: Int32Array;
  private ends: Int32Array;
  /** Per key: its string, or the buffer its span is in. */
  private owners: (string | Uint8Array)[] = [];
  size = 0;

  /** `expected` keys fit without growing. */
  constructor(expected = 0) {
    const keys = Math.max(512, expected);
    this.table = new Int32Array(2 ** Math.ceil(Math.log2(keys * 2))).fill(-1);
    this.hashes = new Uint32Array(keys);
    this.starts = new Int32Array(keys);
    this.ends = new Int32Array(keys);
  }

  /** FNV-1a over the code units of `src[from, to)`, continuing from `h` (the hash of what precedes). */
  static hash(src: string | Uint8Array, from: number, to: number, h = 0x811c9dc5): number {
    if (typeof src === 'string') for (let i = from; i < to; i++) h = Math.imul(h ^ src.charCodeAt(i), 0x01000193);
    else for (let i = from; i < to; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    return h >>> 0;
  }

  has(src: string | Uint8Array, from: number, to: number, hash = KeySet.hash(src, from, to)): boolean {
    return this.find(src, from, to, hash) >= 0;
  }

  /** Adds the key unless present. A span's buffer must not change while the set is in use. */
  add(src: string | Uint8Array, from: number, to: number, hash = KeySet.hash(src, from, to)): void {
    if (this.find(src, from, to, hash) < 0) this.addNew(src, from, to, hash);
  }

  /** Adds a key that `has` just said is absent. */
  addNew(src: string | Uint8Array, from: number, to: number, hash: number): void {
    if ((this.size + 1) * 2 > this.table.length) this.grow();
    const id = this.size++;
    if (id === this.hashes.length) {
      this.hashes = copyInto(new Uint32Array(id * 2), this.hashes);
      this.starts = copyInto(new Int32Array(id * 2), this.starts);
      this.ends = copyInto(new Int32Array(id * 2), this.ends);
    }
    this.hashes[id] = hash;
    this.starts[id] = from;
    this.ends[id] = to;
    this.owners.push(src);
    this.place(id, hash);
  }

  private find(src: string | Uint8Array, from: number, to: number, hash: number): number {
    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const id = this.table[slot]!;
      if (id < 0) return -1;
      if (this.hashes[id] === hash && this.equals(id, src, from, to)) return id;
    }
  }

  private equals(id: number, src: string | Uint8Array, from: number, to: number): boolean {
    const owner = this.owners[id]!;
    const start = this.starts[id]!;
    const n = to - from;
    if (this.ends[id]! - start !== n) return false;
    if (typeof owner !== 'string' && typeof src !== 'string') {
      for (let i = 0; i < n; i++) if (owner[start + i] !== src[from + i]) return false;
      return true;
    }
    for (let i = 0; i < n; i++) if (unit(owner, start + i) !== unit(src, from + i)) return false;
    return true;
  }

  private place(id: number, hash: number): void {
    const mask = this.table.length - 1;
    let slot = hash & mask;
    while (this.table[slot]! >= 0) slot = (slot + 1) & mask;
    this.table[slot] = id;
  }

  private grow(): void {
    this.table = new Int32Array(this.table.length * 2).fill(-1);
    for (let id = 0; id < this.size; id++) this.place(id, this.hashes[id]!);
  }
}

function unit(src: string | Uint8Array, i: number): number {
  return typeof src === 'string' ? src.charCodeAt(i) : src[i]!;
}

function copyInto<T extends Uint32Array | Int32Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
