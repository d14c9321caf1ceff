/**
 * Seeds and seeds: two peers that both have every piece have nothing to trade (nor a seed and
 * a peer that wants no pieces, BEP 21). A seed dials another seed once, not again each time
 * the back-off ends, and a download that completes lets go of the seeds it was connected to;
 * one done with its selection does too, says `upload_only`, and says when it wants more. PEX
 * tells which peers are seeds (BEP 11 flags), and a seed does not dial those. On a fake clock,
 * with scripted peers over loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NORMAL, SKIP } from '../../src/swarm/piece-priority.js';
import { PexFlag, decodeExtendedHandshake, decodeUtPex, encodeExtendedHandshake, encodeUtPex, makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';
import { WirePeer } from '../session/wire-peer.js';

const BLOCK = 16 * 1024;
/** Four pieces of two blocks; a bitfield of 0xf0 says "every piece". */
const t = memoryTorrent(randomBytes(4 * 2 * BLOCK), 2 * BLOCK, 'seeds.bin');
const ALL = Uint8Array.of(0xf0);
const NONE = Uint8Array.of(0);
const PLAIN = makeReserved({});
const EXTENDED = makeReserved({ extensionProtocol: true });
/** The id our scripted peers receive ut_pex on; the swarm receives it on 2. */
const PEER_PEX_ID = 9;
const SWARM_PEX_ID = 2;
/** Longer than the pool's first back-off after a useful connection (15 s). */
const PAST_BACK_OFF_MS = 20_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

async function swarm(clock: FakeClock, complete: boolean, reasons: string[] = [], pex = false): Promise<RunningSwarm> {
  const s = await startMemorySwarm(t, { complete, clock, pex, events: { onPeerDisconnected: (_a, reason) => reasons.push(reason) } });
  cleanups.push(() => s.stop());
  return s;
}

/**
 * A listening scripted peer that sends `bitfield` once the swarm's handshake arrives (after a
 * BEP 10 handshake saying `upload_only` when `uploadOnly`); counts the swarm's dials.
 */
async function listeningPeer(bitfield: Uint8Array, opts: { closeAfterBitfield?: boolean; uploadOnly?: boolean } = {}): Promise<{ port: number; peers: WirePeer[] }> {
  const peers: WirePeer[] = [];
  const server = await WirePeer.listen({ infoHash: t.infoHash, reserved: opts.uploadOnly === true ? EXTENDED : PLAIN }, (p) => {
    peers.push(p);
    void p.handshaken(5000).then(
      () => {
        if (opts.uploadOnly === true) p.send({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: new Map(), uploadOnly: true }) });
        p.send({ type: 'bitfield', bytes: bitfield });
        if (opts.closeAfterBitfield === true) setTimeout(() => p.close(), 50);
      },
      () => undefined,
    );
  });
  cleanups.push(() => server.close());
  return { port: server.port, peers };
}

