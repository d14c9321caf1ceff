/**
 * Bandwidth limits on a fake clock: the long-run rate equals the limit within one burst,
 * whatever the size of each charge; a parent limit caps its children together; rates change
 * while running; 0 is unlimited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BandwidthLimit } from '../../src/swarm/bandwidth.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Move `chunk`-byte pieces through `limits` for `ms` of fake time, each waiting out its delay; returns bytes moved per limit. */
function run(clock: FakeClock, limits: BandwidthLimit[], chunk: number, ms: number): number[] {
  const moved = limits.map(() => 0);
  const nextAt = limits.map(() => clock.now());
  const end = clock.now() + ms;
  for (let steps = 0; clock.now() < end; steps++) {
    assert.ok(steps < 10_000_000, 'bounded');
    for (let i = 0; i < limits.length; i++) {
      // Keep moving while allowed, as a socket is read until the limit says stop.
      while (clock.now() >= nextAt[i]!) {
        moved[i]! += chunk;
        nextAt[i] = clock.now() + limits[i]!.consume(chunk);
      }
    }
    const next = Math.min(end, ...nextAt);
    clock.advance(Math.max(1, next - clock.now()));
  }
  return moved;
}

test('an unlimited bucket never delays', () => {
  const clock = new FakeClock();
  const l = new BandwidthLimit(0, clock);
  assert.equal(l.consume(1 << 30), 0);
  assert.equal(l.delayMs(), 0);
});

test('debt is paid at the rate', () => {
  const clock = new FakeClock();
  const l = new BandwidthLimit(1000, clock);
  assert.equal(l.consume(500), 500);
  clock.advance(250);
  assert.equal(l.delayMs(), 250);
  clock.advance(250);
  assert.equal(l.delayMs(), 0);
});

test('the long-run rate is the limit, for small and large charges', () => {
  for (const rate of [1024 * 1024, 10 * 1024 * 1024, 100 * 1024 * 1024]) {
    for (const chunk of [16 * 1024, 256 * 1024, 4 * 1024 * 1024]) {
      const clock = new FakeClock();
      const [moved] = run(clock, [new BandwidthLimit(rate, clock)], chunk, 20_000);
      const expected = rate * 20;
      // The first charge is free (it is paid for afterwards), then rate × time: within one chunk and one burst.
      assert.ok(Math.abs(moved! - expected) <= chunk + Math.max(16384, rate * 0.1), `rate ${rate} chunk ${chunk}: moved ${moved}, expected ${expected}`);
    }
  }
});

test('a quiet spell earns at most one burst', () => {
  const clock = new FakeClock();
  const l = new BandwidthLimit(1024 * 1024, clock);
  clock.advance(60_000);
  assert.equal(l.consume(0.1 * 1024 * 1024), 0, 'a tenth of a second of rate is free');
  assert.ok(l.consume(1024 * 1024) >= 999, 'the rest waits');
});

test('a parent caps its children together; each child keeps its own cap', () => {
  const clock = new FakeClock();
  const session = new BandwidthLimit(100_000, clock);
  const a = new BandwidthLimit(80_000, clock, session);
  const b = new BandwidthLimit(0, clock, session);
  const [ma, mb] = run(clock, [a, b], 4096, 10_000);
  const total = ma! + mb!;
  assert.ok(Math.abs(total - 1_000_000) <= 2 * 4096 + 16384, `session total ${total}`);
  assert.ok(ma! <= 800_000 + 4096 + 16384, `a stays under its own cap: ${ma}`);
});

test('a rate can change while transfers run, including to and from unlimited', () => {
  const clock = new FakeClock();
  const l = new BandwidthLimit(10_000, clock);
  const [slow] = run(clock, [l], 1000, 5000);
  l.setRate(50_000);
  const [fast] = run(clock, [l], 1000, 5000);
  l.setRate(0);
  assert.equal(l.delayMs(), 0);
  l.setRate(10_000);
  assert.ok(Math.abs(slow! - 50_000) <= 1000 + 16384, `slow ${slow}`);
  assert.ok(Math.abs(fast! - 250_000) <= 2000 + 16384, `fast ${fast}`);
  assert.throws(() => l.setRate(-1), RangeError);
  assert.throws(() => new BandwidthLimit(Number.NaN, clock), RangeError);
});
