/**
 * The IPv6 DHT (BEP 32) on loopback: libtorrent (TCP and DHT on [::1] only, bootstrapped from
 * one of our IPv6 DhtNodes) seeds a trackerless torrent and announces it into a network of our
 * IPv6 nodes. One of our nodes finds its port with get_peers over `nodes6`, and `tessera
 * download` of the bare magnet, given only an IPv6 bootstrap node, fetches metadata and content
 * from libtorrent over ::1, byte for byte.
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

const NODES = 6;
const MiB = 1024 * 1024;
const t = memoryTorrent(randomBytes(2 * MiB + 777), 64 * 1024, 'dht6-lt.bin');

describe('libtorrent on the IPv6 DHT (BEP 32) over ::1', { timeout: 180_000 }, () => {
  // Set by before(); a failure there fails every test.
  let net: LtDhtNetwork | undefined;

  before(async () => {
    net = await startLtDhtNetwork({ family: 6, count: NODES, minKnown: 2, torrent: t, fileName: 'dht6-lt.bin' });
  });

  after(async () => {
    await stopAll();
    await net?.close();
  });

  test("an IPv6 node knowing only its bootstrap finds libtorrent's [::1] port with get_peers", async () => {
    const { nodes, nodeOptions, ltPort, lt } = net!;
    const searcher = await DhtNode.start(nodeOptions(nodes[NODES - 1]!.port));
    nodes.push(searcher);
    await searcher.bootstrap();
    await findLibtorrentPort(searcher, t.infoHash, '::1', ltPort, lt);
  });

  test('tessera download of the magnet, bootstrapped from [::1] only, completes byte for byte', async () => {
    const { nodes, dir, lt, endpoint } = net!;
    const out = join(dir, 'out');
    await downloadMagnetByDht(t.infoHash, endpoint(nodes[1]!.port), dir, out, lt);
    assert.ok((await readFile(join(out, 'dht6-lt.bin'))).equals(t.data), 'byte for byte');
  });
});
