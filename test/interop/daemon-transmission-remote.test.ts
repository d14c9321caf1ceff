/**
 * `tessera daemon` driven by the real transmission-remote (Debian's transmission-cli, 3.00)
 * on loopback, with libtorrent seeding through opentracker: a .torrent and a magnet link are
 * added, listed, stopped and started, a file is deselected (-G), speed limits are set, both
 * downloads reach 100 % byte-identical, and a torrent is removed with its data.
 */
import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { listRows, startDaemon, type DaemonProc } from '../helpers/daemon.js';
import { stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder, until, type Seeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';

const MiB = 1024 * 1024;

describe('tessera daemon with transmission-remote', { timeout: 600_000 }, () => {
  let swarm: Swarm;
  let seeder: Seeder;
  let daemon: DaemonProc;
  let downloads: string;

  before(async () => {
    swarm = await createSwarm({ label: 'daemon-remote', singleSize: 6 * MiB, treeFiles: 12, pieceLengthLog2: 16, tracker: 'http' });
    const torrents = [required(swarm.single, 'single'), required(swarm.multi, 'multi')];
    // Throttled so that a stop, a start and a speed limit land in the middle of a download.
    seeder = await startLibtorrentSeeder({ torrents, dataDir: swarm.dataDir, workDir: join(swarm.root, 'lt'), uploadLimit: 2 * MiB });
    await waitForTrackerPeers(required(swarm.tracker, 'tracker').port, torrents.map((t) => t.infoHash), 1, [seeder]);
    downloads = join(swarm.root, 'downloads');
    await mkdir(downloads, { recursive: true });
    daemon = await startDaemon({ configDir: join(swarm.root, 'config'), downloadDir: downloads });
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  const row = async (id: number): Promise<ReturnType<typeof listRows>[number] | undefined> => listRows(await daemon.remote(['-l'])).find((r) => r.id === id);

  test('-a file.torrent, -l, stop (-S) and start (-s), 100 %, byte-identical', async () => {
    const single = required(swarm.single, 'single');
    const added = await daemon.remote(['-a', single.torrentPath]);
    assert.match(added, /success/);
    const first = await row(1);
    assert.equal(first?.name, 'single.bin');
    await daemon.remote(['-t', '1', '-S']);
    await until('torrent 1 to show Stopped', 20_000, 200, async () => (await row(1))?.status === 'Stopped');
    const info = await daemon.rpc('torrent-get', { ids: [1], fields: ['status', 'haveValid'] });
    assert.equal((info.arguments.torrents as { status: number }[])[0]?.status, 0, 'status 0: stopped');
    await daemon.remote(['-t', '1', '-s']);
    await until('torrent 1 at 100 %', 120_000, 500, async () => (await row(1))?.done === '100%');
    await compareTrees(join(swarm.dataDir, 'single.bin'), join(downloads, 'single.bin'));
    await until('torrent 1 to seed', 20_000, 200, async () => /Seeding|Idle/.test((await row(1))?.status ?? ''));
  });

  test('-a magnet, -G deselects a file, a speed limit holds, -D lifts it, 100 % of the wanted files', async () => {
    const multi = required(swarm.multi, 'multi');
    const tracker = required(swarm.tracker, 'tracker');
    const magnet = `magnet:?xt=urn:btih:${multi.infoHashHex}&dn=tree&tr=${encodeURIComponent(tracker.httpUrl)}`;
    // Added paused: the limit is in place before the first byte.
    await daemon.remote(['--start-paused', '-a', magnet]);
    await daemon.remote(['--no-start-paused']);
    const id = 2;
    assert.equal((await row(id))?.status, 'Stopped');
    const limitKB = 300;
    await daemon.remote(['-t', String(id), '-d', String(limitKB)]);
    const details = await daemon.remote(['-t', String(id), '-i']);
    assert.match(details, new RegExp(`Download Limit: ${limitKB} kB/s`));
    await daemon.remote(['-t', String(id), '-s']);
    await until('the magnet’s metadata', 60_000, 300, async () => {
      const t = await daemon.rpc('torrent-get', { ids: [id], fields: ['metadataPercentComplete'] });
      return (t.arguments.torrents as { metadataPercentComplete: number }[])[0]?.metadataPercentComplete === 1;
    });
    // File 0 in transmission-remote's numbering is the torrent's first file.
    const skip = 0;
    await daemon.remote(['-t', String(id), '-G', String(skip)]);
    const files = await daemon.remote(['-t', String(id), '-f']);
    const fileRow = files.split('\n').find((l) => /^\s*0:/.test(l));
    assert.match(fileRow ?? '', /\sNo\s/, `file 0 is listed as not wanted:\n${files}`);

    // Under the limit, bytes come no faster than the limit allows (plus one second of burst).
    const got = async (): Promise<number> => {
      const t = await daemon.rpc('torrent-get', { ids: [id], fields: ['downloadedEver'] });
      return (t.arguments.torrents as { downloadedEver: number }[])[0]!.downloadedEver;
    };
    await until('the limited download to start', 60_000, 300, async () => (await got()) > 0);
    const t0 = Date.now();
    const b0 = await got();
    await new Promise((r) => setTimeout(r, 3000));
    const b1 = await got();
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(b1 - b0 <= limitKB * 1000 * (seconds + 1) + 256 * 1024, `${b1 - b0} bytes in ${seconds} s under a ${limitKB} kB/s limit`);

    await daemon.remote(['-t', String(id), '-D']);
    await until('torrent 2 at 100 %', 180_000, 500, async () => (await row(id))?.done === '100%');
    const wanted = multi.files.filter((_, i) => i !== skip);
    const t = await daemon.rpc('torrent-get', { ids: [id], fields: ['sizeWhenDone', 'totalSize', 'wanted'] });
    const got2 = (t.arguments.torrents as { sizeWhenDone: number; totalSize: number; wanted: number[] }[])[0]!;
    assert.equal(got2.sizeWhenDone, wanted.reduce((n, f) => n + f.length, 0));
    assert.equal(got2.wanted[skip], 0);
    for (const f of wanted) await compareTrees(join(swarm.dataDir, 'tree', f.path), join(downloads, 'tree', f.path));
  });

  test('session limits (-d/-u) show in -si; -st counts the torrents', async () => {
    await daemon.remote(['-d', '500', '-u', '250']);
    const si = await daemon.remote(['-si']);
    assert.match(si, /Download speed limit: 500 kB\/s/);
    assert.match(si, /Upload speed limit: 250 kB\/s/);
    await daemon.remote(['-D', '-U']);
    assert.match(await daemon.remote(['-si']), /Download speed limit: Unlimited/);
    const st = await daemon.rpc('session-stats');
    assert.equal(st.arguments.torrentCount, 2);
  });

  test('--remove-and-delete takes the torrent and its data, nothing else', async () => {
    await daemon.remote(['-t', '1', '--remove-and-delete']);
    await until('torrent 1 gone from -l', 20_000, 200, async () => (await row(1)) === undefined);
    await assert.rejects(access(join(downloads, 'single.bin')), /ENOENT/);
    await access(join(downloads, 'tree'));
    const left = listRows(await daemon.remote(['-l']));
    assert.deepEqual(left.map((r) => r.id), [2]);
  });

  test('unknown methods and bad arguments get an error result, not a crash', async () => {
    assert.equal((await daemon.rpc('no-such-method')).result, 'method name not recognized');
    assert.notEqual((await daemon.rpc('torrent-get', { fields: 'name' })).result, 'success');
    assert.notEqual((await daemon.rpc('torrent-add', { metainfo: '!!!' })).result, 'success');
    assert.notEqual((await daemon.rpc('torrent-add', { metainfo: Buffer.from('d4:infoe').toString('base64') })).result, 'success');
    assert.equal((await daemon.rpc('session-get')).result, 'success');
    assert.ok(daemon.proc.running);
  });
});
