/**
 * The swarm's behaviour over time, on a fake clock: request timeout, anti-snubbing,
 * keep-alive, idle close and PEX pacing (sent and received). The swarm and a scripted peer talk over real loopback sockets,
 * but time moves only when a test advances the clock; the real-time waits below only let
 * bytes cross the socket.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IDLE_MS, KEEPALIVE_MS, REQUEST_TIMEOUT_MS } from '../../src/swarm/swarm.js';
import type { SwarmPeer } from '../../src/swarm/swarm-peer.js';
import { decodeUtPex, encodeExtendedHandshake, encodeUtPex, makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';
import { WirePeer } from '../session/wire-peer.js';

const BLOCK = 16 * 1024;
/** Four pieces of two blocks: the first round of requests asks for all eight blocks. */
const t = memoryTorrent(randomBytes(4 * 2 * BLOCK), 2 * BLOCK, 'timeouts.bin');
const PLAIN = makeReserved({});

let running: RunningSwarm | undefined;
let peer: WirePeer | undefined;
const extra: WirePeer[] = [];

afterEach(async () => {
  peer?.close();
  for (const p of extra.splice(0)) p.close();
  await running?.stop();
  running = undefined;
  peer = undefined;
});

async function start(clock: FakeClock, complete: boolean): Promise<{ s: RunningSwarm; p: WirePeer }> {
  const s = await startMemorySwarm(t, { complete, clock, pex: false });
  running = s;
  const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: PLAIN });
  peer = p;
  await p.handshaken(5000);
  await until(() => only(s).registered, 'the swarm registers the peer');
  return { s, p };
}

/** The swarm's one peer. */
function only(s: RunningSwarm): SwarmPeer {
  const [p] = s.swarm.peers.values();
  assert.ok(p !== undefined, 'the swarm has a peer');
  return p;
}

/** Wait (real time, bounded) for something that depends only on bytes crossing the socket. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const requests = (p: WirePeer): Extract<IncomingMessage, { type: 'request' }>[] =>
  p.received.filter((m): m is Extract<IncomingMessage, { type: 'request' }> => m.type === 'request');

/** A leecher swarm and a peer that has every piece, unchokes, and then never sends a block. */
async function silentSeed(clock: FakeClock): Promise<{ s: RunningSwarm; p: WirePeer }> {
  const r = await start(clock, false);
  r.p.send({ type: 'bitfield', bytes: Uint8Array.of(0xf0) });
  r.p.send({ type: 'unchoke' });
  await until(() => requests(r.p).length === 8, 'the first eight requests arrive');
  return r;
}

