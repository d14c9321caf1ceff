/**
 * A trackerless magnet over a private loopback DHT (BEP 5): 24 DhtNodes on 127.0.0.1 that
 * send only to loopback, a Tessera seeder announced into that DHT by one node, and
 * `tessera download "magnet:?xt=urn:btih:…" --dht-bootstrap 127.0.0.1:<node>` with no tracker
 * and no peer given. The public routers are never contacted: the CLI's DHT, bootstrapped
 * from loopback only, binds 127.0.0.1 and refuses every other address.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DhtNode } from '../../src/dht/index.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';
import { memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';

const NODES = 24;
const MiB = 1024 * 1024;
const t = memoryTorrent(randomBytes(3 * MiB), 256 * 1024, 'dht.bin');
const loopbackOnly = (host: string): boolean => host.startsWith('127.');

describe('trackerless magnet through a loopback DHT', { timeout: 120_000 }, () => {
  const nodes: DhtNode[] = [];
  let seeder: RunningSwarm | undefined;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-dht-'));
    // Every node shares 127.0.0.1, so the per-IP query limit is raised for the test network.
    const rate = { perSecond: 5000, burst: 5000 };
    const first = await DhtNode.start({ host: '127.0.0.1', bootstrap: [], allowAddress: loopbackOnly, incomingRate: rate, queryTimeoutMs: 1000 });
    nodes.push(first);
    for (let i = 1; i < NODES; i++) {
      nodes.push(
        await DhtNode.start({
          host: '127.0.0.1',
          bootstrap: [{ host: '127.0.0.1', port: first.port }],
          allowAddress: loopbackOnly,
          incomingRate: rate,
          queryTimeoutMs: 1000,
        }),
      );
    }
    for (const n of nodes.slice(1)) await n.bootstrap();
    await nodes[0]!.bootstrap();
    assert.ok(nodes.every((n) => n.nodeCount() >= 3), `every node knows others: ${nodes.map((n) => n.nodeCount()).join(',')}`);
    seeder = await startMemorySwarm(t, { complete: true });
    const accepted = await nodes[NODES - 1]!.announce(t.infoHash, seeder.port);
    assert.ok(accepted >= 1, 'the seeder is announced to at least one node');
  });

  after(async () => {
    await stopAll();
    await seeder?.stop();
    await Promise.all(nodes.map((n) => n.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('download finds the seeder through get_peers and completes', async () => {
    const out = join(dir, 'out');
    const cache = join(dir, 'cache');
    const magnet = `magnet:?xt=urn:btih:${t.infoHash.toString('hex')}`;
    const args = [cliPath, 'download', magnet, '-o', out, '--port', String(await freePort()), '--dht-bootstrap', `127.0.0.1:${nodes[0]!.port}`, '--timeout', '60'];
    const proc = startProc('tessera', process.execPath, args, { graceMs: 10_000, env: { ...process.env, XDG_CACHE_HOME: cache } });
    try {
      const exit = await proc.waitForExit(90_000);
      assert.equal(exit.code, 0, `download exits 0\n${proc.tail()}`);
    } finally {
      await proc.stop();
    }
    assert.ok((await readFile(join(out, 'dht.bin'))).equals(t.data), 'byte for byte');
    const found = /peers found: (\d+) tracker, (\d+) dht, (\d+) pex, (\d+) manual/.exec(proc.stderr);
    assert.ok(found !== null, `metadata summary on stderr\n${proc.tail()}`);
    assert.equal(found[1], '0', 'no tracker');
    assert.equal(found[4], '0', 'no peer given');
    assert.ok(Number(found[2]) >= 1, 'the seeder came from the DHT');
    assert.ok(seeder!.swarm.uploaded >= t.data.length, 'the seeder uploaded the whole content');
    // A custom bootstrap is a separate network: its nodes are not written to the user's cache.
    await assert.rejects(readdir(cache), { code: 'ENOENT' });
  });
});
