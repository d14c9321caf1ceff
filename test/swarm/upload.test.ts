import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerConnection } from '../../src/peer/connection.js';
import { BLOCK_SIZE } from '../../src/swarm/picker.js';
import { SwarmPeer } from '../../src/swarm/swarm-peer.js';
import { UPLOAD_CACHE_BYTES as CACHE_BOUND, IDLE_TRIM_MS, Uploader } from '../../src/swarm/upload.js';
import { Bitfield } from '../../src/util/bitfield.js';
import { FakeClock } from '../helpers/fake-clock.js';

const PIECE = 1 << 20;
const PIECES = 64;
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The part of a connection the uploader uses, over a socket that holds what it is given until
 * the test lets it go (`flush`), calling each write's callback then, as a socket does.
 */
class HeldSocket {
  state: PeerConnection['state'] = 'active';
  amChoking = false;
  readonly address = { host: '10.0.0.1', port: 6881 };
  writableLength = 0;
  blocks: { index: number; begin: number; first: number }[] = [];
  private pending: (() => void)[] = [];
  private drains: (() => void)[] = [];

  sendPiece(index: number, begin: number, block: Uint8Array, done?: () => void): boolean {
    this.blocks.push({ index, begin, first: block[0]! });
    this.writableLength += block.length;
    if (done !== undefined) this.pending.push(done);
    return true;
  }
  batch(fn: () => void): void {
    fn();
  }
  onDrain(cb: () => void): void {
    this.drains.push(cb);
  }
  send(): boolean {
    return true;
  }
  close(): void {
    this.state = 'closed';
    this.flush();
  }
  /** The peer read everything: write callbacks run, then 'drain'. */
  flush(): void {
    const pending = this.pending;
    const drains = this.drains;
    this.pending = [];
    this.drains = [];
    this.writableLength = 0;
    for (const done of pending) done();
    if (this.state === 'active') for (const cb of drains) cb();
  }
}

function setUp(): { up: Uploader; sock: HeldSocket; peer: SwarmPeer; reads: number[]; clock: FakeClock } {
  const clock = new FakeClock();
  const have = new Bitfield(PIECES);
  for (let i = 0; i < PIECES; i++) have.set(i);
  const reads: number[] = [];
  const up = new Uploader({
    infoHash: new Uint8Array(20),
    pieceCount: PIECES,
    have,
    pieceSize: () => PIECE,
    read: async (index, into) => {
      reads.push(index);
      return into.fill(index).subarray(0, PIECE);
    },
    onDiskError: (err) => assert.fail(String(err)),
    clock,
  });
  const sock = new HeldSocket();
  // The uploader touches only HeldSocket's members of the connection.
  const peer = new SwarmPeer(1, sock as unknown as PeerConnection, PIECES, clock.now());
  return { up, sock, peer, reads, clock };
}

test('a peer that requests every block: the piece buffers stay within the bound while every block goes out, in order and intact', async () => {
  const { up, sock, peer, reads } = setUp();
  for (let i = 0; i < PIECES; i++) for (let b = 0; b < PIECE; b += BLOCK_SIZE) up.onRequest(peer, i, b, BLOCK_SIZE);
  const total = 2000; // the queue refuses what passes its bound
  let maxCached = 0;
  for (let round = 0; round < 10_000 && sock.blocks.length < total; round++) {
    await settle();
    maxCached = Math.max(maxCached, up.cachedBytes);
    sock.flush();
  }
  assert.equal(sock.blocks.length, total);
  assert.ok(maxCached <= CACHE_BOUND, `piece buffers stayed within ${CACHE_BOUND} bytes (${maxCached})`);
  sock.blocks.forEach((b, i) => {
    const index = Math.floor(i / (PIECE / BLOCK_SIZE));
    assert.deepEqual(b, { index, begin: (i % (PIECE / BLOCK_SIZE)) * BLOCK_SIZE, first: index & 0xff });
  });
  assert.deepEqual(reads, [...new Set(reads)], 'each piece read once');
});

test('when the last peer leaves, the piece buffers are let go once nobody asked for blocks for a while', async () => {
  const { up, sock, peer, clock } = setUp();
  for (let b = 0; b < 4 * PIECE; b += BLOCK_SIZE) up.onRequest(peer, Math.floor(b / PIECE), b % PIECE, BLOCK_SIZE);
  for (let i = 0; i < 20 && sock.blocks.length === 0; i++) await settle();
  assert.ok(sock.blocks.length > 0);
  assert.ok(up.cachedBytes > 0);
  up.onPeerGone(peer, 0);
  sock.close();
  await settle();
  assert.equal(peer.uploadQueue.length, 0);
  clock.advance(IDLE_TRIM_MS - 1);
  assert.ok(up.cachedBytes > 0, 'kept for a peer that comes soon');
  clock.advance(1);
  assert.equal(up.cachedBytes, 0);
});

test('a peer that comes soon after the last one left finds the pieces still read, and keeps them', async () => {
  const { up, sock, peer, reads, clock } = setUp();
  for (let b = 0; b < PIECE; b += BLOCK_SIZE) up.onRequest(peer, 0, b, BLOCK_SIZE);
  for (let i = 0; i < 20 && sock.blocks.length === 0; i++) await settle();
  sock.flush();
  up.onPeerGone(peer, 0);
  sock.close();
  clock.advance(IDLE_TRIM_MS / 2);
  const next = new HeldSocket();
  // The uploader touches only HeldSocket's members of the connection.
  const later = new SwarmPeer(2, next as unknown as PeerConnection, PIECES, clock.now());
  for (let b = 0; b < PIECE; b += BLOCK_SIZE) up.onRequest(later, 0, b, BLOCK_SIZE);
  for (let i = 0; i < 20 && next.blocks.length < PIECE / BLOCK_SIZE; i++) await settle();
  assert.equal(next.blocks.length, PIECE / BLOCK_SIZE);
  assert.deepEqual(reads, [0], 'the piece was read once, for both peers');
  clock.advance(IDLE_TRIM_MS);
  assert.ok(up.cachedBytes > 0, 'a peer asked since: the buffers stay while it is here');
  next.flush();
  up.onPeerGone(later, 0);
  clock.advance(IDLE_TRIM_MS);
  assert.equal(up.cachedBytes, 0);
});
