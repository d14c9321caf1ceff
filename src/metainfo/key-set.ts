/**
 * A set of keys, each a run of 16-bit code units given either as a JS string or as a span of
 * latin1 bytes (one unit per byte) in a buffer, so a key read from a .torrent needs no string.
 * Open addressing over typed arrays: no object per key, and nothing for the collector to trace.
 */
export class KeySet {
  /** Per slot, two entries: the key's id (-1: empty) and its hash, so a probe reads one place. */
  private table: Int32Array;
  private starts: Int32Array;
  private ends: Int32Array;
  /** Per key: its string, or the buffer its span is in. */
  private owners: (string | Uint8Array)[];
  size = 0;

  /** `expected` keys fit without growing. */
  constructor(expected = 0) {
    const keys = Math.max(512, expected);
    this.table = emptyTable(2 ** Math.ceil(Math.log2(keys * 2)));
    this.starts = new Int32Array(keys);
    this.ends = new Int32Array(keys);
    // Sized up front as `starts` and `ends` are: grown push by push, the owners of 100,000 keys
    // were copied at each growth, and the garbage set off a full collection.
    this.owners = new Array<string | Uint8Array>(keys);
  }

  /** FNV-1a over the code units of `src[from, to)`, continuing from `h` (the hash of what precedes). */
  static hash(src: string | Uint8Array, from: number, to: number, h = 0x811c9dc5): number {
    if (typeof src === 'string') for (let i = from; i < to; i++) h = Math.imul(h ^ src.charCodeAt(i), 0x01000193);
    else for (let i = from; i < to; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    return h | 0;
  }

  has(src: string | Uint8Array, from: number, to: number, hash = KeySet.hash(src, from, to)): boolean {
    return this.id(src, from, to, hash) >= 0;
  }

  /** Adds the key unless present. A span's buffer must not change while the set is in use. */
  add(src: string | Uint8Array, from: number, to: number, hash = KeySet.hash(src, from, to)): void {
    if (this.id(src, from, to, hash) < 0) this.addNew(src, from, to, hash);
  }

  /** Adds the key unless present; returns whether it was new. */
  addIfNew(src: string | Uint8Array, from: number, to: number, hash: number): boolean {
    const at = this.slotOf(src, from, to, hash);
    if (this.table[at]! >= 0) return false;
    if ((this.size + 1) * 4 > this.table.length) this.addNew(src, from, to, hash);
    else {
      this.table[at] = this.store(src, from, to);
      this.table[at + 1] = hash;
    }
    return true;
  }

  /** Adds a key that `has` just said is absent. */
  addNew(src: string | Uint8Array, from: number, to: number, hash: number): void {
    if ((this.size + 1) * 4 > this.table.length) this.grow();
    place(this.table, this.store(src, from, to), hash);
  }

  /** Records the key's span and owner; returns its id. */
  private store(src: string | Uint8Array, from: number, to: number): number {
    const id = this.size++;
    if (id === this.starts.length) {
      this.starts = grown(new Int32Array(id * 2), this.starts);
      this.ends = grown(new Int32Array(id * 2), this.ends);
    }
    this.starts[id] = from;
    this.ends[id] = to;
    this.owners[id] = src;
    return id;
  }

  /** The key's id, or -1 when absent: keys are numbered from 0 in the order they were added. */
  id(src: string | Uint8Array, from: number, to: number, hash: number): number {
    return this.table[this.slotOf(src, from, to, hash)]!;
  }

  /** Where the key is in the table, or the empty slot where it would go. */
  private slotOf(src: string | Uint8Array, from: number, to: number, hash: number): number {
    const table = this.table;
    const mask = table.length - 2;
    let at = (hash << 1) & mask;
    for (let id = table[at]!; id >= 0; at = (at + 2) & mask, id = table[at]!) {
      if (table[at + 1] === hash && this.equals(id, src, from, to)) return at;
    }
    return at;
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

  private grow(): void {
    const old = this.table;
    this.table = emptyTable(old.length);
    for (let at = 0; at < old.length; at += 2) if (old[at]! >= 0) place(this.table, old[at]!, old[at + 1]!);
  }
}

/** A table of `slots` empty slots (the hashes of empty slots are never read). */
function emptyTable(slots: number): Int32Array {
  return new Int32Array(slots * 2).fill(-1);
}

function place(table: Int32Array, id: number, hash: number): void {
  const mask = table.length - 2;
  let at = (hash << 1) & mask;
  while (table[at]! >= 0) at = (at + 2) & mask;
  table[at] = id;
  table[at + 1] = hash;
}

function unit(src: string | Uint8Array, i: number): number {
  return typeof src === 'string' ? src.charCodeAt(i) : src[i]!;
}

/** `to`, a larger array, with `from` copied to its start. */
export function grown<T extends Int32Array | Float64Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
