/**
 * Resume: a finished download re-run receives nothing; a download stopped by SIGINT (exit
 * 130) or killed by SIGKILL continues from the pieces already verified on disk and does not
 * receive them again. An aria2c seeder throttled to a few MiB/s gives the download a middle
 * to interrupt. The "verified part" is measured independently, by hashing the partial output.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Proc, sleep, stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startAria2Seeder } from '../helpers/seeders.js';
import { createSwarm, downloadAndVerify, required, type Swarm } from '../helpers/swarm.js';
import { startDownload } from '../helpers/tessera.js';
import { verifiedSummary, type TorrentMeta } from '../helpers/torrents.js';

const MiB = 1024 * 1024;
const SEED_RATE = 3 * MiB;
const DOWNLOAD_TIMEOUT_MS = 240_000;

/** Poll the output until at least `fraction` of the pieces are valid on disk (bounded). */
async function waitForProgress(proc: Proc, meta: TorrentMeta, root: string, fraction: number, timeoutMs: number): Promise<void> {
  const want = Math.ceil(meta.pieceHashes.length * fraction);
  const deadline = Date.now() + timeoutMs;
  let pieces = 0;
  while (Date.now() < deadline) {
    assert.ok(proc.running, `tessera exited before it could be interrupted (${pieces} pieces on disk)\n${proc.tail()}`);
    pieces = (await verifiedSummary(meta, root)).pieces;
    if (pieces >= want) {
      assert.ok(pieces < meta.pieceHashes.length, 'the download finished before it could be interrupted: the seeder is not throttled');
      return;
    }
    await sleep(200);
  }
  assert.fail(`only ${pieces} of ${want} pieces valid on disk at ${root} after ${timeoutMs} ms\n${proc.tail()}`);
}

describe('resuming downloads', { timeout: 900_000 }, () => {
  let swarm: Swarm | undefined;

  before(async () => {
    const s = await createSwarm({ label: 'resume', singleSize: 32 * MiB, tracker: 'http' });
    swarm = s;
    const meta = required(s.single, 'single-file torrent');
    const seeder = await startAria2Seeder({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, 'seeder'), uploadLimit: SEED_RATE });
    await waitForTrackerPeers(required(s.tracker, 'tracker').port, [meta.infoHash], 1, [seeder]);
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test('re-running a finished download receives 0 bytes and exits 0', async () => {
    const s = required(swarm, 'swarm');
    const meta = required(s.single, 'single-file torrent');
    const out = await s.newOutDir('finished');
    const first = await downloadAndVerify(s, meta, out, DOWNLOAD_TIMEOUT_MS);
    assert.ok(first.bytesDownloaded >= meta.totalLength, `the first run receives everything: ${first.line}`);
    const again = await downloadAndVerify(s, meta, out, DOWNLOAD_TIMEOUT_MS);
    assert.equal(again.bytesDownloaded, 0, `a finished download must not receive anything: ${again.line}`);
  });

  const interrupted = async (signal: 'SIGINT' | 'SIGKILL'): Promise<void> => {
    const s = required(swarm, 'swarm');
    const meta = required(s.single, 'single-file torrent');
    const out = await s.newOutDir(signal);
    const target = join(out, meta.name);
    const proc = await startDownload({ torrent: meta.torrentPath, outDir: out });
    try {
      await waitForProgress(proc, meta, target, 0.25, 120_000);
      proc.signal(signal);
      const exit = await proc.waitForExit(20_000);
      if (signal === 'SIGINT') assert.equal(exit.code, 130, `Ctrl-C must exit 130 (got code ${exit.code}, signal ${exit.signal})\n${proc.tail()}`);
      else assert.equal(exit.signal, 'SIGKILL');
    } finally {
      await proc.stop();
    }
    const kept = await verifiedSummary(meta, target);
    assert.ok(kept.pieces > 0, `verified pieces must stay on disk after ${signal}`);
    assert.ok(kept.pieces < meta.pieceHashes.length, `the ${signal} run must not have finished the download`);
    const rerun = await downloadAndVerify(s, meta, out, DOWNLOAD_TIMEOUT_MS);
    const limit = meta.totalLength - kept.bytes;
    assert.ok(
      rerun.bytesDownloaded <= limit,
      `after ${signal} with ${kept.pieces} pieces (${kept.bytes} bytes) verified on disk, the re-run may receive at most ${limit} bytes: ${rerun.line}`,
    );
    assert.ok(rerun.bytesDownloaded > 0, `the re-run must receive the missing pieces: ${rerun.line}`);
  };

  test('SIGINT mid-download exits 130 and a re-run continues from the verified pieces', () => interrupted('SIGINT'));
  test('SIGKILL mid-download, then a re-run continues from the pieces verified on disk', () => interrupted('SIGKILL'));
});
