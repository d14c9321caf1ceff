/**
 * The external address reaches the DHT node id and the trackers: the test tree's PCP responder
 * on loopback plays the router and says the session is seen at 203.0.113.7 (a documentation
 * address; no packet goes there); the session's DHT node then has an id that conforms to
 * BEP 42 for it, and an HTTP tracker on loopback is told it as BEP 7's `ipv4=`. The DHT runs on
 * loopback, bootstrapped from a node of its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { conformsToBep42 } from '../../src/dht/bep42.js';
import { DhtNode } from '../../src/dht/node.js';
import type { PortMapEvent } from '../../src/portmap/index.js';
import { Session } from '../../src/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startIgdResponder } from '../helpers/igd-responder.js';
import { memoryTorrent } from './memory-swarm.js';

async function until(what: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Session: external address from the router, BEP 42 node id from it', { timeout: 60_000 }, () => {
  const open: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of open.reverse()) await close();
  });

  it('a PCP router reporting 203.0.113.7 gives the session a DHT node id that conforms for 203.0.113.7 and trackers ipv4=203.0.113.7; the mappings go at close', async () => {
    const clock = new FakeClock();
    const router = await startIgdResponder({ clock, externalAddress: '203.0.113.7', pcp: true });
    open.push(() => router.close());
    const peer = await DhtNode.start({ host: '127.0.0.1', bootstrap: [], allowAddress: (h) => h === '127.0.0.1' });
    open.push(() => peer.close());
    const events: PortMapEvent[] = [];
    const session = new Session({
      port: 0,
      host: '127.0.0.1',
      clock,
      utp: false,
      dht: { bootstrap: [{ host: '127.0.0.1', port: peer.port }] },
      portMapping: { gateway: router.host, natPmpPort: router.natPmpPort, methods: ['pcp'], onEvent: (e) => events.push(e) },
    });
    open.push(() => session.close());
    await session.listen();
    const before = session.dhtNodeId!;
    await until('the external address', () => session.externalAddress === '203.0.113.7');
    assert.ok(events.some((e) => e.kind === 'external-address' && e.address === '203.0.113.7'), 'the observer still hears the mapper');
    const id = session.dhtNodeId!;
    assert.ok(conformsToBep42(id, '203.0.113.7'), Buffer.from(id).toString('hex'));
    assert.ok(!conformsToBep42(before, '203.0.113.7') || Buffer.from(before).equals(id), 'a fresh id only where the old one did not fit');
    await until('both mappings', () => router.mappings().length === 2);

    const announces: string[] = [];
    const tracker = createServer((req, res) => {
      announces.push(req.url ?? '');
      res.end('d8:intervali1800e5:peers0:e');
    });
    await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
    open.push(() => new Promise<void>((resolve) => tracker.close(() => resolve())));
    const dir = await mkdtemp(join(tmpdir(), 'tessera-bep42-'));
    open.push(() => rm(dir, { recursive: true, force: true }));
    const t = memoryTorrent(randomBytes(64 * 1024), 16 * 1024, 'x.bin', `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`);
    await session.add(t.torrent, { path: dir });
    await until('the first announce', () => announces.length > 0);
    assert.match(announces[0]!, /[?&]ipv4=203\.0\.113\.7(&|$)/);
    assert.doesNotMatch(announces[0]!, /[?&]ip=/, 'no BEP 3 ip=: the tracker sees our source address');
    await session.close();
    assert.deepEqual(router.mappings(), [], 'mappings removed at exit');
  });
});
