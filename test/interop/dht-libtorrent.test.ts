/**
 * A real DHT node joins our loopback DHT: libtorrent (python3-libtorrent 2.0, DHT bound to
 * 127.0.0.1, bootstrapped only from one of our nodes, every public default off) seeds a
 * trackerless torrent and announces it into a network of our DhtNodes. Then one of our
 * nodes, knowing only its bootstrap, finds libtorrent's port with get_peers; a node that
 * knows only libtorrent learns our network from libtorrent's answers; and `tessera download
 * "magnet:?xt=urn:btih:…" --dht-bootstrap` fetches metadata and content from libtorrent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DhtNode } from '../../src/dht/index.js';
import { type LtDhtNetwork, downloadMagnetByDht, findLibtorrentPort, startLtDhtNetwork } from '../helpers/dht-interop.js';
import { stopAll } from '../helpers/proc.js';
import { memoryTorrent } from '../session/memory-swarm.js';

const NODES = 8;
const MiB = 1024 * 1024;
const t = memoryTorrent(randomBytes(2 * MiB), 64 * 1024, 'dht-lt.bin');

describe('libtorrent joins our loopback DHT and is found', { timeout: 180_000 }, () => {
  // Set by before(); a failure there fails every test.
  let net: LtDhtNetwork | undefined;

  before(async () => {
    net = await startLtDhtNetwork({ family: 4, count: NODES, minKnown: 3, torrent: t, fileName: 'dht-lt.bin' });
  });

  after(async () => {
    await stopAll();
    await net?.close();
  });

  test("a node knowing only its bootstrap finds libtorrent's port with get_peers", async () => {
    const { nodes, nodeOptions, ltPort, lt } = net!;
    const searcher = await DhtNode.start(nodeOptions(nodes[NODES - 1]!.port));
    nodes.push(searcher);
    await searcher.bootstrap();
    await findLibtorrentPort(searcher, t.infoHash, '127.0.0.1', ltPort, lt);
  });

  test("libtorrent answers our queries and its answers lead into our network", async () => {
    const { nodes, nodeOptions, ltPort, lt } = net!;
    const observer = await DhtNode.start(nodeOptions(ltPort));
    nodes.push(observer);
    await observer.bootstrap();
    const stats = observer.stats();
    assert.ok(stats.received >= 1, `libtorrent answered: ${JSON.stringify(stats)}\n${lt.tail()}`);
    // Only answers enter the table: libtorrent is in it, and so are our nodes it told us of.
    assert.ok(observer.nodeCount() >= 2, `routing table of a node bootstrapped from libtorrent only: ${observer.nodeCount()}\n${lt.tail()}`);
  });

  test('tessera download of the magnet finds libtorrent through the DHT and completes', async () => {
    const { nodes, dir, lt, endpoint } = net!;
    const out = join(dir, 'out');
    await downloadMagnetByDht(t.infoHash, endpoint(nodes[1]!.port), dir, out, lt);
    assert.ok((await readFile(join(out, 'dht-lt.bin'))).equals(t.data), 'byte for byte');
  });
});
