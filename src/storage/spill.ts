/**
 * Blocks of spilled pieces (pieces downloaded without a pool buffer) on their way to disk.
 *
 * A peer fills its piece in ascending order, so consecutive blocks of a piece are staged in
 * one run and written with one task: a write per 16 KiB block would cost a worker message or
 * a syscall each, which measured at several times the cost of the data copy. A run is
 * written when it is full, when a block does not continue it, or when the piece is verified.
 * Memory: at most one run per spilled piece, and `backlog` counts every byte accepted and not
 * yet written, so the engine can stop spilling new pieces when it grows. Run buffers come
 * back from the writer and are reused: left to the garbage collector, moved buffers piled up
 * in the workers and the process grew by tens of MiB.
 */

/** Bytes staged per run before it is written. */
export const SPILL_RUN_BYTES = 256 << 10;
/**
 * Backlog at which the writer is `full` (the engine stops reading from peers, so TCP slows
 * them down), and below which it drains again. Requests already made keep blocks coming after
 * the engine stops starting new spilled pieces (at 8 MiB, download.ts): with many peers each
 * holding seconds of requests, only this bound keeps the backlog from growing with them. A
 * backlog means storage is behind; twenty peers on two cores ran faster and used less CPU
 * and memory with these bounds than with twice them (a larger backlog is more to write
 * unverified and read back).
 */
export const SPILL_HIGH_WATER = 16 << 20;
export const SPILL_LOW_WATER = 8 << 20;

interface Run {
  readonly begin: number;
  length: number;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/**
 * Writes `data` (owned from here on, may be moved) at `begin` of piece `index`; resolves with
 * the buffer that held it (moved back from a worker) for reuse.
 */
export type SpillWrite = (index: number, begin: number, data: Uint8Array) => Promise<ArrayBuffer>;

/** Run buffers kept for reuse (4 MiB). */
const MAX_FREE_RUNS = 16;

export class SpillWriter {
  /** Bytes accepted by `add` that are not written yet. */
  backlog = 0;
  private readonly runs = new Map<number, Run>();
  /** Writes in flight per piece; they never reject (failures go to `failed`). */
  private readonly writes = new Map<number, Promise<void>[]>();
  private readonly failed = new Map<number, unknown>();
  private readonly free: ArrayBuffer[] = [];
  private readonly drainedListeners = new Set<() => void>();
  private isFull = false;

  constructor(private readonly write: SpillWrite) {}

  /** The backlog passed `SPILL_HIGH_WATER` and has not fallen below `SPILL_LOW_WATER` since. */
  get full(): boolean {
    return this.isFull;
  }

  /** Calls `cb` each time the writer stops being `full`; returns an unsubscribe function. */
  onDrained(cb: () => void): () => void {
    this.drainedListeners.add(cb);
    return () => this.drainedListeners.delete(cb);
  }

  /** Stages a block (copied) of piece `index` at `begin`. */
  add(index: number, begin: number, data: Uint8Array): void {
    let run = this.runs.get(index);
    if (run !== undefined && (begin !== run.begin + run.length || run.length + data.length > run.bytes.length)) {
      this.flush(index, run);
      run = undefined;
    }
    if (run === undefined) {
      const reuse = data.length <= SPILL_RUN_BYTES ? this.free.pop() : undefined;
      run = { begin, length: 0, bytes: new Uint8Array(reuse ?? new ArrayBuffer(Math.max(SPILL_RUN_BYTES, data.length))) };
      this.runs.set(index, run);
    }
    run.bytes.set(data, run.length);
    run.length += data.length;
    this.backlog += data.length;
    if (this.backlog >= SPILL_HIGH_WATER) this.isFull = true;
    if (run.length === run.bytes.length) this.flush(index, run);
  }

  /** Writes what is staged for piece `index` and waits for all its writes; throws the first failure. */
  async settle(index: number): Promise<void> {
    const run = this.runs.get(index);
    if (run !== undefined) this.flush(index, run);
    const pending = this.writes.get(index) ?? [];
    this.writes.delete(index);
    await Promise.all(pending);
    const err = this.failed.get(index);
    if (err !== undefined || this.failed.has(index)) {
      this.failed.delete(index);
      throw err;
    }
  }

  /** Forgets staged blocks (the store is closing). */
  drop(): void {
    for (const run of this.runs.values()) this.backlog -= run.length;
    this.runs.clear();
    this.free.length = 0;
  }

  private written(n: number): void {
    this.backlog -= n;
    if (!this.isFull || this.backlog >= SPILL_LOW_WATER) return;
    this.isFull = false;
    for (const cb of [...this.drainedListeners]) cb();
  }

  /**
   * What a run hands to the writer. A run cut short (its next block went elsewhere: endgame
   * duplicates, a piece another peer finishes) would hold a whole run buffer for a block or
   * two until it is written, many times the bytes it carries; with many peers such runs held
   * hundreds of MiB. So a short run is copied out, and its buffer kept for the next run.
   */
  private payload(run: Run): Uint8Array {
    const n = run.length;
    const buffer = run.bytes.buffer;
    if (n * 4 > buffer.byteLength || !this.keeps(buffer)) return run.bytes.subarray(0, n);
    const copy = run.bytes.slice(0, n);
    this.free.push(buffer);
    return copy;
  }

  /** Whether `buffer` goes back to the free runs: one of run size, while there is room. */
  private keeps(buffer: ArrayBuffer): boolean {
    return buffer.byteLength === SPILL_RUN_BYTES && this.free.length < MAX_FREE_RUNS;
  }

  private flush(index: number, run: Run): void {
    this.runs.delete(index);
    const n = run.length;
    const done = this.write(index, run.begin, this.payload(run)).then(
      (buffer) => {
        this.written(n);
        if (this.keeps(buffer)) this.free.push(buffer);
      },
      (err: unknown) => {
        this.written(n);
        if (!this.failed.has(index)) this.failed.set(index, err);
      },
    );
    const list = this.writes.get(index);
    if (list === undefined) this.writes.set(index, [done]);
    else list.push(done);
  }
}
