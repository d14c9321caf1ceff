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

const NODES = 8;
const MiB = 1024 * 1024;
const PYTHON = '/usr/bin/python3';
const t = memoryTorrent(randomBytes(2 * MiB), 64 * 1024, 'dht-lt.bin');
const loopbackOnly = (host: string): boolean => host.startsWith('127.');
// Every node shares 127.0.0.1, so the per-IP query limit is raised for the test network.
const rate = { perSecond: 5000, burst: 5000 };

/** The helper is not compiled into the build output: it is found in the source tree. */
function ltHelper(): string {
  const path = resolve('test/helpers/lt-dht-node.py');
  assert.ok(existsSync(path), `${path} not found: run the tests from the repository root`);
  assert.ok(existsSync(PYTHON), `${PYTHON} not found: install python3 and python3-libtorrent`);
  return path;
}

function nodeOptions(bootstrapPort: number | undefined): DhtNodeOptions {
  return {
    host: '127.0.0.1',
    bootstrap: bootstrapPort === undefined ? [] : [{ host: '127.0.0.1', port: bootstrapPort }],
    allowAddress: loopbackOnly,
    incomingRate: rate,
    queryTimeoutMs: 1000,
    lookupTimeoutMs: 10_000,
  };
}

describe('libtorrent joins our loopback DHT and is found', { timeout: 180_000 }, () => {
  const nodes: DhtNode[] = [];
  let dir: string;
  let lt: Proc;
  let ltPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-dht-lt-'));
    const first = await DhtNode.start(nodeOptions(undefined));
    nodes.push(first);
    for (let i = 1; i < NODES; i++) nodes.push(await DhtNode.start(nodeOptions(first.port)));
    for (const n of nodes.slice(1)) await n.bootstrap();
    await nodes[0]!.bootstrap();
    assert.ok(nodes.every((n) => n.nodeCount() >= 3), `every node knows others: ${nodes.map((n) => n.nodeCount()).join(',')}`);

    const save = join(dir, 'lt');
    await mkdir(save);
    await writeFile(join(save, 'dht-lt.bin'), t.data);
    const torrentPath = join(dir, 'dht-lt.torrent');
    await writeFile(torrentPath, t.torrent);
    ltPort = await freePort();
    const args = [ltHelper(), torrentPath, '--port', String(ltPort), '--bootstrap', `127.0.0.1:${nodes[0]!.port}`, '--save', save, '--parent-pid', String(process.pid)];
    lt = startProc('lt-dht-node', PYTHON, args);
    await lt.waitForLine(/^ready$/, 30_000);
    // libtorrent's routing table holds our nodes once its bootstrap lookup got answers.
    await lt.waitForLine(/^dht-nodes [1-9]/, 30_000);
    await lt.waitForLine(/^announcing$/, 10_000);
  });

  after(async () => {
    await stopAll();
    await Promise.all(nodes.map((n) => n.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test("a node knowing only its bootstrap finds libtorrent's port with get_peers", async () => {
    const searcher = await DhtNode.start(nodeOptions(nodes[NODES - 1]!.port));
    nodes.push(searcher);
    await searcher.bootstrap();
    await findLibtorrentPort(searcher, t.infoHash, '127.0.0.1', ltPort, lt);
  });

  test("libtorrent answers our queries and its answers lead into our network", async () => {
    const observer = await DhtNode.start(nodeOptions(ltPort));
    nodes.push(observer);
    await observer.bootstrap();
    const stats = observer.stats();
    assert.ok(stats.received >= 1, `libtorrent answered: ${JSON.stringify(stats)}\n${lt.tail()}`);
    // Only answers enter the table: libtorrent is in it, and so are our nodes it told us of.
    assert.ok(observer.nodeCount() >= 2, `routing table of a node bootstrapped from libtorrent only: ${observer.nodeCount()}\n${lt.tail()}`);
  });

  test('tessera download of the magnet finds libtorrent through the DHT and completes', async () => {
    const out = join(dir, 'out');
    await downloadMagnetByDht(t.infoHash, `127.0.0.1:${nodes[1]!.port}`, dir, out, lt);
    assert.ok((await readFile(join(out, 'dht-lt.bin'))).equals(t.data), 'byte for byte');
  });
});
