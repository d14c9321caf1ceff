/**
 * Block-level blame for pieces with a v2 half (BEP 52): when a piece built from several peers'
 * blocks fails its hash, the 16 KiB leaf hashes under its piece hash are asked of a peer (a
 * hash request at layer 0). The answer must hash up to the piece hash we already trust, so it
 * cannot be forged; then each block is compared with its own leaf, and exactly the senders of
 * the blocks that differ lied, at once, however many peers shared the piece. (Without leaf
 * hashes, smart-ban.ts names the liar later, once a retry of the piece verifies.)
 *
 * Bounded: at most `maxPending` failed pieces wait for their leaves (the oldest is forgotten
 * first); an answer must match a request in flight exactly. Pure: no I/O, no clock.
 */
import { createHash } from 'node:crypto';
import { HASH_SIZE, LEAF_SIZE, log2, pieceLeaves, rootOf } from '../metainfo/merkle.js';
import type { V2File } from '../metainfo/types.js';
import { bytesEqual } from '../util/bytes.js';
import type { HashRequest } from '../wire/index.js';

interface Pending {
  readonly request: HashRequest;
  readonly pieceHash: Uint8Array;
  readonly dataLength: number;
  readonly senders: readonly (string | undefined)[];
  readonly data: Uint8Array;
  /** Peers (by key) asked so far. */
  readonly asked: Set<number>;
}

export type LeafVerdict =
  | { readonly kind: 'liars'; readonly piece: number; readonly liars: readonly string[] }
  | { readonly kind: 'bad-proof'; readonly piece: number }
  | { readonly kind: 'unrequested' };

export class MerkleBlame {
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly files: readonly V2File[],
    private readonly pieceLength: number,
    private readonly maxPending = 8,
  ) {}

  /**
   * Piece `piece` failed with `data`, block b sent by `senders[b]`: remember it and return the
   * request for its leaf hashes, or undefined when they cannot be asked (no known piece hash,
   * a piece of one block).
   */
  failed(piece: number, senders: readonly (string | undefined)[], data: Uint8Array): HashRequest | undefined {
    const f = this.files.find((x) => piece >= x.firstPiece && piece < x.firstPiece + x.pieceCount);
    if (f === undefined) return undefined;
    const k = piece - f.firstPiece;
    const pieceHash = f.pieceCount === 1 ? f.root : f.layer?.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE);
    const leaves = pieceLeaves(f.length, this.pieceLength);
    if (pieceHash === undefined || leaves < 2) return undefined;
    // Proof layers as libtorrent counts them: log2(leaves) - 1 stay inside the run, so the
    // answer is the run alone, whose root must be the piece hash.
    const request = { piecesRoot: f.root, baseLayer: 0, index: k * (this.pieceLength / LEAF_SIZE), length: leaves, proofLayers: log2(leaves) - 1 };
    if (!this.pending.has(piece) && this.pending.size >= this.maxPending) this.pending.delete(this.pending.keys().next().value!);
    const dataLength = Math.min(this.pieceLength, f.length - k * this.pieceLength);
    this.pending.set(piece, { request, pieceHash, dataLength, senders: [...senders], data, asked: new Set() });
    return request;
  }

  /** The request for `piece`'s leaves if `peer` has not been asked yet (then it counts as asked). */
  askOf(piece: number, peer: number): HashRequest | undefined {
    const p = this.pending.get(piece);
    if (p === undefined || p.asked.has(peer)) return undefined;
    p.asked.add(peer);
    return p.request;
  }

  /** The pieces waiting for leaves. */
  waiting(): number[] {
    return [...this.pending.keys()];
  }

  /** The piece whose request `req` answers, if `peer` was asked for it. */
  pieceOf(peer: number, req: HashRequest): number | undefined {
    for (const [piece, p] of this.pending) {
      const r = p.request;
      if (p.asked.has(peer) && r.index === req.index && r.length === req.length && r.baseLayer === req.baseLayer && r.proofLayers === req.proofLayers && bytesEqual(r.piecesRoot, req.piecesRoot)) {
        return piece;
      }
    }
    return undefined;
  }

  /** Nobody can give the leaves of `piece`: forget it. */
  giveUp(piece: number): void {
    this.pending.delete(piece);
  }

  /** A `hashes` answer from `peer`: the senders of the blocks that differ from their leaves. */
  onHashes(peer: number, msg: HashRequest & { readonly hashes: Uint8Array }): LeafVerdict {
    const piece = this.pieceOf(peer, msg);
    if (piece === undefined) return { kind: 'unrequested' };
    const p = this.pending.get(piece)!;
    const leaves = msg.hashes;
    if (leaves.length !== p.request.length * HASH_SIZE || !bytesEqual(rootOf(leaves, p.request.length), p.pieceHash)) return { kind: 'bad-proof', piece };
    this.pending.delete(piece);
    const liars = new Set<string>();
    for (let b = 0; b * LEAF_SIZE < p.dataLength; b++) {
      const sender = p.senders[b];
      if (sender === undefined) continue;
      const block = p.data.subarray(b * LEAF_SIZE, Math.min(p.dataLength, (b + 1) * LEAF_SIZE));
      if (!createHash('sha256').update(block).digest().equals(leaves.subarray(b * HASH_SIZE, (b + 1) * HASH_SIZE))) liars.add(sender);
    }
    return { kind: 'liars', piece, liars: [...liars] };
  }
}
