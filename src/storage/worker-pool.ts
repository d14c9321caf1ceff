import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StorageError, isStorageErrorCode } from './errors.js';
import type { StorageWorkerData, TaskResults, WorkerControl, WorkerReply, WorkerRequest, WorkerTask } from './worker-protocol.js';

/**
 * Storage worker threads shared by every torrent of a session. Each torrent is a `WorkerClient`
 * with its own bounded queue of tasks; the workers take turns among the torrents that have
 * work (round robin), so a recheck of one torrent does not starve the writes of another, and
 * a single busy torrent still gets every worker. At most `DEPTH` tasks wait in a worker's
 * port, so a worker never idles waiting for the main thread while the rest stay in the
 * queues, where they can still go to whichever worker frees up first.
 *
 * A worker thread costs about 8 MiB of RSS (its own V8 heap): one pool per session instead
 * of two workers per torrent is what lets many torrents run at once. Workers are unref'd
 * while idle, so a forgotten pool does not keep the process alive, but ref'd while a task is
 * in flight, so a pending write is never lost to an early exit.
 *
 * A worker that dies fails the tasks it held (code `worker`) and is replaced, its torrents
 * registered again; after `MAX_RESTARTS` deaths the pool gives up and fails everything.
 */

interface Job {
  readonly client: WorkerClient;
  readonly task: WorkerTask;
  /** The worker that must run it (a file's writer), or undefined for any. */
  readonly worker: number | undefined;
  readonly transfer: ArrayBuffer[];
  /** Goes ahead of the client's other tasks (a piece buffer the download waits for). */
  readonly urgent: boolean;
  resolve(value: TaskResults[keyof TaskResults]): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  readonly pending: Map<number, Job>;
  done: number;
}

const WORKER_URL = new URL('./storage-worker.js', import.meta.url);

const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };

/** Tasks posted to a worker ahead of the one it runs. */
const DEPTH = 2;
/** Tasks one torrent may queue; its callers bound their work far below (buffer pool, spill backlog). */
export const MAX_QUEUED_PER_TORRENT = 4096;
/** Worker deaths the pool survives by starting a new one. */
const MAX_RESTARTS = 3;

