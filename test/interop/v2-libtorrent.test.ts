/**
 * BEP 52 against real libtorrent on loopback, byte for byte: Tessera downloads a v2-only and a
 * hybrid torrent that libtorrent created and seeds, and libtorrent downloads a v2-only and a
 * hybrid torrent that Tessera created and seeds. DHT, LSD, UPnP and NAT-PMP are off. And a
 * lying peer in a v2 swarm: its pieces fail their merkle piece hashes, it is banned, and the
 * download completes from the honest libtorrent seeder.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { compareTrees } from '../helpers/data.js';
import { CONTENT_NAME, interruptSeed, makeFixture, startTesseraSeed, type SeedFixture } from '../helpers/leechers-seed.js';
import { libtorrentCreate } from '../helpers/lt-create.js';
import { LyingPeer } from '../helpers/lying-peer.js';
import { run, stopAll } from '../helpers/proc.js';
import { startLibtorrentLeecher, startLibtorrentSeeder } from '../helpers/seeders.js';
import { cliPath, parseSummary, startDownload } from '../helpers/tessera.js';
import { parsedTorrentMeta as torrentMeta } from '../helpers/torrents.js';

const DOWNLOAD_TIMEOUT_MS = 180_000;

let fx: SeedFixture | undefined;
before(async () => {
  fx = await makeFixture('v2-lt');
});
after(async () => {
  await stopAll();
  await fx?.dispose();
});

describe('BEP 52 with libtorrent', { timeout: 900_000 }, () => {
  for (const version of ['v2', 'hybrid'] as const) {
    test(`Tessera downloads a ${version} torrent that libtorrent created and seeds`, async () => {
      assert.ok(fx !== undefined, 'fixture');
      const torrent = join(fx.root, `lt-${version}.torrent`);
      await libtorrentCreate({ parent: fx.dataDir, name: CONTENT_NAME, version, out: torrent });
      const meta = parseTorrent(await readFile(torrent));
      assert.equal(meta.hybrid, version === 'hybrid');
      assert.ok(meta.v2 !== undefined);
      const seeder = await startLibtorrentSeeder({ torrents: [await torrentMeta(torrent)], dataDir: fx.dataDir, workDir: join(fx.root, `lt-seed-${version}`) });
      const out = join(fx.root, `out-tessera-${version}`);
      const proc = await startDownload({ torrent, outDir: out, peers: [`127.0.0.1:${seeder.port}`] });
      try {
        const exit = await proc.waitForExit(DOWNLOAD_TIMEOUT_MS);
        assert.equal(exit.code, 0, `tessera download completes\n${proc.tail()}`);
      } finally {
        await proc.stop();
        await seeder.stop();
      }
      await compareTrees(fx.source, join(out, CONTENT_NAME));
      assert.equal(parseSummary(proc.stdout).hashFailures, 0);
    });

    test(`libtorrent downloads a ${version} torrent that Tessera created and seeds`, async () => {
      assert.ok(fx !== undefined, 'fixture');
      const torrent = join(fx.root, `tessera-${version}.torrent`);
      await run(process.execPath, [cliPath, 'create', fx.source, '-o', torrent, '--piece-length', '64KiB', `--${version}`], 60_000);
      const seed = await startTesseraSeed({ torrent, dir: fx.dataDir });
      const out = join(fx.root, `out-lt-${version}`);
      const leecher = await startLibtorrentLeecher({ torrent, save: out, connect: `127.0.0.1:${seed.port}`, cwd: fx.root });
      const exit = await leecher.waitForExit(DOWNLOAD_TIMEOUT_MS);
      assert.equal(exit.code, 0, `libtorrent completes\n${leecher.tail()}\n${seed.proc.tail()}`);
      await compareTrees(fx.source, join(out, CONTENT_NAME));
      await interruptSeed(seed.proc);
    });
  }

  test('a lying peer in a v2 swarm: its pieces fail their merkle hashes, it is banned, the download completes', async () => {
    assert.ok(fx !== undefined, 'fixture');
    const torrent = join(fx.root, 'liar-v2.torrent');
    await run(process.execPath, [cliPath, 'create', fx.source, '-o', torrent, '--piece-length', '64KiB', '--v2'], 60_000);
    const meta = await torrentMeta(torrent);
    const liar = await LyingPeer.start({ meta, contentRoot: fx.source, corrupt: (piece) => piece % 2 === 0, host: '127.0.0.67' });
    const honest = await startLibtorrentSeeder({ torrents: [meta], dataDir: fx.dataDir, workDir: join(fx.root, 'lt-honest'), uploadLimit: 2 * 1024 * 1024 });
    const out = join(fx.root, 'out-liar');
    const proc = await startDownload({ torrent, outDir: out, peers: [`${liar.host}:${liar.port}`, `127.0.0.1:${honest.port}`] });
    try {
      const exit = await proc.waitForExit(DOWNLOAD_TIMEOUT_MS);
      assert.equal(exit.code, 0, `tessera download completes despite the liar\n${proc.tail()}`);
    } finally {
      await proc.stop();
      await honest.stop();
      await liar.stop();
    }
    await compareTrees(fx.source, join(out, CONTENT_NAME));
    const summary = parseSummary(proc.stdout);
    assert.ok(summary.hashFailures >= 1, `the liar's pieces fail their merkle hashes: ${summary.line}`);
    assert.ok(summary.peersBanned >= 1, `the liar is banned: ${summary.line}`);
    const log = JSON.stringify(liar.connections);
    assert.ok(liar.connections.some((c) => c.corruptBlocksSent > 0), `tessera downloaded from the liar: ${log}`);
    assert.ok(liar.closedAfterCorruption.length > 0, `tessera closed the liar's connection itself: ${log}`);
  });
});
