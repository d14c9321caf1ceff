/**
 * The seeder helpers themselves, checked with the independent probe leecher (no tracker, no
 * Tessera): each real client must serve verified pieces of a single-file and a multi-file
 * torrent, and a partial libtorrent seeder must announce exactly its pieces.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeRandomFile, writeRandomTree } from '../helpers/data.js';
import { probeSeeder } from '../helpers/probe-peer.js';
import { stopAll } from '../helpers/proc.js';
import { startAria2Seeder, startLibtorrentSeeder, startTransmissionSeeder, type Seeder, type SeederOptions } from '../helpers/seeders.js';
import { makeTorrent, type TorrentMeta } from '../helpers/torrents.js';

describe('seeder helpers', { timeout: 300_000 }, () => {
  let root = '';
  let single: TorrentMeta;
  let multi: TorrentMeta;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-seeders-'));
    await writeRandomFile(join(root, 'data', 'single.bin'), 3 * 1024 * 1024 + 1234, 'seeders');
    await writeRandomTree(join(root, 'data', 'tree'), { files: 100, seed: 7 });
    single = await makeTorrent({ source: join(root, 'data', 'single.bin'), out: join(root, 'single.torrent'), pieceLengthLog2: 18 });
    multi = await makeTorrent({ source: join(root, 'data', 'tree'), out: join(root, 'tree.torrent'), pieceLengthLog2: 18 });
  });

  after(async () => {
    await stopAll();
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  const some = (meta: TorrentMeta): number[] => {
    const last = meta.pieceHashes.length - 1;
    return [...new Set([0, Math.floor(last / 2), last])];
  };

  async function checkFullSeeder(start: (o: SeederOptions) => Promise<Seeder>, name: string): Promise<void> {
    const seeder = await start({ torrents: [single, multi], dataDir: join(root, 'data'), workDir: join(root, `work-${name}`) });
    try {
      for (const meta of [single, multi]) {
        const probe = await probeSeeder(seeder.port, meta, some(meta));
        assert.equal(probe.has.filter(Boolean).length, meta.pieceHashes.length, `${name} must announce every piece of ${meta.name}`);
        assert.deepEqual(probe.verified, some(meta), `${name} must serve verified pieces of ${meta.name}`);
      }
    } finally {
      await seeder.stop();
    }
    assert.equal(seeder.proc.running, false, `${name} must be stopped`);
  }

  test('transmission-daemon serves both torrents', () => checkFullSeeder(startTransmissionSeeder, 'transmission'));
  test('aria2c serves both torrents', () => checkFullSeeder(startAria2Seeder, 'aria2'));
  test('libtorrent serves both torrents', () => checkFullSeeder(startLibtorrentSeeder, 'libtorrent'));

  test('a partial libtorrent seeder holds exactly its pieces', async () => {
    const count = multi.pieceHashes.length;
    const half = Math.floor(count / 2);
    const seeder = await startLibtorrentSeeder({ torrents: [multi], dataDir: join(root, 'data'), workDir: join(root, 'work-partial'), pieces: `0-${half - 1}` });
    try {
      const probe = await probeSeeder(seeder.port, multi, [0, half - 1, half]);
      const expected = multi.pieceHashes.map((_, i) => i < half);
      assert.deepEqual(probe.has, expected, 'the partial seeder must announce pieces 0..half-1 only');
      assert.deepEqual(probe.verified, [0, half - 1]);
    } finally {
      await seeder.stop();
    }
  });
});
