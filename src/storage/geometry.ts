import { StorageError } from './errors.js';

/**
 * Piece and block arithmetic (BEP 3). Every piece is `pieceLength` bytes except the last,
 * which holds the remainder; every block is 16 KiB except the last block of a piece.
 * No other module does this arithmetic.
 */

/** The block size every client requests (BEP 3 "request"; larger ones are refused by peers). */
export const BLOCK_SIZE = 16384;

export class PieceGeometry {
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly pieceCount: number;

  constructor(pieceLength: number, totalLength: number) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
      throw new StorageError('invalid-argument', `piece length ${pieceLength} is not a positive integer`);
    }
    if (!Number.isSafeInteger(totalLength) || totalLength < 0) {
      throw new StorageError('invalid-argument', `total length ${totalLength} is not a non-negative integer`);
    }
    this.pieceLength = pieceLength;
    this.totalLength = totalLength;
    this.pieceCount = Math.ceil(totalLength / pieceLength);
  }

  isPiece(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.pieceCount;
  }

  /** Byte offset of the piece's first byte in piece space. */
  pieceOffset(index: number): number {
    this.check(index);
    return index * this.pieceLength;
  }

  pieceSize(index: number): number {
    this.check(index);
    return Math.min(this.pieceLength, this.totalLength - index * this.pieceLength);
  }

  blockCount(index: number): number {
    return Math.ceil(this.pieceSize(index) / BLOCK_SIZE);
  }

  blockSize(index: number, block: number): number {
    const count = this.blockCount(index);
    if (!Number.isInteger(block) || block < 0 || block >= count) {
      throw new StorageError('invalid-argument', `block ${block} is outside piece ${index} (${count} blocks)`);
    }
    return Math.min(BLOCK_SIZE, this.pieceSize(index) - block * BLOCK_SIZE);
  }

  /** True when `[begin, begin + length)` is a non-empty range inside the piece. */
  isRangeInPiece(index: number, begin: number, length: number): boolean {
    return (
      this.isPiece(index) &&
      Number.isInteger(begin) &&
      Number.isInteger(length) &&
      begin >= 0 &&
      length > 0 &&
      begin + length <= this.pieceSize(index)
    );
  }

  private check(index: number): void {
    if (!this.isPiece(index)) {
      throw new StorageError('invalid-argument', `piece ${index} is outside 0..${this.pieceCount - 1}`);
    }
  }
}
