import { WorkerPool, type WorkerClient } from './worker-pool.js';

/**
 * SHA-1 of whole pieces on worker threads, for `tessera create` and anything else that
 * hashes in bulk. Data backed by a `SharedArrayBuffer` is hashed in place; any other
 * `Uint8Array` is copied once and the copy moved to the worker (a memcpy, ~10× faster
 * than the hash; and never the whole underlying buffer, which `postMessage` would clone
 * for a small view of a large read buffer). Keep about 2 × `workers` calls in flight.
 */
export class PieceHasher {
  private readonly pool: WorkerPool;
  private readonly client: WorkerClient;

  constructor(workers = 2) {
    this.pool = new WorkerPool(workers);
    this.client = this.pool.client();
  }

  /** The 20-byte SHA-1 digest of `data`. */
  hash(data: Uint8Array): Promise<Uint8Array> {
    if (data.buffer instanceof SharedArrayBuffer) return this.client.run({ type: 'hash', data });
    const copy = new Uint8Array(data);
    return this.client.run({ type: 'hash', data: copy }, { transfer: [copy.buffer] });
  }

  /** Waits for hashes in flight, then stops the workers. */
  async close(): Promise<void> {
    try {
      await this.client.drain();
      await this.client.close();
    } finally {
      await this.pool.terminate();
    }
  }
}
