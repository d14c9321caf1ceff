import { StorageError } from './errors.js';

/**
 * A bounded pool of piece buffers. Each buffer is a plain `ArrayBuffer` that is *moved* (not
 * copied) to a worker for hashing and writing and moved back with the result. Plain memory
 * matters on the hot path: V8 copies into a `SharedArrayBuffer` with a slow relaxed-atomic
 * memmove (measured at a tenth of the download's CPU), while a moved buffer costs nothing.
 *
 * Bounded in bytes, not pieces: with 16 MiB pieces a 64 MiB pool holds 4. It never holds
 * fewer than 2 (one filling, one being written), even when two pieces exceed the budget.
 * Buffers are allocated on first need and kept for reuse, so memory only grows to what the
 * download actually keeps in flight.
 *
 * The bound moves between `poolBytes` and `maxPoolBytes` with the demand the owner states
 * (`setDemand`: a buffer for each peer sending at once, and a few for storage): one peer
 * needs few buffers, while twenty each fill a piece at a time. Buffers over a lowered bound
 * are dropped as they come back.
 */
export class PieceBufferPool {
  readonly bufferBytes: number;
  /** Buffers it may lend at once now: `setDemand` moves it between `base` and `max`. */
  capacity: number;
  private readonly base: number;
  private readonly max: number;
  private readonly free: ArrayBuffer[] = [];
  /** Lent buffers and the piece each was lent for. */
  private readonly lent = new Map<ArrayBuffer, number>();
  private readonly listeners = new Set<() => void>();
  private allocated = 0;

  constructor(bufferBytes: number, poolBytes: number, maxPoolBytes = poolBytes) {
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes <= 0 || !(poolBytes >= 0) || !(maxPoolBytes >= poolBytes)) {
      throw new StorageError('invalid-argument', `bad pool size: ${poolBytes}-${maxPoolBytes} bytes of ${bufferBytes}-byte buffers`);
    }
    this.bufferBytes = bufferBytes;
    this.base = Math.max(2, Math.floor(poolBytes / bufferBytes));
    this.max = Math.max(this.base, Math.floor(maxPoolBytes / bufferBytes));
    this.capacity = this.base;
  }

  /** Buffers that can be acquired right now. */
  get available(): number {
    return Math.max(0, this.capacity - this.lent.size);
  }

  /** The owner needs about `buffers` at once: the bound follows, within its limits. */
  setDemand(buffers: number): void {
    if (!Number.isFinite(buffers)) return;
    const capacity = Math.min(this.max, Math.max(this.base, Math.ceil(buffers)));
    if (capacity === this.capacity) return;
    const grew = capacity > this.capacity;
    this.capacity = capacity;
    while (this.allocated > capacity && this.free.length > 0) {
      this.free.pop();
      this.allocated--;
    }
    if (grew) this.notify();
  }

  /** A `length`-byte buffer for piece `index`, or undefined when all are lent out. */
  acquire(index: number, length: number): Buffer | undefined {
    if (length > this.bufferBytes) {
      throw new StorageError('invalid-argument', `piece ${index} (${length} bytes) is larger than a pool buffer`);
    }
    let ab = this.free.pop();
    if (ab === undefined) {
      if (this.allocated >= this.capacity) return undefined;
      ab = new ArrayBuffer(this.bufferBytes);
      this.allocated++;
    }
    this.lent.set(ab, index);
    return Buffer.from(ab, 0, length);
  }

  /** The piece `buf` was lent for, or undefined when it is not a lent buffer of this pool. */
  lentFor(buf: Uint8Array): number | undefined {
    if (buf.byteOffset !== 0 || !(buf.buffer instanceof ArrayBuffer)) return undefined;
    return this.lent.get(buf.buffer);
  }

  /** Takes `buf` back and tells the listeners; false when it was not lent out. */
  release(buf: Uint8Array): boolean {
    if (this.lentFor(buf) === undefined) return false;
    this.giveBack(buf.buffer as ArrayBuffer, buf.buffer as ArrayBuffer);
    return true;
  }

  /**
   * A lent buffer came back from a worker: `moved` is the same memory as `lent` (which the
   * move detached), under a new `ArrayBuffer` object.
   */
  returned(lent: ArrayBuffer, moved: ArrayBuffer): void {
    if (!this.lent.has(lent)) throw new StorageError('invalid-argument', 'a buffer came back that was not lent out');
    if (moved.byteLength !== this.bufferBytes) throw new StorageError('worker', 'a worker returned a buffer of the wrong size');
    this.giveBack(lent, moved);
  }

  /** A lent buffer is lost (its worker failed while holding it): make room for a new one. */
  lost(lent: ArrayBuffer): void {
    if (!this.lent.delete(lent)) return;
    this.allocated--;
    this.notify();
  }

  /** Calls `cb` after every release; returns a function that unsubscribes it. */
  onRelease(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private giveBack(lent: ArrayBuffer, reuse: ArrayBuffer): void {
    this.lent.delete(lent);
    if (this.allocated > this.capacity) this.allocated--;
    else this.free.push(reuse);
    this.notify();
  }

  private notify(): void {
    for (const cb of [...this.listeners]) cb();
  }
}
