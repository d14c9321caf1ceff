import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockSources } from '../../src/swarm/sources.js';
import type { BlockSource } from '../../src/swarm/swarm-types.js';

/** A source that records what it is asked. */
function recording(bytes: number): BlockSource & { fills: number; stops: number; blamed: string[] } {
  const r = {
    fills: 0,
    stops: 0,
    blamed: [] as string[],
    bytes,
    fill: () => void r.fills++,
    stop: () => void r.stops++,
    blame: (key: number, reason: string) => void r.blamed.push(`${key}: ${reason}`),
  };
  return r;
}

test('a source under several keys is filled, counted and stopped once; blame goes to the key it took', () => {
  const sources = new BlockSources();
  const a = recording(100);
  const b = recording(7);
  sources.add(a, [1, 2]);
  sources.add(b, [3]);
  sources.fill();
  assert.deepEqual([a.fills, b.fills], [1, 1]);
  assert.equal(sources.bytes, 107);
  sources.blame(2, 'bad piece 4');
  sources.blame(9, 'nobody');
  assert.deepEqual([a.blamed, b.blamed], [['2: bad piece 4'], []]);
  sources.stop();
  assert.deepEqual([a.stops, b.stops], [1, 1]);
});

test('a source added after stop is stopped at once and never counted', () => {
  const sources = new BlockSources();
  sources.stop();
  const late = recording(5);
  sources.add(late, [1]);
  sources.fill();
  assert.deepEqual([late.stops, late.fills, sources.bytes], [1, 0, 0]);
});
