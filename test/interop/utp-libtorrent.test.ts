/**
 * uTP (BEP 29) against real libtorrent with TCP turned off both ways, so uTP is the only way
 * in or out: Tessera downloads from a libtorrent seeder, a libtorrent leecher downloads from
 * `tessera seed`, and `--no-utp` finds no way to reach the same seeder. Each copy must equal
 * the source byte for byte.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LT_UTP_ONLY_ARGS } from '../helpers/client-args.js';
import { compareTrees } from '../helpers/data.js';
import { CONTENT_NAME, createWithCli, interruptSeed, makeFixture, startTesseraSeed, type SeedFixture } from '../helpers/leechers-seed.js';
import { stopAll } from '../helpers/proc.js';
import { startLibtorrentLeecher, startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { startDownload } from '../helpers/tessera.js';
import { readTorrent } from '../helpers/torrents.js';

const DOWNLOAD_TIMEOUT_MS = 240_000;

describe('uTP with libtorrent, TCP off', { timeout: 900_000 }, () => {
  let fx: SeedFixture | undefined;
  let torrent = '';
  let seeder: Seeder | undefined;

  before(async () => {
    fx = await makeFixture('utp-lt');
    torrent = join(fx.root, 'utp.torrent');
    await createWithCli(fx.source, torrent);
    seeder = await startLibtorrentSeeder({ torrents: [await readTorrent(torrent)], dataDir: fx.dataDir, workDir: join(fx.root, 'lt'), utpOnly: true });
  });

  after(async () => {
    await seeder?.stop();
    await stopAll();
    await fx?.dispose();
  });

  test('Tessera downloads from a uTP-only libtorrent seeder, byte for byte', async () => {
    assert.ok(fx !== undefined && seeder !== undefined);
    const out = join(fx.root, 'out-utp');
    const dl = await startDownload({ torrent, outDir: out, peers: [`127.0.0.1:${seeder.port}`], args: ['--quiet'] });
    const exit = await dl.waitForExit(DOWNLOAD_TIMEOUT_MS);
    assert.equal(exit.code, 0, `download completes\n${dl.tail()}\n${seeder.proc.tail()}`);
    await compareTrees(fx.source, join(out, CONTENT_NAME));
  });

  // libtorrent still accepts TCP connections with incoming TCP off, then drops them: the proof that only uTP got through.
  test('with --no-utp the same seeder is unreachable', async () => {
    assert.ok(fx !== undefined && seeder !== undefined);
    const dl = await startDownload({ torrent, outDir: join(fx.root, 'out-tcp'), peers: [`127.0.0.1:${seeder.port}`], args: ['--quiet', '--no-utp', '--timeout', '5s'] });
    const exit = await dl.waitForExit(60_000);
    assert.notEqual(exit.code, 0, 'no way to the seeder without uTP');
    assert.match(dl.tail(), /no peer reachable/);
  });

  test('a uTP-only libtorrent leecher downloads from tessera seed, byte for byte', async () => {
    assert.ok(fx !== undefined);
    const seed = await startTesseraSeed({ torrent, dir: fx.dataDir });
    const out = join(fx.root, 'out-lt');
    const leecher = await startLibtorrentLeecher({ torrent, save: out, connect: `127.0.0.1:${seed.port}`, cwd: fx.root, args: LT_UTP_ONLY_ARGS });
    const exit = await leecher.waitForExit(DOWNLOAD_TIMEOUT_MS);
    assert.equal(exit.code, 0, `libtorrent completes\n${leecher.tail()}\n${seed.proc.tail()}`);
    await compareTrees(fx.source, join(out, CONTENT_NAME));
    await interruptSeed(seed.proc);
  });
});
