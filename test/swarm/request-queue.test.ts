/**
 * Request queue sizing (request-queue.ts): slow start, then three seconds of the measured
 * rate bounded by the peer's `reqq`, and each peer's share near the end. The ramp is shown on
 * the fake clock against a modelled seeder: capped upload, a round trip, requests served in
 * order.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateMeter } from '../../src/swarm/rate.js';
import { MAX_REQUEST_DEPTH, MIN_REQUEST_DEPTH, RequestQueue } from '../../src/swarm/request-queue.js';
import { FakeClock } from '../helpers/fake-clock.js';

const MiB = 1 << 20;
const BLOCK = 16 * 1024;
const base = { rate: 0, maxOutstanding: 250, snubbed: false, endgame: false };

/** A queue out of slow start (the rate stopped growing). */
function steady(): RequestQueue {
  const q = new RequestQueue();
  q.onTick(MiB, 2000);
  q.onTick(MiB, 2000);
  assert.equal(q.slowStart, false);
  return q;
}

interface Run {
  /** Bytes received in each 250 ms after the first request. */
  quarters: number[];
  /** The depth asked for after each block, in order. */
  depths: number[];
  queue: RequestQueue;
}

/**
 * One peer for `ms` on the fake clock: it uploads at most `cap` bytes/s, a request reaches it
 * `rttMs / 2` after we send it and its block reaches us `rttMs / 2` after it sends it. We top
 * up to the queue's depth after every block, and tick the queue once a second.
 */
function simulate(opts: { cap: number; rttMs: number; reqq: number; ms: number }): Run {
  const clock = new FakeClock();
  const t0 = clock.now();
  const queue = new RequestQueue();
  const meter = new RateMeter();
  const STEP = 5;
  const atSeeder: number[] = []; // when each queued request reaches the seeder
  const inFlight: number[] = []; // when each sent block reaches us
  let outstanding = 0;
  let budget = 0;
  const quarters = new Array<number>(Math.ceil(opts.ms / 250)).fill(0);
  const depths: number[] = [];
  const refill = (now: number): void => {
    const depth = queue.depth({ ...base, rate: meter.rate(now), maxOutstanding: opts.reqq });
    depths.push(depth);
    for (; outstanding < depth; outstanding++) atSeeder.push(now + opts.rttMs / 2);
  };
  clock.setInterval(() => {
    const now = clock.now();
    budget = Math.min(budget + (opts.cap * STEP) / 1000, BLOCK + (opts.cap * STEP) / 1000);
    while (budget >= BLOCK && atSeeder.length > 0 && atSeeder[0]! <= now) {
      atSeeder.shift();
      inFlight.push(now + opts.rttMs / 2);
      budget -= BLOCK;
    }
    while (inFlight.length > 0 && inFlight[0]! <= now) {
      inFlight.shift();
      outstanding--;
      meter.add(BLOCK, now);
      quarters[Math.floor((now - t0 - 1) / 250)]! += BLOCK;
      queue.onBlock();
      refill(now);
    }
  }, STEP);
  clock.setInterval(() => queue.onTick(meter.rate(clock.now()), opts.reqq), 1000);
  refill(t0);
  clock.advance(opts.ms);
  return { quarters, depths, queue };
}

