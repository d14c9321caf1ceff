/**
 * Hostile peers against a live swarm over real loopback sockets. Each peer the test starts
 * breaks one rule and the swarm must answer with a disconnect, a refusal or a ban, never a
 * loop: requests while choked, a garbage handshake, a second connection, too many connections
 * from one IP, a banned IP coming back on another port, a liar sharing pieces with an honest
 * peer (smart ban; for v2, merkle leaf hashes), and PEX lists of addresses nobody can have. Peers use distinct 127.0.0.x
 * source addresses where IPs matter, since bans and limits are per IP.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerAddress } from '../../src/metainfo/types.js';
import { LOCAL_PEX_ID } from '../../src/swarm/extensions.js';
import { MAX_CHOKED_REQUESTS } from '../../src/swarm/upload.js';
import type { SwarmPeer } from '../../src/swarm/swarm-peer.js';
import { fileLeaves, leafHashes, merkleRoot } from '../../src/metainfo/merkle.js';
import {
  decodeHashMessage,
  encodeExtendedHandshake,
  encodeHashMessage,
  encodeUtPex,
  HashMessageId,
  makeReserved,
  type HashRequest,
  type IncomingMessage,
} from '../../src/wire/index.js';
import { memoryTorrent, startMemorySwarm, type MemoryTorrent, type RunningSwarm } from '../session/memory-swarm.js';
import { WirePeer, type WirePeerOptions } from '../session/wire-peer.js';

const BLOCK = 16 * 1024;
const PLAIN = makeReserved({});
const EXT = makeReserved({ extensionProtocol: true });
/** Every hash request the scripted seeders received. */
const hashRequests: HashRequest[] = [];
const small = memoryTorrent(randomBytes(4 * 2 * BLOCK), 2 * BLOCK, 'hostile.bin');

const running: RunningSwarm[] = [];
const peers: WirePeer[] = [];
const listeners: { close: () => Promise<void> }[] = [];

async function swarm(t: MemoryTorrent, opts: Parameters<typeof startMemorySwarm>[1]): Promise<RunningSwarm> {
  const s = await startMemorySwarm(t, opts);
  running.push(s);
  return s;
}

function dial(s: RunningSwarm, t: MemoryTorrent, opts: Partial<WirePeerOptions> = {}): WirePeer {
  const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved: PLAIN, ...opts });
  peers.push(p);
  return p;
}

/** Resolves true when the connection is closed within `ms`. */
function closedWithin(p: WirePeer, ms: number): Promise<boolean> {
  return Promise.race([p.closed.then(() => true), sleep(ms).then(() => false)]);
}

/** Polls `probe` (bounded) until it returns a value. */
async function until<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
    const v = probe();
    if (v !== undefined) return v;
  }
  throw new Error(`no ${what} within ${ms} ms`);
}

function swarmPeerFrom(s: RunningSwarm, host: string): SwarmPeer | undefined {
  return [...s.swarm.peers.values()].find((p) => p.registered && p.ip === host);
}

const isType =
  <K extends IncomingMessage['type']>(type: K) =>
  (m: IncomingMessage): m is Extract<IncomingMessage, { type: K }> =>
    m.type === type;

/** BEP 52 leaf hashes of `t`'s piece `req` asks for (layer 0, a run inside one piece), as a `hashes` frame. */
function leafAnswer(t: MemoryTorrent, req: HashRequest): Buffer {
  const from = req.index * BLOCK;
  return encodeHashMessage({ ...req, type: 'hashes', hashes: leafHashes(t.data.subarray(from, from + req.length * BLOCK)) });
}

/**
 * A seeder the swarm dials: serves `t` from `localAddress`, answering requests with
 * `answer(piece, begin, data)` (the true data unless it lies), and hash requests for leaves
 * with the true leaf hashes.
 */
