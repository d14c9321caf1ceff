/**
 * Answers BEP 52 hash requests from the piece layers of a v2 torrent: the requested run of a
 * file's piece layer, then the uncle hashes that prove it up to the file's pieces root (as
 * many as the request's proof layers reach above the run's own subtree: merkle.ts uncleCount). A
 * request for another layer, an unknown root, or a run that is not aligned to its power-of-two
 * length is rejected. Each file's tree above its piece layer is built once, on first request,
 * and kept (twice the layer's size); no request can make us hash more than that.
 */
import { createHash } from 'node:crypto';
import { HASH_SIZE, LEAF_SIZE, log2, nextPow2, padHash, uncleCount } from '../metainfo/merkle.js';
import type { V2File } from '../metainfo/types.js';
import { toHex } from '../util/bytes.js';
import type { HashRequest } from '../wire/index.js';

export class HashServer {
  private readonly byRoot = new Map<string, V2File>();
  /** Per root: the tree's levels from the piece layer (padded) up to the root. */
  private readonly trees = new Map<string, Buffer[]>();
  private readonly layerHeight: number;

  constructor(files: readonly V2File[], pieceLength: number) {
    for (const f of files) if (f.layer !== undefined) this.byRoot.set(toHex(f.root), f);
    this.layerHeight = log2(pieceLength / LEAF_SIZE);
  }

  /** The hashes and proof for `req` (the `hashes` payload after its header), or undefined to reject. */
  answer(req: HashRequest): Uint8Array | undefined {
    const key = toHex(req.piecesRoot);
    const file = this.byRoot.get(key);
    if (file === undefined || req.baseLayer !== this.layerHeight) return undefined;
    const levels = this.tree(key, file);
    const width = levels[0]!.length / HASH_SIZE;
    const { index, length } = req;
    if ((length & (length - 1)) !== 0 || index % length !== 0 || index + length > width) return undefined;
    const out = [levels[0]!.subarray(index * HASH_SIZE, (index + length) * HASH_SIZE)];
    let node = index / length;
    const uncles = uncleCount(length, req.proofLayers);
    for (let h = log2(length), n = 0; n < uncles && h < levels.length - 1; h++, n++) {
      const uncle = node ^ 1;
      out.push(levels[h]!.subarray(uncle * HASH_SIZE, (uncle + 1) * HASH_SIZE));
      node >>= 1;
    }
    return Buffer.concat(out);
  }

  private tree(key: string, file: V2File): Buffer[] {
    let levels = this.trees.get(key);
    if (levels !== undefined) return levels;
    const layer = file.layer!;
    const width = nextPow2(layer.length / HASH_SIZE);
    const base = Buffer.alloc(width * HASH_SIZE);
    base.set(layer);
    for (let i = layer.length / HASH_SIZE; i < width; i++) padHash(this.layerHeight).copy(base, i * HASH_SIZE);
    levels = [base];
    for (let below = base; below.length > HASH_SIZE; ) {
      const up = Buffer.allocUnsafe(below.length / 2);
      for (let i = 0; i < up.length / HASH_SIZE; i++) {
        createHash('sha256')
          .update(below.subarray(2 * i * HASH_SIZE, (2 * i + 2) * HASH_SIZE))
          .digest()
          .copy(up, i * HASH_SIZE);
      }
      levels.push(up);
      below = up;
    }
    this.trees.set(key, levels);
    return levels;
  }
}
