/**
 * Large pieces (4 to 32 MiB) against partial libtorrent seeders that leave in the middle of
 * the download while holding our requests. The piece-buffer pool holds only two pieces this
 * large; partial pieces nobody connected can finish must not keep it from the pieces others
 * can give, so each download must complete. And peers that stay connected but have nothing
 * more to give must end the run after `--timeout`, as having no peer at all does.
 * Nothing here is timed: the sleeps only let the leaving seeders start sending.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { sleep, startProc, stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';
import { cliPath, parseSummary, startDownload } from '../helpers/tessera.js';
import { compareTrees } from '../helpers/data.js';

const MiB = 1024 * 1024;

describe('large pieces, partial seeders that leave mid-download', { timeout: 1_200_000 }, () => {
  const swarms: Swarm[] = [];

  after(async () => {
    await stopAll();
    for (const s of swarms) await s.dispose();
  });

  for (const log2 of [22, 23, 24, 25]) {
    const piece = 2 ** log2;
    test(`${piece / MiB} MiB pieces: completes after two partial seeders leave holding requests`, async () => {
      // four pieces, the last one short
      const s = await createSwarm({ label: `large-${log2}`, singleSize: 3 * piece + piece / 2 + 12345, pieceLengthLog2: log2, tracker: 'http' });
      swarms.push(s);
      const meta = required(s.single, 'single-file torrent');
      const tracker = required(s.tracker, 'tracker');
      const seeder = (name: string, pieces: string, uploadLimit?: number): Promise<Seeder> =>
        startLibtorrentSeeder({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, name), pieces, ...(uploadLimit !== undefined ? { uploadLimit } : {}) });
      // Slow partial seeders of pieces 0 and 1 (a piece takes them 4 s), and a steady one of 2-3.
      const leaving = await Promise.all([seeder('leave-0', '0', piece / 4), seeder('leave-1', '1', piece / 4)]);
      const steady = await seeder('steady', '2-3');
      await waitForTrackerPeers(tracker.port, [meta.infoHash], 3, [...leaving, steady]);
      const out = await s.newOutDir('large');
      const proc = await startDownload({ torrent: meta.torrentPath, outDir: out });
      try {
        await sleep(2500);
        for (const x of leaving) await x.stop();
        // Pieces 0 and 1 now exist only as partial pieces here; a late seeder of them
        // announces, learns our address from the tracker and connects to us.
        const late = await seeder('late', '0-1');
        await late.reannounce();
        const exit = await proc.waitForExit(600_000);
        assert.equal(exit.code, 0, `tessera download must complete\n${proc.tail()}`);
      } finally {
        await proc.stop();
      }
      await compareTrees(join(s.dataDir, meta.name), join(out, meta.name));
      assert.equal(parseSummary(proc.stdout).hashFailures, 0);
    });
  }

  test('peers that stay connected but send nothing more end the run like no peer does', async () => {
    const s = await createSwarm({ label: 'no-progress', singleSize: 16 * 262144 + 99, tracker: 'none' });
    swarms.push(s);
    const meta = required(s.single, 'single-file torrent');
    const partial = await startLibtorrentSeeder({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, 'partial'), pieces: '0-1' });
    const out = await s.newOutDir('no-progress');
    const args = [cliPath, 'download', meta.torrentPath, '-o', out, '--port', String(await freePort()), '--no-dht', '--peer', `127.0.0.1:${partial.port}`, '--timeout', '4'];
    const proc = startProc('tessera', process.execPath, args, { graceMs: 15_000 });
    try {
      const exit = await proc.waitForExit(120_000);
      assert.equal(exit.code, 1, `no progress exits 1, as no peer does\n${proc.tail()}`);
      assert.match(proc.stderr, /no data from any peer for 4 s, giving up/);
      assert.match(proc.stdout, /^stopped: 2\/17 pieces verified/m, 'the two pieces the peer had are kept');
      assert.ok(partial.proc.running, 'the peer was still there: the run ended for want of progress, not of peers');
    } finally {
      await proc.stop();
    }
  });
});
