import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PieceBufferPool } from '../../src/storage/buffer-pool.js';

const MIB = 1 << 20;

describe('PieceBufferPool demand', () => {
  it('starts at its base bound and follows the stated demand within base and max', () => {
    const pool = new PieceBufferPool(MIB, 8 * MIB, 64 * MIB);
    assert.equal(pool.capacity, 8);
    pool.setDemand(24);
    assert.equal(pool.capacity, 24);
    pool.setDemand(500);
    assert.equal(pool.capacity, 64, 'never above maxPoolBytes');
    pool.setDemand(1);
    assert.equal(pool.capacity, 8, 'never below poolBytes');
    pool.setDemand(Number.NaN);
    assert.equal(pool.capacity, 8);
  });

  it('lends up to the raised bound, and tells its listeners when the bound grows', () => {
    const pool = new PieceBufferPool(MIB, 2 * MIB, 4 * MIB);
    let told = 0;
    pool.onRelease(() => told++);
    const lent = [pool.acquire(0, MIB), pool.acquire(1, MIB)];
    assert.equal(pool.acquire(2, MIB), undefined);
    pool.setDemand(4);
    assert.equal(told, 1, 'waiting pieces learn that buffers are free');
    lent.push(pool.acquire(2, MIB), pool.acquire(3, MIB));
    assert.ok(lent.every((b) => b !== undefined));
    assert.equal(pool.acquire(4, MIB), undefined);
    assert.equal(pool.available, 0);
  });

  it('drops buffers over a lowered bound as they come back, and keeps the rest for reuse', () => {
    const pool = new PieceBufferPool(MIB, 2 * MIB, 6 * MIB);
    pool.setDemand(6);
    const lent = [0, 1, 2, 3, 4, 5].map((i) => pool.acquire(i, MIB)!);
    pool.setDemand(2);
    assert.equal(pool.available, 0, 'six lent against a bound of two');
    for (const b of lent.slice(0, 5)) assert.equal(pool.release(b), true);
    assert.equal(pool.available, 1, 'one of the two buffers is free again');
    assert.ok(pool.acquire(6, MIB) !== undefined);
    assert.equal(pool.acquire(7, MIB), undefined);
    // Raised again: new buffers are allocated up to the bound.
    pool.setDemand(3);
    assert.ok(pool.acquire(8, MIB) !== undefined);
    assert.equal(pool.acquire(9, MIB), undefined);
  });

  it('drops free buffers at once when the bound is lowered', () => {
    const pool = new PieceBufferPool(MIB, 2 * MIB, 8 * MIB);
    pool.setDemand(8);
    const lent = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pool.acquire(i, MIB)!);
    for (const b of lent) pool.release(b);
    pool.setDemand(2);
    assert.equal(pool.available, 2);
    assert.ok(pool.acquire(0, MIB) !== undefined && pool.acquire(1, MIB) !== undefined);
    assert.equal(pool.acquire(2, MIB), undefined);
  });

  it('rejects a maximum below its base', () => {
    assert.throws(() => new PieceBufferPool(MIB, 8 * MIB, 4 * MIB), /bad pool size/);
  });
});
