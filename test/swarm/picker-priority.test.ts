/**
 * Deadline-first and sequential picking: urgent pieces (a stream's read position) start
 * before rarest-first ones; `--sequential` starts pieces in index order. Invariants are
 * checked after every call (picker-dsl's `checked`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_URGENT } from '../../src/swarm/picker.js';
import { deliver, labels, setup } from './picker-dsl.js';

describe('picker priorities', () => {
  it('urgent pieces start first, in the given order, then rarest first resumes', () => {
    // Piece 1 is the rarest (one peer), so rarest first would pick it before anything else.
    const p = setup({ have: '00000000', avail: ['11111111', '10111111'] });
    p.setUrgent([6, 5, 99, -1]);
    assert.deepEqual(labels(p.pick(0, 1)), ['6/0']);
    assert.deepEqual(labels(p.pick(1, 1)), ['5/0']);
    p.setUrgent([]);
    assert.deepEqual(labels(p.pick(0, 1)), ['1/0'], 'then the rarest');
  });

  it('an urgent piece the peer lacks is passed over for one it has', () => {
    const p = setup({ have: '0000', avail: ['0011'] });
    p.setUrgent([0, 3]);
    assert.deepEqual(labels(p.pick(0, 1)), ['3/0']);
  });

  it('a peer that found nothing new looks again when the urgent list changes', () => {
    const p = setup({ have: '0000', avail: ['1111'], blocks: 1 });
    p.setUrgent([2]);
    const first = p.pick(0, 4);
    assert.deepEqual(labels(first).slice(0, 1), ['2/0']);
    assert.equal(first.length, 4, 'then the others');
    deliver(p, 0, first);
    for (const r of first) p.pieceVerified(r.piece);
    assert.ok(p.done);
  });

  it('sequential: new pieces in index order, from the first missing one', () => {
    const p = setup({ have: '11010000', avail: ['11111111'], seed: 7 });
    p.setSequential(true);
    const got = [];
    for (let i = 0; i < 5; i++) {
      const reqs = p.pick(0, 1);
      got.push(...labels(reqs));
      deliver(p, 0, reqs);
      for (const r of reqs) p.pieceVerified(r.piece);
    }
    assert.deepEqual(got, ['2/0', '4/0', '5/0', '6/0', '7/0']);
    assert.ok(p.done);
  });

  it('urgent beats sequential; the list is bounded', () => {
    const p = setup({ have: '0000', avail: ['1111'] });
    p.setSequential(true);
    p.setUrgent([3]);
    assert.deepEqual(labels(p.pick(0, 2)), ['3/0', '0/0']);
    p.setUrgent(Array.from({ length: MAX_URGENT + 50 }, (_, i) => i % 4));
  });
});
