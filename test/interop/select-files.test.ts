/**
 * File selection against a real seeder on loopback (libtorrent, capped so that changes land
 * while pieces flow): only the selected files are created, byte-identical, beside one hidden
 * part file; a file selected while the torrent runs is fetched and completed from the part
 * file's bytes; once every file is wanted the part file is gone.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type TorrentFile, type TorrentHandle } from '../../src/index.js';
import { compareTrees } from '../helpers/data.js';
import { stopAll } from '../helpers/proc.js';
import { startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';

const MiB = 1024 * 1024;
const LOOPBACK = { host: '127.0.0.1', port: 0, dht: false as const };

/** Every file below `dir`, relative, sorted (hidden ones included). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

/** Asserts that `out` holds exactly `files` (paths as `files()` gives them) equal to the source, plus the hidden entries listed. */
export async function assertOnly(source: string, out: string, files: readonly TorrentFile[], hidden: readonly string[]): Promise<void> {
  assert.deepEqual(await listTree(out), [...files.map((f) => f.path), ...hidden].sort());
  for (const f of files) await compareTrees(join(source, f.path), join(out, f.path));
}

function nextDone(h: TorrentHandle): Promise<void> {
  return new Promise((resolve, reject) => {
    h.once('done', resolve);
    h.once('error', reject);
  });
}

describe('file selection against libtorrent', { timeout: 600_000 }, () => {
  let swarm: Swarm;
  let lt: Seeder;

  before(async () => {
    swarm = await createSwarm({ label: 'select', treeFiles: 12, pieceLengthLog2: 16, tracker: 'none' });
    lt = await startLibtorrentSeeder({ torrents: [required(swarm.multi, 'multi')], dataDir: swarm.dataDir, workDir: join(swarm.root, 'lt'), uploadLimit: 4 * MiB });
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test('library: skipped files are never created; selecting one while running fetches it; the part file goes at the end', async () => {
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('library');
      const meta = required(swarm.multi, 'multi');
      const h = await session.add(meta.torrentPath, { path: out, peers: [{ host: '127.0.0.1', port: lt.port }], trackers: false, paused: true });
      const files = h.files();
      // The large files: pieces span them and their neighbours.
      const big = files.map((f, i) => ({ f, i })).filter(({ f }) => f.length > MiB).map(({ i }) => i);
      assert.equal(big.length, 4);
      const [late, never, ...rest] = big;
      await h.setFilePriorities(files.map((_, i) => (i === late || i === never ? 'skip' : i === rest[0] ? 'high' : 'normal')));
      assert.deepEqual(h.files().map((f) => f.priority).filter((p) => p === 'skip').length, 2);
      const wanted = (): TorrentFile[] => h.files().filter((f) => f.priority !== 'skip');
      h.resume();
      // While pieces flow: one more file is selected.
      await new Promise<void>((resolve) => h.once('verified', () => resolve()));
      await h.setFilePriority(late!, 'normal');
      await h.whenDone();
      const st = h.stats();
      assert.equal(st.fraction, 1);
      assert.ok(st.totalBytes < st.sizeBytes, 'progress counts the wanted pieces only');
      const hidden = `.${h.infoHash}.parts`;
      await assertOnly(swarm.dataDir, out, wanted(), [hidden]);
      assert.ok(!(await listTree(out)).includes(h.files()[never!]!.path), 'the skipped file was never created');
      // Done, seeding: the last file is selected; the torrent downloads again and completes.
      const again = nextDone(h);
      await h.setFilePriority(never!, 'normal');
      await again;
      await assertOnly(swarm.dataDir, out, h.files(), []);
      assert.equal(h.stats().totalBytes, h.stats().sizeBytes);
    } finally {
      await session.close();
    }
  });
});
