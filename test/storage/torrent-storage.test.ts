import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StorageError, TorrentStorage } from '../../src/storage/index.js';
import type { PieceStore } from '../../src/storage/index.js';
import { filePath, makeTorrent, pieceOf, withTempDir } from './fixtures.js';
import type { TestTorrent } from './fixtures.js';
import { storeCompliance } from './store-compliance.js';

storeCompliance('TorrentStorage', {
  async open(t, opts = {}) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-storage-'));
    for (const [i, data] of (opts.initial ?? []).entries()) {
      if (data === undefined || t.info.files[i]!.pad) continue;
      await fs.mkdir(path.dirname(filePath(root, t.info, i)), { recursive: true });
      await fs.writeFile(filePath(root, t.info, i), data);
    }
    const store = await TorrentStorage.open(root, t.info, { poolBytes: opts.poolBytes, workers: 2 });
    return {
      store,
      stored: (i) => fs.readFile(filePath(root, t.info, i)).catch(() => undefined),
      async cleanup() {
        await store.close();
        await fs.rm(root, { recursive: true, force: true });
      },
    };
  },
});

const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

/** A nested multi-file torrent: `torrent/sub/x`, `torrent/y`. */
function nested(): TestTorrent {
  return makeTorrent([{ name: 'sub/x', length: 40000 }, { name: 'y', length: 30000 }], 16384);
}

async function commit(store: PieceStore, t: TestTorrent, index: number): Promise<string> {
  const buf = store.acquirePieceBuffer(index)!;
  buf.set(pieceOf(t, index));
  return store.commitPiece(index, buf);
}

/** Every path below `dir`, with the content of files: to prove nothing changed there. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    out.push(e.isFile() ? `${p}=${(await fs.readFile(p)).toString('hex')}` : p);
  }
  return out.sort();
}

/** Two temp folders: the output folder and an "outside" one holding a bait file. */
async function withRootAndOutside(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  await withTempDir((root) =>
    withTempDir(async (outside) => {
      await fs.writeFile(path.join(outside, 'bait'), 'do not touch');
      await fn(root, outside);
    }),
  );
}

