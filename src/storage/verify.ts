/**
 * Piece verification: SHA-1 for v1 and hybrid torrents, the BEP 52 merkle hash for v2-only
 * ones (the root of the piece's file bytes as 16 KiB SHA-256 leaves, zero-padded). Pure; runs
 * on the storage workers on the download path.
 */
import { createHash, type Hash } from 'node:crypto';
import { LeafHasher, rootOf } from '../metainfo/merkle.js';
import type { InfoDict } from '../metainfo/types.js';

/** What verifies one piece. `leaves` is 0 for SHA-1; else the merkle width over `dataLength` bytes. */
export interface PieceCheck {
  readonly digest: Uint8Array;
  readonly leaves: number;
  readonly dataLength: number;
}

/** The check of a piece, its digest copied so that posting it to a worker copies 20 or 32 bytes. */
export function pieceCheck(info: InfoDict, index: number): PieceCheck {
  const m = info.merkle;
  if (m === undefined) return { digest: new Uint8Array(info.pieces.subarray(index * 20, index * 20 + 20)), leaves: 0, dataLength: 0 };
  return { digest: new Uint8Array(m.hashes.subarray(index * 32, index * 32 + 32)), leaves: m.leaves[index]!, dataLength: m.dataLength[index]! };
}

/** Streams one piece's bytes, in order, into its check. */
export class PieceVerifier {
  private readonly sha1: Hash | undefined;
  private readonly leaves: LeafHasher | undefined;
  private fed = 0;

  constructor(private readonly check: PieceCheck) {
    if (check.leaves === 0) this.sha1 = createHash('sha1');
    else this.leaves = new LeafHasher();
  }

  update(bytes: Uint8Array): void {
    if (this.sha1 !== undefined) {
      this.sha1.update(bytes);
      return;
    }
    // Bytes past the file's end are pad zeros: BEP 52 pads with zero hashes, not hashed zeros.
    const n = Math.min(bytes.length, this.check.dataLength - this.fed);
    if (n > 0) this.leaves!.update(bytes.subarray(0, n));
    this.fed += Math.max(n, 0);
  }

  matches(): boolean {
    const got = this.sha1 !== undefined ? this.sha1.digest() : rootOf(this.leaves!.leaves(), this.check.leaves);
    return Buffer.from(got).equals(this.check.digest);
  }
}

export function verifyPiece(data: Uint8Array, check: PieceCheck): boolean {
  const v = new PieceVerifier(check);
  v.update(data);
  return v.matches();
}
