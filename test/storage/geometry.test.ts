import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOCK_SIZE, PieceGeometry, StorageError } from '../../src/storage/index.js';

describe('PieceGeometry', () => {
  it('makes the last piece shorter and the others full', () => {
    const g = new PieceGeometry(32768, 100000);
    assert.equal(g.pieceCount, 4);
    assert.deepEqual([0, 1, 2, 3].map((i) => g.pieceSize(i)), [32768, 32768, 32768, 1696]);
    assert.equal(g.pieceOffset(3), 98304);
  });

  it('has no short last piece when the length is a multiple', () => {
    const g = new PieceGeometry(16384, 65536);
    assert.equal(g.pieceCount, 4);
    assert.equal(g.pieceSize(3), 16384);
  });

  it('counts 16 KiB blocks with a short last block', () => {
    const g = new PieceGeometry(65536, 65536 + 20000);
    assert.equal(BLOCK_SIZE, 16384);
    assert.equal(g.blockCount(0), 4);
    assert.equal(g.blockSize(0, 3), 16384);
    assert.equal(g.blockCount(1), 2);
    assert.equal(g.blockSize(1, 0), 16384);
    assert.equal(g.blockSize(1, 1), 20000 - 16384);
  });

  it('handles pieces smaller than a block and a one-byte last piece', () => {
    const g = new PieceGeometry(1000, 2001);
    assert.equal(g.pieceCount, 3);
    assert.equal(g.blockCount(0), 1);
    assert.equal(g.blockSize(0, 0), 1000);
    assert.equal(g.pieceSize(2), 1);
    assert.equal(g.blockSize(2, 0), 1);
  });

  it('has no pieces for an empty torrent', () => {
    const g = new PieceGeometry(16384, 0);
    assert.equal(g.pieceCount, 0);
    assert.equal(g.isPiece(0), false);
  });

  it('refuses indices, blocks and ranges outside the torrent', () => {
    const g = new PieceGeometry(32768, 40000);
    assert.throws(() => g.pieceSize(2), (e: unknown) => e instanceof StorageError && e.code === 'invalid-argument');
    assert.throws(() => g.pieceSize(-1), StorageError);
    assert.throws(() => g.pieceSize(0.5), StorageError);
    assert.throws(() => g.blockSize(1, 1), StorageError);
    assert.equal(g.isRangeInPiece(1, 0, 40000 - 32768), true);
    assert.equal(g.isRangeInPiece(1, 1, 40000 - 32768), false);
    assert.equal(g.isRangeInPiece(0, 0, 0), false);
    assert.throws(() => new PieceGeometry(0, 10), StorageError);
    assert.throws(() => new PieceGeometry(16384, -1), StorageError);
  });
});
