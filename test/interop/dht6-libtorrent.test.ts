/**
 * The IPv6 DHT (BEP 32) on loopback: libtorrent (TCP and DHT on [::1] only, bootstrapped from
 * one of our IPv6 DhtNodes) seeds a trackerless torrent and announces it into a network of our
 * IPv6 nodes. One of our nodes finds its port with get_peers over `nodes6`, and `tessera
 * download` of the bare magnet, given only an IPv6 bootstrap node, fetches metadata and content
 * from libtorrent over ::1, byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/index.js';
import { downloadMagnetByDht, findLibtorrentPort } from '../helpers/dht-interop.js';
import { freePort } from '../helpers/ports.js';
import { type Proc, startProc, stopAll } from '../helpers/proc.js';
import { memoryTorrent } from '../session/memory-swarm.js';

const NODES = 6;
const MiB = 1024 * 1024;
const PYTHON = '/usr/bin/python3';
const t = memoryTorrent(randomBytes(2 * MiB + 777), 64 * 1024, 'dht6-lt.bin');
// Every node shares ::1, so the per-IP query limit is raised for the test network.
const rate = { perSecond: 5000, burst: 5000 };

function nodeOptions(bootstrapPort: number | undefined): DhtNodeOptions {
  return {
    host: '::1',
    bootstrap: bootstrapPort === undefined ? [] : [{ host: '::1', port: bootstrapPort }],
    allowAddress: (h) => h === '::1',
    incomingRate: rate,
    queryTimeoutMs: 1000,
    lookupTimeoutMs: 10_000,
  };
}

describe('libtorrent on the IPv6 DHT (BEP 32) over ::1', { timeout: 180_000 }, () => {
  const nodes: DhtNode[] = [];
  let dir: string;
  let lt: Proc;
  let ltPort: number;

  before(async () => {
    const helper = resolve('test/helpers/lt-dht-node.py');
    assert.ok(existsSync(helper), `${helper} not found: run the tests from the repository root`);
    dir = await mkdtemp(join(tmpdir(), 'tessera-dht6-lt-'));
    const first = await DhtNode.start(nodeOptions(undefined));
    assert.equal(first.family, 6);
    nodes.push(first);
    for (let i = 1; i < NODES; i++) nodes.push(await DhtNode.start(nodeOptions(first.port)));
    for (const n of nodes.slice(1)) await n.bootstrap();
    await nodes[0]!.bootstrap();
    assert.ok(nodes.every((n) => n.nodeCount() >= 2), `every node knows others over nodes6: ${nodes.map((n) => n.nodeCount()).join(',')}`);

    const save = join(dir, 'lt');
    await mkdir(save);
    await writeFile(join(save, 'dht6-lt.bin'), t.data);
    const torrentPath = join(dir, 'dht6-lt.torrent');
    await writeFile(torrentPath, t.torrent);
    ltPort = await freePort();
    const args = [helper, torrentPath, '--host', '::1', '--port', String(ltPort), '--bootstrap', `[::1]:${nodes[0]!.port}`, '--save', save, '--parent-pid', String(process.pid)];
    lt = startProc('lt-dht-node', PYTHON, args);
    await lt.waitForLine(/^ready$/, 30_000);
    await lt.waitForLine(/^dht-nodes [1-9]/, 30_000);
    await lt.waitForLine(/^announcing$/, 10_000);
  });

  after(async () => {
    await stopAll();
    await Promise.all(nodes.map((n) => n.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test("an IPv6 node knowing only its bootstrap finds libtorrent's [::1] port with get_peers", async () => {
    const searcher = await DhtNode.start(nodeOptions(nodes[NODES - 1]!.port));
    nodes.push(searcher);
    await searcher.bootstrap();
    await findLibtorrentPort(searcher, t.infoHash, '::1', ltPort, lt);
  });

  test('tessera download of the magnet, bootstrapped from [::1] only, completes byte for byte', async () => {
    const out = join(dir, 'out');
    await downloadMagnetByDht(t.infoHash, `[::1]:${nodes[1]!.port}`, dir, out, lt);
    assert.ok((await readFile(join(out, 'dht6-lt.bin'))).equals(t.data), 'byte for byte');
  });
});
