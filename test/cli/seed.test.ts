/**
 * `tessera seed`: it refuses incomplete data with exit 3 and one line, serves a `tessera
 * download` found through the built-in tracker, dials a leecher given with `--peer`, and stops
 * with exit 0 on Ctrl-C. Also checks that `tessera create`, which hashes on worker threads,
 * writes the same torrent as in-process hashing.
 */
import assert from 'node:assert/strict';
import { cp, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/metainfo/create.js';
import { scrape, startTrackerServer, type TrackerServer } from '../../src/tracker/index.js';
import { compareTrees } from '../helpers/data.js';
import { CONTENT_NAME, createWithCli, interruptSeed, makeFixture, startTesseraSeed, waitForScrape, type SeedFixture } from '../helpers/leechers-seed.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll, type Proc } from '../helpers/proc.js';
import { cliPath, parseSummary, startDownload } from '../helpers/tessera.js';

let fx: SeedFixture | undefined;
let tracker: TrackerServer | undefined;

before(async () => {
  fx = await makeFixture('cli-seed');
  tracker = await startTrackerServer({ host: '127.0.0.1', interval: 60 });
});

after(async () => {
  await stopAll();
  await tracker?.close();
  await fx?.dispose();
});

function fixture(): SeedFixture {
  assert.ok(fx !== undefined, 'the test fixture was not created');
  return fx;
}

async function runSeedToExit(args: string[], timeoutMs: number): Promise<Proc> {
  const proc = startProc('tessera-seed', process.execPath, [cliPath, 'seed', ...args]);
  try {
    await proc.waitForExit(timeoutMs);
  } finally {
    await proc.stop();
  }
  return proc;
}

describe('tessera seed', { timeout: 300_000 }, () => {
  test('tessera create (worker-pool hasher) writes the same bytes as in-process hashing', async () => {
    const f = fixture();
    const out = join(f.root, 'pool.torrent');
    await createWithCli(f.source, out);
    const expected = await createTorrent(f.source, { pieceLength: 256 * 1024, trackers: [] });
    assert.ok((await readFile(out)).equals(expected), 'the torrent from tessera create differs from one hashed in process');
  });

  test('incomplete data: exit 3 with one line', async () => {
    const f = fixture();
    const torrent = join(f.root, 'incomplete.torrent');
    await createWithCli(f.source, torrent);
    const broken = join(f.root, 'broken');
    await cp(f.source, join(broken, CONTENT_NAME), { recursive: true });
    const fh = await open(join(broken, CONTENT_NAME, 'big.bin'), 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, 5_000_000);
      b[0] = (b[0] ?? 0) ^ 0xff;
      await fh.write(b, 0, 1, 5_000_000);
    } finally {
      await fh.close();
    }
    const proc = await runSeedToExit([torrent, broken, '--quiet', '--port', String(await freePort())], 60_000);
    const exit = await proc.exited;
    assert.equal(exit.code, 3, `exit code for incomplete data\n${proc.tail()}`);
    const lines = proc.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${proc.stderr}`);
    assert.match(lines[0] ?? '', /^tessera: the data in .*broken is incomplete \(\d+\/\d+ pieces verified\)$/);
    assert.equal(proc.stdout, '', 'nothing on stdout');
  });

  test('a folder that does not exist: exit 3 with one line, nothing created', async () => {
    const f = fixture();
    const torrent = join(f.root, 'missing.torrent');
    await createWithCli(f.source, torrent);
    const missing = join(f.root, 'no-such-folder');
    const proc = await runSeedToExit([torrent, missing, '--quiet'], 30_000);
    assert.equal((await proc.exited).code, 3, proc.tail());
    const lines = proc.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${proc.stderr}`);
    assert.match(lines[0] ?? '', /no-such-folder is not a folder/);
    await assert.rejects(stat(missing), { code: 'ENOENT' }, 'the missing folder was not created');
  });

  test('a tessera leecher downloads from tessera seed through the built-in tracker, byte for byte', async () => {
    const f = fixture();
    assert.ok(tracker !== undefined, 'built-in tracker not started');
    const torrent = join(f.root, 'builtin.torrent');
    const meta = await createWithCli(f.source, torrent, [tracker.httpUrl]);
    const seed = await startTesseraSeed({ torrent, dir: f.dataDir });
    await waitForScrape(tracker.httpUrl, meta, { complete: 1 });
    const out = join(f.root, 'out-builtin');
    const leecher = await startDownload({ torrent, outDir: out });
    const exit = await leecher.waitForExit(120_000);
    assert.equal(exit.code, 0, `tessera download exits 0\n${leecher.tail()}\n${seed.proc.tail()}`);
    await compareTrees(f.source, join(out, CONTENT_NAME));
    const summary = parseSummary(leecher.stdout);
    assert.equal(summary.hashFailures, 0, summary.line);
    assert.ok(summary.bytesDownloaded >= meta.info.length, summary.line);
    await interruptSeed(seed.proc);
    const left = (await scrape(tracker.httpUrl, [meta.infoHash], { timeoutMs: 2000 })).get(meta.infoHashHex);
    assert.equal(left?.complete ?? 0, 0, 'the seed told the tracker it stopped');
  });

  test('tessera seed --peer connects out to a tessera leecher that has no tracker', async () => {
    const f = fixture();
    const torrent = join(f.root, 'trackerless.torrent');
    const meta = await createWithCli(f.source, torrent);
    assert.equal(meta.announce.length, 0, 'the torrent names no tracker');
    const out = join(f.root, 'out-peer');
    const leechPort = await freePort();
    const leecher = startProc('tessera-download', process.execPath, [cliPath, 'download', torrent, '-o', out, '--port', String(leechPort), '--no-dht']);
    await leecher.waitForLine(/listening on port/, 30_000);
    const seed = await startTesseraSeed({ torrent, dir: f.dataDir, peers: [`127.0.0.1:${leechPort}`] });
    const exit = await leecher.waitForExit(120_000);
    assert.equal(exit.code, 0, `tessera download exits 0\n${leecher.tail()}\n${seed.proc.tail()}`);
    await compareTrees(f.source, join(out, CONTENT_NAME));
    await interruptSeed(seed.proc);
  });
});
