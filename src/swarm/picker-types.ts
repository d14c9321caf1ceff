/** Public types of the piece picker (re-exported by picker.ts). */
import type { Bitfield } from '../util/bitfield.js';
import { TesseraError } from '../util/errors.js';

/** Opaque peer identity chosen by the caller: an integer in [0, 2^31). */
export type PeerKey = number;

/** BEP 3: requests are 16 KiB; only the last block of the last piece may be shorter. */
export const BLOCK_SIZE = 16384;

export interface BlockRequest {
  readonly piece: number;
  readonly begin: number;
  readonly length: number;
}

export interface PickerOptions {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  /** Pieces already verified (resume data). Copied. */
  readonly have: Bitfield;
  /** Uniform in [0, 1). Default `Math.random`. */
  readonly rng?: () => number;
  /** Pieces picked at random before rarest first applies. Default 4. */
  readonly randomFirst?: number;
  /** Endgame bound on peers asked for the same block. Default 3. */
  readonly maxRequestersPerBlock?: number;
  /**
   * Endgame bound on one peer's requests: it is asked for blocks others hold only while
   * fewer than this many of its requests are outstanding, and up to that many. Default 4.
   */
  readonly endgameDepth?: number;
}

export interface PickOptions {
  /** False while the caller cannot buffer another piece: only started pieces are picked. */
  readonly newPieces?: boolean;
  /**
   * A web seed fetches runs of consecutive pieces in one HTTP request: a new piece is this
   * one when it is a candidate, then the one after each piece started by this call.
   */
  readonly near?: number;
  /**
   * How long (ms, any scale) a peer will take to deliver what is asked of it;
   * `Number.MAX_SAFE_INTEGER` for a source without a rate (a web seed). Step 4 takes blocks
   * of a piece another peer fills only while the picking peer is no slower than that one.
   * Endgame: blocks held by the slowest peers are duplicated first, so a slow peer never
   * holds the last ones, and only those of peers slower than the one picking.
   */
  readonly holderWait?: (peer: PeerKey) => number;
}

export interface BlockResult {
  /** False for a block this peer was not (or no longer) asked for, or of the wrong length. */
  readonly accepted: boolean;
  /** Every block of the piece has arrived: hash it, then `pieceVerified` or `pieceFailed`. */
  readonly pieceComplete: boolean;
  /** Other peers that had this block requested (endgame): send them `cancel`. */
  readonly cancelFrom: readonly PeerKey[];
}

export type BlockState = 'need' | 'requested' | 'received' | 'verified';

export class PickerError extends TesseraError {}
