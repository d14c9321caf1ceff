import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Bitfield } from '../../src/util/bitfield.js';
import { StorageError, TorrentStorage } from '../../src/storage/index.js';
import { MAX_QUEUED_PER_TORRENT, WorkerPool, type WorkerClient } from '../../src/storage/worker-pool.js';
import { bytes, filePath, makeTorrent, pieceOf, withTempDir } from './fixtures.js';

const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;
const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

/** A hash task of `data` (copied, and the copy moved to the worker). */
function hash(client: WorkerClient, data: Uint8Array, urgent = false): Promise<Uint8Array> {
  const copy = new Uint8Array(data);
  return client.run({ type: 'hash', data: copy }, { transfer: [copy.buffer], urgent });
}

/** The worker thread behind slot `i` (running a task), to kill it as a crash would. */
function workerOf(pool: WorkerPool, i: number): Worker {
  return pool['slots'][i]!.worker!;
}

/** Waits until `cond` holds, for at most 5 s. */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(await cond(), `timed out waiting until ${what}`);
}

/** The process's open descriptors on files below `dir` (Linux). */
async function descriptorsUnder(dir: string): Promise<string[]> {
  const fds = await fs.readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith(dir + path.sep));
}

describe('WorkerPool (shared by the torrents of a session)', () => {
  it('takes turns among torrents: a late torrent is served before an early one empties its queue', async () => {
    const pool = new WorkerPool(1);
    try {
      const a = pool.client();
      const b = pool.client();
      const order: string[] = [];
      const data = bytes(64 << 10, 1);
      const jobs = [
        ...Array.from({ length: 20 }, (_, i) => hash(a, data).then(() => order.push(`a${i}`))),
        ...Array.from({ length: 2 }, (_, i) => hash(b, data).then(() => order.push(`b${i}`))),
      ];
      await Promise.all(jobs);
      assert.equal(order.length, 22);
      // One worker, two tasks posted ahead: a0 and a1 were already posted when b came; after that they alternate.
      const lastB = order.indexOf('b1');
      assert.ok(lastB >= 0 && lastB < 6, `b's tasks interleave with a's, not after them: ${order.join(' ')}`);
      // Each torrent's own tasks stay in order.
      assert.deepEqual(order.filter((o) => o.startsWith('a')), Array.from({ length: 20 }, (_, i) => `a${i}`));
    } finally {
      await pool.terminate();
    }
  });

  it("runs a torrent's urgent task before its queued ones", async () => {
    const pool = new WorkerPool(1);
    try {
      const c = pool.client();
      const order: string[] = [];
      const data = bytes(64 << 10, 5);
      const jobs = Array.from({ length: 6 }, (_, i) => hash(c, data).then(() => order.push(`n${i}`)));
      jobs.push(hash(c, data, true).then(() => order.push('urgent')));
      await Promise.all(jobs);
      // n0 and n1 were already posted to the worker; the urgent task passes the four still queued.
      assert.deepEqual(order, ['n0', 'n1', 'urgent', 'n2', 'n3', 'n4', 'n5']);
    } finally {
      await pool.terminate();
    }
  });

  it('starts a worker when a task needs one, and stops it once idle; the next task starts another', async () => {
    const pool = new WorkerPool(2, { idleStopMs: 20 });
    try {
      const c = pool.client();
      assert.equal(pool.running, 0, 'no worker before the first task');
      const data = bytes(1000, 9);
      assert.deepEqual(Buffer.from(await hash(c, data)), sha1(data));
      assert.ok(pool.running >= 1);
      await until(() => pool.running === 0, 'the idle worker stopped');
      assert.deepEqual(Buffer.from(await hash(c, data)), sha1(data));
      assert.deepEqual(pool.completed.reduce((a, b) => a + b), 2);
    } finally {
      await pool.terminate();
    }
  });

  it("a worker stopped for idleness closes the torrent's files; the next one writes with the current skip flags", { skip: process.platform !== 'linux' && 'reads /proc/self/fd' }, () =>
    withTempDir(async (dir) => {
      const pool = new WorkerPool(1, { idleStopMs: 20 });
      // Pieces of 100 bytes over a [0,150) b [150,420) c [420,500): piece 1 is shared by a and b.
      const t = makeTorrent([{ name: 'a', length: 150 }, { name: 'b', length: 270 }, { name: 'c', length: 80 }], 100, { seed: 3 });
      const store = await TorrentStorage.open(dir, t.info, { pool, skip: [false, true, false], partFile: '.p.parts' });
      const commit = async (index: number): Promise<void> => {
        const buf = store.acquirePieceBuffer(index)!;
        buf.set(pieceOf(t, index));
        assert.equal(await store.commitPiece(index, buf), 'ok');
      };
      try {
        await commit(0);
        assert.ok((await descriptorsUnder(dir)).length > 0, 'the worker holds the file it wrote open');
        await until(() => pool.running === 0, 'the idle worker stopped');
        await until(async () => (await descriptorsUnder(dir)).length === 0, 'the stopped worker closed its files');
        // Wanted again while no worker runs: the worker started for piece 1 must write b's part in place.
        const have = new Bitfield(t.info.pieceCount);
        have.set(0);
        await store.setSkipped([false, false, false], have);
        await commit(1);
        assert.deepEqual((await fs.readFile(filePath(dir, t.info, 1))).subarray(0, 50), t.contents[1]!.subarray(0, 50));
      } finally {
        await store.close();
        await pool.terminate();
      }
    }),
  );

  it('gives one torrent every worker', async () => {
    const pool = new WorkerPool(3);
    try {
      const c = pool.client();
      const inputs = Array.from({ length: 24 }, (_, i) => bytes(256 << 10, i + 2));
      const digests = await Promise.all(inputs.map((d) => hash(c, d)));
      digests.forEach((d, i) => assert.deepEqual(Buffer.from(d), sha1(inputs[i]!)));
      assert.ok(pool.completed.every((n) => n > 0), `every worker hashed: ${pool.completed.join(', ')}`);
    } finally {
      await pool.terminate();
    }
  });

  it('bounds what one torrent may queue, and the bound is its own', async () => {
    const pool = new WorkerPool(1);
    try {
      const a = pool.client();
      const b = pool.client();
      const tiny = new Uint8Array(1);
      // Two posted to the worker, the rest queued up to the bound.
      const accepted = Array.from({ length: MAX_QUEUED_PER_TORRENT + 2 }, () => hash(a, tiny));
      await assert.rejects(hash(a, tiny), isCode('overloaded'));
      // Another torrent is not refused because of the first one's queue.
      const other = hash(b, tiny);
      assert.equal((await Promise.all(accepted)).length, MAX_QUEUED_PER_TORRENT + 2);
      assert.deepEqual(Buffer.from(await other), sha1(tiny));
      assert.deepEqual(Buffer.from(await hash(a, tiny)), sha1(tiny));
    } finally {
      await pool.terminate();
    }
  });

  it('a torrent removed while its tasks wait: they fail as closed, its running ones finish, others go on', async () => {
    const pool = new WorkerPool(1);
    try {
      const a = pool.client();
      const b = pool.client();
      const data = bytes(1 << 20, 3);
      const aJobs = Array.from({ length: 10 }, () =>
        hash(a, data).then(
          () => 'done',
          (e: unknown) => (isCode('closed')(e) ? 'closed' : `unexpected ${String(e)}`),
        ),
      );
      const bJobs = Array.from({ length: 4 }, () => hash(b, data));
      await a.close();
      const results = await Promise.all(aJobs);
      assert.deepEqual(results.slice(0, 2), ['done', 'done'], 'the two posted to the worker ran');
      assert.ok(results.slice(2).every((r) => r === 'closed'), results.join(', '));
      assert.equal(a.busy, 0);
      await assert.rejects(hash(a, data), isCode('closed'));
      for (const d of await Promise.all(bJobs)) assert.deepEqual(Buffer.from(d), sha1(data));
    } finally {
      await pool.terminate();
    }
  });

  it('a worker that dies fails its tasks with a typed error and is replaced; one that keeps dying fails everything', async () => {
    const pool = new WorkerPool(1);
    try {
      const c = pool.client();
      const big = bytes(64 << 20, 4);
      const pending = hash(c, big);
      await workerOf(pool, 0).terminate();
      await assert.rejects(pending, isCode('worker'));
      // The replacement serves the same torrent.
      assert.deepEqual(Buffer.from(await hash(c, big.subarray(0, 1000))), sha1(big.subarray(0, 1000)));
      // A few more deaths, then the pool gives up: every task fails at once instead of hanging.
      for (let i = 0; i < 3; i++) {
        const p = hash(c, big);
        await workerOf(pool, 0).terminate();
        await assert.rejects(p, isCode('worker'));
      }
      await assert.rejects(hash(c, big.subarray(0, 10)), isCode('worker'));
    } finally {
      await pool.terminate();
    }
  });

  it('serves the files of several torrents at once, and one closing leaves the others working', () =>
    withTempDir(async (rootA) =>
      withTempDir(async (rootB) => {
        const pool = new WorkerPool(2);
        const ta = makeTorrent([{ name: 'a.bin', length: 8 * 16384 }], 16384, { seed: 1 });
        const tb = makeTorrent([{ name: 'b', length: 30000 }, { name: 'c', length: 70000 }], 16384, { seed: 2 });
        const a = await TorrentStorage.open(rootA, ta.info, { pool });
        const b = await TorrentStorage.open(rootB, tb.info, { pool });
        try {
          const commitAll = (store: TorrentStorage, t: typeof ta): Promise<string[]> =>
            Promise.all(
              Array.from({ length: t.info.pieceCount }, (_, i) => {
                const buf = store.acquirePieceBuffer(i)!;
                buf.set(pieceOf(t, i));
                return store.commitPiece(i, buf);
              }),
            );
          const [ra, rb] = await Promise.all([commitAll(a, ta), commitAll(b, tb)]);
          assert.ok([...ra, ...rb].every((r) => r === 'ok'));
          await a.close();
          // b still writes and verifies on the shared workers after a is gone.
          assert.equal((await b.recheck()).count, tb.info.pieceCount);
          assert.ok((await fs.readFile(filePath(rootA, ta.info, 0))).equals(ta.contents[0]!));
          assert.ok((await fs.readFile(filePath(rootB, tb.info, 1))).equals(tb.contents[1]!));
        } finally {
          await a.close();
          await b.close();
          await pool.terminate();
        }
      }),
    ));
});
