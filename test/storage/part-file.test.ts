/**
 * The part file: bytes of skipped files that share a piece with a wanted file are kept in a
 * hidden part file, the skipped file is never created, the shared pieces verify (also after a
 * restart), and a file wanted again gets its bytes back before the part file is deleted. The
 * same rules on the memory store and on disk.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Bitfield } from '../../src/util/bitfield.js';
import { FileLayout } from '../../src/storage/layout.js';
import { PieceGeometry } from '../../src/storage/geometry.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { PartMap, partFileName } from '../../src/storage/part-file.js';
import { TorrentStorage } from '../../src/storage/torrent-storage.js';
import type { PieceStore } from '../../src/storage/store.js';
import { makeTorrent, pieceOf, withTempDir, type TestTorrent } from './fixtures.js';

/** Pieces of 100 bytes; files a [0,150) b [150,420) c [420,500): pieces 1 and 4 are shared. */
function threeFiles(): TestTorrent {
  return makeTorrent([{ name: 'a', length: 150 }, { name: 'b', length: 270 }, { name: 'c', length: 80 }], 100);
}

async function commit(store: PieceStore, t: TestTorrent, index: number): Promise<void> {
  const buf = store.acquirePieceBuffer(index)!;
  pieceOf(t, index).copy(buf);
  assert.equal(await store.commitPiece(index, buf), 'ok');
}

function bits(n: number, set: number[]): Bitfield {
  const b = new Bitfield(n);
  for (const i of set) b.set(i);
  return b;
}

describe('part map', () => {
  it('gives one slot to each piece shared by two data files, in piece order', () => {
    const t = threeFiles();
    const g = new PieceGeometry(100, 500);
    const map = new PartMap(g, new FileLayout(t.info.files), t.info.files);
    assert.equal(map.slotCount, 2);
    assert.deepEqual([0, 1, 2, 3, 4].map((p) => map.isShared(p)), [false, true, false, false, true]);
    assert.deepEqual(map.sharedPiecesOf(t.info.files[1]!), [1, 4]);
    assert.deepEqual(map.sharedPiecesOf(t.info.files[0]!), [1]);
    // Piece 1 = a[100,150) + b[0,50): b's run goes to slot 0 at 50; a's stays in a.
    const placed = map.place(100, 100, (i) => i === 1);
    assert.deepEqual(
      placed.map((e) => [e.fileIndex, e.fileOffset, e.length, e.at, e.part]),
      [[0, 100, 50, 0, undefined], [1, 0, 50, 50, 50]],
    );
    // A run crossing pieces is cut at each boundary; b's unshared pieces 2-3 have no slot.
    const whole = map.place(150, 270, (i) => i === 1);
    assert.deepEqual(whole.map((e) => [e.fileOffset, e.length, e.part]), [[0, 50, 50], [50, 100, undefined], [150, 100, undefined], [250, 20, 100]]);
  });

  it('padding aligned files share no piece', () => {
    const t = makeTorrent([{ name: 'a', length: 150 }, { name: 'p', length: 50, pad: true }, { name: 'b', length: 100 }], 100);
    const map = new PartMap(new PieceGeometry(100, 300), new FileLayout(t.info.files), t.info.files);
    assert.equal(map.slotCount, 0);
  });

  it('names the session part file after the info hash, hidden', () => {
    assert.equal(partFileName('ab'.repeat(20)), `.${'ab'.repeat(20)}.parts`);
  });
});

describe('skipped files in the memory store', () => {
  it('never creates a skipped file; its shared bytes live in the part file and verify', async () => {
    const t = threeFiles();
    const store = new MemoryStore(t.info, { skip: [false, true, false] });
    for (const p of [0, 1, 4]) await commit(store, t, p);
    assert.equal(store.fileData(1), undefined, 'b never created');
    assert.deepEqual(store.fileData(0), new Uint8Array(t.contents[0]!));
    assert.deepEqual(store.fileData(2), new Uint8Array(t.contents[2]!));
    assert.equal(store.partData()?.length, 120, 'b\'s head in slot 0, its tail in slot 1');
    const have = await store.recheck();
    assert.deepEqual([0, 1, 2, 3, 4].filter((p) => have.has(p)), [0, 1, 4]);
    assert.deepEqual(await store.readBlock(1, 0, 100), pieceOf(t, 1), 'seeding reads the shared piece whole');
    await store.close();
  });

  it('a file wanted again gets its bytes from the part file, and the part file goes', async () => {
    const t = threeFiles();
    const store = new MemoryStore(t.info, { skip: [false, true, false] });
    for (const p of [0, 1, 4]) await commit(store, t, p);
    await store.setSkipped([false, false, false], bits(5, [0, 1, 4]));
    assert.equal(store.partData(), undefined);
    for (const p of [2, 3]) await commit(store, t, p);
    assert.deepEqual(store.fileData(1), new Uint8Array(t.contents[1]!));
    assert.equal((await store.recheck()).complete, true);
    await store.close();
  });

  it('skipping a file that already exists keeps writing it in place', async () => {
    const t = threeFiles();
    const store = new MemoryStore(t.info);
    await commit(store, t, 2);
    await store.setSkipped([false, true, false], bits(5, [2]));
    await commit(store, t, 1);
    assert.equal(store.partData(), undefined, 'nothing for the part file: b is on disk');
    assert.deepEqual(store.fileData(1)!.subarray(0, 150), new Uint8Array(t.contents[1]!.subarray(0, 150)));
    await store.close();
  });
});

