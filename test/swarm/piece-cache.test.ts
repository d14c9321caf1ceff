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
