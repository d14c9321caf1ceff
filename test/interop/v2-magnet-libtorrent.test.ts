/**
 * BEP 52 magnet links against real libtorrent on loopback: libtorrent creates and seeds a
 * v2-only torrent (16 KiB pieces, so the largest file's piece layer is fetched in two runs of
 * 512 hashes, each with an uncle proof) and a hybrid, announced to opentracker; `tessera
 * download` is given only the magnet link (`urn:btmh:`, or both `urn:btih:` and `urn:btmh:`),
 * finds libtorrent through the tracker, fetches the info dictionary over ut_metadata (BEP 9),
 * for the v2-only torrent its piece layers by hash request, and downloads byte for byte. DHT,
 * LSD, UPnP and NAT-PMP are off.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { compareTrees } from '../helpers/data.js';
import { CONTENT_NAME, makeFixture, type SeedFixture } from '../helpers/leechers-seed.js';
import { libtorrentCreate } from '../helpers/lt-create.js';
import { startOpentracker, type Opentracker } from '../helpers/opentracker.js';
import { stopAll } from '../helpers/proc.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { parseSummary, startDownload } from '../helpers/tessera.js';
import { parsedTorrentMeta } from '../helpers/torrents.js';

const DOWNLOAD_TIMEOUT_MS = 180_000;

let fx: SeedFixture | undefined;
let tracker: Opentracker | undefined;
const torrents = { v2: '', hybrid: '' };
const hashes: string[] = [];

before(async () => {
  fx = await makeFixture('v2-magnet');
  // The tracker's whitelist needs the hashes, the torrents need the tracker: make them once to
  // learn the hashes (they do not depend on the announce URL), then again with it.
  for (const version of ['v2', 'hybrid'] as const) {
    const probe = join(fx.root, `probe-${version}.torrent`);
    await libtorrentCreate({ parent: fx.dataDir, name: CONTENT_NAME, version, out: probe, pieceLength: version === 'v2' ? 16384 : 65536 });
    const meta = parseTorrent(await readFile(probe));
    hashes.push(meta.infoHashHex);
    if (meta.hybrid) hashes.push(meta.v2!.infoHashHex.slice(0, 40));
  }
  tracker = await startOpentracker({ infoHashesHex: hashes });
  for (const version of ['v2', 'hybrid'] as const) {
    torrents[version] = join(fx.root, `lt-${version}.torrent`);
    const pieceLength = version === 'v2' ? 16384 : 65536;
    await libtorrentCreate({ parent: fx.dataDir, name: CONTENT_NAME, version, out: torrents[version], pieceLength, trackers: [tracker.httpUrl] });
  }
});
after(async () => {
  await stopAll();
  await tracker?.stop();
  await fx?.dispose();
});

describe('BEP 52 magnet links with libtorrent', { timeout: 600_000 }, () => {
  for (const version of ['v2', 'hybrid'] as const) {
    test(`a ${version} magnet fetches its metadata${version === 'v2' ? ' and piece layers' : ''} from libtorrent and downloads byte for byte`, async () => {
      assert.ok(fx !== undefined && tracker !== undefined);
      const meta = parseTorrent(await readFile(torrents[version]));
      assert.ok(meta.v2 !== undefined && meta.hybrid === (version === 'hybrid'));
      assert.ok(hashes.includes(meta.infoHashHex), 'the tracker lists the torrent');
      if (version === 'v2') {
        const big = meta.v2.files.reduce((a, b) => (a.pieceCount > b.pieceCount ? a : b));
        assert.ok(big.pieceCount > 512, `the largest file's layer needs more than one run of 512 (${big.pieceCount} pieces)`);
      }
      const xt = [...(meta.hybrid ? [`xt=urn:btih:${meta.infoHashHex}`] : []), `xt=urn:btmh:1220${meta.v2.infoHashHex}`];
      const magnet = `magnet:?${xt.join('&')}&dn=${CONTENT_NAME}&tr=${encodeURIComponent(tracker.httpUrl)}`;
      const seeder = await startLibtorrentSeeder({ torrents: [await parsedTorrentMeta(torrents[version])], dataDir: fx.dataDir, workDir: join(fx.root, `lt-seed-${version}`) });
      const out = join(fx.root, `out-${version}`);
      const proc = await startDownload({ torrent: magnet, outDir: out });
      try {
        const exit = await proc.waitForExit(DOWNLOAD_TIMEOUT_MS);
        assert.equal(exit.code, 0, `tessera download of the magnet completes\n${proc.tail()}`);
      } finally {
        await proc.stop();
        await seeder.stop();
      }
      await compareTrees(fx.source, join(out, CONTENT_NAME));
      const summary = parseSummary(proc.stdout);
      assert.equal(summary.hashFailures, 0, `every piece verified at the first try: ${summary.line}`);
      assert.equal(summary.peersBanned, 0, summary.line);
    });
  }
});
