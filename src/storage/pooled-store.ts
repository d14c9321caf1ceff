import type { InfoDict } from '../metainfo/types.js';
import { PieceBufferPool } from './buffer-pool.js';
import { StorageError } from './errors.js';
import type { PieceGeometry } from './geometry.js';
import type { FileLayout } from './layout.js';
import { checkReadRange, torrentMaps } from './store.js';
import { SpillWriter } from './spill.js';
import type { CommitResult } from './worker-protocol.js';

/**
 * What every `PieceStore` shares: the torrent's maps, the piece-buffer pool and the checks
 * around a commit (the buffer must be one this store lent for that very piece, and it goes
 * back to the pool whatever happens). Subclasses only say how a verified piece is stored.
 */
export abstract class PooledStore {
  readonly geometry: PieceGeometry;
  protected readonly info: InfoDict;
  protected readonly layout: FileLayout;
  protected readonly pool: PieceBufferPool;
  protected readonly spill = new SpillWriter((index, begin, data) => this.storeBlock(index, begin, data));

  protected constructor(info: InfoDict, pool: PieceBufferPool) {
    const maps = torrentMaps(info);
    this.info = info;
    this.geometry = maps.geometry;
    this.layout = maps.layout;
    this.pool = pool;
  }

  get freeBuffers(): number {
    return this.pool.available;
  }

  acquirePieceBuffer(index: number): Buffer | undefined {
    this.checkOpen();
    return this.pool.acquire(index, this.geometry.pieceSize(index));
  }

  releasePieceBuffer(buf: Buffer): void {
    if (!this.pool.release(buf)) throw new StorageError('invalid-argument', 'released a buffer that is not lent out');
  }

  /** About `buffers` piece buffers are wanted at once (see PieceBufferPool.setDemand). */
  setBufferDemand(buffers: number): void {
    this.pool.setDemand(buffers);
  }

  onPoolAvailable(cb: () => void): () => void {
    return this.pool.onRelease(cb);
  }

  async commitPiece(index: number, buf: Buffer): Promise<CommitResult> {
    const lentFor = this.pool.lentFor(buf);
    if (lentFor === undefined) throw new StorageError('invalid-argument', `piece ${index}: buffer is not lent out by this storage`);
    try {
      this.checkOpen();
      if (lentFor !== index || buf.length !== this.geometry.pieceSize(index)) {
        throw new StorageError('invalid-argument', `piece ${index}: buffer was acquired for piece ${lentFor}`);
      }
    } catch (err) {
      this.pool.release(buf);
      throw err;
    }
    return this.storePiece(index, buf);
  }

  /** Bytes given to `writeBlock` and not written yet. */
  get spillBacklog(): number {
    return this.spill.backlog;
  }

  get writeQueueFull(): boolean {
    return this.spill.full;
  }

  onWriteQueueDrained(cb: () => void): () => void {
    return this.spill.onDrained(cb);
  }

  writeBlock(index: number, begin: number, data: Uint8Array): void {
    this.checkOpen();
    checkReadRange(this.geometry, index, begin, data.length);
    this.spill.add(index, begin, data);
  }

  async verifyStored(index: number): Promise<CommitResult> {
    this.checkOpen();
    if (!Number.isInteger(index) || index < 0 || index >= this.geometry.pieceCount) {
      throw new StorageError('invalid-argument', `piece ${index} out of range`);
    }
    await this.spill.settle(index);
    return this.verifyPiece(index);
  }

  /**
   * Stores `data` (owned from here on, may be moved) at `begin` of piece `index`, unverified;
   * resolves with the buffer that held it, for reuse.
   */
  protected abstract storeBlock(index: number, begin: number, data: Uint8Array): Promise<ArrayBuffer>;

  /** Hashes piece `index` as stored (its spilled blocks have landed). */
  protected abstract verifyPiece(index: number): Promise<CommitResult>;

  /**
   * Hash `buf` against the piece's digest and, when it matches, store it. Owns `buf` from
   * here on: it must give it back to the pool (`release`, `returned` or `lost`) in every case.
   */
  protected abstract storePiece(index: number, buf: Buffer): Promise<CommitResult>;

  protected abstract checkOpen(): void;
}
