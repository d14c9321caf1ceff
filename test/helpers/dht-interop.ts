/**
 * Steps shared by the DHT interop tests with libtorrent (IPv4 over 127.0.0.1, IPv6 over ::1):
 * build a loopback network of our nodes with libtorrent seeding into it, find libtorrent's
 * port by get_peers, and download a bare magnet with `tessera download` bootstrapped from one
 * of our nodes, checking that the peer came from the DHT.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/index.js';
import type { MemoryTorrent } from '../session/memory-swarm.js';
import { freePort } from './ports.js';
import { type Proc, sleep, startProc } from './proc.js';
import { cliPath } from './tessera.js';

const PYTHON = '/usr/bin/python3';

export interface LtDhtNetwork {
  /** Our nodes, the first being libtorrent's bootstrap; tests may push more to be closed with them. */
  readonly nodes: DhtNode[];
  readonly dir: string;
  readonly lt: Proc;
  readonly ltPort: number;
  /** Options for one more of our nodes on this network, bootstrapped from `bootstrapPort`. */
  nodeOptions(bootstrapPort: number | undefined): DhtNodeOptions;
  /** `host:port` (bracketed for IPv6), as `--dht-bootstrap` takes it. */
  endpoint(port: number): string;
  /** Closes our nodes and removes the folder; libtorrent is stopped by the test's `stopAll`. */
  close(): Promise<void>;
}

/**
 * `count` of our DhtNodes on 127.0.0.1 (family 4) or ::1 (family 6), each knowing at least
 * `minKnown` others, and libtorrent (lt-dht-node.py: DHT on the same loopback address,
 * bootstrapped from our first node, public defaults off) seeding `torrent` into it as
 * `fileName`, up to its first announce.
 */
export async function startLtDhtNetwork(opts: { family: 4 | 6; count: number; minKnown: number; torrent: MemoryTorrent; fileName: string }): Promise<LtDhtNetwork> {
  const helper = resolve('test/helpers/lt-dht-node.py');
  assert.ok(existsSync(helper), `${helper} not found: run the tests from the repository root`);
  assert.ok(existsSync(PYTHON), `${PYTHON} not found: install python3 and python3-libtorrent`);
  const host = opts.family === 6 ? '::1' : '127.0.0.1';
  const endpoint = (port: number): string => (opts.family === 6 ? `[${host}]:${port}` : `${host}:${port}`);
  // Every node shares one loopback address, so the per-IP query limit is raised for the test network.
  const rate = { perSecond: 5000, burst: 5000 };
  const nodeOptions = (bootstrapPort: number | undefined): DhtNodeOptions => ({
    host,
    bootstrap: bootstrapPort === undefined ? [] : [{ host, port: bootstrapPort }],
    allowAddress: (h) => (opts.family === 6 ? h === '::1' : h.startsWith('127.')),
    incomingRate: rate,
    queryTimeoutMs: 1000,
    lookupTimeoutMs: 10_000,
  });
  const dir = await mkdtemp(join(tmpdir(), `tessera-dht${opts.family === 6 ? '6' : ''}-lt-`));
  const nodes: DhtNode[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const first = await DhtNode.start(nodeOptions(undefined));
    assert.equal(first.family, opts.family);
    nodes.push(first);
    for (let i = 1; i < opts.count; i++) nodes.push(await DhtNode.start(nodeOptions(first.port)));
    for (const n of nodes.slice(1)) await n.bootstrap();
    await first.bootstrap();
    assert.ok(nodes.every((n) => n.nodeCount() >= opts.minKnown), `every node knows others: ${nodes.map((n) => n.nodeCount()).join(',')}`);

    const save = join(dir, 'lt');
    await mkdir(save);
    await writeFile(join(save, opts.fileName), opts.torrent.data);
    const torrentPath = join(dir, `${opts.fileName}.torrent`);
    await writeFile(torrentPath, opts.torrent.torrent);
    const ltPort = await freePort();
    const args = [helper, torrentPath, '--host', host, '--port', String(ltPort), '--bootstrap', endpoint(first.port), '--save', save, '--parent-pid', String(process.pid)];
    const lt = startProc('lt-dht-node', PYTHON, args);
    await lt.waitForLine(/^ready$/, 30_000);
    // libtorrent's routing table holds our nodes once its bootstrap lookup got answers.
    await lt.waitForLine(/^dht-nodes [1-9]/, 30_000);
    await lt.waitForLine(/^announcing$/, 10_000);
    return { nodes, dir, lt, ltPort, nodeOptions, endpoint, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** get_peers until libtorrent's port appears (it is asked to announce again between rounds); bounded. */
export async function findLibtorrentPort(searcher: DhtNode, infoHash: Uint8Array, host: string, ltPort: number, lt: Proc): Promise<void> {
  const deadline = Date.now() + 30_000;
  let ports: number[] = [];
  while (Date.now() < deadline) {
    ports = (await searcher.getPeers(infoHash)).filter((p) => p.host === host).map((p) => p.port);
    if (ports.includes(ltPort)) break;
    // an announce lost to a timeout is repeated, as libtorrent would on its own interval
    lt.signal('SIGUSR1');
    await sleep(1000);
  }
  assert.ok(ports.includes(ltPort), `get_peers returns libtorrent's port ${ltPort}, got [${ports.join(',')}]\n${lt.tail()}`);
}

/** `tessera download magnet --dht-bootstrap <bootstrap>` into `out`; asserts exit 0 and that the peers came from the DHT only. */
export async function downloadMagnetByDht(infoHash: Buffer, bootstrap: string, dir: string, out: string, lt: Proc): Promise<void> {
  const magnet = `magnet:?xt=urn:btih:${infoHash.toString('hex')}`;
  const args = [cliPath, 'download', magnet, '-o', out, '--port', String(await freePort()), '--dht-bootstrap', bootstrap, '--timeout', '60'];
  const proc = startProc('tessera', process.execPath, args, { graceMs: 10_000, env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
  try {
    const exit = await proc.waitForExit(90_000);
    assert.equal(exit.code, 0, `download exits 0\n${proc.tail()}\n${lt.tail()}`);
  } finally {
    await proc.stop();
  }
  const found = /peers found: (\d+) tracker, (\d+) dht, (\d+) pex, (\d+) manual/.exec(proc.stderr);
  assert.ok(found !== null, `metadata summary on stderr\n${proc.tail()}`);
  assert.equal(found[1], '0', 'no tracker');
  assert.equal(found[4], '0', 'no peer given');
  assert.ok(Number(found[2]) >= 1, 'libtorrent came from the DHT');
}
