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
 * A worker thread costs about 9 MiB of RSS (its own V8 heap, and a recheck's read buffer):
 * one pool per session instead of two workers per torrent is what lets many torrents run at
 * once. A worker starts when a task needs it, learning the registered torrents first, and
 * stops once it has been idle for `IDLE_STOP_MS`, closing its files: a seed whose data was
 * verified from its resume record never starts one, and one that rechecked gives them back.
 * Workers are unref'd while idle, so a forgotten pool does not keep the process alive, but
 * ref'd while a task is in flight, so a pending write is never lost to an early exit.
 *
 * A worker that dies fails the tasks it held (code `worker`) and is replaced when next
 * needed, its torrents registered again; after `MAX_RESTARTS` deaths the pool gives up and
 * fails everything.
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
  /** Undefined until a task needs it, and again once it stopped for idleness or died. */
  worker: Worker | undefined;
  readonly pending: Map<number, Job>;
  done: number;
  /** Stops the worker once it has been idle long enough (set while nothing is pending). */
  idleTimer: NodeJS.Timeout | undefined;
}

const WORKER_URL = new URL('./storage-worker.js', import.meta.url);

const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };

/** Tasks posted to a worker ahead of the one it runs. */
const DEPTH = 2;
/** Tasks one torrent may queue; its callers bound their work far below (buffer pool, spill backlog). */
export const MAX_QUEUED_PER_TORRENT = 4096;
/** Worker deaths the pool survives by starting a new one. */
const MAX_RESTARTS = 3;
/**
 * A worker idle this long stops. Long enough that a download's workers, busy while pieces
 * arrive, do not stop between pieces; starting one again costs about 30 ms of one core.
 */
export const IDLE_STOP_MS = 2000;

/** Registers `client`'s files with `worker` (a client without files needs no registering). */
function tellFiles(worker: Worker, client: WorkerClient): void {
  if (client.data !== undefined) worker.postMessage({ type: 'open', torrent: client.id, data: client.data } satisfies WorkerControl);
}

/** Workers for a machine: one per core, at least 2 (one hashes while one writes), at most 8. */
export function defaultWorkerCount(): number {
  return Math.min(8, Math.max(2, availableParallelism()));
}

export interface WorkerPoolOptions {
  /** A worker idle this long stops (default `IDLE_STOP_MS`). */
  readonly idleStopMs?: number;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly idleStopMs: number;
  /** Clients in round-robin order; `turn` is the one served first next time. */
  private readonly clients: WorkerClient[] = [];
  private turn = 0;
  private nextId = 1;
  private nextClient = 1;
  private restarts = 0;
  private failure: StorageError | undefined;
  private terminated = false;

