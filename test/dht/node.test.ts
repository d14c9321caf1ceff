import assert from 'node:assert/strict';
import { type Socket, createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeKrpc, decodeKrpc, type KrpcMessage } from '../../src/dht/krpc.js';
import { DEFAULT_BOOTSTRAP, DhtNode, type DhtNodeOptions } from '../../src/dht/node.js';

/** Loopback only: a bug or a hostile table can never make a test send anywhere else. */
const LOOPBACK = (host: string): boolean => host === '127.0.0.1';
const FAST = { queryTimeoutMs: 400, lookupTimeoutMs: 8000 };
/** Every node of a same-host swarm shares one source IP, so the per-IP limit is raised here. */
const SAME_HOST_RATE = { perSecond: 100_000, burst: 100_000 };

function start(options: Partial<DhtNodeOptions> = {}): Promise<DhtNode> {
  return DhtNode.start({ host: '127.0.0.1', bootstrap: [], allowAddress: LOOPBACK, incomingRate: SAME_HOST_RATE, ...FAST, ...options });
}

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWRAP').length;
}

/** A raw UDP socket on 127.0.0.1 that records what it receives. */
async function rawSocket(host = '127.0.0.1'): Promise<{ socket: Socket; received: Buffer[]; port: number }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { socket, received, port: socket.address().port };
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return predicate();
}

