/**
 * Real leechers that speak MSE/PE download from `tessera seed` (default policy, prefer):
 * libtorrent with encryption forced both ways, and webtorrent-cli with its default settings,
 * which opens every connection with an MSE handshake and never retries in plaintext. Each copy
 * must equal the source byte for byte.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LT_FORCED_ENCRYPTION_ARGS } from '../helpers/client-args.js';
import { compareTrees } from '../helpers/data.js';
import { CONTENT_NAME, createWithCli, interruptSeed, makeFixture, startTesseraSeed, waitForScrape, type SeedFixture } from '../helpers/leechers-seed.js';
import { trackedTorrent, type TrackedTorrent } from '../helpers/leechers-suite.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { startLibtorrentLeecher } from '../helpers/seeders.js';
import { webtorrentCli } from '../helpers/webtorrent.js';

const DOWNLOAD_TIMEOUT_MS = 240_000;

describe('tessera seed serves leechers that encrypt (MSE/PE)', { timeout: 1_200_000 }, () => {
  let fx: SeedFixture | undefined;
  let tracked: TrackedTorrent | undefined;

  before(async () => {
    fx = await makeFixture('mse-seed');
    tracked = await trackedTorrent(fx, 'builtin');
  });

  after(async () => {
    await stopAll();
    await tracked?.stop();
    await fx?.dispose();
  });

  test('libtorrent with encryption forced (out_enc_policy=0, in_enc_policy=0, RC4 only) downloads, byte for byte', async () => {
    assert.ok(fx !== undefined, 'fixture');
    const torrent = join(fx.root, 'bare.torrent');
    await createWithCli(fx.source, torrent);
    const seed = await startTesseraSeed({ torrent, dir: fx.dataDir });
    const out = join(fx.root, 'out-lt');
    const leecher = await startLibtorrentLeecher({ torrent, save: out, connect: `127.0.0.1:${seed.port}`, cwd: fx.root, args: LT_FORCED_ENCRYPTION_ARGS });
    const exit = await leecher.waitForExit(DOWNLOAD_TIMEOUT_MS);
    assert.equal(exit.code, 0, `libtorrent completes\n${leecher.tail()}\n${seed.proc.tail()}`);
    await compareTrees(fx.source, join(out, CONTENT_NAME));
    await interruptSeed(seed.proc);
  });

  test('webtorrent-cli with its default settings downloads, byte for byte', async () => {
    assert.ok(fx !== undefined && tracked !== undefined, 'fixture and tracker');
    const cli = await webtorrentCli();
    const seed = await startTesseraSeed({ torrent: tracked.torrent, dir: fx.dataDir });
    await waitForScrape(tracked.announceUrl, tracked.meta, { complete: 1 });
    const out = join(fx.root, 'out-webtorrent');
    const leecher = startProc('webtorrent', process.execPath, [
      cli,
      'download',
      tracked.torrent,
      '--out',
      out,
      '--torrent-port',
      String(await freePort()),
      '--port',
      String(await freePort()),
      '--quiet',
    ]);
    const exit = await leecher.waitForExit(DOWNLOAD_TIMEOUT_MS);
    assert.equal(exit.code, 0, `webtorrent-cli exits 0 once complete\n${leecher.tail()}\n${seed.proc.tail()}`);
    await compareTrees(fx.source, join(out, CONTENT_NAME));
    await interruptSeed(seed.proc);
  });
});