describe('seeds and seeds', { timeout: 30_000 }, () => {
  /** A seed swarm dials `other` once, closes it as 'both seeds', and never again through three back-offs. */
  async function dialledOnce(other: { port: number; peers: WirePeer[] }): Promise<void> {
    const clock = new FakeClock();
    const reasons: string[] = [];
    const s = await swarm(clock, true, reasons);
    s.swarm.addPeers([{ host: '127.0.0.1', port: other.port }], 'tracker');
    await until(() => reasons.length === 1, 'the swarm closes the connection');
    assert.deepEqual(reasons, ['both seeds']);
    assert.equal(other.peers.length, 1);
    for (let i = 0; i < 3; i++) {
      clock.advance(PAST_BACK_OFF_MS);
      await sleep(100);
    }
    assert.equal(other.peers.length, 1, 'it is not dialled again');
  }

  test('a seed dials another seed once: after the back-off it is not dialled again', async () => {
    await dialledOnce(await listeningPeer(ALL));
  });

  test('a seed closes a peer that wants no pieces (BEP 21 upload_only) and does not dial it again', async () => {
    await dialledOnce(await listeningPeer(NONE, { uploadOnly: true }));
  });

  test('a download keeps a peer that wants no pieces: it may have some to give', async () => {
    const clock = new FakeClock();
    const reasons: string[] = [];
    const s = await swarm(clock, false, reasons);
    const partial = await listeningPeer(Uint8Array.of(0x80), { uploadOnly: true });
    s.swarm.addPeers([{ host: '127.0.0.1', port: partial.port }], 'tracker');
    await until(() => [...s.swarm.peers.values()].some((p) => p.uploadOnly && p.has.count === 1), 'its BEP 10 handshake and bitfield arrive');
    await sleep(100);
    assert.deepEqual(reasons, []);
    assert.equal(partial.peers[0]!.isOpen, true);
  });

  test('a seed still redials a leecher after the back-off', async () => {
    const clock = new FakeClock();
    const s = await swarm(clock, true);
    const leecher = await listeningPeer(NONE, { closeAfterBitfield: true });
    s.swarm.addPeers([{ host: '127.0.0.1', port: leecher.port }], 'tracker');
    await until(() => leecher.peers.length === 1 && !leecher.peers[0]!.isOpen, 'the first connection is made and closed');
    await sleep(50);
    clock.advance(PAST_BACK_OFF_MS);
    await until(() => leecher.peers.length === 2, 'the leecher is dialled again');
  });

  test('a download that completes closes its connections to seeds and keeps its leechers', async () => {
    const clock = new FakeClock();
    const reasons: string[] = [];
    const s = await swarm(clock, false, reasons);
    const { seed, leecher } = await seedAndLeecher(s, PLAIN);

    await until(() => s.swarm.have.complete, 'the download completes');
    await until(() => !seed.isOpen, 'the connection to the seed closes');
    assert.deepEqual(reasons, ['both seeds']);
    await sleep(100);
    assert.equal(leecher.isOpen, true, 'the leecher stays connected');
  });

  test('a download whose selection is done says upload_only (BEP 21), lets its seeds go, and says when it wants pieces again', async () => {
    const clock = new FakeClock();
    const reasons: string[] = [];
    const s = await swarm(clock, false, reasons);
    s.swarm.setPiecePriorities(Uint8Array.of(NORMAL, SKIP, SKIP, SKIP));
    const { seed, leecher } = await seedAndLeecher(s, EXTENDED);

    await until(() => s.swarm.finished && !seed.isOpen, 'the selected piece is verified and the seed let go');
    assert.equal(s.swarm.have.count, 1);
    assert.deepEqual(reasons, ['both seeds']);
    await until(() => uploadOnlyTo(leecher).length === 2, 'a second extended handshake');
    assert.deepEqual(uploadOnlyTo(leecher), [undefined, true]);
    assert.equal(leecher.isOpen, true, 'the leecher may still want what we have');

    s.swarm.setPiecePriorities(undefined);
    await until(() => uploadOnlyTo(leecher).length === 3, 'a third extended handshake');
    assert.equal(uploadOnlyTo(leecher)[2], false);
  });

  test('a seed let go when the selection was done is dialled again at once when the selection grows', async () => {
    const clock = new FakeClock();
    const reasons: string[] = [];
    const s = await swarm(clock, false, reasons);
    s.swarm.setPiecePriorities(Uint8Array.of(NORMAL, SKIP, SKIP, SKIP));
    const seeds: WirePeer[] = [];
    const server = await WirePeer.listen({ infoHash: t.infoHash, reserved: PLAIN, onMessage: serve }, (p) => {
      seeds.push(p);
      void p.handshaken(5000).then(
        () => {
          p.send({ type: 'bitfield', bytes: ALL });
          p.send({ type: 'unchoke' });
        },
        () => undefined,
      );
    });
    cleanups.push(() => server.close());
    s.swarm.addPeers([{ host: '127.0.0.1', port: server.port }], 'tracker');
    await until(() => s.swarm.finished && reasons.length === 1, 'the selected piece is verified and the seed let go');
    assert.deepEqual(reasons, ['both seeds']);
    clock.advance(PAST_BACK_OFF_MS);
    await sleep(100);
    assert.equal(seeds.length, 1, 'a seed is not dialled while the selection is done');

    s.swarm.setPiecePriorities(undefined);
    // One tick, far short of the back-off the close began.
    clock.advance(1000);
    await until(() => seeds.length === 2, 'the seed is dialled again');
    await until(() => s.swarm.have.complete, 'the rest of the torrent arrives');
  });

  test('PEX flags the peers that have every piece as seeds', async () => {
    const clock = new FakeClock();
    const s = await swarm(clock, false, [], true);
    const leecher = await pexPeer(s, 40_001, NONE);
    await pexPeer(s, 40_002, ALL);
    await until(() => [...s.swarm.peers.values()].every((x) => x.listenPort !== undefined && x.has.count > 0 === (x.listenPort === 40_002)), 'both peers have said where they listen and what they have');
    clock.advance(1000);
    await until(() => pexTo(leecher).length === 1, 'the first PEX');
    assert.deepEqual(
      pexTo(leecher)[0]!.added.map((x) => [x.port, x.flags]),
      [[40_002, PexFlag.seed]],
    );
  });

  test('a seed does not dial the peers PEX calls seeds, and dials the others', async () => {
    const clock = new FakeClock();
    const s = await swarm(clock, true, [], true);
    const seedByPex = await listeningPeer(NONE);
    const leecherByPex = await listeningPeer(NONE);
    const teller = await pexPeer(s, 40_001, NONE);
    await until(() => [...s.swarm.peers.values()].some((x) => x.listenPort === 40_001), 'the extended handshake arrives');
    teller.send({
      type: 'extended',
      id: SWARM_PEX_ID,
      payload: encodeUtPex({
        added: [
          { host: '127.0.0.1', port: seedByPex.port, flags: PexFlag.seed },
          { host: '127.0.0.1', port: leecherByPex.port, flags: 0 },
        ],
        dropped: [],
      }),
    });
    await until(() => leecherByPex.peers.length === 1, 'the peer not flagged as a seed is dialled');
    clock.advance(PAST_BACK_OFF_MS);
    await sleep(200);
    assert.equal(seedByPex.peers.length, 0, 'the peer flagged as a seed is never dialled');
  });
});

