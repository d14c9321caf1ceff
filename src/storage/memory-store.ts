import type { InfoDict } from '../metainfo/types.js';
import { Bitfield } from '../util/bitfield.js';
import { PartMap } from './part-file.js';
import { StorageError } from './errors.js';
import { PooledStore } from './pooled-store.js';
import { checkReadRange, poolOf, type StoreOptions } from './store.js';
import { pieceCheck, verifyPiece } from './verify.js';
import type { PieceStore } from './store.js';
import type { CommitResult } from './worker-protocol.js';

/**
 * A `PieceStore` in memory, for tests of the engine and the session: same pool, same
 * checks, same results as `TorrentStorage`, with files as growable byte arrays (a file
 * exists once written; zero-length files exist from the start unless skipped, pad files
 * never). Skipped files and the part file follow the same rules as on disk (part-file.ts).
 * Hashing runs on the main thread: fine for test-sized torrents only.
 */
export class MemoryStore extends PooledStore implements PieceStore {
  private readonly files = new Map<number, Uint8Array>();
  private readonly parts: PartMap;
  /** The part file; undefined while it does not exist. */
  private part: Uint8Array | undefined;
  private skipped: boolean[];
  private closed = false;

  /** `files[i]`, when given, is the content file `i` starts with (as if left on disk). */
  constructor(info: InfoDict, opts: StoreOptions & { files?: readonly (Uint8Array | undefined)[]; skip?: readonly boolean[] } = {}) {
    super(info, poolOf(info.pieceLength, opts));
    this.parts = new PartMap(this.geometry, this.layout, info.files);
    this.skipped = info.files.map((_, i) => opts.skip?.[i] === true);
    info.files.forEach((f, i) => {
      const initial = opts.files?.[i];
      if (f.pad) return;
      if (initial !== undefined) this.files.set(i, new Uint8Array(initial));
      else if (f.length === 0 && !this.skipped[i]) this.files.set(i, new Uint8Array(0));
    });
  }

  /** A copy of the part file, or undefined when it does not exist. */
  partData(): Uint8Array | undefined {
    return this.part === undefined ? undefined : new Uint8Array(this.part);
  }

  /** As `TorrentStorage.setSkipped`. */
  async setSkipped(skip: readonly boolean[], have: Bitfield): Promise<void> {
    this.checkOpen();
    if (skip.length !== this.info.files.length) throw new StorageError('invalid-argument', `${skip.length} skip flags for ${this.info.files.length} files`);
    this.info.files.forEach((f, i) => {
      if (!this.skipped[i] || skip[i] === true || f.pad) return;
      if (f.length === 0) this.files.set(i, this.files.get(i) ?? new Uint8Array(0));
      else if (!this.files.has(i)) this.exportFile(i, have);
    });
    this.skipped = [...skip];
    if (!skip.includes(true)) this.part = undefined;
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
      if (!verifyPiece(buf, pieceCheck(this.info, index))) return 'hash-mismatch';
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
    return data !== undefined && verifyPiece(data, pieceCheck(this.info, index)) ? 'ok' : 'hash-mismatch';
  }

  async readBlock(index: number, begin: number, length: number, into?: Buffer): Promise<Buffer> {
    this.checkOpen();
    checkReadRange(this.geometry, index, begin, length);
    const out = this.readSpan(this.geometry.pieceOffset(index) + begin, length);
    if (out === undefined) throw new StorageError('disk', `block ${index}:${begin}+${length} is not stored`);
    if (into === undefined) return out;
    out.copy(into);
    return into.subarray(0, length);
  }

  async recheck(onProgress?: (checked: number, total: number) => void, signal?: AbortSignal): Promise<Bitfield> {
    this.checkOpen();
    const total = this.geometry.pieceCount;
    const have = new Bitfield(total);
    for (let i = 0; i < total; i++) {
      if (signal?.aborted === true) throw new StorageError('aborted', 'recheck aborted');
      const data = this.readSpan(this.geometry.pieceOffset(i), this.geometry.pieceSize(i));
      if (data !== undefined && verifyPiece(data, pieceCheck(this.info, i))) have.set(i);
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
    for (const e of this.parts.place(offset, length, (i) => !this.files.has(i))) {
      if (e.pad) continue;
      const f = e.part !== undefined ? this.part : this.files.get(e.fileIndex);
      const from = e.part ?? e.fileOffset;
      if (f === undefined || f.length < from + e.length) return undefined;
      out.set(f.subarray(from, from + e.length), e.at);
    }
    return out;
  }

  private writeSpan(offset: number, bytes: Uint8Array): void {
    for (const e of this.parts.place(offset, bytes.length, (i) => this.skipped[i]! && !this.files.has(i))) {
      const src = bytes.subarray(e.at, e.at + e.length);
      if (e.part !== undefined) this.part = grow(this.part, src, e.part);
      else if (!e.pad) this.files.set(e.fileIndex, grow(this.files.get(e.fileIndex), src, e.fileOffset));
    }
  }

  /** Moves a newly wanted file's bytes of verified shared pieces out of the part file. */
  private exportFile(fileIndex: number, have: Bitfield): void {
    for (const p of this.parts.sharedPiecesOf(this.info.files[fileIndex]!)) {
      if (!have.has(p)) continue;
      for (const e of this.parts.place(this.geometry.pieceOffset(p), this.geometry.pieceSize(p), (i) => i === fileIndex)) {
        if (e.part === undefined || this.part === undefined || this.part.length < e.part + e.length) continue;
        this.files.set(fileIndex, grow(this.files.get(fileIndex), this.part.subarray(e.part, e.part + e.length), e.fileOffset));
      }
    }
  }

  protected checkOpen(): void {
    if (this.closed) throw new StorageError('closed', 'storage is closed');
  }
}

/** `f` with `src` written at `position`, grown like a sparse file (the gap reads as zeros). */
function grow(f: Uint8Array | undefined, src: Uint8Array, position: number): Uint8Array {
  let out = f ?? new Uint8Array(0);
  if (out.length < position + src.length) {
    const grown = new Uint8Array(position + src.length);
    grown.set(out);
    out = grown;
  }
  out.set(src, position);
  return out;
}
