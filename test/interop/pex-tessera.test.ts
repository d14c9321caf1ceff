/**
 * Peer exchange (BEP 11) between Tessera peers: the leecher is told about one peer only, a hub
 * that holds no piece and can download none, but is connected to two seeders. Everything the
 * leecher gets must come from seeders it learned of through the hub's PEX message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';
import { memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';

const MiB = 1024 * 1024;
const t = memoryTorrent(randomBytes(4 * MiB), 256 * 1024, 'pex.bin');

describe('PEX: a leecher that knows one peer finds the others', { timeout: 120_000 }, () => {
  let dir: string;
  let hub: RunningSwarm;
  let seeders: RunningSwarm[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-pex-'));
    await writeFile(join(dir, 'pex.torrent'), t.torrent);
    seeders = [await startMemorySwarm(t, { complete: true }), await startMemorySwarm(t, { complete: true })];
    hub = await startMemorySwarm(t, { complete: false, canDownload: false });
    hub.swarm.addPeers(
      seeders.map((s) => ({ host: '127.0.0.1', port: s.port })),
      'manual',
    );
    for (let i = 0; i < 100 && hub.swarm.connectedCount < 2; i++) await sleep(50);
    assert.equal(hub.swarm.connectedCount, 2, 'the hub is connected to both seeders');
  });

  after(async () => {
    await stopAll();
    await Promise.all([hub, ...seeders].map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  const uploadedBySeeders = (): number => seeders.reduce((sum, s) => sum + s.swarm.uploaded, 0);

  /** Runs the download; returns its output and what the seeders uploaded meanwhile (the hub requests nothing). */
  const run = async (target: string, out: string): Promise<{ stdout: string; stderr: string; seeded: number }> => {
    const before = uploadedBySeeders();
    const args = [cliPath, 'download', target, '-o', out, '--port', String(await freePort()), '--no-dht', '--timeout', '60'];
    if (!target.startsWith('magnet:')) args.push('--peer', `127.0.0.1:${hub.port}`);
    const proc = startProc('tessera', process.execPath, args, { graceMs: 10_000 });
    try {
      const exit = await proc.waitForExit(90_000);
      assert.equal(exit.code, 0, `download exits 0\n${proc.tail()}`);
    } finally {
      await proc.stop();
    }
    return { stdout: proc.stdout, stderr: proc.stderr, seeded: uploadedBySeeders() - before };
  };

  test('from a .torrent with --peer <hub>: the data comes from the two seeders the hub told about', async () => {
    const out = join(dir, 'out-torrent');
    const { seeded } = await run(join(dir, 'pex.torrent'), out);
    assert.ok((await readFile(join(out, 'pex.bin'))).equals(t.data), 'byte for byte');
    assert.equal(hub.swarm.uploaded, 0, 'the hub sent no data');
    assert.equal(hub.swarm.have.count, 0, 'the hub still holds nothing');
    assert.ok(seeded >= t.data.length, `the seeders the leecher was never told about sent the content (${seeded} bytes)`);
  });

  test('from a magnet whose only peer is the hub: metadata from the hub, seeders found by PEX', async () => {
    const out = join(dir, 'out-magnet');
    const magnet = `magnet:?xt=urn:btih:${t.infoHash.toString('hex')}&x.pe=127.0.0.1:${hub.port}`;
    const { stderr, seeded } = await run(magnet, out);
    assert.ok((await readFile(join(out, 'pex.bin'))).equals(t.data), 'byte for byte');
    assert.ok(seeded >= t.data.length, `the seeders sent the content (${seeded} bytes)`);
    const received = /metadata received: .*peers found: (\d+) tracker, (\d+) dht, (\d+) pex, (\d+) manual/.exec(stderr);
    assert.ok(received !== null, `a metadata summary line:\n${stderr}`);
    assert.equal(received[4], '1', 'one manual peer (the hub)');
    assert.equal(received[2], '0', 'no DHT with --no-dht');
  });

  test('info --fetch prints the fetched metadata and saves the torrent', async () => {
    const magnet = `magnet:?xt=urn:btih:${t.infoHash.toString('hex')}&x.pe=127.0.0.1:${hub.port}`;
    const saved = join(dir, 'fetched.torrent');
    const proc = startProc('tessera', process.execPath, [cliPath, 'info', magnet, '--fetch', '--no-dht', '--json', '--timeout', '20', '--save-torrent', saved]);
    try {
      const exit = await proc.waitForExit(40_000);
      assert.equal(exit.code, 0, `info --fetch exits 0\n${proc.tail()}`);
    } finally {
      await proc.stop();
    }
    const printed = JSON.parse(proc.stdout) as { kind: string; infoHash: string; name: string; length: number };
    assert.deepEqual([printed.kind, printed.infoHash, printed.name, printed.length], ['torrent', t.infoHash.toString('hex'), 'pex.bin', t.data.length]);
    assert.ok((await readFile(saved)).includes(t.info), 'the saved torrent holds the info dictionary verbatim');
  });
});
