/**
 * The download path's queue sizing and piece buffers: how many requests a peer is given
 * (pure), and, on a fake clock with a scripted peer over loopback, that a piece takes a pool
 * buffer only when its first block arrives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerRequestDepth } from '../../src/swarm/download.js';
import { makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { MemoryStorage, memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';
import { WirePeer } from '../session/wire-peer.js';

const MiB = 1 << 20;
const BLOCK = 16 * 1024;

describe('peerRequestDepth', () => {
  const base = { rate: 0, maxOutstanding: 250, snubbed: false, endgame: false };

  test('a peer not measured yet gets 64 requests (1 MiB)', () => {
    assert.equal(peerRequestDepth(base), 64);
  });

  test('three seconds of the measured rate, up to what the peer accepts', () => {
    assert.equal(peerRequestDepth({ ...base, rate: 1 * MiB }), 192);
    assert.equal(peerRequestDepth({ ...base, rate: 8 * MiB }), 250);
    assert.equal(peerRequestDepth({ ...base, rate: 8 * MiB, maxOutstanding: 2000 }), 500);
  });

  test('in endgame a fifth of a second of the rate, at least four', () => {
    assert.equal(peerRequestDepth({ ...base, rate: 8 * MiB, maxOutstanding: 2000, endgame: true }), 103);
    assert.equal(peerRequestDepth({ ...base, rate: 1 * MiB, endgame: true }), 13);
    assert.equal(peerRequestDepth({ ...base, endgame: true }), 4);
  });

  test('a snubbed peer gets one', () => {
    assert.equal(peerRequestDepth({ ...base, rate: 8 * MiB, snubbed: true }), 1);
  });
});

/** Four pieces of two blocks: the first round of requests asks for all eight blocks. */
const t = memoryTorrent(randomBytes(4 * 2 * BLOCK), 2 * BLOCK, 'download.bin');

/** Memory storage that records which pieces took a buffer, in order. */
class RecordingStorage extends MemoryStorage {
  readonly acquired: number[] = [];
  override acquirePieceBuffer(index: number): Buffer | undefined {
    this.acquired.push(index);
    return super.acquirePieceBuffer(index);
  }
}

let running: RunningSwarm | undefined;
let peer: WirePeer | undefined;

afterEach(async () => {
  peer?.close();
  await running?.stop();
  running = undefined;
  peer = undefined;
});

const requests = (p: WirePeer): Extract<IncomingMessage, { type: 'request' }>[] =>
  p.received.filter((m): m is Extract<IncomingMessage, { type: 'request' }> => m.type === 'request');

/** Wait (real time, bounded) for something that depends only on bytes crossing the socket. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('piece buffers', { timeout: 30_000 }, () => {
  test('a piece takes a buffer when its first block arrives, not when it is requested', async () => {
    const clock = new FakeClock();
    const storage = new RecordingStorage(t, false);
    const s = await startMemorySwarm(t, { complete: false, clock, pex: false, storage });
    running = s;
    const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: makeReserved({}) });
    peer = p;
    await p.handshaken(5000);
    p.send({ type: 'bitfield', bytes: Uint8Array.of(0xf0) });
    p.send({ type: 'unchoke' });
    await until(() => requests(p).length === 8, 'all eight blocks are requested');
    assert.deepEqual(storage.acquired, [], 'no buffer is taken for requests alone');

    const first = requests(p)[0]!;
    const start = first.index * t.pieceLength + first.begin;
    p.send({ type: 'piece', index: first.index, begin: first.begin, block: t.data.subarray(start, start + first.length) });
    await until(() => storage.acquired.length > 0, 'the block arrives');
    await sleep(50);
    assert.deepEqual(storage.acquired, [first.index], 'one buffer, for the piece whose block came');

    for (const r of requests(p).slice(1)) {
      const at = r.index * t.pieceLength + r.begin;
      p.send({ type: 'piece', index: r.index, begin: r.begin, block: t.data.subarray(at, at + r.length) });
    }
    await until(() => s.swarm.finished, 'every piece verifies');
    assert.deepEqual([...storage.acquired].sort(), [0, 1, 2, 3], 'each piece took one buffer');
    assert.ok(storage.written.equals(t.data));
  });
});
