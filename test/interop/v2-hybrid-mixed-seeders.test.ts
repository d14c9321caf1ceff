/**
 * A hybrid torrent (BEP 52) fed by two real clients at once: webtorrent-cli, which knows only
 * v1 (it reads the hybrid's v1 half, pad files as ordinary files of zeros), and libtorrent,
 * which seeds both halves. Each holds what the other lacks (files start on piece boundaries in
 * a hybrid: libtorrent the pieces of the first file, webtorrent every other file), so Tessera
 * must take from both; the download is byte for byte. DHT, LSD, PEX, UPnP and NAT-PMP are off
 * in both clients.
 *
 * Why not aria2 or Transmission as the v1 seeder: BEP 52 marks each file of the `file tree`
 * with an empty-string key. aria2 1.36 drops that key when it re-encodes the info dictionary
 * to hash it, so it computes another info hash (and joins another swarm); Transmission 3.00's
 * parser refuses the key ("Error parsing .torrent file"). Both accept the same torrent with
 * that key renamed, which is no longer BEP 52.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import type { Metainfo } from '../../src/metainfo/types.js';
import { compareTrees } from '../helpers/data.js';
import { CONTENT_NAME, makeFixture, type SeedFixture } from '../helpers/leechers-seed.js';
import { libtorrentCreate } from '../helpers/lt-create.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { parseSummary, startDownload } from '../helpers/tessera.js';
import { parsedTorrentMeta } from '../helpers/torrents.js';
import { webtorrentCli } from '../helpers/webtorrent.js';

const DOWNLOAD_TIMEOUT_MS = 180_000;

let fx: SeedFixture | undefined;
let torrent = '';
let meta: Metainfo | undefined;
before(async () => {
  fx = await makeFixture('v2-mixed');
  torrent = join(fx.root, 'hybrid.torrent');
  await libtorrentCreate({ parent: fx.dataDir, name: CONTENT_NAME, version: 'hybrid', out: torrent });
  meta = parseTorrent(await readFile(torrent));
});
after(async () => {
  await stopAll();
  await fx?.dispose();
});

describe('a hybrid fed by a v1-only client and a v2 client at once', { timeout: 300_000 }, () => {
  test('webtorrent-cli (v1) and libtorrent (v1+v2) both send, and the download is byte for byte', async () => {
    assert.ok(fx !== undefined && meta?.hybrid === true);
    const [first, ...rest] = meta.info.files;
    assert.ok(first !== undefined && !first.pad && rest.some((f) => f.pad), 'the hybrid aligns its files with pad files');
    const firstPieces = Math.ceil(first.length / meta.info.pieceLength);
    // webtorrent seeds every file but the first, its pad files written out as zeros.
    const wtDir = join(fx.root, 'wt');
    const wtContent = join(wtDir, CONTENT_NAME);
    for (const f of rest) {
      const to = join(wtContent, ...f.path);
      await mkdir(join(to, '..'), { recursive: true });
      await writeFile(to, f.pad ? Buffer.alloc(f.length) : await readFile(join(fx.source, ...f.path)));
    }
    const wtPort = await freePort();
    const wt = startProc('webtorrent', process.execPath, [await webtorrentCli(), 'download', torrent, '--out', wtDir, '--keep-seeding', '--torrent-port', String(wtPort), '--port', String(await freePort())]);
    const lt = await startLibtorrentSeeder({ torrents: [await parsedTorrentMeta(torrent)], dataDir: fx.dataDir, workDir: join(fx.root, 'lt'), pieces: `0-${firstPieces - 1}` });
    let ltUploaded = -1;
    const out = join(fx.root, 'out');
    try {
      // Printed once webtorrent has checked what it holds and listens.
      await wt.waitForLine(/Downloading to: /, 60_000);
      const proc = await startDownload({ torrent, outDir: out, peers: [`127.0.0.1:${wtPort}`, `127.0.0.1:${lt.port}`] });
      const exit = await proc.waitForExit(DOWNLOAD_TIMEOUT_MS);
      assert.equal(exit.code, 0, `tessera download completes\n${proc.tail()}`);
      const summary = parseSummary(proc.stdout);
      assert.equal(summary.hashFailures, 0, summary.line);
      assert.equal(summary.bytesDownloaded, meta.info.length, summary.line);
    } finally {
      await lt.proc.stop();
      ltUploaded = Number(/uploaded=(\d+)/.exec(lt.proc.stdout)?.[1] ?? -1);
      await wt.stop();
    }
    await compareTrees(fx.source, join(out, CONTENT_NAME));
    assert.ok(ltUploaded >= first.length, `libtorrent sent the first file (${ltUploaded} bytes)`);
    assert.ok(ltUploaded < meta.info.length, `webtorrent sent the rest (libtorrent sent ${ltUploaded} of ${meta.info.length} bytes)`);
  });
});
