/**
 * Block-level blame by merkle leaf hashes (BEP 52), the bookkeeping alone: the request for a
 * failed piece's leaves, the senders of exactly the bad blocks named, leaves that do not hash
 * to the piece hash refused, answers nobody asked for ignored, and the bound on waiting pieces.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { fileLeaves, leafHashes, merkleRoot, pieceLayer, rootFromLayer } from '../../src/metainfo/merkle.js';
import type { V2File } from '../../src/metainfo/types.js';
import { MerkleBlame } from '../../src/swarm/merkle-blame.js';

const BLOCK = 16384;
const pieceLength = 8 * BLOCK;
/** File 0: two and a half pieces (a short last piece); file 1: one piece of three blocks. */
const data0 = randomBytes(2 * pieceLength + 3 * BLOCK + 100);
const data1 = randomBytes(3 * BLOCK);
const layer0 = pieceLayer(data0, pieceLength);
const files: V2File[] = [
  { fileIndex: 0, length: data0.length, firstPiece: 0, pieceCount: 3, root: rootFromLayer(layer0, pieceLength), layer: layer0 },
  { fileIndex: 2, length: data1.length, firstPiece: 3, pieceCount: 1, root: merkleRoot(data1, fileLeaves(data1.length)), layer: undefined },
];

function corrupt(data: Buffer, blocks: number[]): Buffer {
  const out = Buffer.from(data);
  for (const b of blocks) out[b * BLOCK + 7]! ^= 0xff;
  return out;
}

describe('merkle blame', () => {
  test('the leaves of a failed piece name exactly the senders of the bad blocks', () => {
    const blame = new MerkleBlame(files, pieceLength);
    const good = data0.subarray(pieceLength, 2 * pieceLength);
    const senders = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b'];
    const req = blame.failed(1, senders, corrupt(good, [4]));
    assert.deepEqual({ ...req, piecesRoot: undefined }, { piecesRoot: undefined, baseLayer: 0, index: 8, length: 8, proofLayers: 2 });
    assert.deepEqual(blame.askOf(1, 10), req);
    assert.equal(blame.askOf(1, 10), undefined, 'a peer is asked once');
    assert.deepEqual(blame.onHashes(10, { ...req!, hashes: leafHashes(good) }), { kind: 'liars', piece: 1, liars: ['b'] });
    assert.deepEqual(blame.waiting(), [], 'answered pieces are forgotten');
  });

  test('the short last piece of a file and a file of one piece compare only their data', () => {
    const blame = new MerkleBlame(files, pieceLength);
    const last = data0.subarray(2 * pieceLength);
    const req = blame.failed(2, ['a', 'b', 'c', 'd'], corrupt(last, [3]))!;
    assert.equal(req.length, 8, 'the last piece hash covers a whole piece of leaves');
    const leaves = Buffer.concat([leafHashes(last), Buffer.alloc(4 * 32)]);
    blame.askOf(2, 1);
    assert.deepEqual(blame.onHashes(1, { ...req, hashes: leaves }), { kind: 'liars', piece: 2, liars: ['d'] });
    const one = blame.failed(3, ['x', 'y', 'x'], corrupt(data1, [0]))!;
    assert.deepEqual([one.index, one.length, one.proofLayers], [0, 4, 1], 'the file tree of three blocks is four leaves wide');
    blame.askOf(3, 1);
    assert.deepEqual(blame.onHashes(1, { ...one, hashes: Buffer.concat([leafHashes(data1), Buffer.alloc(32)]) }), { kind: 'liars', piece: 3, liars: ['x'] });
  });

  test('leaves that do not hash to the piece hash are a bad proof; answers nobody asked for are ignored', () => {
    const blame = new MerkleBlame(files, pieceLength);
    const good = data0.subarray(0, pieceLength);
    const req = blame.failed(0, ['a', 'b'], corrupt(good, [1]))!;
    assert.deepEqual(blame.onHashes(5, { ...req, hashes: leafHashes(good) }), { kind: 'unrequested' }, 'peer 5 was not asked');
    blame.askOf(0, 5);
    const lies = leafHashes(corrupt(good, [1]));
    assert.deepEqual(blame.onHashes(5, { ...req, hashes: lies }), { kind: 'bad-proof', piece: 0 }, 'leaves of the bad data do not prove');
    assert.deepEqual(blame.onHashes(5, { ...req, hashes: Buffer.concat([leafHashes(good), Buffer.alloc(32)]) }), { kind: 'bad-proof', piece: 0 }, 'one hash too many');
    assert.deepEqual(blame.onHashes(5, { ...req, index: 16, hashes: leafHashes(good) }), { kind: 'unrequested' }, 'another run');
    assert.deepEqual(blame.onHashes(5, { ...req, hashes: leafHashes(good) }).kind, 'liars');
  });

  test('at most maxPending pieces wait for their leaves, the oldest forgotten first; nothing to ask for one-block pieces', () => {
    const blame = new MerkleBlame(files, pieceLength, 2);
    for (const piece of [0, 1, 2]) blame.failed(piece, ['a', 'b'], Buffer.alloc(pieceLength));
    assert.deepEqual(blame.waiting(), [1, 2]);
    const tiny: V2File[] = [{ fileIndex: 0, length: 100, firstPiece: 0, pieceCount: 1, root: merkleRoot(Buffer.alloc(100, 1), 1), layer: undefined }];
    assert.equal(new MerkleBlame(tiny, pieceLength).failed(0, ['a'], Buffer.alloc(100, 2)), undefined);
    assert.equal(blame.failed(9, ['a', 'b'], Buffer.alloc(10)), undefined, 'a piece of no file');
  });
});
