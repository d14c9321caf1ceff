import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedRateLimiter, TokenBucket } from '../../src/dht/rate-limit.js';

describe('rate limits', () => {
  it('a token bucket allows the burst, then the sustained rate', () => {
    let t = 0;
    const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, () => t);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    assert.equal(bucket.waitMs(), 100);
    t += 100;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    t += 10_000;
    let n = 0;
    while (bucket.take() && n < 100) n++;
    assert.equal(n, 3);
  });

  it('limits each key separately and keeps the key map bounded', () => {
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 2 }, () => 0, 3);
    assert.deepEqual([limiter.allow('a'), limiter.allow('a'), limiter.allow('a')], [true, true, false]);
    assert.equal(limiter.allow('b'), true);
    for (let i = 0; i < 100; i++) limiter.allow(`k${i}`);
    assert.equal(limiter.size(), 3);
  });
});
