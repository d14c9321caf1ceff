import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter, requestQueueDepth } from '../../src/swarm/rate.js';

describe('RateMeter', () => {
  it('measures a steady stream over its window', () => {
    const m = new RateMeter({ windowMs: 5000, bucketMs: 250 });
    for (let t = 0; t < 30_000; t += 100) m.add(1000, t);
    assert.ok(Math.abs(m.rate(30_000) - 10_000) < 300, `rate ${m.rate(30_000)}`);
    assert.ok(Math.abs(m.rate(30_050) - 10_000) < 300, `rate ${m.rate(30_050)}`);
  });

  it('is not under-rated while young and decays to zero when idle', () => {
    const m = new RateMeter();
    m.add(5000, 10_000);
    assert.equal(m.rate(10_500), 5000);
    m.add(5000, 11_200);
    assert.equal(m.rate(12_000), 5000, 'over its 2 s of age');
    assert.equal(m.rate(40_000), 0);
    m.add(100, 40_500);
    assert.equal(m.rate(40_500), (100 * 1000) / 19_500, 'an old meter averages over its whole window');
  });

  it('forgets buckets as they leave the window', () => {
    const m = new RateMeter({ windowMs: 2000, bucketMs: 1000 });
    m.add(1000, 0);
    m.add(3000, 1000);
    assert.equal(m.rate(1500), (4000 * 1000) / 1500);
    assert.equal(m.rate(2500), (3000 * 1000) / 1500, 'the first bucket has left the window');
    assert.equal(m.rate(3500), 0);
  });

  it('treats time going backwards as no time passing', () => {
    const m = new RateMeter({ windowMs: 2000, bucketMs: 1000 });
    m.add(1000, 5000);
    m.add(1000, 1000);
    assert.equal(m.rate(5000), 2000);
  });

  it('rejects a window shorter than a bucket', () => {
    assert.throws(() => new RateMeter({ windowMs: 10, bucketMs: 100 }), RangeError);
  });
});

describe('requestQueueDepth', () => {
  it('is rate × 3 s in 16 KiB blocks, clamped', () => {
    assert.equal(requestQueueDepth(0), 4);
    assert.equal(requestQueueDepth(Number.NaN), 4);
    assert.equal(requestQueueDepth(-5), 4);
    assert.equal(requestQueueDepth(1_000_000), Math.ceil(3_000_000 / 16384));
    assert.equal(requestQueueDepth(500 * 2 ** 20), 500);
    assert.equal(requestQueueDepth(Number.POSITIVE_INFINITY), 500);
    assert.equal(requestQueueDepth(0, { min: 16 }), 16);
    assert.equal(requestQueueDepth(500 * 2 ** 20, { max: 1000 }), 1000);
  });

  it('covers twice a long round trip', () => {
    assert.equal(requestQueueDepth(1_000_000, { rttMs: 100 }), requestQueueDepth(1_000_000));
    assert.equal(requestQueueDepth(1_000_000, { rttMs: 5000, max: 1000 }), Math.ceil(10_000_000 / 16384));
    assert.equal(requestQueueDepth(1_000_000, { queueTimeMs: 1000 }), Math.ceil(1_000_000 / 16384));
  });
});
