/**
 * Smart ban (libtorrent's smart_ban plugin): when a piece built from several peers' blocks
 * fails its hash, we cannot tell who lied, so we remember which IP sent which block and a
 * digest of that block. When the piece later verifies, each remembered block is compared with
 * the good one: exactly the IPs whose block differed lied. An honest peer that shared a failed
 * piece with a liar is never blamed, however often it happens.
 *
 * Memory is bounded: at most `maxPieces` failed pieces are remembered (the oldest is
 * forgotten first), each with at most a few senders per block. Pure: no I/O, no clock.
 */
import { createHash } from 'node:crypto';

/** Distinct (IP, digest) records kept per block: a block is re-fetched once per failure. */
const MAX_RECORDS_PER_BLOCK = 8;

export class SmartBan {
  /** piece → block index → IP → digest (hex) of what that IP sent. */
  private readonly pieces = new Map<number, Map<number, Map<string, string>>>();

  constructor(
    private readonly blockSize: number,
    private readonly maxPieces = 256,
  ) {}

  /** Whether blocks of `piece` are remembered from an earlier failure. */
  tracks(piece: number): boolean {
    return this.pieces.has(piece);
  }

  get size(): number {
    return this.pieces.size;
  }

  /**
   * The piece failed: remember, for each block, who sent it (`senders[block]`, an IP) and what
   * it was (`data` is the whole piece as it was hashed).
   */
  failed(piece: number, senders: readonly (string | undefined)[], data: Uint8Array): void {
    let blocks = this.pieces.get(piece);
    if (blocks === undefined) {
      if (this.pieces.size >= this.maxPieces) this.pieces.delete(this.pieces.keys().next().value!);
      blocks = new Map();
      this.pieces.set(piece, blocks);
    }
    senders.forEach((ip, b) => {
      if (ip === undefined) return;
      let records = blocks.get(b);
      if (records === undefined) {
        records = new Map();
        blocks.set(b, records);
      }
      if (records.size < MAX_RECORDS_PER_BLOCK || records.has(ip)) records.set(ip, this.digest(data, b));
    });
  }

  /**
   * The piece verified with `data`: the IPs that sent, in an earlier failed attempt, a block
   * that differs from the good one. The piece is forgotten.
   */
  verified(piece: number, data: Uint8Array): string[] {
    const blocks = this.pieces.get(piece);
    if (blocks === undefined) return [];
    this.pieces.delete(piece);
    const liars = new Set<string>();
    for (const [b, records] of blocks) {
      const good = this.digest(data, b);
      for (const [ip, digest] of records) if (digest !== good) liars.add(ip);
    }
    return [...liars];
  }

  private digest(data: Uint8Array, block: number): string {
    const from = block * this.blockSize;
    return createHash('sha1').update(data.subarray(from, Math.min(data.length, from + this.blockSize))).digest('hex');
  }
}
