/**
 * BEP 52 hash request / hashes / hash reject: byte layout, round trips, hostile payloads (only
 * WireError), and the swarm's hash server answering from piece layers with proofs that hash up
 * to the pieces root.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { pieceLayer, rootFromLayer, rootFromProof, uncleCount } from '../../src/metainfo/merkle.js';
import { HashServer } from '../../src/swarm/hash-server.js';
import { WireError, decodeHashMessage, encodeHashMessage, type HashMessage } from '../../src/wire/index.js';

const root = Buffer.alloc(32, 0xab);

describe('BEP 52 hash messages', () => {
  test('hash request: <len><21><root><base><index><length><proof>', () => {
    const frame = encodeHashMessage({ type: 'hash-request', piecesRoot: root, baseLayer: 2, index: 512, length: 512, proofLayers: 9 });
    const want = Buffer.concat([Buffer.from([0, 0, 0, 49, 21]), root, Buffer.from([0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 9])]);
    assert.deepEqual(frame, want);
    assert.deepEqual(decodeHashMessage(21, frame.subarray(5)), { type: 'hash-request', piecesRoot: root, baseLayer: 2, index: 512, length: 512, proofLayers: 9 });
  });

  test('hashes and hash reject round-trip', () => {
    const hashes = randomBytes(32 * 3);
    for (const msg of [
      { type: 'hashes', piecesRoot: root, baseLayer: 0, index: 0, length: 2, proofLayers: 1, hashes },
      { type: 'hash-reject', piecesRoot: root, baseLayer: 1, index: 4, length: 4, proofLayers: 0 },
    ] as HashMessage[]) {
      const frame = encodeHashMessage(msg);
      assert.equal(frame.readUInt32BE(0), frame.length - 4);
      assert.deepEqual(decodeHashMessage(frame[4]!, frame.subarray(5)), msg);
    }
  });

  const bad = (id: number, payload: Uint8Array, pattern: RegExp): void =>
    assert.throws(() => decodeHashMessage(id, payload), (e: unknown) => e instanceof WireError && e.code === 'bad-hash-message' && pattern.test(e.message));
  const head = (base: number, index: number, length: number, proof: number): Buffer => {
    const b = Buffer.alloc(48);
    root.copy(b);
    b.writeUInt32BE(base, 32);
    b.writeUInt32BE(index, 36);
    b.writeUInt32BE(length, 40);
    b.writeUInt32BE(proof, 44);
    return b;
  };
  test('short, long, zero-length, huge and out-of-range messages are refused', () => {
    bad(21, Buffer.alloc(47), /shorter than its 48-byte header/);
    bad(21, Buffer.concat([head(0, 0, 1, 0), Buffer.alloc(1)]), /not 48/);
    bad(21, head(0, 0, 0, 0), /asks for 0 hashes/);
    bad(21, head(0, 0, 0xffffffff, 0), /asks for 4294967295 hashes/);
    bad(21, head(64, 0, 1, 0), /layer out of range/);
    bad(22, Buffer.concat([head(0, 0, 2, 0), Buffer.alloc(32)]), /32 bytes for 2 hashes/);
    bad(22, Buffer.concat([head(0, 0, 1, 0), Buffer.alloc(33)]), /33 bytes/);
  });

  test('random payloads throw only WireError', () => {
    fc.assert(
      fc.property(fc.constantFrom(21, 22, 23), fc.uint8Array({ maxLength: 200 }), (id, payload) => {
        try {
          decodeHashMessage(id, payload);
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hash server', () => {
  const pieceLength = 32768;
  const data = randomBytes(pieceLength * 5 + 1000);
  const layer = pieceLayer(data, pieceLength);
  const fileRoot = rootFromLayer(layer, pieceLength);
  const server = new HashServer([{ fileIndex: 0, length: data.length, firstPiece: 0, pieceCount: 6, root: fileRoot, layer }], pieceLength);
  const sha = (a: Uint8Array, b: Uint8Array): Buffer => createHash('sha256').update(a).update(b).digest();

  test('a run of the piece layer with its proof hashes up to the root', () => {
    const reply = server.answer({ piecesRoot: fileRoot, baseLayer: 1, index: 2, length: 2, proofLayers: 8 })!;
    assert.equal(reply.length, 32 * 4, 'two hashes and two uncles (8 leaves of the padded layer, three levels)');
    assert.deepEqual(Buffer.from(reply.subarray(0, 64)), layer.subarray(64, 128));
    const pair = sha(reply.subarray(0, 32), reply.subarray(32, 64));
    const up = sha(reply.subarray(64, 96), pair);
    assert.deepEqual(sha(up, reply.subarray(96, 128)), fileRoot);
  });

  test('proof layers count from the base layer, as libtorrent asks: a run of 4 with 2 proof layers carries 1 uncle', () => {
    const reply = server.answer({ piecesRoot: fileRoot, baseLayer: 1, index: 4, length: 4, proofLayers: 2 })!;
    assert.equal(reply.length, 32 * 5, 'four hashes (two of them padding) and the uncle of their subtree');
    assert.deepEqual(rootFromProof(reply.subarray(0, 128), 4, 1, reply.subarray(128)), fileRoot);
    assert.equal(uncleCount(4, 2), 1);
    assert.equal(uncleCount(512, 8), 0);
    assert.equal(uncleCount(512, 12), 4);
  });

  test('the whole padded layer without proof', () => {
    const reply = server.answer({ piecesRoot: fileRoot, baseLayer: 1, index: 0, length: 8, proofLayers: 0 })!;
    assert.deepEqual(Buffer.from(reply.subarray(0, layer.length)), layer);
    assert.equal(reply.length, 8 * 32);
  });

  test('unknown roots, other layers and misaligned or oversized runs are rejected', () => {
    assert.equal(server.answer({ piecesRoot: root, baseLayer: 1, index: 0, length: 2, proofLayers: 0 }), undefined);
    assert.equal(server.answer({ piecesRoot: fileRoot, baseLayer: 0, index: 0, length: 2, proofLayers: 0 }), undefined);
    assert.equal(server.answer({ piecesRoot: fileRoot, baseLayer: 1, index: 1, length: 2, proofLayers: 0 }), undefined);
    assert.equal(server.answer({ piecesRoot: fileRoot, baseLayer: 1, index: 0, length: 3, proofLayers: 0 }), undefined);
    assert.equal(server.answer({ piecesRoot: fileRoot, baseLayer: 1, index: 0, length: 16, proofLayers: 0 }), undefined);
  });
});