describe('TorrentStorage on disk', () => {
  it('refuses a pre-existing folder symlink pointing outside, touching nothing', () =>
    withRootAndOutside(async (root, outside) => {
      const t = nested();
      const before = await snapshot(outside);
      await fs.symlink(outside, path.join(root, 'torrent'));
      await assert.rejects(TorrentStorage.open(root, t.info), isCode('unsafe-path'));
      assert.deepEqual(await snapshot(outside), before);
    }));

  it('refuses a pre-existing file symlink pointing outside, touching nothing', () =>
    withRootAndOutside(async (root, outside) => {
      const t = makeTorrent([{ name: 'one.bin', length: 20000 }], 16384);
      await fs.symlink(path.join(outside, 'bait'), path.join(root, 'one.bin'));
      await assert.rejects(TorrentStorage.open(root, t.info), isCode('unsafe-path'));
      assert.equal(await fs.readFile(path.join(outside, 'bait'), 'utf8'), 'do not touch');
    }));

  it('refuses symlinks that appear after open, in workers and on the main thread', () =>
    withRootAndOutside(async (root, outside) => {
      const t = nested();
      const store = await TorrentStorage.open(root, t.info);
      try {
        const before = await snapshot(outside);
        await fs.mkdir(path.join(root, 'torrent'));
        await fs.symlink(outside, path.join(root, 'torrent', 'sub'));
        await fs.symlink(path.join(outside, 'bait'), path.join(root, 'torrent', 'y'));
        await assert.rejects(commit(store, t, 0), isCode('unsafe-path'));
        await assert.rejects(commit(store, t, 3), isCode('unsafe-path'));
        await assert.rejects(store.recheck(), isCode('unsafe-path'));
        await assert.rejects(store.readBlock(3, 0, 100), isCode('unsafe-path'));
        assert.deepEqual(await snapshot(outside), before);
      } finally {
        await store.close();
      }
    }));

  it('refuses path components that climb out, before creating anything', () =>
    withRootAndOutside(async (root) => {
      const t = makeTorrent([{ name: 'ok', length: 0 }, { name: '../evil', length: 10 }], 16384);
      await assert.rejects(TorrentStorage.open(root, t.info), isCode('unsafe-path'));
      assert.deepEqual(await fs.readdir(root), []);
    }));

  it('neither blocks on nor writes into a FIFO in place of a file', () =>
    withTempDir(async (root) => {
      const t = nested();
      const store = await TorrentStorage.open(root, t.info);
      try {
        await fs.mkdir(path.join(root, 'torrent'));
        execFileSync('mkfifo', [path.join(root, 'torrent', 'y')]);
        await assert.rejects(commit(store, t, 3), isCode('unsafe-path'));
        await assert.rejects(store.recheck(), isCode('unsafe-path'));
      } finally {
        await store.close();
      }
    }));

  it('reports a disk error naming the file', () =>
    withTempDir(async (root) => {
      const t = nested();
      const store = await TorrentStorage.open(root, t.info);
      try {
        await fs.mkdir(path.join(root, 'torrent', 'y'), { recursive: true });
        await assert.rejects(commit(store, t, 3), (e: unknown) => isCode('disk')(e) && (e as Error).message.includes('torrent/y'));
        assert.equal(await commit(store, t, 0), 'ok', 'other files still work');
      } finally {
        await store.close();
      }
    }));

  it('keeps existing data at open (no truncation) so it can resume', () =>
    withTempDir(async (root) => {
      const t = nested();
      await fs.mkdir(path.join(root, 'torrent', 'sub'), { recursive: true });
      await fs.writeFile(filePath(root, t.info, 0), t.contents[0]!);
      const store = await TorrentStorage.open(root, t.info);
      try {
        assert.deepEqual(await fs.readFile(filePath(root, t.info, 0)), t.contents[0]);
        const have = await store.recheck();
        assert.deepEqual([0, 1, 2, 3, 4].map((i) => have.has(i)), [true, true, false, false, false]);
      } finally {
        await store.close();
      }
    }));

  it('recheck counts a truncated file as missing even where the absent bytes were zeros', () =>
    withTempDir(async (root) => {
      // The data past the first piece is zeros, so a reader that forgot the short read
      // and hashed whatever its buffer held from the first pass would wrongly pass it.
      const piece = 32768;
      const z = makeTorrent([{ name: 'z', length: 3 * piece }], piece);
      z.contents[0]!.fill(0, piece);
      const zeros = createHash('sha1').update(Buffer.alloc(piece)).digest();
      const info = { ...z.info, pieces: Buffer.concat([z.info.pieces.subarray(0, 20), zeros, zeros]) };
      await fs.writeFile(path.join(root, 'z'), z.contents[0]!);
      const store = await TorrentStorage.open(root, info, { workers: 1 });
      try {
        const full = await store.recheck();
        assert.deepEqual([0, 1, 2].map((i) => full.has(i)), [true, true, true]);
        await fs.truncate(path.join(root, 'z'), piece + 100);
        const short = await store.recheck();
        assert.deepEqual([0, 1, 2].map((i) => short.has(i)), [true, false, false]);
        await assert.rejects(store.readBlock(1, 0, 200), isCode('disk'));
      } finally {
        await store.close();
      }
    }));

  it('hashes a single file on every worker while its one writer writes', () =>
    withTempDir(async (root) => {
      const t = makeTorrent([{ name: 'one.bin', length: 12 * 16384 }], 16384);
      const store = await TorrentStorage.open(root, t.info, { workers: 2 });
      try {
        const bad = 5;
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => {
            const buf = store.acquirePieceBuffer(i)!;
            buf.set(pieceOf(t, i));
            if (i === bad) buf[100]! ^= 1;
            return store.commitPiece(i, buf);
          }),
        );
        assert.deepEqual(results, results.map((_, i) => (i === bad ? 'hash-mismatch' : 'ok')));
        const done = store['ownPool']!.completed;
        assert.ok(done.every((n) => n > 0), `every worker took tasks: ${done.join(', ')}`);
        const data = await fs.readFile(filePath(root, t.info, 0));
        for (let i = 0; i < 12; i++) {
          const want = i === bad ? Buffer.alloc(16384) : pieceOf(t, i);
          assert.ok(data.subarray(i * 16384, (i + 1) * 16384).equals(want), `piece ${i}`);
        }
      } finally {
        await store.close();
      }
    }));

  it('writes sparse files when pieces arrive out of order', () =>
    withTempDir(async (root) => {
      const t = makeTorrent([{ name: 'one.bin', length: 5 * 16384 + 7 }], 16384);
      const store = await TorrentStorage.open(root, t.info);
      try {
        assert.equal(await commit(store, t, 5), 'ok');
        const st = await fs.stat(path.join(root, 'one.bin'));
        assert.equal(st.size, t.info.length);
        const have = await store.recheck();
        assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => have.has(i)), [false, false, false, false, false, true]);
      } finally {
        await store.close();
      }
    }));
});
