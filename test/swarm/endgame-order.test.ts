/**
 * Endgame's order: the k best candidates found by counting (requester counts, holders ranked
 * by wait) are the first k of a stable sort of all of them by fewest requesters, then longest
 * holder wait, in the same order; fast-check over candidate lists full of ties.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { bestCandidates, rankByWait } from '../../src/swarm/endgame-order.js';

/** The order the picker used before: every candidate sorted by requesters, then wait (longest first), the first k kept. */
function sortedAll(requesters: readonly number[], waits: readonly number[], k: number): number[] {
  const all = requesters.map((r, i) => ({ i, r, w: waits[i]! }));
  all.sort((x, y) => x.r - y.r || y.w - x.w);
  return all.slice(0, Math.max(0, k)).map((c) => c.i);
}

describe('endgame order', () => {
  test('holders are ranked by wait, longest first; equal waits share a rank', () => {
    const ranks = rankByWait(
      new Map([
        [7, 50],
        [3, 900],
        [9, 50],
        [4, 0],
      ]),
    );
    assert.deepEqual([...ranks].sort((x, y) => x[0] - y[0]), [
      [3, 0],
      [4, 2],
      [7, 1],
      [9, 1],
    ]);
  });

  test('fewest requesters first, then the lowest rank, then scan order', () => {
    const requesters = [2, 1, 1, 2, 1, 1];
    const ranks = [0, 2, 1, 3, 1, 4];
    assert.deepEqual(bestCandidates(requesters, ranks, 6, 3), [2, 4, 1]);
    assert.deepEqual(bestCandidates(requesters, ranks, 6, 5), [2, 4, 1, 5, 0]);
    assert.deepEqual(bestCandidates(requesters, ranks, 6, 6), [2, 4, 1, 5, 0, 3]);
    assert.deepEqual(bestCandidates(requesters, ranks, 6, 9), [2, 4, 1, 5, 0, 3]);
    assert.deepEqual(bestCandidates(requesters, ranks, 6, 0), []);
    assert.deepEqual(bestCandidates(requesters, ranks, 0, 4), []);
  });

  test('only the first n entries are candidates (the arrays are reused and may be longer)', () => {
    assert.deepEqual(bestCandidates([2, 2, 1, 1], [0, 0, 0, 0], 2, 1), [0]);
  });

  test('property: the same choice and order as a stable sort of every candidate by wait', () => {
    const wait = fc.oneof(fc.constantFrom(0, 1, 250, Number.MAX_SAFE_INTEGER), fc.double({ min: 0, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(
        fc.array(wait, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.nat()), { maxLength: 300 }),
        fc.integer({ min: -1, max: 320 }),
        (holderWaits, cands, k) => {
          const waitOf = new Map(holderWaits.map((w, h) => [h, w]));
          const requesters = cands.map((c) => c[0]);
          const holders = cands.map((c) => c[1] % holderWaits.length);
          const ranks = rankByWait(waitOf);
          const got = bestCandidates(
            requesters,
            holders.map((h) => ranks.get(h)!),
            cands.length,
            k,
          );
          assert.deepEqual(
            got,
            sortedAll(
              requesters,
              holders.map((h) => waitOf.get(h)!),
              k,
            ),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});
