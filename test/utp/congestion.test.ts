/**
 * LEDBAT's window (BEP 29) in isolation: slow start, the linear response to queuing delay
 * around the 100 ms target, halving on loss, and no growth while something other than the
 * window holds the flight back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ledbat, RttEstimator, MIN_RTO_MS } from '../../src/utp/congestion.js';

const MSS = 1400;

/** A window with a base delay sample of 10 ms at time 0, then `delayMs` above it. */
function withDelay(delayMs: number, initial = 40 * MSS): Ledbat {
  const cc = new Ledbat(MSS, 1 << 21, initial);
  cc.delaySample(10_000, 0);
  cc.delaySample(10_000 + delayMs * 1000, 1);
  return cc;
}

describe('LEDBAT window', () => {
  it('grows in slow start by what was acknowledged while the window is full', () => {
    const cc = withDelay(0, 4 * MSS);
    cc.onAck(2 * MSS, 4 * MSS);
    assert.equal(cc.cwnd, 6 * MSS);
  });

  it('does not grow while the flight stays well under the window (application, peer window or packet cap)', () => {
    const slow = withDelay(0, 20 * MSS);
    slow.onAck(2 * MSS, 5 * MSS);
    assert.equal(slow.cwnd, 20 * MSS, 'slow start');
    const steady = withDelay(50, 20 * MSS);
    steady.onLoss();
    const before = steady.cwnd;
    for (let i = 0; i < 100; i++) steady.onAck(MSS, 3 * MSS);
    assert.equal(steady.cwnd, before, 'congestion avoidance');
  });

  it('shrinks above the target delay whatever limits the flight, in proportion to the excess', () => {
    for (const [delayMs, expected] of [
      [150, 1500],
      [300, 6000],
    ] as const) {
      const cc = withDelay(delayMs, 60 * MSS);
      cc.onLoss();
      const start = cc.cwnd;
      // One window's worth of ACKs, with little in flight: the decrease still applies.
      for (let acked = 0; acked < start; acked += MSS) cc.onAck(MSS, 5 * MSS);
      const shed = start - cc.cwnd;
      assert.ok(shed > expected * 0.9 && shed < expected * 1.3, `${delayMs} ms: ${start} -> ${cc.cwnd}`);
    }
  });

  it('grows towards the target below it, by about 3000 bytes a window', () => {
    const cc = withDelay(20, 40 * MSS);
    cc.onLoss();
    const start = cc.cwnd;
    for (let acked = 0; acked < start; acked += MSS) cc.onAck(MSS, cc.cwnd);
    assert.ok(cc.cwnd > start && cc.cwnd - start <= 3300, `${start} -> ${cc.cwnd}`);
  });

  it('never goes below one packet', () => {
    const cc = withDelay(1000, 2 * MSS);
    for (let i = 0; i < 1000; i++) cc.onAck(MSS, MSS);
    cc.onLoss();
    assert.equal(cc.cwnd, MSS);
  });

  it('keeps the retransmission timeout at 500 ms or more and backs off on timeouts', () => {
    const rtt = new RttEstimator();
    rtt.sample(10);
    assert.equal(rtt.rto, MIN_RTO_MS);
    rtt.backOff();
    assert.equal(rtt.rto, 2 * MIN_RTO_MS);
  });
});
