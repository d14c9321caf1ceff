/**
 * The download suite shared by the one-real-seeder interop tests: one single-file torrent of
 * 64 MiB and one multi-file torrent of ≥ 100 files, seeded by one real client and announced
 * on opentracker; Tessera downloads each, and the result is compared byte for byte.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopAll } from './proc.js';
import { waitForTrackerPeers } from './scrape.js';
import type { Seeder, SeederOptions } from './seeders.js';
import { createSwarm, downloadAndVerify, required, type Swarm } from './swarm.js';
import type { TorrentMeta } from './torrents.js';

export interface FullSeederSuite {
  readonly title: string;
  readonly label: string;
  readonly tracker: 'http' | 'udp';
  readonly startSeeder: (options: SeederOptions) => Promise<Seeder>;
}

const MiB = 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 240_000;

export function fullSeederSuite(suite: FullSeederSuite): void {
  describe(suite.title, { timeout: 900_000 }, () => {
    let swarm: Swarm | undefined;

    before(async () => {
      swarm = await createSwarm({ label: suite.label, singleSize: 64 * MiB, treeFiles: 120, tracker: suite.tracker });
      const torrents = [required(swarm.single, 'single-file torrent'), required(swarm.multi, 'multi-file torrent')];
      const seeder = await suite.startSeeder({ torrents, dataDir: swarm.dataDir, workDir: join(swarm.root, 'seeder') });
      await waitForTrackerPeers(required(swarm.tracker, 'tracker').port, torrents.map((t) => t.infoHash), 1, [seeder]);
    });

    after(async () => {
      await stopAll();
      await swarm?.dispose();
    });

    const check = async (pick: (s: Swarm) => TorrentMeta | undefined, what: string): Promise<void> => {
      const s = required(swarm, 'swarm');
      const meta = required(pick(s), what);
      const summary = await downloadAndVerify(s, meta, await s.newOutDir(what), DOWNLOAD_TIMEOUT_MS);
      assert.ok(summary.bytesDownloaded >= meta.totalLength, `a fresh download receives every byte: ${summary.line}`);
      assert.equal(summary.hashFailures, 0, `an honest seeder causes no hash failure: ${summary.line}`);
      assert.equal(summary.peersBanned, 0, `an honest seeder is not banned: ${summary.line}`);
    };

    test('single file of 64 MiB', () => check((s) => s.single, 'single'));
    test('multi-file torrent of 120 files (empty files, nested folders, pieces across files)', () => check((s) => s.multi, 'multi'));
  });
}
