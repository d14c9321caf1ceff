/**
 * File selection against a real seeder on loopback (libtorrent, capped so that changes land
 * while pieces flow): `tessera download --select`, `--exclude` and a magnet link's BEP 53 `so=`
 * leave only the selected files, byte-identical, beside the hidden part file when a skipped
 * file shares a piece with a selected one. Through the library, a file selected while the
 * torrent runs is fetched and completed from the part file's bytes; once every file is wanted
 * the part file is gone.
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
import { startDownload } from '../helpers/tessera.js';
import type { TorrentMeta } from '../helpers/torrents.js';

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

/** Asserts that `out` holds exactly `paths` (relative, as `files()` gives them) equal to the source, plus the hidden entries listed. */
async function assertOnly(source: string, out: string, paths: readonly string[], hidden: readonly string[]): Promise<void> {
  assert.deepEqual(await listTree(out), [...paths, ...hidden].sort());
  for (const p of paths) await compareTrees(join(source, p), join(out, p));
}

/** Whether some skipped non-empty file shares a piece with a selected one: then the part file must exist. */
function needsPart(meta: TorrentMeta, selected: ReadonlySet<number>): boolean {
  const span = (i: number): [number, number] => {
    const f = meta.files[i]!;
    return [Math.floor(f.offset / meta.pieceLength), Math.floor((f.offset + f.length - 1) / meta.pieceLength)];
  };
  const nonEmpty = meta.files.flatMap((f, i) => (f.length > 0 ? [i] : []));
  return nonEmpty.some((s) => !selected.has(s) && nonEmpty.some((w) => {
    if (!selected.has(w)) return false;
    const [a, b] = span(s);
    const [c, d] = span(w);
    return a <= d && c <= b;
  }));
}

/** Runs `tessera download` with `args` to completion and checks the folder holds exactly the files of `selected`. */
async function cliDownload(meta: TorrentMeta, source: string, dataDir: string, out: string, peer: string, args: string[], selected: ReadonlySet<number>): Promise<void> {
  const proc = await startDownload({ torrent: source, outDir: out, peers: [peer], args: ['-q', ...args] });
  const exit = await proc.waitForExit(240_000);
  assert.equal(exit.code, 0, proc.tail());
  const paths = [...selected].map((i) => join(meta.name, meta.files[i]!.path));
  await assertOnly(dataDir, out, paths, needsPart(meta, selected) ? [`.${meta.infoHashHex}.parts`] : []);
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
      await assertOnly(swarm.dataDir, out, wanted().map((f) => f.path), [hidden]);
      assert.ok(!(await listTree(out)).includes(h.files()[never!]!.path), 'the skipped file was never created');
      // Done, seeding: the last file is selected; the torrent downloads again and completes.
      const again = nextDone(h);
      await h.setFilePriority(never!, 'normal');
      await again;
      await assertOnly(swarm.dataDir, out, h.files().map((f) => f.path), []);
      assert.equal(h.stats().totalBytes, h.stats().sizeBytes);
    } finally {
      await session.close();
    }
  });

  test('CLI --select 0,2-4 style: exactly the chosen files, byte-identical', async () => {
    const meta = required(swarm.multi, 'multi');
    // Two of the large files (pieces shared with neighbours) and a small one, not the first three.
    const big = meta.files.flatMap((f, i) => (f.length > 1024 * 1024 ? [i] : []));
    const small = meta.files.findIndex((f) => f.length > 0 && f.length < 1024 * 1024);
    const selected = new Set([big[0]!, small, big[2]!]);
    const list = [...selected].sort((a, b) => a - b).join(',');
    assert.ok(needsPart(meta, selected), 'a selected file shares a piece with a skipped one: the part file is exercised');
    await cliDownload(meta, meta.torrentPath, swarm.dataDir, await swarm.newOutDir('select'), `127.0.0.1:${lt.port}`, ['--select', list], selected);
  });

  test('CLI --exclude GLOB (repeatable): every file but the excluded ones', async () => {
    const meta = required(swarm.multi, 'multi');
    const excluded = (p: string): boolean => p.startsWith('b/d/') || p.startsWith('f g/');
    const selected = new Set(meta.files.flatMap((f, i) => (excluded(f.path) ? [] : [i])));
    assert.ok(selected.size > 0 && selected.size < meta.files.length);
    await cliDownload(meta, meta.torrentPath, swarm.dataDir, await swarm.newOutDir('exclude'), `127.0.0.1:${lt.port}`, ['--exclude', 'b/d/**', '--exclude', 'f g/*'], selected);
  });

  test("a magnet link's so= selects the files (metadata from the seeder)", async () => {
    const meta = required(swarm.multi, 'multi');
    const big = meta.files.flatMap((f, i) => (f.length > 1024 * 1024 ? [i] : []));
    const selected = new Set([big[1]!, big[3]!]);
    const magnet = `magnet:?xt=urn:btih:${meta.infoHashHex}&so=${big[1]},${big[3]}`;
    await cliDownload(meta, magnet, swarm.dataDir, await swarm.newOutDir('magnet-so'), `127.0.0.1:${lt.port}`, [], selected);
  });
});