describe('skipped files on disk', () => {
  it('leaves only the wanted files and a hidden part file; a restart verifies the shared pieces from it', async () => {
    await withTempDir(async (dir) => {
      const t = threeFiles();
      const partFile = partFileName('cd'.repeat(20));
      const skip = [false, true, false];
      let store = await TorrentStorage.open(dir, t.info, { workers: 1, skip, partFile });
      for (const p of [0, 1, 4]) await commit(store, t, p);
      assert.deepEqual(await store.readBlock(4, 0, 100), pieceOf(t, 4));
      await store.close();
      assert.deepEqual((await fs.readdir(dir)).sort(), [partFile, 'torrent']);
      assert.deepEqual((await fs.readdir(path.join(dir, 'torrent'))).sort(), ['a', 'c']);
      assert.deepEqual(await fs.readFile(path.join(dir, 'torrent', 'a')), t.contents[0]);
      assert.deepEqual(await fs.readFile(path.join(dir, 'torrent', 'c')), t.contents[2]);
      assert.ok((await fs.stat(path.join(dir, partFile))).size <= 200, 'one slot per shared piece');

      store = await TorrentStorage.open(dir, t.info, { workers: 1, skip, partFile });
      const found = await store.verifyExisting();
      assert.deepEqual([0, 1, 2, 3, 4].filter((p) => found.have.has(p)), [0, 1, 4]);
      // b wanted now: its head and tail come out of the part file, which is deleted.
      await store.setSkipped([false, false, false], found.have);
      assert.deepEqual((await fs.readdir(dir)).sort(), ['torrent']);
      for (const p of [2, 3]) await commit(store, t, p);
      await store.close();
      assert.deepEqual(await fs.readFile(path.join(dir, 'torrent', 'b')), t.contents[1]);
    });
  });

  it('a run with every file wanted takes the bytes a former run left in the part file, then deletes it', async () => {
    await withTempDir(async (dir) => {
      const t = threeFiles();
      const partFile = '.x.parts';
      let store = await TorrentStorage.open(dir, t.info, { workers: 1, skip: [false, true, false], partFile });
      for (const p of [0, 1, 4]) await commit(store, t, p);
      await store.close();
      store = await TorrentStorage.open(dir, t.info, { workers: 1, partFile });
      const found = await store.verifyExisting();
      assert.deepEqual([0, 1, 2, 3, 4].filter((p) => found.have.has(p)), [0, 1, 4]);
      assert.deepEqual((await fs.readdir(dir)).sort(), ['torrent']);
      for (const p of [2, 3]) await commit(store, t, p);
      await store.close();
      assert.deepEqual(await fs.readFile(path.join(dir, 'torrent', 'b')), t.contents[1]);
    });
  });

  it('settleParts: with verified pieces known from elsewhere (a pause), a file wanted now takes its bytes back', async () => {
    await withTempDir(async (dir) => {
      const t = threeFiles();
      const partFile = '.y.parts';
      let store = await TorrentStorage.open(dir, t.info, { workers: 1, skip: [false, true, false], partFile });
      for (const p of [0, 1, 4]) await commit(store, t, p);
      await store.close();
      store = await TorrentStorage.open(dir, t.info, { workers: 1, partFile });
      await store.settleParts(bits(5, [0, 1, 4]));
      assert.deepEqual((await fs.readdir(dir)).sort(), ['torrent']);
      for (const p of [2, 3]) await commit(store, t, p);
      await store.close();
      assert.deepEqual(await fs.readFile(path.join(dir, 'torrent', 'b')), t.contents[1]);
    });
  });

  it('refuses a part file name that is not hidden', async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(TorrentStorage.open(dir, threeFiles().info, { partFile: 'parts' }), /not hidden/);
    });
  });
});
