/**
 * The session's one UDP socket: with uTP on, the DHT and the UDP tracker client use the listen
 * port's socket as libtorrent's do, so a router mapping for that one port serves all three. A
 * real opentracker (over UDP) and a DHT node on loopback each sit behind a plain UDP relay that
 * notes who sent to it: both see the session's listen port, and both answer through it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DhtNode } from '../../src/dht/index.js';
import { Session } from '../../src/session/index.js';
import { scrape } from '../../src/tracker/index.js';
import { startOpentracker, type Opentracker } from '../helpers/opentracker.js';
import { sleep } from '../helpers/proc.js';
import { startUdpRelay, type UdpRelay } from '../helpers/udp-relay.js';
import { memoryTorrent } from '../session/memory-swarm.js';

const PLAIN = { minDelayMs: 0, maxDelayMs: 0, loss: 0, seed: 1 };
const loopback = (h: string): boolean => h.startsWith('127.');

async function waitFor(what: string, test: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await test()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('DHT and UDP tracker on the listen port, shared with uTP', { timeout: 120_000 }, () => {
  let dir = '';
  let tracker: Opentracker | undefined;
  let dhtNode: DhtNode | undefined;
  const relays: UdpRelay[] = [];
  const t = memoryTorrent(Buffer.alloc(256 * 1024, 5), 64 * 1024, 'shared.bin');
  const hex = t.infoHash.toString('hex');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-shared-udp-'));
    tracker = await startOpentracker({ infoHashesHex: [hex] });
    dhtNode = await DhtNode.start({ host: '127.0.0.1', bootstrap: [], allowAddress: loopback });
  });

  after(async () => {
    for (const r of relays) await r.close();
    await dhtNode?.close();
    await tracker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('announces to opentracker over UDP and joins the DHT from the listen port', async () => {
    assert.ok(tracker !== undefined && dhtNode !== undefined);
    const trackerRelay = await startUdpRelay({ host: '127.0.0.1', port: tracker.port }, PLAIN);
    const dhtRelay = await startUdpRelay({ host: '127.0.0.1', port: dhtNode.port }, PLAIN);
    relays.push(trackerRelay, dhtRelay);
    const session = new Session({ port: 0, host: '127.0.0.1', dht: { bootstrap: [{ host: '127.0.0.1', port: dhtRelay.port }] }, portMapping: false });
    try {
      await session.listen();
      assert.equal(session.dhtPort, session.port, 'the DHT runs on the listen port');
      const announce = `udp://127.0.0.1:${trackerRelay.port}/announce`;
      await session.add(memoryTorrent(t.data, 64 * 1024, 'shared.bin', announce).torrent, { path: dir });
      const me = `127.0.0.1:${session.port}`;
      await waitFor('the announce', async () => {
        const entry = (await scrape(tracker!.httpUrl, [t.infoHash], { timeoutMs: 2000 }).catch(() => undefined))?.get(hex);
        return (entry?.incomplete ?? 0) >= 1;
      });
      assert.deepEqual(trackerRelay.clients, [me], 'every tracker datagram came from the listen port');
      await waitFor('the DHT node to learn us', () => dhtNode!.nodeCount() >= 1);
      assert.deepEqual(dhtRelay.clients, [me], 'every DHT datagram came from the listen port');
    } finally {
      await session.close();
    }
  });
});
