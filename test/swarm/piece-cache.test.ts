import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PieceCache } from '../../src/swarm/piece-cache.js';

test('reads each piece once while cached and evicts the least recently used by bytes', async () => {
  const reads: number[] = [];
  const cache = new PieceCache(
    async (p) => {
      reads.push(p);
      return Buffer.alloc(10, p);
    },
    25,
    () => 10,
  );
  assert.equal((await cache.get(1))[0], 1);
  await cache.get(2);
  await cache.get(1);
  assert.deepEqual(reads, [1, 2]);
  await cache.get(3); // 30 bytes > 25: evicts 2, the least recently used
  await cache.get(1);
  await cache.get(2);
  assert.deepEqual(reads, [1, 2, 3, 2]);
});

test('a failed read is not cached', async () => {
  let n = 0;
  const cache = new PieceCache(
    async () => {
      n++;
      if (n === 1) throw new Error('disk');
      return Buffer.alloc(1);
    },
    100,
    () => 1,
  );
  await assert.rejects(cache.get(0), /disk/);
  await new Promise((r) => setImmediate(r));
  assert.equal((await cache.get(0)).length, 1);
  assert.equal(n, 2);
});

test('peek gives a piece only once its read finished, and not after eviction', async () => {
  const cache = new PieceCache(async (p) => Buffer.alloc(10, p), 15, () => 10);
  const pending = cache.get(1);
  assert.equal(cache.peek(1), undefined);
  await pending;
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.peek(1)?.[0], 1);
  await cache.get(2); // 20 bytes > 15: evicts 1
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.peek(1), undefined);
  assert.equal(cache.peek(2)?.[0], 2);
});
