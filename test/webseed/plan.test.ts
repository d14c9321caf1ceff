/** Blocks to ranged requests: runs of consecutive blocks, split at file boundaries, pad files never requested. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RangePlanner, toRuns } from '../../src/webseed/plan.js';

const B = 16384;

test('consecutive blocks, across pieces, become one run; a gap or the size cap starts another', () => {
  const pl = 2 * B;
  const blocks = [
    { piece: 1, begin: 0, length: B }, { piece: 0, begin: B, length: B }, { piece: 1, begin: B, length: B },
    { piece: 3, begin: 0, length: B },
  ];
  const runs = toRuns(blocks, pl, 1 << 20);
  assert.deepEqual(runs.map((r) => [r.offset, r.length, r.blocks.length]), [[B, 3 * B, 3], [6 * B, B, 1]]);
  assert.deepEqual(toRuns(blocks, pl, 2 * B).map((r) => [r.offset, r.length]), [[B, 2 * B], [3 * B, B], [6 * B, B]]);
});

test('a range over three files and a pad file: one GET per file, zeros for the pad', () => {
  // a: 0..100, pad: 100..128, b: 128..178, (empty c), d: 178..400
  const planner = new RangePlanner([
    { offset: 0, length: 100, pad: false },
    { offset: 100, length: 28, pad: true },
    { offset: 128, length: 50, pad: false },
    { offset: 178, length: 0, pad: false },
    { offset: 178, length: 222, pad: false },
  ]);
  assert.deepEqual(planner.segments(90, 200), [
    { kind: 'file', fileIndex: 0, start: 90, length: 10 },
    { kind: 'zeros', length: 28 },
    { kind: 'file', fileIndex: 2, start: 0, length: 50 },
    { kind: 'file', fileIndex: 4, start: 0, length: 112 },
  ]);
  assert.deepEqual(planner.segments(100, 28), [{ kind: 'zeros', length: 28 }]);
});

test('property: segments cover the range exactly, in order, and never touch a pad file', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ length: fc.nat(300), pad: fc.boolean() }), { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat(), (spec, a, b) => {
      let offset = 0;
      const files = spec.map((f) => { const e = { offset, length: f.length, pad: f.pad }; offset += f.length; return e; });
      fc.pre(offset > 0);
      const start = a % offset;
      const length = b % (offset - start + 1);
      const segs = new RangePlanner(files).segments(start, length);
      let pos = start;
      for (const s of segs) {
        if (s.kind === 'file') {
          const f = files[s.fileIndex]!;
          assert.equal(f.pad, false);
          assert.equal(f.offset + s.start, pos);
          assert.ok(s.start + s.length <= f.length && s.length > 0);
        }
        pos += s.length;
      }
      assert.equal(pos, start + length);
    }),
    { numRuns: 300 },
  );
});