async function serving(t: MemoryTorrent, localAddress: string, answer: (peer: WirePeer, piece: number, begin: number, data: Buffer) => void): Promise<{ port: number; peers: WirePeer[] }> {
  const accepted: WirePeer[] = [];
  const l = await WirePeer.listen(
    {
      infoHash: t.infoHash,
      reserved: makeReserved({ fast: true }),
      localAddress,
      onMessage: (peer, m) => {
        if (m.type === 'unknown' && m.id === HashMessageId.hashRequest) {
          const req = decodeHashMessage(m.id, m.payload);
          hashRequests.push(req);
          return peer.write(leafAnswer(t, req));
        }
        if (m.type !== 'request') return;
        const at = m.index * t.pieceLength + m.begin;
        answer(peer, m.index, m.begin, Buffer.from(t.data.subarray(at, at + m.length)));
      },
    },
    (peer) => {
      accepted.push(peer);
      void peer.handshaken(10_000).then(
        () => {
          peer.send({ type: 'have-all' });
          peer.send({ type: 'unchoke' });
        },
        () => undefined,
      );
    },
  );
  listeners.push(l);
  return { port: l.port, peers: accepted };
}

describe('hostile peers against the swarm', { timeout: 120_000 }, () => {
  after(async () => {
    for (const p of peers) p.close();
    await Promise.all(running.map((s) => s.stop()));
    await Promise.all(listeners.map((l) => l.close()));
  });

  test('a peer that keeps requesting while choked is dropped after the limit, not before', async () => {
    const s = await swarm(small, { complete: true, maxPeersPerIp: 8 });
    // Four interested peers hold every upload slot, so the hostile one stays choked.
    for (let i = 0; i < 4; i++) {
      const fan = dial(s, small);
      await fan.handshaken(5000);
      fan.send({ type: 'interested' });
      await fan.waitFor(isType('unchoke'), 5000, 'unchoke');
    }
    const hostile = dial(s, small);
    await hostile.handshaken(5000);
    const sp = await until(() => [...s.swarm.peers.values()].find((p) => p.registered && p.conn.amChoking), 5000, 'the hostile peer registered');
    for (let i = 0; i < MAX_CHOKED_REQUESTS; i++) hostile.send({ type: 'request', index: i % 4, begin: 0, length: BLOCK });
    await until(() => (sp.chokedRequests >= MAX_CHOKED_REQUESTS ? true : undefined), 10_000, 'the requests counted');
    assert.equal(sp.conn.state, 'active', 'the limit itself is tolerated');
    hostile.send({ type: 'request', index: 0, begin: 0, length: BLOCK });
    assert.equal(await closedWithin(hostile, 5000), true, 'one more request closes the connection');
    assert.equal(sp.conn.closeReason, 'too many requests while choked');
  });

  test('a stream whose first byte is not a handshake is closed at once (encryption off: with MSE on, any first byte may begin one)', async () => {
    const s = await swarm(small, { complete: true, encryption: 'off' });
    for (const garbage of [Buffer.from('G'), Buffer.from('GET / HTTP/1.1\r\n'), Buffer.from([19, 0x43])]) {
      const socket = net.connect({ host: '127.0.0.1', port: s.port });
      socket.on('error', () => undefined);
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(garbage);
      const gone = await Promise.race([closed.then(() => true), sleep(5000).then(() => false)]);
      socket.destroy();
      assert.equal(gone, true, `${JSON.stringify(garbage.toString('latin1'))}: closed without waiting for 48 bytes`);
      assert.equal(Buffer.concat(received).length, 0, 'and nothing was sent to it');
    }
  });

  test('a second connection with the same peer id is closed; the first stays', async () => {
    const s = await swarm(small, { complete: true });
    const peerId = randomBytes(20);
    const first = dial(s, small, { peerId });
    await first.handshaken(5000);
    await until(() => swarmPeerFrom(s, '127.0.0.1'), 5000, 'first registered');
    const second = dial(s, small, { peerId });
    assert.equal(await closedWithin(second, 5000), true, 'the duplicate is closed');
    assert.equal(first.isOpen, true, 'the first connection is kept');
  });

  test('an address we already hold a connection with is not dialled again', async () => {
    const s = await swarm(small, { complete: false });
    let dialled = 0;
    const home = await WirePeer.listen({ infoHash: small.infoHash, reserved: PLAIN, localAddress: '127.0.0.11' }, () => dialled++);
    listeners.push(home);
    let other = 0;
    const elsewhere = await WirePeer.listen({ infoHash: small.infoHash, reserved: PLAIN, localAddress: '127.0.0.12' }, () => other++);
    listeners.push(elsewhere);
    // It connects to us and says (BEP 10 `p`) that it listens on 127.0.0.11:<home>.
    const incoming = dial(s, small, { reserved: EXT, localAddress: '127.0.0.11' });
    await incoming.handshaken(5000);
    incoming.send({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: new Map(), p: home.port }) });
    await until(() => (swarmPeerFrom(s, '127.0.0.11')?.listenPort === home.port ? true : undefined), 5000, 'its listen port learnt');
    s.swarm.addPeers([{ host: '127.0.0.11', port: home.port }, { host: '127.0.0.12', port: elsewhere.port }], 'tracker');
    await until(() => (other > 0 ? true : undefined), 10_000, 'the other address dialled');
    assert.equal(dialled, 0, 'the peer we are connected to is not dialled a second time');
  });

  test('one IP holds at most maxPeersPerIp connections (3 by default)', async () => {
    const s = await swarm(small, { complete: true });
    const three = [0, 1, 2].map(() => dial(s, small, { localAddress: '127.0.0.9' }));
    await Promise.all(three.map((p) => p.handshaken(5000)));
    await until(() => ([...s.swarm.peers.values()].filter((p) => p.registered).length === 3 ? true : undefined), 5000, 'three registered');
    const fourth = dial(s, small, { localAddress: '127.0.0.9' });
    assert.equal(await closedWithin(fourth, 5000), true, 'the fourth connection from 127.0.0.9 is closed');
    const other = dial(s, small, { localAddress: '127.0.0.10' });
    await other.handshaken(5000);
    assert.equal(await closedWithin(other, 1000), false, 'another IP is welcome');
    assert.ok(three.every((p) => p.isOpen));
  });

  test('a peer banned for bad data is refused when it comes back from another port', async () => {
    const banned: PeerAddress[] = [];
    const s = await swarm(small, { complete: false, events: { onPeerBanned: (a) => banned.push(a) } });
    const liar = await serving(small, '127.0.0.4', (peer, index, begin, data) => peer.send({ type: 'piece', index, begin, block: data.fill(0x55) }));
    s.swarm.addPeers([{ host: '127.0.0.4', port: liar.port }], 'manual');
    await until(() => (banned.length > 0 ? true : undefined), 15_000, 'a ban');
    assert.equal(banned[0]!.host, '127.0.0.4');
    await until(() => (liar.peers.every((p) => !p.isOpen) ? true : undefined), 5000, 'the liar disconnected');
    const back = dial(s, small, { localAddress: '127.0.0.4' });
    assert.equal(await closedWithin(back, 5000), true, 'an incoming connection from the banned IP is closed');
    assert.equal(swarmPeerFrom(s, '127.0.0.4'), undefined);
    const neighbour = dial(s, small, { localAddress: '127.0.0.5' });
    await neighbour.handshaken(5000);
    assert.equal(await closedWithin(neighbour, 1000), false, 'the ban is for that IP only');
  });

  /**
   * One piece of 256 blocks, more than one peer's first requests: an honest peer and a liar both
   * get blocks of it (one from the bottom, one from the top), and the piece fails its hash.
   */
  async function liarSharesAPiece(
    v2: boolean,
  ): Promise<{ s: RunningSwarm; banned: { address: PeerAddress; reason: string }[]; honest: { port: number; peers: WirePeer[] }; big: MemoryTorrent; honestCloses: () => string[] }> {
    const big = memoryTorrent(randomBytes(256 * BLOCK), 256 * BLOCK, 'smart-ban.bin');
    const banned: { address: PeerAddress; reason: string }[] = [];
    const closes: { host: string; reason: string }[] = [];
    const files = [{ fileIndex: 0, length: big.data.length, firstPiece: 0, pieceCount: 1, root: merkleRoot(big.data, fileLeaves(big.data.length)), layer: undefined }];
    const v2Meta = { infoHash: Buffer.alloc(32), infoHashHex: '', files, layersComplete: true };
    const events = {
      onPeerBanned: (address: PeerAddress, reason: string) => banned.push({ address, reason }),
      onPeerDisconnected: (address: PeerAddress, reason: string) => closes.push({ host: address.host, reason }),
    };
    const s = await swarm(big, { complete: false, events, ...(v2 ? { v2: v2Meta } : {}) });
    // Neither answers until both hold requests, so the piece is shared. The liar corrupts what
    // it sends until the first hash failure, then tells the truth: whoever fetches the retry,
    // the piece verifies, and only the comparison of blocks can name the liar.
    const held: (() => void)[] = [];
    const asked = new Set<string>();
    let released = false;
    const answer = (who: string, lie: boolean) => (peer: WirePeer, index: number, begin: number, data: Buffer) => {
      const send = (): void => peer.send({ type: 'piece', index, begin, block: lie && s.swarm.hashFailures === 0 ? data.fill(0xaa) : data });
      asked.add(who);
      if (released) return send();
      held.push(send);
      if (asked.size === 2) {
        released = true;
        for (const f of held.splice(0)) f();
      }
    };
    const honest = await serving(big, '127.0.0.6', answer('honest', false));
    const liar = await serving(big, '127.0.0.7', answer('liar', true));
    s.swarm.addPeers([{ host: '127.0.0.6', port: honest.port }, { host: '127.0.0.7', port: liar.port }], 'manual');
    await until(() => (s.swarm.complete ? true : undefined), 30_000, 'the download');
    assert.equal(s.swarm.hashFailures, 1, 'the shared piece failed once');
    assert.ok(Buffer.from((s.swarm as unknown as { opts: { storage: { written: Buffer } } }).opts.storage.written).equals(big.data));
    // Why the honest peer's connections closed, if they did: once the download is complete it
    // may be let go as a seed ('both seeds'), never for the failed piece.
    const honestCloses = (): string[] => closes.filter((c) => c.host === '127.0.0.6').map((c) => c.reason);
    return { s, banned, honest, big, honestCloses };
  }

  test('smart ban: of two peers that filled a failed piece, only the one whose block differed is banned', async () => {
    const { s, banned, honest, honestCloses } = await liarSharesAPiece(false);
    assert.deepEqual(banned.map((b) => b.address.host), ['127.0.0.7'], `only the liar is banned: ${JSON.stringify(banned)}`);
    assert.match(banned[0]!.reason, /differs from the verified one/);
    assert.equal(s.swarm.pool.isBanned({ host: '127.0.0.6', port: honest.port }), false);
    assert.deepEqual(honestCloses().filter((r) => r !== 'both seeds'), [], 'the honest peer stays connected until the download is complete');
    assert.equal(hashRequests.length, 0, 'a v1 torrent asks for no leaf hashes');
  });

  test('v2: the liar among the senders of a failed piece is named by its merkle leaf hashes, at once', async () => {
    hashRequests.length = 0;
    const { s, banned, honest, honestCloses } = await liarSharesAPiece(true);
    assert.deepEqual(banned.map((b) => b.address.host), ['127.0.0.7'], `only the liar is banned: ${JSON.stringify(banned)}`);
    assert.match(banned[0]!.reason, /fails its merkle leaf hash/, 'by the leaf hashes, not by the later comparison');
    assert.deepEqual(
      hashRequests.map((r) => [r.baseLayer, r.index, r.length, r.proofLayers]),
      [[0, 0, 256, 7]],
      'one request: the 256 leaves of the piece, whose own root is the piece hash',
    );
    assert.equal(s.swarm.pool.isBanned({ host: '127.0.0.6', port: honest.port }), false);
    assert.deepEqual(honestCloses().filter((r) => r !== 'both seeds'), [], 'the honest peer stays connected until the download is complete');
  });

  test('PEX lists of unusable addresses and of our own address are never dialled', async () => {
    const s = await swarm(small, { complete: false, pex: true });
    let dialled = 0;
    const target = await WirePeer.listen({ infoHash: small.infoHash, reserved: PLAIN, localAddress: '127.0.0.8' }, () => dialled++);
    listeners.push(target);
    const hostile = dial(s, small, { reserved: EXT });
    await hostile.handshaken(5000);
    hostile.send({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: new Map([['ut_pex', 1]]) }) });
    const junk = ['0.0.0.0', '255.255.255.255', '224.0.0.1', '239.255.255.250', '240.0.0.9'].map((host) => ({ host, port: 6881, flags: 0 }));
    const self = ['127.0.0.1', '127.0.0.2'].map((host) => ({ host, port: s.port, flags: 0 }));
    const zeroPort = { host: '127.0.0.8', port: 0, flags: 0 };
    const good = { host: '127.0.0.8', port: target.port, flags: 0 };
    hostile.send({ type: 'extended', id: LOCAL_PEX_ID, payload: encodeUtPex({ added: [...junk, ...self, zeroPort, good], dropped: [] }) });
    await until(() => (dialled > 0 ? true : undefined), 10_000, 'a dial to the one usable address');
    assert.equal(s.swarm.pool.size, 1, 'only the usable address is kept');
    assert.equal(dialled, 1);
  });
});
