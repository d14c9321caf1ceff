import type { InfoDict } from '../metainfo/types.js';
import type { Bitfield } from '../util/bitfield.js';
import { PieceBufferPool } from './buffer-pool.js';
import { StorageError } from './errors.js';
import { PieceGeometry } from './geometry.js';
import { FileLayout } from './layout.js';
import type { CommitResult } from './worker-protocol.js';

/**
 * The contract between the download engine and a piece store. `TorrentStorage` (files on
 * disk, worker threads) and `MemoryStore` (tests) both implement it and both pass one
 * compliance suite.
 *
 * Flow: `acquirePieceBuffer` → copy each received block into it → `commitPiece`, which
 * verifies the SHA-1, stores the piece if it matches and gives the buffer back to the
 * pool in every case (SHA-1, or the BEP 52 merkle hash of a v2-only torrent: see verify.ts). While `acquirePieceBuffer` returns undefined the engine stops
 * requesting new pieces and waits for `onPoolAvailable`: that is the back-pressure.
 *
 * Spill: a piece may also be downloaded without a buffer. Its blocks go straight to their
 * place on disk (`writeBlock`, unverified) and `verifyStored` hashes it there once all have
 * arrived. The engine spills when every buffer is held by pieces that wait for slow peers,
 * so that many peers can each keep seconds of requests in flight while memory stays bounded
 * by the pool and by `spillBacklog` (bytes accepted and not yet written).
 */
export interface PieceStore {
  readonly geometry: PieceGeometry;
  /** Buffers `acquirePieceBuffer` can lend right now. */
  readonly freeBuffers: number;
  /** A buffer of exactly the piece's size, or undefined while the pool is exhausted. */
  acquirePieceBuffer(index: number): Buffer | undefined;
  /** Gives back a buffer whose piece was abandoned. */
  releasePieceBuffer(buf: Buffer): void;
  /** Resolves `hash-mismatch` (nothing stored) or `ok`; rejects with `StorageError`. */
  commitPiece(index: number, buf: Buffer): Promise<CommitResult>;
  /**
   * Stages a block of a spilled piece (copied) for writing where it belongs, unverified. A
   * failed write surfaces as the rejection of that piece's `verifyStored`.
   */
  writeBlock(index: number, begin: number, data: Uint8Array): void;
  /** Bytes handed to `writeBlock` that are not written yet. */
  readonly spillBacklog: number;
  /**
   * The blocks waiting to be written passed the store's bound: the engine stops reading from
   * peers (backpressure to TCP) until `onWriteQueueDrained` calls back.
   */
  readonly writeQueueFull: boolean;
  /** Calls `cb` each time the write queue stops being full; returns an unsubscribe function. */
  onWriteQueueDrained(cb: () => void): () => void;
  /** Writes what is staged for a spilled piece, then hashes it as stored. */
  verifyStored(index: number): Promise<CommitResult>;
  /**
   * Bytes of a stored piece, for seeding; BEP 47 pad ranges read as zeros. With `into` (at
   * least `length` bytes), the bytes go there and a view of it is returned: no allocation.
   */
  readBlock(index: number, begin: number, length: number, into?: Buffer): Promise<Buffer>;
  /** Verifies what is already stored: the set bits are the pieces that hash correctly. */
  recheck(onProgress?: (checked: number, total: number) => void, signal?: AbortSignal): Promise<Bitfield>;
  /** Calls `cb` whenever a buffer returns to the pool; returns an unsubscribe function. */
  onPoolAvailable(cb: () => void): () => void;
  /** Waits for commits and reads in flight, then frees everything. Idempotent. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Worker threads that hash and write (default 2: one per core of the target machine). */
  readonly workers?: number;
  /** Upper bound on piece-buffer memory (default 64 MiB; never fewer than 2 buffers). */
  readonly poolBytes?: number;
  /** How far `setBufferDemand` may raise that bound (default: not above `poolBytes`). */
  readonly maxPoolBytes?: number;
}

export const DEFAULT_POOL_BYTES = 64 << 20;
export const DEFAULT_WORKERS = 2;

/** The piece-buffer pool `opts` ask for. */
export function poolOf(pieceLength: number, opts: StoreOptions): PieceBufferPool {
  const bytes = opts.poolBytes ?? DEFAULT_POOL_BYTES;
  return new PieceBufferPool(pieceLength, bytes, Math.max(bytes, opts.maxPoolBytes ?? bytes));
}

/** Checks that the info dictionary's numbers agree with each other, and builds its maps. */
export function torrentMaps(info: InfoDict): { geometry: PieceGeometry; layout: FileLayout } {
  const geometry = new PieceGeometry(info.pieceLength, info.length);
  const layout = new FileLayout(info.files);
  const hashBytes = info.merkle === undefined ? info.pieces.length : info.merkle.hashes.length;
  const hashSize = info.merkle === undefined ? 20 : 32;
  if (geometry.pieceCount !== info.pieceCount || hashBytes !== info.pieceCount * hashSize || layout.totalLength !== info.length) {
    throw new StorageError('invalid-argument', 'piece count, digests and file lengths of the torrent disagree');
  }
  return { geometry, layout };
}

export function checkReadRange(geometry: PieceGeometry, index: number, begin: number, length: number): void {
  if (!geometry.isRangeInPiece(index, begin, length)) {
    throw new StorageError('invalid-argument', `block ${index}:${begin}+${length} is outside the piece`);
  }
}
