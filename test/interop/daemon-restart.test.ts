/**
 * The daemon survives `kill -9`: a multi-file download from a throttled libtorrent seeder is
 * killed mid-way, the daemon is started again on the same config folder, and the torrent
 * comes back by itself, trusting the pieces of the files finished before the kill from the
 * resume record (only files still being written are read again: no full recheck), then
 * completes byte-identical. A second torrent, paused with a speed limit, comes back paused
 * with its limit and id.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { seededSwarm, startDaemon, type DaemonProc } from '../helpers/daemon.js';
import { sleep, stopAll } from '../helpers/proc.js';
import { until } from '../helpers/seeders.js';
import { required, type Swarm } from '../helpers/swarm.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The session writes resume records every 3 s while pieces arrive. */
const RECORD_INTERVAL_MS = 3000;

interface Summary {
  state: string;
  paused: boolean;
  progress: number;
  downloadLimit: number;
  startCheck: { trusted: number; checked: number } | null;
}

describe('tessera daemon after kill -9', { timeout: 600_000 }, () => {
  let swarm: Swarm;

  before(async () => {
    // ~14 MiB at 512 KiB/s: about half a minute, time enough to kill it in the middle.
    ({ swarm } = await seededSwarm('daemon-restart', 2 * MiB, 512 * KiB));
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test('kill -9 mid-download: restarts by itself, no full recheck, completes byte-identical', async (t) => {
    const multi = required(swarm.multi, 'multi');
    const single = required(swarm.single, 'single');
    const configDir = join(swarm.root, 'config');
    const downloads = join(swarm.root, 'downloads');
    await mkdir(downloads, { recursive: true });
    let daemon: DaemonProc = await startDaemon({ configDir, downloadDir: downloads });
    const summary = async (d: DaemonProc, hash: string): Promise<Summary> => (await (await fetch(`${d.url}/api/torrents/${hash}`)).json()) as Summary;
    const fileStats = async (d: DaemonProc): Promise<{ bytesCompleted: number }[]> => {
      const r = await d.rpc('torrent-get', { ids: [multi.infoHashHex], fields: ['fileStats'] });
      return (r.arguments.torrents as { fileStats: { bytesCompleted: number }[] }[])[0]!.fileStats;
    };

    const add = await daemon.rpc('torrent-add', { filename: `magnet:?xt=urn:btih:${single.infoHashHex}`, paused: true });
    assert.equal(add.result, 'success');
    assert.equal((await daemon.rpc('torrent-set', { ids: [single.infoHashHex], downloadLimit: 123, downloadLimited: true })).result, 'success');
    // One ~2 MiB file first (high priority): it is finished, and recorded, long before the end.
    const first = multi.files.findIndex((f) => f.length >= 1 * MiB && f.length <= 3 * MiB);
    assert.ok(first >= 0);
    const added = await daemon.rpc('torrent-add', { metainfo: (await readFile(multi.torrentPath)).toString('base64'), 'priority-high': [first] });
    assert.equal(added.result, 'success');

    // Kill once a non-empty file is complete and two resume records were written since, mid-download.
    await until('the high-priority file to finish', 120_000, 200, async () => (await fileStats(daemon))[first]!.bytesCompleted === multi.files[first]!.length);
    await sleep(2 * RECORD_INTERVAL_MS + 500);
    const before = await summary(daemon, multi.infoHashHex);
    assert.ok(before.progress < 1, `still downloading when killed (${before.progress})`);
    const finishedBefore = (await fileStats(daemon)).filter((s, i) => multi.files[i]!.length > 0 && s.bytesCompleted === multi.files[i]!.length).length;
    daemon.proc.signal('SIGKILL');
    const exit = await daemon.proc.waitForExit(10_000);
    assert.equal(exit.signal, 'SIGKILL');

    daemon = await startDaemon({ configDir, downloadDir: downloads, rpcPort: daemon.rpcPort });
    const ids = await daemon.rpc('torrent-get', { fields: ['id', 'hashString', 'status'] });
    assert.deepEqual(
      (ids.arguments.torrents as { id: number; hashString: string }[]).map((t) => [t.id, t.hashString]),
      [
        [1, single.infoHashHex],
        [2, multi.infoHashHex],
      ],
      'both torrents came back with their ids',
    );
    const paused = await summary(daemon, single.infoHashHex);
    assert.equal(paused.paused, true);
    assert.equal(paused.state, 'paused');
    assert.equal(paused.downloadLimit, 123_000);

    await until('the restarted torrent to finish its start check', 60_000, 200, async () => (await summary(daemon, multi.infoHashHex)).startCheck !== null);
    const check = (await summary(daemon, multi.infoHashHex)).startCheck!;
    const pieceCount = Math.ceil(multi.totalLength / multi.pieceLength);
    assert.ok(check.trusted > 0, `pieces trusted from the resume record: ${JSON.stringify(check)}`);
    assert.ok(check.checked < pieceCount, `not every piece was read again: ${JSON.stringify(check)} of ${pieceCount}`);
    assert.ok(finishedBefore >= 1);
    t.diagnostic(`after kill -9 at ${(before.progress * 100).toFixed(1)} %: ${check.trusted} pieces trusted, ${check.checked} read, of ${pieceCount}`);

    await until('the torrent to complete after the restart', 180_000, 500, async () => (await summary(daemon, multi.infoHashHex)).progress === 1);
    await compareTrees(join(swarm.dataDir, 'tree'), join(downloads, 'tree'));
    assert.equal((await summary(daemon, single.infoHashHex)).paused, true, 'the paused torrent stayed paused');
    await daemon.proc.stop();
  });
});
