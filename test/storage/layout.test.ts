import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FileLayout, StorageError } from '../../src/storage/index.js';
import type { FileExtent, LayoutFile } from '../../src/storage/index.js';

function files(lengths: readonly number[], pads: readonly number[] = []): LayoutFile[] {
  let offset = 0;
  return lengths.map((length, i) => {
    const f = { offset, length, pad: pads.includes(i) };
    offset += length;
    return f;
  });
}

/** The obvious byte-by-byte answer, to compare the binary search against. */
function reference(fs: readonly LayoutFile[], offset: number, length: number): FileExtent[] {
  const out: FileExtent[] = [];
  for (let b = offset; b < offset + length; b++) {
    const i = fs.findIndex((f) => b >= f.offset && b < f.offset + f.length);
    const last = out[out.length - 1];
    if (last !== undefined && last.fileIndex === i) out[out.length - 1] = { ...last, length: last.length + 1 };
    else out.push({ fileIndex: i, fileOffset: b - fs[i]!.offset, length: 1, pad: fs[i]!.pad });
  }
  return out;
}

describe('FileLayout', () => {
  it('maps a range spanning three files and more', () => {
    const l = new FileLayout(files([10, 5, 3, 20]));
    assert.deepEqual(l.extents(8, 15), [
      { fileIndex: 0, fileOffset: 8, length: 2, pad: false },
      { fileIndex: 1, fileOffset: 0, length: 5, pad: false },
      { fileIndex: 2, fileOffset: 0, length: 3, pad: false },
      { fileIndex: 3, fileOffset: 0, length: 5, pad: false },
    ]);
  });

  it('skips zero-length files at the start, middle and end', () => {
    const l = new FileLayout(files([0, 4, 0, 0, 4, 0]));
    assert.equal(l.totalLength, 8);
    assert.deepEqual(l.extents(0, 8), [
      { fileIndex: 1, fileOffset: 0, length: 4, pad: false },
      { fileIndex: 4, fileOffset: 0, length: 4, pad: false },
    ]);
    assert.deepEqual(l.extents(4, 1), [{ fileIndex: 4, fileOffset: 0, length: 1, pad: false }]);
    assert.deepEqual(l.extents(8, 0), []);
  });

  it('marks BEP 47 pad files', () => {
    const l = new FileLayout(files([3, 13, 16], [1]));
    assert.deepEqual(l.extents(2, 20), [
      { fileIndex: 0, fileOffset: 2, length: 1, pad: false },
      { fileIndex: 1, fileOffset: 0, length: 13, pad: true },
      { fileIndex: 2, fileOffset: 0, length: 6, pad: false },
    ]);
  });

  it('refuses ranges outside piece space and files that do not follow each other', () => {
    const l = new FileLayout(files([4, 4]));
    assert.throws(() => l.extents(5, 4), (e: unknown) => e instanceof StorageError && e.code === 'invalid-argument');
    assert.throws(() => l.extents(-1, 1), StorageError);
    assert.throws(() => new FileLayout([{ offset: 0, length: 4, pad: false }, { offset: 5, length: 1, pad: false }]), StorageError);
  });

  it('agrees with a byte-by-byte reference on random layouts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 12 }).filter((a) => a.some((n) => n > 0)),
        fc.array(fc.nat({ max: 11 }), { maxLength: 3 }),
        fc.nat(),
        fc.nat(),
        (lengths, pads, a, b) => {
          const fs = files(lengths, pads);
          const total = lengths.reduce((x, y) => x + y, 0);
          const offset = a % total;
          const length = b % (total - offset + 1);
          assert.deepEqual(new FileLayout(fs).extents(offset, length), reference(fs, offset, length));
        },
      ),
    );
  });
});
