/**
 * A magnet link against real programs: libtorrent (python3-libtorrent, DHT/PEX/LSD off) seeds,
 * opentracker is the link's only `tr=`. Tessera fetches the metadata from libtorrent over
 * ut_metadata (BEP 9), writes it with --save-torrent, and downloads the content byte for byte.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';
import { cliPath, parseSummary } from '../helpers/tessera.js';
import { readTorrent } from '../helpers/torrents.js';

const MiB = 1024 * 1024;

describe('magnet link: metadata and data from a libtorrent seeder via opentracker', { timeout: 300_000 }, () => {
  let swarm: Swarm | undefined;

  before(async () => {
    // 32 KiB pieces (mktorrent's smallest) make a 20 KB info dictionary: two ut_metadata pieces.
    swarm = await createSwarm({ label: 'magnet-lt', singleSize: 32 * MiB, pieceLengthLog2: 15, tracker: 'http' });
    const single = required(swarm.single, 'single-file torrent');
    const seeder = await startLibtorrentSeeder({ torrents: [single], dataDir: swarm.dataDir, workDir: join(swarm.root, 'seeder') });
    await waitForTrackerPeers(required(swarm.tracker, 'tracker').port, [single.infoHash], 1, [seeder]);
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test('download magnet --no-dht --save-torrent: complete, identical, and the saved torrent has the info hash', async () => {
    const s = required(swarm, 'swarm');
    const single = required(s.single, 'single-file torrent');
    const tracker = required(s.tracker, 'tracker');
    const out = await s.newOutDir('magnet');
    const saved = join(s.root, 'saved.torrent');
    const magnet = `magnet:?xt=urn:btih:${single.infoHashHex}&dn=single.bin&tr=${encodeURIComponent(tracker.httpUrl)}`;
    const args = [cliPath, 'download', magnet, '-o', out, '--port', String(await freePort()), '--no-dht', '--save-torrent', saved, '--timeout', '60'];
    const proc = startProc('tessera', process.execPath, args, { graceMs: 15_000 });
    try {
      const exit = await proc.waitForExit(180_000);
      assert.equal(exit.code, 0, `tessera download <magnet> exits 0\n${proc.tail()}`);
    } finally {
      await proc.stop();
    }
    assert.match(proc.stderr, /fetching metadata for [0-9a-f]{40}/);
    const found = /metadata received: single\.bin, .*peers found: (\d+) tracker, (\d+) dht/.exec(proc.stderr);
    assert.ok(found !== null, `metadata summary line on stderr\n${proc.tail()}`);
    assert.ok(Number(found[1]) >= 1, 'the seeder was found through the tracker');
    assert.equal(found[2], '0', 'no DHT with --no-dht');
    await compareTrees(join(s.dataDir, 'single.bin'), join(out, 'single.bin'));
    const summary = parseSummary(proc.stdout);
    assert.equal(summary.hashFailures, 0);
    const back = await readTorrent(saved);
    assert.equal(back.infoHashHex, single.infoHashHex);
    assert.equal(back.totalLength, single.totalLength);
    assert.deepEqual(back.pieceHashes, single.pieceHashes);
  });
});
