import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, systemClock } from '../../src/util/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';

test('fake clock fires timeouts and intervals in due order, each at its own time', () => {
  const clock = new FakeClock(0);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`a@${clock.now()}`), 30);
  const every = clock.setInterval(() => seen.push(`i@${clock.now()}`), 20);
  clock.setTimeout(() => seen.push(`b@${clock.now()}`), 10);
  clock.advance(65);
  assert.deepEqual(seen, ['b@10', 'i@20', 'a@30', 'i@40', 'i@60']);
  assert.equal(clock.now(), 65);
  every.cancel();
  assert.equal(clock.pending, 0);
});

test('a cancelled fake timeout never fires', () => {
  const clock = new FakeClock(0);
  let fired = false;
  clock.setTimeout(() => (fired = true), 5).cancel();
  clock.advance(10);
  assert.equal(fired, false);
});

test('sleep on the fake clock resolves only when time is advanced', async () => {
  const clock = new FakeClock(0);
  let done = false;
  const p = sleep(clock, 1000).then(() => (done = true));
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1000);
  await p;
  assert.equal(done, true);
});

test('system clock clamps delays beyond 2^31-1 ms instead of firing at once', async () => {
  let fired = false;
  const t = systemClock.setTimeout(() => (fired = true), 2 ** 40);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired, false);
  t.cancel();
});
