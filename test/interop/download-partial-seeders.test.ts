/**
 * Two libtorrent seeders that each hold only part of the pieces (disjoint halves; in the
 * multi-file torrent the pieces cross file boundaries); together they hold all. Tessera must
 * assemble the content from both.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { probeSeeder } from '../helpers/probe-peer.js';
import { stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { createSwarm, downloadAndVerify, required, type Swarm } from '../helpers/swarm.js';
import type { TorrentMeta } from '../helpers/torrents.js';

const MiB = 1024 * 1024;

describe('download from two partial libtorrent seeders', { timeout: 600_000 }, () => {
  let swarm: Swarm | undefined;

  before(async () => {
    const s = await createSwarm({ label: 'partial', singleSize: 24 * MiB + 4321, treeFiles: 110, tracker: 'http' });
    swarm = s;
    for (const meta of [required(s.single, 'single-file torrent'), required(s.multi, 'multi-file torrent')]) {
      const count = meta.pieceHashes.length;
      const half = Math.floor(count / 2);
      const seeders = await Promise.all(
        [`0-${half - 1}`, `${half}-${count - 1}`].map((pieces, i) =>
          startLibtorrentSeeder({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, `seeder-${meta.name}-${i}`), pieces }),
        ),
      );
      // each seeder really holds only its half, or the test would prove nothing
      const first = await probeSeeder(required(seeders[0], 'seeder').port, meta, []);
      assert.equal(first.has.filter(Boolean).length, half, 'the first partial seeder must hold exactly half of the pieces');
      assert.equal(first.has[half], false);
      await waitForTrackerPeers(required(s.tracker, 'tracker').port, [meta.infoHash], 2, seeders);
    }
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  const check = async (pick: (s: Swarm) => TorrentMeta | undefined, what: string): Promise<void> => {
    const s = required(swarm, 'swarm');
    const meta = required(pick(s), what);
    const summary = await downloadAndVerify(s, meta, await s.newOutDir(what), 240_000);
    assert.ok(summary.bytesDownloaded >= meta.totalLength, `a fresh download receives every byte: ${summary.line}`);
    assert.equal(summary.hashFailures, 0, summary.line);
  };

  test('single file, half of the pieces on each seeder', () => check((s) => s.single, 'single'));
  test('multi-file torrent, half of the pieces on each seeder', () => check((s) => s.multi, 'multi'));
});
