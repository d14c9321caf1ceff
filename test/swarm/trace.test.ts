import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTrace } from '../../src/swarm/trace.js';

const MiB = 1 << 20;

test('the trace line: totals, then each peer with rate, queue against depth and choke', () => {
  const line = formatTrace({
    rate: 41.4 * MiB,
    freeBuffers: 0,
    filling: 8,
    committing: 56,
    pieces: 63,
    spilled: 55,
    backlog: 1.7 * MiB,
    wasted: 0.25 * MiB,
    endgame: true,
    peers: [
      { port: 51020, rate: 4.3 * MiB, outstanding: 497, depth: 500, choked: false },
      { port: 51021, rate: 0, outstanding: 0, depth: 64, choked: true },
    ],
  });
  assert.equal(
    line,
    'trace: 41.4 MiB/s, buffers free 0 (8 filling, 56 with storage), pieces 63 (55 spilled, 1.7 MiB to write), wasted 0.3 MiB, endgame | :51020 4.3 q 497/500 | :51021 0.0 q 0/64 choked',
  );
});

test('the trace line without peers', () => {
  assert.equal(
    formatTrace({ rate: 0, freeBuffers: 8, filling: 0, committing: 0, pieces: 0, spilled: 0, backlog: 0, wasted: 0, endgame: false, peers: [] }),
    'trace: 0.0 MiB/s, buffers free 8 (0 filling, 0 with storage), pieces 0 (0 spilled, 0.0 MiB to write), wasted 0.0 MiB',
  );
});

test('after the first unchoke: the time since it, the last second alone, and peers in slow start', () => {
  const line = formatTrace({
    sinceUnchokeMs: 1040,
    lastSecond: 60.25 * MiB,
    rate: 41.4 * MiB,
    freeBuffers: 2,
    filling: 1,
    committing: 3,
    pieces: 9,
    spilled: 0,
    backlog: 0,
    wasted: 0,
    endgame: false,
    peers: [{ port: 51020, rate: 2 * MiB, outstanding: 120, depth: 130, choked: false, slowStart: true }],
  });
  assert.equal(line, 'trace +1.0 s: 41.4 MiB/s (last s 60.3), buffers free 2 (1 filling, 3 with storage), pieces 9 (0 spilled, 0.0 MiB to write), wasted 0.0 MiB | :51020 2.0 q 120/130 ss');
});
