import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { PieceHasher } from '../../src/storage/index.js';
import { bytes } from './fixtures.js';

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

describe('PieceHasher', () => {
  it('hashes plain, sliced and shared buffers like node:crypto', async () => {
    const hasher = new PieceHasher(2);
    try {
      const big = bytes(1 << 20, 1);
      const shared = new Uint8Array(new SharedArrayBuffer(70000));
      shared.set(big.subarray(0, 70000));
      const inputs = [big, big.subarray(1000, 50000), shared, shared.subarray(5, 6), new Uint8Array(0)];
      const digests = await Promise.all(inputs.map((d) => hasher.hash(d)));
      digests.forEach((d, i) => assert.deepEqual(Buffer.from(d), sha1(inputs[i]!), `input ${i}`));
      assert.ok(digests.every((d) => d.length === 20));
    } finally {
      await hasher.close();
    }
  });

  it('keeps order-independent results under many concurrent calls', async () => {
    const hasher = new PieceHasher(3);
    try {
      const inputs = [...Array(40).keys()].map((i) => bytes(1000 + i * 97, i + 3));
      const digests = await Promise.all(inputs.map((d) => hasher.hash(d)));
      digests.forEach((d, i) => assert.deepEqual(Buffer.from(d), sha1(inputs[i]!)));
    } finally {
      await hasher.close();
    }
  });

  it('waits for hashes in flight on close and refuses work after', async () => {
    const hasher = new PieceHasher(1);
    const data = bytes(4 << 20, 9);
    const pending = hasher.hash(data);
    await hasher.close();
    assert.deepEqual(Buffer.from(await pending), sha1(data));
    await assert.rejects(hasher.hash(data), { code: 'closed' });
  });
});
