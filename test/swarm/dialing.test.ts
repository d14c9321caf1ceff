/**
 * How fast a swarm connects to the peers it is given: at most `maxHalfOpen` dials in flight,
 * and a dial slot freed by a completed handshake goes to the next candidate at once, not at the
 * next tick. On a fake clock that never moves, with scripted peers over loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeReserved } from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { until } from '../helpers/seeders.js';
import { memoryTorrent, startMemorySwarm } from '../session/memory-swarm.js';
import { WirePeer } from '../session/wire-peer.js';

const BLOCK = 16 * 1024;
const t = memoryTorrent(randomBytes(4 * BLOCK), BLOCK, 'dialing.bin');
/** Four pieces: 0xf0 says "every piece". */
const ALL = Uint8Array.of(0xf0);
const MAX_HALF_OPEN = 2;
const PEERS = 6;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A scripted seed: answers the handshake and sends its bitfield; counts the dials it got. */
async function seed(): Promise<{ port: number; dials: () => number }> {
  let dials = 0;
  const server = await WirePeer.listen({ infoHash: t.infoHash, reserved: makeReserved({}) }, (p) => {
    dials++;
    void p.handshaken(5000).then(
      () => p.send({ type: 'bitfield', bytes: ALL }),
      () => undefined,
    );
    cleanups.push(() => p.close());
  });
  cleanups.push(() => server.close());
  return { port: server.port, dials: () => dials };
}

/** A TCP listener that accepts and never says a word: a dial to it stays half open. */
async function silent(): Promise<{ port: number; dials: () => number }> {
  let dials = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    dials++;
    sockets.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, dials: () => dials };
}

describe('dialing', { timeout: 30_000 }, () => {
  /** A leeching swarm on a clock that never moves, given `peers` by a tracker. */
  async function dialling(peers: readonly { port: number }[]): Promise<void> {
    const s = await startMemorySwarm(t, { complete: false, clock: new FakeClock(), maxHalfOpen: MAX_HALF_OPEN, maxPeersPerIp: PEERS + 1 });
    cleanups.push(() => s.stop());
    s.swarm.addPeers(
      peers.map((p) => ({ host: '127.0.0.1', port: p.port })),
      'tracker',
    );
  }

  test('a completed handshake frees its dial slot for the next candidate at once', async () => {
    const seeds = await Promise.all(Array.from({ length: PEERS }, seed));
    await dialling(seeds);
    // Without the freed slots only MAX_HALF_OPEN would be dialled before the first tick.
    await until(`all ${PEERS} peers are dialled`, 5000, 10, async () => seeds.every((p) => p.dials() === 1));
    assert.deepEqual(
      seeds.map((p) => p.dials()),
      Array(PEERS).fill(1),
    );
  });

  test('dials that never complete hold their slots: no more than maxHalfOpen at once', async () => {
    const peers = await Promise.all(Array.from({ length: PEERS }, silent));
    await dialling(peers);
    const total = (): number => peers.reduce((n, p) => n + p.dials(), 0);
    await until(`${MAX_HALF_OPEN} dials arrive`, 5000, 10, async () => total() === MAX_HALF_OPEN);
    // Time for any further dial to arrive, had one been made.
    await sleep(300);
    assert.equal(total(), MAX_HALF_OPEN);
  });
});
