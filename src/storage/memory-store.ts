import { createHash } from 'node:crypto';
import type { InfoDict } from '../metainfo/types.js';
import { Bitfield } from '../util/bitfield.js';
import { PieceBufferPool } from './buffer-pool.js';
import { StorageError } from './errors.js';
import { PooledStore } from './pooled-store.js';
import { DEFAULT_POOL_BYTES, checkReadRange, pieceDigest } from './store.js';
import type { PieceStore } from './store.js';
import type { CommitResult } from './worker-protocol.js';

/**
 * A `PieceStore` in memory, for tests of the engine and the session: same pool, same
 * checks, same results as `TorrentStorage`, with files as growable byte arrays (a file
 * exists once written; zero-length files exist from the start, pad files never).
 * Hashing runs on the main thread: fine for test-sized torrents only.
 */
export class MemoryStore extends PooledStore implements PieceStore {
  private readonly files = new Map<number, Uint8Array>();
  private closed = false;

  /** `files[i]`, when given, is the content file `i` starts with (as if left on disk). */
  constructor(info: InfoDict, opts: { poolBytes?: number; files?: readonly (Uint8Array | undefined)[] } = {}) {
    super(info, new PieceBufferPool(info.pieceLength, opts.poolBytes ?? DEFAULT_POOL_BYTES));
    info.files.forEach((f, i) => {
      const initial = opts.files?.[i];
      if (f.pad) return;
      if (initial !== undefined) this.files.set(i, new Uint8Array(initial));
      else if (f.length === 0) this.files.set(i, new Uint8Array(0));
    });
  }

  /** A copy of file `fileIndex` as stored, or undefined when it does not exist. */
  fileData(fileIndex: number): Uint8Array | undefined {
    const f = this.files.get(fileIndex);
    return f === undefined ? undefined : new Uint8Array(f);
  }

  protected async storePiece(index: number, buf: Buffer): Promise<CommitResult> {
    try {
      // Resolve on a later turn, as the worker-backed store does.
      await new Promise<void>((r) => setImmediate(r));
      if (!createHash('sha1').update(buf).digest().equals(pieceDigest(this.info, index))) return 'hash-mismatch';
      this.writeSpan(this.geometry.pieceOffset(index), buf);
      return 'ok';
    } finally {
      this.pool.release(buf);
    }
  }

  protected async storeBlock(index: number, begin: number, data: Uint8Array): Promise<ArrayBuffer> {
    await new Promise<void>((r) => setImmediate(r));
    this.writeSpan(this.geometry.pieceOffset(index) + begin, data);
    return data.buffer as ArrayBuffer;
  }

  protected async verifyPiece(index: number): Promise<CommitResult> {
    await new Promise<void>((r) => setImmediate(r));
    const data = this.readSpan(this.geometry.pieceOffset(index), this.geometry.pieceSize(index));
    return data !== undefined && createHash('sha1').update(data).digest().equals(pieceDigest(this.info, index)) ? 'ok' : 'hash-mismatch';
  }

  async readBlock(index: number, begin: number, length: number): Promise<Buffer> {
    this.checkOpen();
    checkReadRange(this.geometry, index, begin, length);
    const out = this.readSpan(this.geometry.pieceOffset(index) + begin, length);
    if (out === undefined) throw new StorageError('disk', `block ${index}:${begin}+${length} is not stored`);
    return out;
  }

  async recheck(onProgress?: (checked: number, total: number) => void, signal?: AbortSignal): Promise<Bitfield> {
    this.checkOpen();
    const total = this.geometry.pieceCount;
    const have = new Bitfield(total);
    for (let i = 0; i < total; i++) {
      if (signal?.aborted === true) throw new StorageError('aborted', 'recheck aborted');
      const data = this.readSpan(this.geometry.pieceOffset(i), this.geometry.pieceSize(i));
      if (data !== undefined && createHash('sha1').update(data).digest().equals(pieceDigest(this.info, i))) have.set(i);
      onProgress?.(i + 1, total);
    }
    return have;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.spill.drop();
  }

  /** The bytes of a piece-space range, or undefined when some of it was never stored. */
  private readSpan(offset: number, length: number): Buffer | undefined {
    const out = Buffer.alloc(length);
    let at = 0;
    for (const e of this.layout.extents(offset, length)) {
      if (!e.pad) {
        const f = this.files.get(e.fileIndex);
        if (f === undefined || f.length < e.fileOffset + e.length) return undefined;
        out.set(f.subarray(e.fileOffset, e.fileOffset + e.length), at);
      }
      at += e.length;
    }
    return out;
  }

  private writeSpan(offset: number, bytes: Uint8Array): void {
    let at = 0;
    for (const e of this.layout.extents(offset, bytes.length)) {
      if (!e.pad) this.write(e.fileIndex, bytes.subarray(at, at + e.length), e.fileOffset);
      at += e.length;
    }
  }

  private write(fileIndex: number, src: Uint8Array, position: number): void {
    let f = this.files.get(fileIndex) ?? new Uint8Array(0);
    if (f.length < position + src.length) {
      // Like a sparse file: the gap before `position` reads as zeros.
      const grown = new Uint8Array(position + src.length);
      grown.set(f);
      f = grown;
    }
    f.set(src, position);
    this.files.set(fileIndex, f);
  }

  protected checkOpen(): void {
    if (this.closed) throw new StorageError('closed', 'storage is closed');
  }
}