/** A seed's answer to every request. */
function serve(p: WirePeer, m: IncomingMessage): void {
  if (m.type !== 'request') return;
  const at = m.index * t.pieceLength + m.begin;
  p.send({ type: 'piece', index: m.index, begin: m.begin, block: t.data.subarray(at, at + m.length) });
}

/** A seed that serves every request and unchokes, and a leecher with no piece, both connected to `s`. */
async function seedAndLeecher(s: RunningSwarm, reserved: Uint8Array): Promise<{ seed: WirePeer; leecher: WirePeer }> {
  const seed = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved, onMessage: serve });
  cleanups.push(() => seed.close());
  await seed.handshaken(5000);
  const leecher = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved });
  cleanups.push(() => leecher.close());
  await leecher.handshaken(5000);
  leecher.send({ type: 'bitfield', bytes: NONE });
  seed.send({ type: 'bitfield', bytes: ALL });
  seed.send({ type: 'unchoke' });
  return { seed, leecher };
}

/** The `upload_only` of each extended handshake `p` received from the swarm, in order. */
const uploadOnlyTo = (p: WirePeer): (boolean | undefined)[] =>
  p.received.flatMap((m) => (m.type === 'extended' && m.id === 0 ? [decodeExtendedHandshake(m.payload).uploadOnly] : []));

/** A peer that speaks BEP 10 and ut_pex, says it listens on `port`, and sends `bitfield`. */
async function pexPeer(s: RunningSwarm, port: number, bitfield: Uint8Array): Promise<WirePeer> {
  const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: EXTENDED });
  cleanups.push(() => p.close());
  await p.handshaken(5000);
  p.send({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_pex', PEER_PEX_ID]]), p: port }) });
  p.send({ type: 'bitfield', bytes: bitfield });
  return p;
}

const pexTo = (p: WirePeer): ReturnType<typeof decodeUtPex>[] =>
  p.received.flatMap((m) => (m.type === 'extended' && m.id === PEER_PEX_ID ? [decodeUtPex(m.payload)] : []));