function send(socket: Socket, bytes: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

const ping = (t: string): Uint8Array => encodeKrpc({ type: 'query', t: Buffer.from(t), query: { method: 'ping', id: new Uint8Array(20).fill(9) } });

describe('DhtNode on 127.0.0.1', () => {
  it('a 21-node star swarm: an announced peer is found by a node that knows one other node', { timeout: 60_000 }, async () => {
    const began = Date.now();
    const before = udpHandles();
    const nodes: DhtNode[] = [];
    try {
      const root = await start();
      nodes.push(root);
      for (let i = 1; i < 20; i++) {
        const node = await start({ bootstrap: [{ host: '127.0.0.1', port: root.port }] });
        nodes.push(node);
        await node.bootstrap();
      }
      assert.ok(root.nodeCount() >= 10, `root knows ${root.nodeCount()} nodes`);
      const infoHash = new Uint8Array(20).fill(0x5a);
      const P = 51413;
      const announced = await nodes[5]!.announce(infoHash, P);
      assert.ok(announced >= 1, `announced to ${announced} nodes`);

      const finder = await start({ bootstrap: [{ host: '127.0.0.1', port: nodes[12]!.port }] });
      nodes.push(finder);
      await finder.bootstrap();
      assert.ok(finder.nodeCount() >= 5, `finder knows ${finder.nodeCount()} nodes`);
      const seen: number[] = [];
      const peers = await finder.getPeers(infoHash, { onPeer: (p) => seen.push(p.port) });
      assert.deepEqual(peers, [{ host: '127.0.0.1', port: P }]);
      assert.deepEqual(seen, [P]);
      assert.ok(Date.now() - began < 30_000);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
    assert.equal(udpHandles(), before);
  });

  it('answers ping, find_node and unknown methods, and keeps working after garbage', async () => {
    const node = await start();
    const raw = await rawSocket();
    try {
      const garbage = [
        Buffer.from('not bencode at all'),
        Buffer.from('d1:t2:aa1:y1:ze'),
        Buffer.from('li1ei2ee'),
        Buffer.alloc(4000, 0x64),
        Buffer.from('d1:ad2:id3:abce1:q4:ping1:t2:bb1:y1:qe'),
        Buffer.from('d1:rd2:id20:abcdefghij0123456789e1:t2:zz1:y1:re'),
        Buffer.alloc(0),
      ];
      for (let i = 0; i < 200; i++) garbage.push(Buffer.from(Array.from({ length: (i * 7) % 300 }, (_, j) => (i * 31 + j * 17) & 0xff)));
      for (const g of garbage) await send(raw.socket, g, node.port);
      await send(raw.socket, Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:uu1:y1:qe'), node.port);
      await send(raw.socket, ping('ok'), node.port);
      assert.ok(await waitFor(() => raw.received.some((m) => m.includes('2:ok')), 3000), 'ping answered after garbage');
      const msgs = raw.received.map((m) => decodeKrpc(m));
      const pong = msgs.find((m) => Buffer.from(m.t).toString() === 'ok');
      assert.ok(pong?.type === 'response' && Buffer.from(pong.response.id).equals(Buffer.from(node.id)));
      const unknown = msgs.find((m) => Buffer.from(m.t).toString() === 'uu');
      assert.ok(unknown?.type === 'error' && unknown.code === 204);
      const badId = msgs.find((m) => Buffer.from(m.t).toString() === 'bb');
      assert.ok(badId?.type === 'error' && badId.code === 203);
      assert.ok(node.stats().malformed >= 200);
    } finally {
      await closeSocket(raw.socket);
      await node.close();
    }
  });

  it('rate-limits incoming queries per source IP', async () => {
    const node = await start({ incomingRate: { perSecond: 1, burst: 5 } });
    const raw = await rawSocket();
    try {
      for (let i = 0; i < 50; i++) await send(raw.socket, ping(`p${i}`), node.port);
      await waitFor(() => node.stats().received >= 50, 3000);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(raw.received.length >= 5 && raw.received.length <= 7, `${raw.received.length} answers`);
      assert.ok(node.stats().rateLimited >= 43);
    } finally {
      await closeSocket(raw.socket);
      await node.close();
    }
  });

  it('bounds its own sending rate, queueing the excess instead of bursting', async () => {
    const node = await start({ outgoingRate: { perSecond: 50, burst: 5 } });
    const raw = await rawSocket();
    try {
      for (let i = 0; i < 30; i++) await send(raw.socket, ping(`q${i}`), node.port);
      await waitFor(() => node.stats().received >= 30, 3000);
      const early = raw.received.length;
      assert.ok(early <= 10, `${early} answers before the queue drained`);
      assert.ok(await waitFor(() => raw.received.length === 30, 5000), `${raw.received.length} answers in the end`);
    } finally {
      await closeSocket(raw.socket);
      await node.close();
    }
  });

  it('never sends to an address refused by allowAddress, even when a peer names it', async () => {
    // The trap listens on another loopback address; the node may only talk to 127.0.0.1.
    const trap = await rawSocket('127.0.0.2');
    const liar = await rawSocket();
    // The liar answers every query with a node list that points at the trap.
    liar.socket.on('message', (m, rinfo) => {
      const q = decodeKrpc(m);
      const nodes = Array.from({ length: 8 }, (_, i) => ({ id: new Uint8Array(20).fill(i + 1), host: '127.0.0.2', port: trap.port }));
      const answer: KrpcMessage = { type: 'response', t: q.t, response: { id: new Uint8Array(20).fill(0xee), nodes, token: new Uint8Array([1]) } };
      liar.socket.send(encodeKrpc(answer), rinfo.port, '127.0.0.1');
    });
    const node = await start({ bootstrap: [{ host: '127.0.0.1', port: liar.port }, { host: '127.0.0.2', port: trap.port }] });
    try {
      await node.bootstrap();
      await node.getPeers(new Uint8Array(20).fill(3));
      assert.ok(liar.received.length >= 2);
      assert.equal(trap.received.length, 0);
    } finally {
      await node.close();
      await closeSocket(trap.socket);
      await closeSocket(liar.socket);
    }
  });

  it('saves its routing table and restarts from it without bootstrap routers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-dht-'));
    const stateFile = join(dir, 'dht.json');
    const nodes: DhtNode[] = [];
    try {
      const a = await start();
      const b = await start({ bootstrap: [{ host: '127.0.0.1', port: a.port }] });
      nodes.push(a, b);
      await b.bootstrap();
      const c = await start({ bootstrap: [{ host: '127.0.0.1', port: b.port }], stateFile });
      nodes.push(c);
      await c.bootstrap();
      assert.equal(c.nodeCount(), 2);
      await c.save();
      await c.close();
      const again = await start({ stateFile });
      nodes.push(again);
      assert.deepEqual(again.id, c.id);
      assert.equal(again.nodeCount(), 0);
      await again.bootstrap();
      assert.equal(again.nodeCount(), 2);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an aborted lookup ends at once; close() rejects nothing left running', async () => {
    const silent = await rawSocket();
    const node = await start({ bootstrap: [{ host: '127.0.0.1', port: silent.port }], lookupTimeoutMs: 60_000, queryTimeoutMs: 30_000 });
    try {
      await node.bootstrap({ signal: AbortSignal.timeout(50) });
      const began = Date.now();
      const controller = new AbortController();
      const pending = node.getPeers(new Uint8Array(20), { signal: controller.signal });
      controller.abort();
      assert.deepEqual(await pending, []);
      assert.ok(Date.now() - began < 1000);
      const running = node.getPeers(new Uint8Array(20).fill(1));
      await node.close();
      assert.deepEqual(await running, []);
    } finally {
      await node.close();
      await closeSocket(silent.socket);
    }
  });

  it('exports the public routers without ever using them implicitly', () => {
    assert.equal(DEFAULT_BOOTSTRAP.length, 3);
    assert.ok(DEFAULT_BOOTSTRAP.every((b) => b.port === 6881));
  });
});