  constructor(count: number = defaultWorkerCount(), opts: WorkerPoolOptions = {}) {
    if (!Number.isInteger(count) || count < 1) {
      throw new StorageError('invalid-argument', `worker count ${count} is not a positive integer`);
    }
    this.idleStopMs = opts.idleStopMs ?? IDLE_STOP_MS;
    for (let i = 0; i < count; i++) this.slots.push({ worker: undefined, pending: new Map(), done: 0, idleTimer: undefined });
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks each worker has finished, by worker index. */
  get completed(): number[] {
    return this.slots.map((s) => s.done);
  }

  /** Worker threads running now (started by a task, not yet stopped for idleness). */
  get running(): number {
    return this.runningWorkers().length;
  }

  /** A torrent's handle on the pool; `data` tells the workers its files (none: hashing only). */
  client(data?: StorageWorkerData): WorkerClient {
    if (this.failure !== undefined) throw this.failure;
    if (this.terminated) throw new StorageError('closed', 'storage workers are closed');
    const client = new WorkerClient(this, this.nextClient++, data);
    this.clients.push(client);
    for (const s of this.slots) if (s.worker !== undefined) tellFiles(s.worker, client);
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

  /** @internal The indexes of the workers running now. */
  runningWorkers(): number[] {
    return this.slots.flatMap((s, i) => (s.worker === undefined ? [] : [i]));
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
   * @internal Has every running worker close `client`'s files and forget it, straight to each
   * port (its queue is dropped by now); a worker not running has nothing open. A worker that
   * fails at it has nothing left open for it anyway.
   */
  forget(client: WorkerClient): Promise<void> {
    if (this.terminated || this.failure !== undefined) return Promise.resolve();
    const each = this.slots.flatMap((slot, i) =>
      slot.worker === undefined
        ? []
        : [new Promise<unknown>((resolve, reject) => this.start(slot, i, { client, task: { type: 'close' }, worker: i, transfer: [], urgent: true, resolve, reject }))],
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
        this.start(slot, i, job);
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

  private start(slot: Slot, index: number, job: Job): void {
    const id = this.nextId++;
    const worker = (slot.worker ??= this.spawn(index));
    if (slot.pending.size === 0) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      worker.ref();
    }
    slot.pending.set(id, job);
    job.client.running++;
    const msg: WorkerRequest = { ...job.task, id, torrent: job.client.id };
    worker.postMessage(msg, job.transfer);
  }

  /** A new worker for slot `index`, told every registered torrent's files before any task. */
  private spawn(index: number): Worker {
    // Workers hold almost no JS objects (buffers are moved, not cloned): small heaps keep RSS down.
    const worker = new Worker(WORKER_URL, { resourceLimits: WORKER_LIMITS });
    worker.on('message', (reply: WorkerReply) => this.onReply(index, reply));
    worker.on('error', (err) => this.onDeath(index, worker, `storage worker failed: ${err.message}`, err));
    worker.on('exit', (code) => this.onDeath(index, worker, `storage worker exited with code ${code}`));
    worker.unref();
    for (const c of this.clients) tellFiles(worker, c);
    return worker;
  }

  /** Nothing is pending on the slot's worker: stop it if nothing comes within `idleStopMs`. */
  private idleLater(slot: Slot): void {
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      const worker = slot.worker;
      if (worker === undefined || slot.pending.size > 0) return;
      // Detached first: its exit is not a death. It closes its files and ends by itself.
      slot.worker = undefined;
      worker.postMessage({ type: 'stop' } satisfies WorkerControl);
    }, this.idleStopMs);
    slot.idleTimer.unref();
  }

  private onReply(index: number, reply: WorkerReply): void {
    const slot = this.slots[index]!;
    const job = slot.pending.get(reply.id);
    if (job === undefined) return;
    slot.pending.delete(reply.id);
    slot.done++;
    job.client.finished();
    if (reply.ok) job.resolve(reply.value);
    else job.reject(new StorageError(isStorageErrorCode(reply.code) ? reply.code : 'disk', reply.message));
    this.dispatch();
    if (slot.pending.size === 0 && slot.worker !== undefined) {
      slot.worker.unref();
      this.idleLater(slot);
    }
  }

  /**
   * A dead worker may have died mid-task: what it held fails. A new worker takes its place
   * when a task needs one and learns the registered torrents again, unless workers keep
   * dying: then everything fails.
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
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    slot.worker = undefined;
    void worker.terminate();
    if (++this.restarts > MAX_RESTARTS) {
      this.failure = err;
      void this.stop(err);
      return;
    }
    this.dispatch();
  }

  private async stop(err: StorageError): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    for (const c of [...this.clients]) this.drop(c, err);
    for (const s of this.slots) clearTimeout(s.idleTimer);
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
    this.rejectRunning(err);
  }

  private rejectRunning(err: StorageError): void {
    for (const s of this.slots) {
      for (const job of s.pending.values()) {
        job.client.finished();
        job.reject(err);
      }
      s.pending.clear();
      s.worker?.unref();
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
    private files: StorageWorkerData | undefined,
  ) {}

  /** What a worker started now is told about the torrent's files (none: hashing only). */
  get data(): StorageWorkerData | undefined {
    return this.files;
  }

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

  /**
   * New skip flags for the torrent's files (one byte per file): each running worker takes
   * them in turn with its tasks, and a worker started later is told them when it starts.
   */
  async setSkipped(skipped: Uint8Array): Promise<void> {
    if (this.files === undefined) throw new StorageError('invalid-argument', 'no files are registered for this torrent');
    this.files = { ...this.files, skipped };
    await Promise.all(this.pool.runningWorkers().map((i) => this.run({ type: 'skip', skipped }, { worker: i })));
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