describe('request queue: steady state', () => {
  test('a peer not measured yet gets 64 requests (1 MiB)', () => {
    assert.equal(new RequestQueue().depth(base), MIN_REQUEST_DEPTH);
    assert.equal(steady().depth(base), MIN_REQUEST_DEPTH);
  });

  test('three seconds of the measured rate, bounded by what the peer accepts (reqq) and 500', () => {
    const q = steady();
    assert.equal(q.depth({ ...base, rate: 1 * MiB }), 192);
    assert.equal(q.depth({ ...base, rate: 2 * MiB }), 250, 'reqq 250');
    assert.equal(q.depth({ ...base, rate: 2 * MiB, maxOutstanding: 2000 }), 384);
    assert.equal(q.depth({ ...base, rate: 8 * MiB, maxOutstanding: 2000 }), MAX_REQUEST_DEPTH);
  });

  test('in endgame a fifth of a second of the rate, at least four', () => {
    const q = steady();
    assert.equal(q.depth({ ...base, rate: 8 * MiB, maxOutstanding: 2000, endgame: true }), 103);
    assert.equal(q.depth({ ...base, rate: 1 * MiB, endgame: true }), 13);
    assert.equal(q.depth({ ...base, endgame: true }), 4);
  });

  test('a snubbed peer gets one', () => {
    assert.equal(steady().depth({ ...base, rate: 8 * MiB, snubbed: true }), 1);
  });

  test('near the end each peer keeps its share of what is left, so a slow one holds no tail', () => {
    const q = steady();
    // 600 blocks left; the peer brings a twentieth of the swarm's rate.
    assert.equal(q.depth({ ...base, rate: 1 * MiB, blocksLeft: 600, share: 0.05 }), 30);
    assert.equal(q.depth({ ...base, rate: 1 * MiB, blocksLeft: 20, share: 0.05 }), 4, 'at least a few blocks');
    assert.equal(q.depth({ ...base, rate: 1 * MiB, blocksLeft: 100_000, share: 0.05 }), 192, 'far from the end the rate decides');
    assert.equal(q.depth({ ...base, rate: 8 * MiB, maxOutstanding: 2000, blocksLeft: 600, share: 1 }), MAX_REQUEST_DEPTH, 'a lone peer is not held back');
  });
});

describe('request queue: slow start on the fake clock', () => {
  test('the queue grows by one per block received while the rate is unknown, bounded by reqq', () => {
    const q = new RequestQueue();
    for (let i = 0; i < 100; i++) q.onBlock();
    assert.equal(q.depth({ ...base, maxOutstanding: 2000 }), MIN_REQUEST_DEPTH + 100);
    assert.equal(q.depth({ ...base, maxOutstanding: 120 }), 120);
    for (let i = 0; i < 1000; i++) q.onBlock();
    assert.equal(q.depth({ ...base, maxOutstanding: 2000 }), MAX_REQUEST_DEPTH);
  });

  test('a capped peer behind a long round trip is at full speed within a second', () => {
    // 16 MiB/s behind 200 ms: 3.2 MiB (205 requests) must be in flight, three times the start.
    const cap = 16 * MiB;
    const run = simulate({ cap, rttMs: 200, reqq: 2000, ms: 3000 });
    assert.ok(run.depths.some((d) => d > 205), 'the queue outgrew the bandwidth-delay product');
    for (const [i, bytes] of run.quarters.entries()) {
      if (i < 4) continue;
      assert.ok(bytes >= 0.9 * (cap / 4), `quarter ${i}: ${(bytes / MiB).toFixed(2)} MiB, below nine tenths of the cap`);
    }
    assert.ok(run.quarters[3]! >= 0.9 * (cap / 4), `the fourth quarter second already runs at ${((run.quarters[3]! * 4) / MiB).toFixed(1)} MiB/s`);
    assert.equal(run.queue.slowStart, false, 'slow start ended once the rate stopped growing');
  });

  test('slow start never asks more than the peer accepts', () => {
    const run = simulate({ cap: 16 * MiB, rttMs: 200, reqq: 150, ms: 2000 });
    assert.ok(run.depths.length > 0 && run.depths.every((d) => d <= 150), `largest depth ${Math.max(...run.depths)}`);
  });

  test('slow start ends when the rate stops growing, and the rate sizes the queue from then on', () => {
    const q = new RequestQueue();
    for (let i = 0; i < 300; i++) q.onBlock();
    q.onTick(2 * MiB, 2000);
    assert.equal(q.slowStart, true, 'the first tick only records the rate');
    q.onTick(4 * MiB, 2000);
    assert.equal(q.slowStart, true, 'the rate doubled');
    q.onTick(4.2 * MiB, 2000);
    assert.equal(q.slowStart, false);
    assert.equal(q.depth({ ...base, rate: 0.5 * MiB, maxOutstanding: 2000 }), 96, 'the ramp no longer counts');
  });

  test('an unchoke starts slow start again: a peer idle since is not held to its share of a near-zero rate', () => {
    const q = steady();
    assert.equal(q.depth({ ...base, rate: 0, blocksLeft: 5000, share: 0 }), 4);
    q.restart();
    assert.equal(q.slowStart, true);
    assert.equal(q.depth({ ...base, rate: 0, blocksLeft: 5000, share: 0 }), MIN_REQUEST_DEPTH);
  });
});
