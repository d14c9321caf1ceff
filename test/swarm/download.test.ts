/**
 * The download path's piece buffers: on a fake clock with a scripted peer over loopback,
 * a piece takes a pool buffer only when its first block arrives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import type { BlockSource, BlockSourceHost } from '../../src/swarm/swarm-types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { MemoryStorage, memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';
import { WirePeer } from '../session/wire-peer.js';

const BLOCK = 16 * 1024;

/** Four pieces of two blocks: the first round of requests asks for all eight blocks. */
const t = memoryTorrent(randomBytes(4 * 2 * BLOCK), 2 * BLOCK, 'download.bin');

/** Memory storage that records which pieces took a buffer, in order, and the demand it was told. */
class RecordingStorage extends MemoryStorage {
  readonly acquired: number[] = [];
  readonly demand: number[] = [];
  override acquirePieceBuffer(index: number): Buffer | undefined {
    this.acquired.push(index);
    return super.acquirePieceBuffer(index);
  }
  override setBufferDemand(buffers: number): void {
    this.demand.push(buffers);
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

/** A swarm on `storage` and a scripted peer that has every piece, unchoked, asked for all eight blocks. */
async function seederOfAll(storage: MemoryStorage): Promise<{ s: RunningSwarm; p: WirePeer }> {
  const s = await startMemorySwarm(t, { complete: false, clock: new FakeClock(), pex: false, storage });
  running = s;
  const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: makeReserved({}) });
  peer = p;
  await p.handshaken(5000);
  p.send({ type: 'bitfield', bytes: Uint8Array.of(0xf0) });
  p.send({ type: 'unchoke' });
  await until(() => requests(p).length === 8, 'all eight blocks are requested');
  return { s, p };
}

describe('piece buffers', { timeout: 30_000 }, () => {
  test('a piece takes a buffer when its first block arrives, not when it is requested', async () => {
    const storage = new RecordingStorage(t, false);
    const { s, p } = await seederOfAll(storage);
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

  test('the pool is asked for 4 MiB of buffers per peer sending to us, and a few for storage', async () => {
    const storage = new RecordingStorage(t, false);
    const { s } = await seederOfAll(storage);
    // 32 KiB pieces: 128 buffers hold a peer's 4 MiB.
    const perPeer = (4 << 20) / (2 * BLOCK);
    assert.equal(storage.demand.at(-1), perPeer + 4, 'one peer unchoked us');
    const second = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: makeReserved({}) });
    try {
      await second.handshaken(5000);
      second.send({ type: 'bitfield', bytes: Uint8Array.of(0xf0) });
      second.send({ type: 'unchoke' });
      await until(() => storage.demand.at(-1) === 2 * perPeer + 4, 'the second peer unchokes us');
    } finally {
      second.close();
    }
  });
});

/**
 * Storage whose writes wait until the test lets them through: every piece spills (no buffers),
 * and two staged blocks fill its write queue.
 */
class SlowStorage extends MemoryStorage {
  readonly staged: { index: number; begin: number; data: Buffer }[] = [];
  private slow = true;
  private readonly drained: (() => void)[] = [];
  private readonly verifying: (() => void)[] = [];
  override get freeBuffers(): number {
    return 0;
  }
  override acquirePieceBuffer(): Buffer | undefined {
    return undefined;
  }
  override get spillBacklog(): number {
    return 0;
  }
  override get writeQueueFull(): boolean {
    return this.staged.length >= 2;
  }
  override onWriteQueueDrained(cb: () => void): void {
    this.drained.push(cb);
  }
  override writeBlock(index: number, begin: number, data: Uint8Array): void {
    if (this.slow) this.staged.push({ index, begin, data: Buffer.from(data) });
    else super.writeBlock(index, begin, data);
  }
  /** As on disk, a spilled piece is hashed once its staged blocks are written. */
  override async verifyStored(index: number): Promise<'ok' | 'hash-mismatch'> {
    if (this.slow) await new Promise<void>((resolve) => this.verifying.push(resolve));
    return super.verifyStored(index);
  }
  /** The disk catches up: what waited is written, and writes are immediate from now on. */
  drain(): void {
    this.slow = false;
    for (const s of this.staged.splice(0)) super.writeBlock(s.index, s.begin, s.data);
    for (const cb of this.drained) cb();
    for (const resolve of this.verifying.splice(0)) resolve();
  }
}

describe('backpressure from storage', { timeout: 30_000 }, () => {
  test('a full write queue stops reading from the peer; reading resumes once it drains', async () => {
    const storage = new SlowStorage(t, false);
    const { s, p } = await seederOfAll(storage);
    const sendBlock = (r: Extract<IncomingMessage, { type: 'request' }>): void => {
      const at = r.index * t.pieceLength + r.begin;
      p.send({ type: 'piece', index: r.index, begin: r.begin, block: t.data.subarray(at, at + r.length) });
    };
    const [first, second, ...rest] = requests(p);
    sendBlock(first!);
    sendBlock(second!);
    await until(() => storage.staged.length === 2, 'two blocks wait to be written');
    const conn = [...s.swarm.peers.values()][0]!.conn;
    assert.ok(conn.readHeld('storage'), 'reading stops while the write queue is full');

    for (const r of rest) sendBlock(r);
    await sleep(100);
    assert.equal(storage.staged.length, 2, 'the blocks sent meanwhile stay unread in the socket');
    assert.equal(s.swarm.finished, false);

    storage.drain();
    assert.equal(conn.readHeld('storage'), false, 'reading resumes once the queue drains');
    await until(() => s.swarm.finished, 'every piece verifies');
    assert.ok(storage.written.equals(t.data));
  });
});

describe('sources that are not peers', { timeout: 30_000 }, () => {
  /** A source (of one key, as a web seed takes per URL) that counts what the swarm asks of it. */
  const countingSource = (): { fills: number; stops: number; make: (host: BlockSourceHost) => BlockSource } => {
    const c = {
      fills: 0,
      stops: 0,
      make: (host: BlockSourceHost): BlockSource => {
        host.newKey();
        return { fill: () => void c.fills++, blame: () => undefined, bytes: 0, stop: () => void c.stops++ };
      },
    };
    return c;
  };

  test('a source is filled once added to a running swarm and stopped with it; one added after the stop is stopped at once, never filled', async () => {
    const s = await startMemorySwarm(t, { complete: false, clock: new FakeClock(), pex: false });
    running = s;
    const early = countingSource();
    s.swarm.addSource(early.make);
    assert.equal(early.fills, 1, 'filled as it is added');
    await s.stop();
    running = undefined;
    assert.equal(early.stops, 1, 'stopped with the swarm');
    // A web seed's module may finish loading after a quick stop.
    const late = countingSource();
    s.swarm.addSource(late.make);
    assert.deepEqual([late.fills, late.stops], [0, 1]);
  });
});