/** Workers for a machine: one per core, at least 2 (one hashes while one writes), at most 8. */
export function defaultWorkerCount(): number {
  return Math.min(8, Math.max(2, availableParallelism()));
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  /** Clients in round-robin order; `turn` is the one served first next time. */
  private readonly clients: WorkerClient[] = [];
  private turn = 0;
  private nextId = 1;
  private nextClient = 1;
  private restarts = 0;
  private failure: StorageError | undefined;
  private terminated = false;

  constructor(count: number = defaultWorkerCount()) {
    if (!Number.isInteger(count) || count < 1) {
      throw new StorageError('invalid-argument', `worker count ${count} is not a positive integer`);
    }
    for (let i = 0; i < count; i++) this.slots.push({ worker: this.spawn(i), pending: new Map(), done: 0 });
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks each worker has finished, by worker index. */
  get completed(): number[] {
    return this.slots.map((s) => s.done);
  }

  /** A torrent's handle on the pool; `data` tells the workers its files (none: hashing only). */
  client(data?: StorageWorkerData): WorkerClient {
    if (this.failure !== undefined) throw this.failure;
    if (this.terminated) throw new StorageError('closed', 'storage workers are closed');
    const client = new WorkerClient(this, this.nextClient++, data);
    this.clients.push(client);
    if (data !== undefined) for (const s of this.slots) this.post(s, { type: 'open', torrent: client.id, data });
    return client;
  }

  /** Stops the workers; every queued or running task fails with `closed`. */
  terminate(): Promise<void> {
    return this.stop(new StorageError('closed', 'storage workers are closed'));
  }

  /** @internal `WorkerClient.run`. */
  enqueue(job: Job): void {
    if (this.failure !== undefined) return job.reject(this.failure);
    if (this.terminated) return job.reject(new StorageError('closed', 'storage workers are closed'));
    job.client.queue.push(job);
    this.dispatch();
  }

  /** @internal True when `index` has nothing running or waiting for it. */
  idle(index: number): boolean {
    if (this.slots[index]!.pending.size > 0) return false;
    return !this.clients.some((c) => c.queue.some((j) => j.worker === index));
  }

  /** @internal Forgets a client: its queued tasks fail with `err`; tasks already running finish. */
  drop(client: WorkerClient, err: StorageError): void {
    const at = this.clients.indexOf(client);
    if (at < 0) return;
    this.clients.splice(at, 1);
    if (this.turn > at) this.turn--;
    for (const j of client.queue.splice(0)) j.reject(err);
  }

  /**
   * @internal Has every worker close `client`'s files and forget it, straight to each port (its
   * queue is dropped by now). A worker that fails at it has nothing left open for it anyway.
   */
  forget(client: WorkerClient): Promise<void> {
    if (this.terminated || this.failure !== undefined) return Promise.resolve();
    const each = this.slots.map(
      (slot, i) =>
        new Promise<unknown>((resolve, reject) => this.start(slot, { client, task: { type: 'close' }, worker: i, transfer: [], urgent: true, resolve, reject })),
    );
    return Promise.all(each).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Fills every worker up to `DEPTH` tasks, taking turns among the clients. */
  private dispatch(): void {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      while (slot.pending.size < DEPTH) {
        const job = this.nextJobFor(i);
        if (job === undefined) break;
        this.start(slot, job);
      }
    }
  }

  /** The oldest task (urgent ones first) of the next client in turn that worker `index` may run. */
  private nextJobFor(index: number): Job | undefined {
    const n = this.clients.length;
    for (let k = 0; k < n; k++) {
      const at = (this.turn + k) % n;
      const queue = this.clients[at]!.queue;
      const fits = (job: Job): boolean => job.worker === undefined || job.worker === index;
      let j = queue.findIndex((job) => job.urgent && fits(job));
      if (j < 0) j = queue.findIndex(fits);
      if (j < 0) continue;
      this.turn = (at + 1) % n;
      return queue.splice(j, 1)[0];
    }
    return undefined;
  }

  private start(slot: Slot, job: Job): void {
    const id = this.nextId++;
    if (slot.pending.size === 0) slot.worker.ref();
    slot.pending.set(id, job);
    job.client.running++;
    this.post(slot, { ...job.task, id, torrent: job.client.id }, job.transfer);
  }

  private post(slot: Slot, msg: WorkerControl | WorkerRequest, transfer: ArrayBuffer[] = []): void {
    slot.worker.postMessage(msg, transfer);
  }

  private spawn(index: number): Worker {
    // Workers hold almost no JS objects (buffers are moved, not cloned): small heaps keep RSS down.
    const worker = new Worker(WORKER_URL, { resourceLimits: WORKER_LIMITS });
    worker.on('message', (reply: WorkerReply) => this.onReply(index, reply));
    worker.on('error', (err) => this.onDeath(index, worker, `storage worker failed: ${err.message}`, err));
    worker.on('exit', (code) => this.onDeath(index, worker, `storage worker exited with code ${code}`));
    worker.unref();
    return worker;
  }

  private onReply(index: number, reply: WorkerReply): void {
    const slot = this.slots[index]!;
    const job = slot.pending.get(reply.id);
    if (job === undefined) return;
    slot.pending.delete(reply.id);
    slot.done++;
    job.client.finished();
    if (slot.pending.size === 0) slot.worker.unref();
    if (reply.ok) job.resolve(reply.value);
    else job.reject(new StorageError(isStorageErrorCode(reply.code) ? reply.code : 'disk', reply.message));
    this.dispatch();
  }

  /**
   * A dead worker may have died mid-task: what it held fails. A new worker takes its place and
   * learns the registered torrents again, unless workers keep dying: then everything fails.
   */
  private onDeath(index: number, worker: Worker, message: string, cause?: unknown): void {
    const slot = this.slots[index]!;
    if (this.terminated || slot.worker !== worker) return;
    const err = new StorageError('worker', message, cause === undefined ? undefined : { cause });
    for (const job of slot.pending.values()) {
      job.client.finished();
      job.reject(err);
    }
    slot.pending.clear();
    void worker.terminate();
    if (++this.restarts > MAX_RESTARTS) {
      this.failure = err;
      void this.stop(err);
      return;
    }
    slot.worker = this.spawn(index);
    for (const c of this.clients) if (c.data !== undefined) this.post(slot, { type: 'open', torrent: c.id, data: c.data });
    this.dispatch();
  }

  private async stop(err: StorageError): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    for (const c of [...this.clients]) this.drop(c, err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.rejectRunning(err);
  }

  private rejectRunning(err: StorageError): void {
    for (const s of this.slots) {
      for (const job of s.pending.values()) {
        job.client.finished();
        job.reject(err);
      }
      s.pending.clear();
      s.worker.unref();
    }
  }
}

export interface RunOptions {
  /** The worker that must run the task (a file's writer); default: the first free one. */
  readonly worker?: number;
  /** Buffers moved (not copied) to the worker with the task. */
  readonly transfer?: ArrayBuffer[];
  /** Ahead of the client's other queued tasks. */
  readonly urgent?: boolean;
}

/**
 * One torrent's share of a `WorkerPool`: its task queue (bounded), its files registered with
 * every worker, and `close`, which lets what runs finish and drops what waits.
 */
export class WorkerClient {
  /** @internal Tasks waiting for a worker, oldest first. */
  readonly queue: Job[] = [];
  /** @internal Tasks posted to a worker and not answered yet. */
  running = 0;
  private closed: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];

  /** @internal Use `WorkerPool.client`. */
  constructor(
    private readonly pool: WorkerPool,
    readonly id: number,
    readonly data: StorageWorkerData | undefined,
  ) {}

  get size(): number {
    return this.pool.size;
  }

  /** Tasks queued or running. */
  get busy(): number {
    return this.queue.length + this.running;
  }

  /**
   * Runs `task` on `opts.worker` (undefined: the first free one). `transfer` lists buffers to
   * move (not copy) to the worker; they become unusable here. An `urgent` task goes ahead of
   * this client's other queued tasks: a committed piece's buffer, which the download waits for,
   * must not queue behind the writes of spilled blocks (each late buffer makes another piece spill).
   */
  run<T extends WorkerTask>(task: T, opts: RunOptions = {}): Promise<TaskResults[T['type']]> {
    if (this.closed !== undefined) return Promise.reject(new StorageError('closed', 'storage is closed'));
    if (this.queue.length >= MAX_QUEUED_PER_TORRENT) {
      return Promise.reject(new StorageError('overloaded', `${this.queue.length} storage tasks already wait for this torrent`));
    }
    return new Promise<TaskResults[T['type']]>((resolve, reject) => {
      const job = { client: this, task, worker: opts.worker, transfer: opts.transfer ?? [], urgent: opts.urgent === true };
      this.pool.enqueue({ ...job, resolve: resolve as Job['resolve'], reject });
    });
  }

  /** Runs `task` once on every worker (e.g. new skip flags). */
  runOnAll<T extends WorkerTask>(task: T): Promise<TaskResults[T['type']][]> {
    return Promise.all(Array.from({ length: this.pool.size }, (_, i) => this.run(task, { worker: i })));
  }

  /** Whether worker `index` has nothing to do (any torrent's). */
  idle(index: number): boolean {
    return this.pool.idle(index);
  }

  /** Resolves once no task of this client is queued or running. */
  drain(): Promise<void> {
    return this.busy === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Fails the queued tasks (`closed`), waits for the running ones, then has every worker close
   * this torrent's files and forget it. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.pool.drop(this, new StorageError('closed', 'storage is closed'));
      await this.drain();
      if (this.data !== undefined) await this.pool.forget(this);
    })();
    return this.closed;
  }

  /** @internal A running task was answered (or failed). */
  finished(): void {
    this.running--;
    if (this.busy === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
