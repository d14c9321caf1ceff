/**
 * `tessera daemon` driven by the real transmission-remote (Debian's transmission-cli, 3.00)
 * on loopback, with libtorrent seeding through opentracker: a .torrent and a magnet link are
 * added, listed, stopped and started, a file is skipped (-G) and selected again (-g), speed
 * limits are set, both downloads reach 100 % byte-identical, a seed ratio stops a complete
 * torrent, and a torrent is removed with its data.
 */
import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { listRows, seededSwarm, startDaemon, type DaemonProc } from '../helpers/daemon.js';
import { stopAll } from '../helpers/proc.js';
import { until } from '../helpers/seeders.js';
import { required, type Swarm } from '../helpers/swarm.js';

const MiB = 1024 * 1024;

describe('tessera daemon with transmission-remote', { timeout: 600_000 }, () => {
  let swarm: Swarm;
  let daemon: DaemonProc;
  let downloads: string;

  before(async () => {
    // Throttled so that a stop, a start and a speed limit land in the middle of a download.
    ({ swarm } = await seededSwarm('daemon-remote', 6 * MiB, 2 * MiB));
    downloads = join(swarm.root, 'downloads');
    await mkdir(downloads, { recursive: true });
    daemon = await startDaemon({ configDir: join(swarm.root, 'config'), downloadDir: downloads });
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  const row = async (id: number): Promise<ReturnType<typeof listRows>[number] | undefined> => listRows(await daemon.remote(['-l'])).find((r) => r.id === id);

  test('-a file.torrent -G skips a file, -l, stop (-S) and start (-s), 100 %, then -g fetches it too', async () => {
    const multi = required(swarm.multi, 'multi');
    // The largest file: skipped at add time, so it is never fetched nor created.
    const skip = multi.files.reduce((best, f, i) => (f.length > multi.files[best]!.length ? i : best), 0);
    const skipped = multi.files[skip]!;
    const added = await daemon.remote(['-a', multi.torrentPath, '-G', String(skip)]);
    assert.match(added, /success/);
    assert.equal((await row(1))?.name, 'tree');
    const files = await daemon.remote(['-t', '1', '-f']);
    const fileRow = files.split('\n').find((l) => new RegExp(`^\\s*${skip}:`).test(l));
    assert.match(fileRow ?? '', /\sNo\s/, `file ${skip} is listed as not wanted:\n${files}`);
    await daemon.remote(['-t', '1', '-S']);
    await until('torrent 1 to show Stopped', 20_000, 200, async () => (await row(1))?.status === 'Stopped');
    const info = await daemon.rpc('torrent-get', { ids: [1], fields: ['status'] });
    assert.equal((info.arguments.torrents as { status: number }[])[0]?.status, 0, 'status 0: stopped');
    await daemon.remote(['-t', '1', '-s']);
    await until('torrent 1 at 100 % of its wanted files', 120_000, 500, async () => (await row(1))?.done === '100%');
    const t = await daemon.rpc('torrent-get', { ids: [1], fields: ['sizeWhenDone', 'totalSize', 'wanted'] });
    const got = (t.arguments.torrents as { sizeWhenDone: number; totalSize: number; wanted: number[] }[])[0]!;
    assert.equal(got.totalSize, multi.totalLength);
    assert.equal(got.sizeWhenDone, multi.totalLength - skipped.length);
    assert.equal(got.wanted[skip], 0);
    for (const f of multi.files) if (f !== skipped) await compareTrees(join(swarm.dataDir, 'tree', f.path), join(downloads, 'tree', f.path));
    await assert.rejects(access(join(downloads, 'tree', skipped.path)), /ENOENT/, 'the skipped file was never created');

    await daemon.remote(['-t', '1', '-g', String(skip)]);
    await until('torrent 1 at 100 % with every file', 120_000, 500, async () => {
      const r = await daemon.rpc('torrent-get', { ids: [1], fields: ['sizeWhenDone', 'leftUntilDone'] });
      const x = (r.arguments.torrents as { sizeWhenDone: number; leftUntilDone: number }[])[0]!;
      return x.sizeWhenDone === multi.totalLength && x.leftUntilDone === 0;
    });
    await compareTrees(join(swarm.dataDir, 'tree'), join(downloads, 'tree'));
    await until('torrent 1 to seed', 20_000, 200, async () => /Seeding|Idle/.test((await row(1))?.status ?? ''));
  });

  test('-a magnet under a speed limit (-d), -D lifts it, 100 %, byte-identical', async () => {
    const single = required(swarm.single, 'single');
    const tracker = required(swarm.tracker, 'tracker');
    const magnet = `magnet:?xt=urn:btih:${single.infoHashHex}&dn=single.bin&tr=${encodeURIComponent(tracker.httpUrl)}`;
    // Added paused: the limit is in place before the first byte.
    await daemon.remote(['--start-paused', '-a', magnet]);
    await daemon.remote(['--no-start-paused']);
    const id = 2;
    assert.equal((await row(id))?.status, 'Stopped');
    const limitKB = 300;
    await daemon.remote(['-t', String(id), '-d', String(limitKB)]);
    assert.match(await daemon.remote(['-t', String(id), '-i']), new RegExp(`Download Limit: ${limitKB} kB/s`));
    await daemon.remote(['-t', String(id), '-s']);

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
    await compareTrees(join(swarm.dataDir, 'single.bin'), join(downloads, 'single.bin'));
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

  test('seed ratios: -gsr sets the session default, -sr 0 stops a complete torrent as Finished, -SR lets it seed on', async () => {
    await daemon.remote(['-gsr', '1.5']);
    const session = (await daemon.rpc('session-get', { fields: ['seedRatioLimit', 'seedRatioLimited'] })).arguments;
    assert.deepEqual(session, { seedRatioLimit: 1.5, seedRatioLimited: true });
    await daemon.remote(['-t', '2', '-sr', '0']);
    await until('torrent 2 stopped by its ratio', 20_000, 200, async () => (await row(2))?.status === 'Finished');
    const fields = ['status', 'isFinished', 'seedRatioMode', 'seedRatioLimit'];
    const seen = async (): Promise<unknown> => (await daemon.rpc('torrent-get', { ids: [2], fields })).arguments.torrents;
    assert.deepEqual(await seen(), [{ status: 0, isFinished: true, seedRatioMode: 1, seedRatioLimit: 0 }]);
    await daemon.remote(['-t', '2', '-SR']);
    await daemon.remote(['-t', '2', '-s']);
    await until('torrent 2 seeding again', 20_000, 200, async () => /Seeding|Idle/.test((await row(2))?.status ?? ''));
    await new Promise((r) => setTimeout(r, 2500));
    assert.match((await row(2))?.status ?? '', /Seeding|Idle/, 'no ratio limit: it seeds on');
    await daemon.remote(['-GSR']);
    assert.equal((await daemon.rpc('session-get', { fields: ['seedRatioLimited'] })).arguments.seedRatioLimited, false);
  });

  test('--remove-and-delete takes the torrent and its data, nothing else', async () => {
    await daemon.remote(['-t', '2', '--remove-and-delete']);
    await until('torrent 2 gone from -l', 20_000, 200, async () => (await row(2)) === undefined);
    await assert.rejects(access(join(downloads, 'single.bin')), /ENOENT/);
    await access(join(downloads, 'tree'));
    const left = listRows(await daemon.remote(['-l']));
    assert.deepEqual(left.map((r) => r.id), [1]);
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
