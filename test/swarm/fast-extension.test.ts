/**
 * The fast extension (BEP 6) in the live swarm, against a scripted peer over real sockets:
 * have-all / have-none are used only when both sides set the bit, and a reject-request
 * releases the block so that it is requested again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import { memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';
import { WirePeer } from '../session/wire-peer.js';

const BLOCK = 16 * 1024;
const t = memoryTorrent(randomBytes(4 * 2 * BLOCK), 2 * BLOCK, 'fast.bin');
const FAST = makeReserved({ fast: true });
const PLAIN = makeReserved({});

const running: RunningSwarm[] = [];
const peers: WirePeer[] = [];

async function swarm(complete: boolean): Promise<RunningSwarm> {
  const s = await startMemorySwarm(t, { complete });
  running.push(s);
  return s;
}

async function dial(s: RunningSwarm, reserved: Uint8Array, onMessage?: (p: WirePeer, m: IncomingMessage) => void): Promise<WirePeer> {
  const p = WirePeer.connect(s.port, { infoHash: t.infoHash, reserved, ...(onMessage !== undefined ? { onMessage } : {}) });
  peers.push(p);
  await p.handshaken(5000);
  return p;
}

const isType =
  <K extends IncomingMessage['type']>(type: K) =>
  (m: IncomingMessage): m is Extract<IncomingMessage, { type: K }> =>
    m.type === type;

/** Resolves true when the swarm closed the connection within `ms`. */
async function closedWithin(p: WirePeer, ms: number): Promise<boolean> {
  return Promise.race([p.closed.then(() => true), sleep(ms).then(() => false)]);
}

describe('fast extension (BEP 6) in the swarm', { timeout: 60_000 }, () => {
  after(async () => {
    for (const p of peers) p.close();
    await Promise.all(running.map((s) => s.stop()));
  });

  test('a seed says have-all to a fast peer and a bitfield to a plain one', async () => {
    const s = await swarm(true);
    const fast = await dial(s, FAST);
    await fast.waitFor(isType('have-all'), 3000, 'have-all');
    assert.equal(fast.received.filter(isType('bitfield')).length, 0);
    const plain = await dial(s, PLAIN);
    const bf = await plain.waitFor(isType('bitfield'), 3000, 'bitfield');
    assert.equal(bf.bytes[0], 0xf0);
    assert.equal(plain.received.filter((m) => m.type === 'have-all' || m.type === 'have-none').length, 0);
  });

  test('an empty peer says have-none to a fast peer and nothing to a plain one', async () => {
    const s = await swarm(false);
    const fast = await dial(s, FAST);
    await fast.waitFor(isType('have-none'), 3000, 'have-none');
    const plain = await dial(s, PLAIN);
    await sleep(500);
    assert.deepEqual(
      plain.received.filter((m) => m.type === 'have-none' || m.type === 'bitfield' || m.type === 'have-all'),
      [],
      'no availability message without the fast bit',
    );
    assert.ok(plain.isOpen);
  });

  test('have-all from a peer that did not set the fast bit closes the connection', async () => {
    const s = await swarm(false);
    const plain = await dial(s, PLAIN);
    plain.send({ type: 'have-all' });
    assert.equal(await closedWithin(plain, 3000), true);
  });

  test('have-none from a peer that did not set the fast bit closes the connection', async () => {
    const s = await swarm(false);
    const plain = await dial(s, PLAIN);
    plain.send({ type: 'have-none' });
    assert.equal(await closedWithin(plain, 3000), true);
  });

  test('have-all from a fast peer is taken as a full bitfield: we become interested', async () => {
    const s = await swarm(false);
    const fast = await dial(s, FAST);
    fast.send({ type: 'have-all' });
    await fast.waitFor(isType('interested'), 3000, 'interested');
    assert.equal(s.swarm.connectedCount, 1);
    assert.ok(fast.isOpen);
  });

  test('reject-request from a plain peer closes the connection', async () => {
    const s = await swarm(false);
    const plain = await dial(s, PLAIN);
    plain.send({ type: 'reject', index: 0, begin: 0, length: BLOCK });
    assert.equal(await closedWithin(plain, 3000), true);
  });

  test('a rejected request releases the block: it is requested again and the download completes', async () => {
    const s = await swarm(false);
    const counts = new Map<string, number>();
    let rejected: string | undefined;
    const serve = (p: WirePeer, m: IncomingMessage): void => {
      if (m.type !== 'request') return;
      const key = `${m.index}:${m.begin}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (rejected === undefined) {
        rejected = key;
        p.send({ type: 'reject', index: m.index, begin: m.begin, length: m.length });
        return;
      }
      const start = m.index * t.pieceLength + m.begin;
      p.send({ type: 'piece', index: m.index, begin: m.begin, block: t.data.subarray(start, start + m.length) });
    };
    const fast = await dial(s, FAST, serve);
    fast.send({ type: 'have-all' });
    fast.send({ type: 'unchoke' });
    const deadline = Date.now() + 20_000;
    while (!s.swarm.have.complete && Date.now() < deadline) await sleep(50);
    assert.ok(rejected !== undefined, 'one request was rejected');
    assert.equal(counts.get(rejected), 2, `block ${rejected} was requested again after the reject`);
    assert.equal(s.swarm.have.count, t.pieceCount, 'every piece verified');
    assert.equal(s.swarm.hashFailures, 0);
  });
});
