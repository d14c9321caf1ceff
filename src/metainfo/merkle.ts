/**
 * BEP 52 merkle trees: SHA-256 over 16 KiB leaves. A file's tree has a power-of-two number of
 * leaves; the leaves past the end of the file are 32 zero bytes, and every node above them is
 * hashed as usual, so a pad node at height h is the root of 2^h zero leaves. A file's
 * `pieces root` is the root of that tree; its `piece layer` is the row of nodes that each cover
 * one piece (pieceLength / 16 KiB leaves). Pure functions over bytes.
 */
import { createHash } from 'node:crypto';

export const LEAF_SIZE = 16384;
export const HASH_SIZE = 32;

/** pad[h] is the root of 2^h zero leaves; grown on demand (at most 64 entries). */
const pads: Buffer[] = [Buffer.alloc(HASH_SIZE)];

export function padHash(height: number): Buffer {
  while (pads.length <= height) {
    const below = pads[pads.length - 1]!;
    pads.push(createHash('sha256').update(below).update(below).digest());
  }
  return pads[height]!;
}

/** The smallest power of two ≥ n (1 for n ≤ 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** log2 of a power of two. */
export function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/** SHA-256 of each 16 KiB leaf of `data` (the last one may be short), concatenated. */
export function leafHashes(data: Uint8Array): Buffer {
  const count = Math.ceil(data.length / LEAF_SIZE);
  const out = Buffer.allocUnsafe(count * HASH_SIZE);
  for (let i = 0; i < count; i++) {
    createHash('sha256')
      .update(data.subarray(i * LEAF_SIZE, Math.min(data.length, (i + 1) * LEAF_SIZE)))
      .digest()
      .copy(out, i * HASH_SIZE);
  }
  return out;
}

/**
 * The root over `nodes` (concatenated 32-byte hashes at height `height`), padded with pad
 * hashes of that height up to `width` nodes (a power of two ≥ the node count).
 */
export function rootOf(nodes: Uint8Array, width: number, height = 0): Buffer {
  const count = nodes.length / HASH_SIZE;
  if (!Number.isInteger(count) || width < count || (width & (width - 1)) !== 0) {
    throw new RangeError(`cannot build a tree of ${width} nodes from ${count}`);
  }
  if (count === 0) return Buffer.from(padHash(height + log2(width)));
  if (width === 1) return Buffer.from(nodes);
  let level = Buffer.from(nodes.buffer, nodes.byteOffset, nodes.byteLength);
  let levelCount = count;
  for (let h = height; width > 1; h++, width /= 2) {
    const nextCount = Math.ceil(levelCount / 2);
    const next = Buffer.allocUnsafe(nextCount * HASH_SIZE);
    for (let i = 0; i < nextCount; i++) {
      const left = level.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE);
      const right = 2 * i + 1 < levelCount ? level.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE) : padHash(h);
      createHash('sha256').update(left).update(right).digest().copy(next, i * HASH_SIZE);
    }
    level = next;
    levelCount = nextCount;
  }
  return level.subarray(0, HASH_SIZE);
}

/** The root of `data` hashed as 16 KiB leaves, padded with zero leaves to `leaves` leaves. */
export function merkleRoot(data: Uint8Array, leaves: number): Buffer {
  return rootOf(leafHashes(data), leaves);
}

/** Leaves in the tree of a file of `length` bytes (a power of two; 0 for an empty file). */
export function fileLeaves(length: number): number {
  return length === 0 ? 0 : nextPow2(Math.ceil(length / LEAF_SIZE));
}

/**
 * The leaves under one piece hash of a file: a file of at most one piece is verified against
 * its pieces root (its own tree, which may be narrower than a piece); a longer file's pieces
 * against its piece layer, each a subtree of pieceLength / 16 KiB leaves.
 */
export function pieceLeaves(fileLength: number, pieceLength: number): number {
  return fileLength <= pieceLength ? fileLeaves(fileLength) : pieceLength / LEAF_SIZE;
}

/** The piece layer of a file's data (one hash per piece, the last one zero-padded). */
export function pieceLayer(data: Uint8Array, pieceLength: number): Buffer {
  const count = Math.ceil(data.length / pieceLength);
  const out = Buffer.allocUnsafe(count * HASH_SIZE);
  for (let i = 0; i < count; i++) {
    merkleRoot(data.subarray(i * pieceLength, Math.min(data.length, (i + 1) * pieceLength)), pieceLength / LEAF_SIZE).copy(out, i * HASH_SIZE);
  }
  return out;
}

/** The pieces root from a file's piece layer (for files longer than one piece). */
export function rootFromLayer(layer: Uint8Array, pieceLength: number): Buffer {
  return rootOf(layer, nextPow2(layer.length / HASH_SIZE), log2(pieceLength / LEAF_SIZE));
}

/**
 * Streaming leaf hashing for data that arrives in chunks of any size (recheck reads, file
 * creation): `update` as bytes come, `leaves()` for the concatenated leaf hashes so far.
 */
export class LeafHasher {
  private readonly out: Buffer[] = [];
  private hash = createHash('sha256');
  private inLeaf = 0;

  update(data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(LEAF_SIZE - this.inLeaf, data.length - at);
      this.hash.update(data.subarray(at, at + n));
      this.inLeaf += n;
      at += n;
      if (this.inLeaf === LEAF_SIZE) this.flush();
    }
  }

  /** The leaf hashes of everything given so far; a partial last leaf is closed. */
  leaves(): Buffer {
    if (this.inLeaf > 0) this.flush();
    return Buffer.concat(this.out);
  }

  private flush(): void {
    this.out.push(this.hash.digest());
    this.hash = createHash('sha256');
    this.inLeaf = 0;
  }
}

/**
 * The root proved by a BEP 52 `hashes` answer: `base` is a run of `base.length / 32` nodes (a
 * power of two) at `height`, starting at node `index` of its layer (a multiple of the run's
 * length); `uncles` are the siblings of the run's subtree root and of each of its ancestors,
 * bottom-up. The caller compares the result with the file's pieces root.
 */
export function rootFromProof(base: Uint8Array, index: number, height: number, uncles: Uint8Array): Buffer {
  const count = base.length / HASH_SIZE;
  let node = index / count;
  let hash = rootOf(base, count, height);
  for (let at = 0; at < uncles.length; at += HASH_SIZE) {
    const uncle = uncles.subarray(at, at + HASH_SIZE);
    const h = createHash('sha256');
    if (node % 2 === 0) h.update(hash).update(uncle);
    else h.update(uncle).update(hash);
    hash = h.digest();
    node = Math.floor(node / 2);
  }
  return hash;
}

/**
 * Uncle hashes in a `hashes` answer to a request for `count` nodes with `proofLayers` (BEP 52,
 * as libtorrent reads it): the proof layers count up from the base layer, and the first
 * log2(count) of them lie inside the run's own subtree, so only the rest carry an uncle.
 */
export function uncleCount(count: number, proofLayers: number): number {
  return Math.max(0, proofLayers - log2(nextPow2(count)) + 1);
}
