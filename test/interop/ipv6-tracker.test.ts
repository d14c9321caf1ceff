/**
 * IPv6 peers from trackers: libtorrent seeds on [::1] only and announces to Tessera's tracker
 * bound to ::1. Over HTTP the tracker lists it under `peers6` (BEP 7); over UDP on IPv6 it
 * answers with 18-byte peers (BEP 15). `tessera download` knows only the tracker URL, so the
 * one peer it can reach is libtorrent at [::1], and the file must arrive byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTrackerServer, type TrackerServer } from '../../src/tracker/server.js';
import { stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { startDownload } from '../helpers/tessera.js';
import { readTorrent, type TorrentMeta } from '../helpers/torrents.js';
import { memoryTorrent } from '../session/memory-swarm.js';

const MiB = 1024 * 1024;
const data = randomBytes(3 * MiB + 12_345);

describe('download over ::1 from libtorrent found through an IPv6 tracker', { timeout: 180_000 }, () => {
  let dir: string;
  let tracker: TrackerServer;
  let seeder: Seeder;
  const torrents: Record<'http' | 'udp', TorrentMeta | undefined> = { http: undefined, udp: undefined };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-ipv6-tracker-'));
    tracker = await startTrackerServer({ host: '::1', interval: 5 });
    assert.match(tracker.httpUrl, /^http:\/\/\[::1\]:\d+\/announce$/);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'v6.bin'), data);
    // One info hash per tracker kind (different piece lengths), so each download can only
    // have learned of the seeder from that tracker.
    for (const [kind, pieceLength] of [['http', 256 * 1024], ['udp', 128 * 1024]] as const) {
      const t = memoryTorrent(data, pieceLength, 'v6.bin', kind === 'http' ? tracker.httpUrl : tracker.udpUrl);
      const path = join(dir, `${kind}.torrent`);
      await writeFile(path, t.torrent);
      torrents[kind] = await readTorrent(path);
    }
    const metas = [torrents.http!, torrents.udp!];
    seeder = await startLibtorrentSeeder({ torrents: metas, dataDir, workDir: join(dir, 'seeder'), host: '::1' });
    // The tracker listens on ::1 only: a peer it lists announced from there.
    await waitForTrackerPeers(tracker.httpPort, metas.map((m) => m.infoHash), 1, [seeder], 30_000, '::1');
  });

  after(async () => {
    await stopAll();
    await tracker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ['http', 'udp'] as const) {
    test(`${kind} tracker on ::1 (${kind === 'http' ? 'peers6, BEP 7' : '18-byte peers, BEP 15'})`, async () => {
      const meta = torrents[kind]!;
      const out = join(dir, `out-${kind}`);
      const proc = await startDownload({ torrent: meta.torrentPath, outDir: out, args: ['--timeout', '60'] });
      try {
        const exit = await proc.waitForExit(90_000);
        assert.equal(exit.code, 0, `download exits 0\n${proc.tail()}\n${seeder.proc.tail()}`);
      } finally {
        await proc.stop();
      }
      assert.ok((await readFile(join(out, 'v6.bin'))).equals(data), 'byte for byte');
    });
  }
});
