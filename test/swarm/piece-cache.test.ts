import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PieceCache } from '../../src/swarm/piece-cache.js';

const SIZE = 10;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A cache over pieces of SIZE bytes whose bytes are all the piece's index; records reads and the buffers read into. */
function cacheOf(maxBytes: number, fail?: (piece: number) => boolean): { cache: PieceCache; reads: number[]; into: Buffer[] } {
  const reads: number[] = [];
  const into: Buffer[] = [];
  const cache = new PieceCache(
    async (p, buf) => {
      reads.push(p);
      into.push(buf);
      if (fail?.(p) === true) throw new Error('disk');
      return buf.fill(p).subarray(0, SIZE);
    },
    maxBytes,
    SIZE,
  );
  return { cache, reads, into };
}

test('reads each piece once while cached, evicts the least recently used by bytes, and reuses its buffer', async () => {
  const { cache, reads, into } = cacheOf(25);
  assert.equal((await cache.get(1))[0], 1);
  await cache.get(2);
  await cache.get(1);
  assert.deepEqual(reads, [1, 2]);
  await settle();
  await cache.get(3); // a third buffer would pass 25 bytes: 2, the least recently used, goes
  assert.equal(into[2], into[1], 'the evicted piece buffer is read into again');
  await cache.get(1);
  await settle();
  await cache.get(2);
  assert.deepEqual(reads, [1, 2, 3, 2]);
  assert.equal(cache.bytes, 20, 'never more than two buffers of 10 bytes under a 25-byte bound');
});

test('a failed read is not cached, and its buffer serves the next read', async () => {
  let first = true;
  const { cache, into } = cacheOf(100, () => {
    const f = first;
    first = false;
    return f;
  });
  await assert.rejects(cache.get(0), /disk/);
  await settle();
  assert.equal((await cache.get(0))[0], 0);
  assert.equal(into[1], into[0]);
  assert.equal(cache.bytes, SIZE);
});

test('peek gives a piece only once its read finished, and not after eviction', async () => {
  const { cache } = cacheOf(15);
  const pending = cache.get(1);
  assert.equal(cache.peek(1), undefined);
  await pending;
  await settle();
  assert.equal(cache.peek(1)?.[0], 1);
  await cache.get(2); // one buffer only: 1 goes
  await settle();
  assert.equal(cache.peek(1), undefined);
  assert.equal(cache.peek(2)?.[0], 2);
});

test('a piece pinned by a write in flight is neither evicted nor overwritten; the bound returns once released', async () => {
  const { cache, into } = cacheOf(20);
  await cache.get(1);
  await cache.get(2);
  await settle();
  const release1 = cache.pin(1);
  const release2 = cache.pin(2);
  await cache.get(3); // both buffers pinned: a third, past the bound
  await settle();
  assert.equal(cache.bytes, 30);
  assert.equal(cache.peek(1)?.[0], 1, 'the pinned bytes are intact');
  assert.notEqual(into[2], into[0]);
  assert.notEqual(into[2], into[1]);
  release1();
  release1(); // twice is once
  assert.equal(cache.bytes, 20, 'back under the bound once a write let go');
  release2();
  assert.equal(cache.bytes, 20);
  assert.equal(cache.peek(2)?.[0], 2, 'an unpinned piece within the bound stays cached');
});

test('trim lets go of every piece not in use, its memory freed at once; a pinned one goes when released', async () => {
  const { cache, into } = cacheOf(40);
  for (const p of [1, 2, 3]) await cache.get(p);
  await settle();
  const release = cache.pin(3);
  cache.trim();
  assert.equal(cache.bytes, SIZE);
  assert.equal(cache.peek(1), undefined);
  assert.deepEqual(into.map((b) => b.buffer.byteLength), [0, 0, SIZE], 'the unpinned buffers are freed (detached), the pinned one intact');
  release();
  assert.equal(into[2]!.buffer.byteLength, 0);
  cache.trim();
  assert.equal(cache.bytes, 0);
});