describe('swarm timers on a fake clock', { timeout: 60_000 }, () => {
  test('requests unanswered for the request timeout are released and asked again', async () => {
    const clock = new FakeClock();
    const { p } = await silentSeed(clock);
    clock.advance(REQUEST_TIMEOUT_MS);
    await sleep(200);
    assert.equal(requests(p).length, 8, 'nothing is asked again before the timeout');
    clock.advance(1000);
    await until(() => requests(p).length === 16, 'the eight blocks are requested again');
    const again = requests(p).slice(8).map((r) => `${r.index}/${r.begin}`).sort();
    assert.deepEqual(again, requests(p).slice(0, 8).map((r) => `${r.index}/${r.begin}`).sort());
  });

  test('a peer that never delivers is snubbed after a minute, then gets one request at a time', async () => {
    const clock = new FakeClock();
    const { s, p } = await silentSeed(clock);
    clock.advance(59_000);
    assert.equal(only(s).snubbed, false, 'not snubbed before a minute');
    assert.equal(only(s).lastBlockAt, 0, 'timeouts and refills do not count as a block');
    clock.advance(2_000);
    assert.equal(only(s).snubbed, true, 'snubbed once a minute has passed without a block');
    // Timeouts at 21 s and 42 s asked for the eight blocks again; the one at 63 s asks a snubbed peer for one.
    await until(() => requests(p).length === 24, 'two rounds of re-requests');
    clock.advance(2_000);
    await until(() => requests(p).length === 25, 'one request to the snubbed peer');
    await sleep(200);
    assert.equal(requests(p).length, 25, 'a snubbed peer has one request outstanding');
    assert.equal(s.swarm.picker.outstanding(only(s).key), 1);

    const r = requests(p)[24]!;
    const start = r.index * t.pieceLength + r.begin;
    p.send({ type: 'piece', index: r.index, begin: r.begin, block: t.data.subarray(start, start + r.length) });
    await until(() => only(s).lastBlockAt === clock.now(), 'the block arrives');
    assert.equal(only(s).snubbed, false, 'a block ends the snub');
    await until(() => requests(p).length === 32, 'a full pipeline again');
  });

  test("snubbing counts only while we want the peer's data, from when we started wanting it", async () => {
    const clock = new FakeClock();
    const { s, p } = await start(clock, false);
    clock.advance(61_000);
    assert.equal(only(s).conn.amInterested, false);
    assert.equal(only(s).snubbed, false, 'a peer with nothing we want is not snubbing us');
    p.send({ type: 'bitfield', bytes: Uint8Array.of(0xf0) });
    await until(() => only(s).conn.amInterested, 'we become interested');
    clock.advance(59_000);
    assert.equal(only(s).snubbed, false, 'the minute runs from when we became interested');
    clock.advance(2_000);
    assert.equal(only(s).snubbed, true, 'choked a minute while we are interested: snubbed');
  });

  test('a keep-alive goes out after 100 s without sending', async () => {
    const clock = new FakeClock();
    const { s, p } = await start(clock, true);
    const keepAlives = (): number => p.received.filter((m) => m.type === 'keep-alive').length;
    // The first rechoke (at 10 s) unchokes the peer; nothing is sent after it.
    clock.advance(11_000);
    const sentAt = only(s).conn.lastSent;
    clock.advance(sentAt + KEEPALIVE_MS - clock.now());
    await sleep(200);
    assert.equal(keepAlives(), 0, 'none before 100 s');
    clock.advance(1000);
    await until(() => keepAlives() === 1, 'a keep-alive arrives');
    assert.ok(p.isOpen);
  });

  test('a silent peer is closed after 120 s; one that sends keep-alives stays', async () => {
    const clock = new FakeClock();
    const { s, p } = await start(clock, true);
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      p.send({ type: 'keep-alive' });
      await until(() => only(s).conn.lastReceived === clock.now(), 'the keep-alive arrives');
    }
    assert.ok(p.isOpen, 'five minutes with a keep-alive a minute');
    clock.advance(IDLE_MS);
    await sleep(200);
    assert.ok(p.isOpen, 'not closed at exactly 120 s');
    clock.advance(1000);
    await p.closed;
    assert.equal(s.swarm.peers.size, 0);
  });

  test('PEX goes to each peer at most once a minute', async () => {
    const clock = new FakeClock();
    const s = await pexSwarm(clock);
    const a = await pexPeer(s, 40_001);
    await pexPeer(s, 40_002);
    await until(() => [...s.swarm.peers.values()].every((x) => x.listenPort !== undefined), 'both extended handshakes arrive');
    clock.advance(1000);
    await until(() => pexTo(a).length === 1, 'the first PEX');
    assert.deepEqual(pexTo(a)[0]!.added.map((x) => x.port), [40_002]);
    await pexPeer(s, 40_003);
    await until(() => [...s.swarm.peers.values()].filter((x) => x.listenPort !== undefined).length === 3, 'a third peer');
    clock.advance(59_000);
    await sleep(200);
    assert.equal(pexTo(a).length, 1, 'no second PEX within the minute');
    clock.advance(1000);
    await until(() => pexTo(a).length === 2, 'the second PEX, a minute after the first');
    assert.deepEqual(pexTo(a)[1]!.added.map((x) => x.port), [40_003]);
  });

  test('PEX received less than 30 s after the last one from that peer is ignored', async () => {
    const clock = new FakeClock();
    const s = await pexSwarm(clock);
    const a = await pexPeer(s, 40_001);
    await until(() => only(s).listenPort !== undefined, 'the extended handshake arrives');
    const pex = (port: number): void =>
      a.send({ type: 'extended', id: 2, payload: encodeUtPex({ added: [{ host: '127.0.0.2', port, flags: 0 }], dropped: [] }) });
    pex(50_001);
    await until(() => s.swarm.pool.size === 1, 'the first PEX is taken');
    clock.advance(29_999);
    pex(50_002);
    await sleep(200);
    assert.equal(s.swarm.pool.size, 1, 'a flood is dropped');
    clock.advance(1);
    pex(50_003);
    await until(() => s.swarm.pool.size === 2, 'a PEX 30 s later is taken');
  });
});

const EXTENDED = makeReserved({ extensionProtocol: true });
/** The id our scripted peers receive ut_pex on. */
const PEER_PEX_ID = 9;

/** A seed that dials nobody (so PEX-learned addresses stay candidates). */
async function pexSwarm(clock: FakeClock): Promise<RunningSwarm> {
  const s = await startMemorySwarm(t, { complete: true, clock, pex: true, maxConnections: 0 });
  running = s;
  return s;
}

/** A peer that speaks BEP 10 and ut_pex and says it listens on `port`. */
async function pexPeer(s: RunningSwarm, port: number): Promise<WirePeer> {
  const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: EXTENDED });
  extra.push(p);
  await p.handshaken(5000);
  p.send({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_pex', PEER_PEX_ID]]), p: port }) });
  return p;
}

const pexTo = (p: WirePeer): ReturnType<typeof decodeUtPex>[] =>
  p.received.flatMap((m) => (m.type === 'extended' && m.id === PEER_PEX_ID ? [decodeUtPex(m.payload)] : []));
