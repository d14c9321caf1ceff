import { StorageError } from './errors.js';

/**
 * A bounded pool of piece buffers, each on its own `SharedArrayBuffer` so that a worker
 * can hash and write it without a copy. Bounded in bytes, not pieces: with 16 MiB pieces
 * a 64 MiB pool holds 4. It never holds fewer than 2 (one filling, one being written),
 * even when two pieces exceed the budget. Buffers are allocated on first need and kept
 * for reuse, so memory only grows to what the download actually keeps in flight.
 */
export class PieceBufferPool {
  readonly bufferBytes: number;
  readonly capacity: number;
  private readonly free: SharedArrayBuffer[] = [];
  /** Lent buffers and the piece each was lent for. */
  private readonly lent = new Map<SharedArrayBuffer, number>();
  private readonly listeners = new Set<() => void>();
  private allocated = 0;

  constructor(bufferBytes: number, poolBytes: number) {
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes <= 0 || !(poolBytes >= 0)) {
      throw new StorageError('invalid-argument', `bad pool size: ${poolBytes} bytes of ${bufferBytes}-byte buffers`);
    }
    this.bufferBytes = bufferBytes;
    this.capacity = Math.max(2, Math.floor(poolBytes / bufferBytes));
  }

  /** Buffers that can be acquired right now. */
  get available(): number {
    return this.capacity - this.lent.size;
  }

  /** A `length`-byte buffer for piece `index`, or undefined when all are lent out. */
  acquire(index: number, length: number): Buffer | undefined {
    if (length > this.bufferBytes) {
      throw new StorageError('invalid-argument', `piece ${index} (${length} bytes) is larger than a pool buffer`);
    }
    let sab = this.free.pop();
    if (sab === undefined) {
      if (this.allocated >= this.capacity) return undefined;
      sab = new SharedArrayBuffer(this.bufferBytes);
      this.allocated++;
    }
    this.lent.set(sab, index);
    return Buffer.from(sab, 0, length);
  }

  /** The piece `buf` was lent for, or undefined when it is not a lent buffer of this pool. */
  lentFor(buf: Uint8Array): number | undefined {
    if (!(buf.buffer instanceof SharedArrayBuffer) || buf.byteOffset !== 0) return undefined;
    return this.lent.get(buf.buffer);
  }

  /** Takes `buf` back and tells the listeners; false when it was not lent out. */
  release(buf: Uint8Array): boolean {
    if (this.lentFor(buf) === undefined) return false;
    const sab = buf.buffer as SharedArrayBuffer;
    this.lent.delete(sab);
    this.free.push(sab);
    for (const cb of [...this.listeners]) cb();
    return true;
  }

  /** Calls `cb` after every release; returns a function that unsubscribes it. */
  onRelease(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}
