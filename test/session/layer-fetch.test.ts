/**
 * Piece layers fetched by hash request (BEP 52), the bookkeeping alone: runs of 512 with the
 * proof layers libtorrent expects, answers from the swarm's own hash server stored and proved,
 * a wrong hash, a wrong proof length or an unasked answer refused, and the per-peer bound.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { rootFromLayer } from '../../src/metainfo/merkle.js';
import { LayerFetch, MAX_REQUESTS_PER_PEER } from '../../src/session/layer-fetch.js';
import { HashServer } from '../../src/swarm/hash-server.js';
import { toHex } from '../../src/util/bytes.js';
import type { HashRequest } from '../../src/wire/index.js';

const pieceLength = 16384;

function file(pieceCount: number): { root: Buffer; layer: Buffer; pieceCount: number } {
  const layer = randomBytes(pieceCount * 32);
  return { root: rootFromLayer(layer, pieceLength), layer, pieceCount };
}

const big = file(1000);
const small = file(100);
const server = new HashServer(
  [big, small].map((f, i) => ({ fileIndex: i, length: f.pieceCount * pieceLength, firstPiece: 0, pieceCount: f.pieceCount, root: f.root, layer: f.layer })),
  pieceLength,
);

function answer(req: HashRequest): HashRequest & { hashes: Uint8Array } {
  const hashes = server.answer(req);
  assert.ok(hashes !== undefined, `the hash server answers ${JSON.stringify({ ...req, piecesRoot: undefined })}`);
  return { ...req, hashes };
}

describe('piece layers by hash request', () => {
  test('runs of 512 at the piece layer, proved to the root, fill both layers', () => {
    const fetch = new LayerFetch<string>([big, small], pieceLength);
    const reqs = fetch.requestsFor('a', 0);
    assert.deepEqual(
      reqs.map((r) => [toHex(r.piecesRoot) === toHex(big.root) ? 'big' : 'small', r.baseLayer, r.index, r.length, r.proofLayers]),
      [
        ['big', 0, 0, 512, 9],
        ['big', 0, 512, 512, 9],
        ['small', 0, 0, 128, 6],
      ],
    );
    for (const r of reqs) assert.equal(fetch.onHashes('a', answer(r)), 'stored');
    assert.ok(fetch.complete);
    const layers = fetch.layers();
    assert.deepEqual(layers.get(toHex(big.root)), big.layer);
    assert.deepEqual(layers.get(toHex(small.root)), small.layer);
  });

  test('a wrong hash or a proof of the wrong length is a bad proof; the run goes to another peer', () => {
    const fetch = new LayerFetch<string>([big], pieceLength);
    const [first, second] = fetch.requestsFor('liar', 0);
    const lie = answer(first!);
    const hashes = Buffer.from(lie.hashes);
    hashes[100]! ^= 1;
    assert.equal(fetch.onHashes('liar', { ...lie, hashes }), 'bad-proof');
    const short = answer(second!);
    assert.equal(fetch.onHashes('liar', { ...short, hashes: short.hashes.subarray(0, short.hashes.length - 32) }), 'bad-proof');
    assert.equal(fetch.complete, false);
    const retry = fetch.requestsFor('honest', 0);
    assert.equal(retry.length, 2, 'both runs are free again');
    for (const r of retry) assert.equal(fetch.onHashes('honest', answer(r)), 'stored');
    assert.ok(fetch.complete);
  });

  test('an answer nobody asked for is not stored', () => {
    const fetch = new LayerFetch<string>([big], pieceLength);
    const [req] = fetch.requestsFor('a', 0);
    assert.equal(fetch.onHashes('b', answer(req!)), 'unrequested', 'from another peer');
    assert.equal(fetch.onHashes('a', answer({ ...req!, proofLayers: 10 })), 'unrequested', 'with other proof layers');
    assert.equal(fetch.onHashes('a', answer(req!)), 'stored');
    assert.equal(fetch.onHashes('a', answer(req!)), 'unrequested', 'twice');
  });

  test(`at most ${MAX_REQUESTS_PER_PEER} requests per peer, one peer per run; rejects and timeouts free the run`, () => {
    const many = Array.from({ length: 10 }, () => file(3));
    const fetch = new LayerFetch<string>(many, pieceLength);
    const a = fetch.requestsFor('a', 0);
    assert.equal(a.length, MAX_REQUESTS_PER_PEER);
    assert.equal(fetch.requestsFor('a', 0).length, 0, 'no more while they are in flight');
    const b = fetch.requestsFor('b', 0);
    assert.equal(b.length, MAX_REQUESTS_PER_PEER);
    assert.ok(b.every((r) => !a.includes(r)), 'no run is asked of two peers');
    fetch.onReject('a', a[0]!, 0);
    assert.ok(!fetch.requestsFor('a', 1000).includes(a[0]!), 'a rejected run is not asked of the same peer soon');
    assert.ok(fetch.requestsFor('c', 1000).includes(a[0]!), 'but of another');
    // In flight now: 4 at a (one taken after the reject), 4 at b, the last 2 runs at c.
    assert.deepEqual(fetch.expire(60_000, 10_000).sort(), ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c']);
    assert.deepEqual(fetch.progress(), { done: 0, total: 10 });
    fetch.dropPeer('b');
    assert.equal(fetch.requestsFor('b', 60_000).length, MAX_REQUESTS_PER_PEER, 'a dropped peer leaves no refusal behind');
  });
});
