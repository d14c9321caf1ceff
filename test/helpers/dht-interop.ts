/**
 * Steps shared by the DHT interop tests with libtorrent (IPv4 over 127.0.0.1, IPv6 over ::1):
 * find libtorrent's port by get_peers, and download a bare magnet with `tessera download`
 * bootstrapped from one of our nodes, checking that the peer came from the DHT.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DhtNode } from '../../src/dht/index.js';
import { freePort } from './ports.js';
import { type Proc, sleep, startProc } from './proc.js';
import { cliPath } from './tessera.js';

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
