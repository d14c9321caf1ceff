import { Worker } from 'node:worker_threads';
import { StorageError, isStorageErrorCode } from './errors.js';
import type { StorageWorkerData, TaskResults, WorkerReply, WorkerTask } from './worker-protocol.js';

/**
 * A fixed set of storage worker threads with promise-returning tasks. Tasks go to the
 * least busy worker; several may queue in one worker's port so it never waits for the
 * main thread between tasks. Workers are unref'd while idle, so a forgotten pool does
 * not keep the process alive, but ref'd while a task is in flight, so a pending write is
 * never lost to an early exit.
 */

interface Pending {
  resolve(value: TaskResults[keyof TaskResults]): void;
  reject(err: Error): void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  done: number;
}

const WORKER_URL = new URL('./storage-worker.js', import.meta.url);

const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private failure: StorageError | undefined;
  private terminated = false;

  constructor(count: number, data?: StorageWorkerData) {
    if (!Number.isInteger(count) || count < 1) {
      throw new StorageError('invalid-argument', `worker count ${count} is not a positive integer`);
    }
    for (let i = 0; i < count; i++) {
      // Workers hold almost no JS objects (buffers are shared memory): small heaps keep RSS down.
      const worker = new Worker(WORKER_URL, { workerData: data, resourceLimits: WORKER_LIMITS });
      const slot: Slot = { worker, pending: new Map(), done: 0 };
      worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
      worker.on('error', (err) => this.fail(new StorageError('worker', `storage worker failed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => {
        if (!this.terminated) this.fail(new StorageError('worker', `storage worker exited with code ${code}`));
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks each worker has finished, by worker index. */
  get completed(): number[] {
    return this.slots.map((s) => s.done);
  }

  /** Tasks in flight across all workers. */
  get busy(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  /** `transfer` lists buffers to move (not copy) to the worker; they become unusable here. */
  run<T extends WorkerTask>(task: T, workerIndex?: number, transfer: ArrayBuffer[] = []): Promise<TaskResults[T['type']]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.terminated) return Promise.reject(new StorageError('closed', 'storage workers are closed'));
    const slot = this.slots[workerIndex ?? this.leastBusyIndex(0)]!;
    const id = this.nextId++;
    return new Promise<TaskResults[T['type']]>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      slot.worker.postMessage({ ...task, id }, transfer);
    });
  }

  /** Runs `task` once on every worker (e.g. closing their files). */
  runOnAll<T extends WorkerTask>(task: T): Promise<TaskResults[T['type']][]> {
    return Promise.all(this.slots.map((_, i) => this.run(task, i)));
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.rejectAll(new StorageError('closed', 'storage workers are closed'));
  }

  /** The worker with the fewest tasks in flight; `prefer` wins a tie. */
  leastBusyIndex(prefer: number): number {
    let best = prefer;
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]!.pending.size < this.slots[best]!.pending.size) best = i;
    return best;
  }


  private onReply(slot: Slot, reply: WorkerReply): void {
    const p = slot.pending.get(reply.id);
    if (p === undefined) return;
    slot.pending.delete(reply.id);
    slot.done++;
    if (slot.pending.size === 0) slot.worker.unref();
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new StorageError(isStorageErrorCode(reply.code) ? reply.code : 'disk', reply.message));
  }

  /** A dead worker may have died mid-task: everything in flight fails, and so does what follows. */
  private fail(err: StorageError): void {
    this.failure ??= err;
    this.rejectAll(err);
    void this.terminate();
  }

  private rejectAll(err: StorageError): void {
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(err);
      s.pending.clear();
      s.worker.unref();
    }
  }
}
