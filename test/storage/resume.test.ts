/**
 * Resume records end to end on real files: matching a record against the files on disk
 * (pure), the restart that reads no data (bytes read measured in /proc/self/io), the
 * recheck of only the files that changed, `recheck` forcing a full check, a damaged record
 * meaning no record, and the batched record listing only pieces written and verified before
 * it (committed from memory or spilled to disk and verified there).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultResumeDir, matchRecord, resumeFilePath, TorrentStorage, type FileStamp, type ResumeRecord } from '../../src/storage/index.js';
import { decodeResume } from '../../src/storage/resume-codec.js';
import { torrentMaps } from '../../src/storage/store.js';
import { Bitfield } from '../../src/util/bitfield.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { filePath, makeTorrent, pieceOf, withTempDir, type TestTorrent } from './fixtures.js';

const HASH = Buffer.alloc(20, 7);
const KiB = 1024;

/** Three files whose boundaries fall inside pieces 1 and 3 (piece length 16 KiB). */
function threeFiles(): TestTorrent {
  return makeTorrent([{ name: 'a', length: 20 * KiB }, { name: 'b', length: 30 * KiB }, { name: 'c', length: 40 * KiB }], 16 * KiB);
}

function bits(size: number, set: readonly number[]): Bitfield {
  const b = new Bitfield(size);
  for (const i of set) b.set(i);
  return b;
}

const list = (b: Bitfield): number[] => [...Array(b.size).keys()].filter((i) => b.has(i));

describe('matchRecord', () => {
  const t = threeFiles();
  const { geometry, layout } = torrentMaps(t.info);
  const expect = { infoHash: HASH, root: '/dl', geometry, layout, files: t.info.files };
  const stamps: FileStamp[] = t.info.files.map((f, i) => ({ present: true, size: f.length, mtimeNs: BigInt(1000 + i) }));
  const rec = (verified: Bitfield, files = stamps, pending = new Bitfield(verified.size)): ResumeRecord => ({ infoHash: HASH, root: '/dl', files, verified, pending });
  const all = bits(geometry.pieceCount, [0, 1, 2, 3, 4, 5]);

  it('trusts every recorded piece when no file changed', () => {
    const m = matchRecord(rec(bits(6, [0, 2, 5])), expect, stamps)!;
    assert.deepEqual(list(m.trusted), [0, 2, 5]);
    assert.deepEqual(list(m.toCheck), []);
  });

  it('rechecks exactly the pieces touching a changed file, and trusts the rest', () => {
    const now = stamps.map((s, i) => (i === 1 ? { ...s, mtimeNs: s.mtimeNs + 1n } : s));
    const m = matchRecord(rec(all), expect, now)!;
    // b spans bytes 20 KiB .. 50 KiB: pieces 1, 2 and 3.
    assert.deepEqual(list(m.toCheck), [1, 2, 3]);
    assert.deepEqual(list(m.trusted), [0, 4, 5]);
  });

  it('a changed size or a vanished file counts as changed', () => {
    const shorter = stamps.map((s, i) => (i === 2 ? { ...s, size: s.size - 1 } : s));
    assert.deepEqual(list(matchRecord(rec(all), expect, shorter)!.toCheck), [3, 4, 5]);
    const gone = stamps.map((s, i) => (i === 0 ? { present: false, size: 0, mtimeNs: 0n } : s));
    assert.deepEqual(list(matchRecord(rec(all), expect, gone)!.toCheck), [0, 1]);
  });

  it('never trusts a recorded piece that an unchanged file is too short to hold', () => {
    // A record whose stamps agree with short files but which claims their pieces.
    const short = stamps.map((s) => ({ ...s, size: 10 * KiB }));
    const m = matchRecord(rec(all, short), expect, short)!;
    assert.deepEqual(list(m.trusted), []);
    assert.deepEqual(list(m.toCheck), [0, 1, 2, 3, 4, 5]);
  });

  it('rechecks the pending pieces, unchanged files or not, and trusts only the verified ones', () => {
    const m = matchRecord(rec(bits(6, [0, 2]), stamps, bits(6, [1, 5])), expect, stamps)!;
    assert.deepEqual(list(m.trusted), [0, 2]);
    assert.deepEqual(list(m.toCheck), [1, 5]);
  });

  it('ignores a record of another torrent or folder', () => {
    assert.equal(matchRecord({ ...rec(all), infoHash: Buffer.alloc(20) }, expect, stamps), undefined);
    assert.equal(matchRecord({ ...rec(all), root: '/elsewhere' }, expect, stamps), undefined);
    assert.equal(matchRecord(rec(bits(7, [])), expect, stamps), undefined);
  });
});

describe('resume record placement', () => {
  it('lives under $XDG_STATE_HOME/tessera/resume, else ~/.local/state', () => {
    assert.equal(defaultResumeDir({ XDG_STATE_HOME: '/s' }), '/s/tessera/resume');
    assert.match(defaultResumeDir({}), /\/\.local\/state\/tessera\/resume$/);
    assert.match(defaultResumeDir({ XDG_STATE_HOME: 'relative' }), /\/\.local\/state\/tessera\/resume$/);
  });

  it('one file per info hash and output folder', () => {
    const a = resumeFilePath('/r', HASH, '/one');
    assert.match(a, /^\/r\/0707070707070707070707070707070707070707-[0-9a-f]{16}\.resume$/);
    assert.notEqual(a, resumeFilePath('/r', HASH, '/two'));
  });
});

/** Bytes this process has read through read syscalls so far (every thread, workers included). */
function rchar(): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  assert.ok(m !== null, 'no rchar in /proc/self/io');
  return Number(m[1]);
}

async function writeAll(root: string, t: TestTorrent): Promise<void> {
  for (const [i, data] of t.contents.entries()) {
    await fs.mkdir(path.dirname(filePath(root, t.info, i)), { recursive: true });
    await fs.writeFile(filePath(root, t.info, i), data);
  }
}

describe('TorrentStorage with a resume record', () => {
  const MiB = 1024 * KiB;
  /** 12 MiB in three files, 256 KiB pieces: enough that reading it dwarfs start-up noise. */
  const big = (): TestTorrent =>
    makeTorrent([{ name: 'x', length: 5 * MiB + 1000 }, { name: 'y', length: 3 * MiB }, { name: 'z', length: 4 * MiB - 1000 }], 256 * KiB);

  const open = (root: string, state: string, t: TestTorrent, clock?: FakeClock): Promise<TorrentStorage> =>
    TorrentStorage.open(root, t.info, { workers: 2, resume: { dir: state, infoHash: HASH, ...(clock !== undefined ? { clock } : {}) } });

  /** Open, verify (timing the bytes read), close. */
  async function restart(root: string, state: string, t: TestTorrent, recheck = false): Promise<{ trusted: number; checked: number; read: number; have: Bitfield }> {
    const s = await open(root, state, t);
    try {
      const before = rchar();
      const r = await s.verifyExisting({ recheck });
      return { trusted: r.trusted, checked: r.checked, read: rchar() - before, have: r.have };
    } finally {
      await s.close();
    }
  }

  it('a restart of complete data reads none of it; a changed file is read alone; recheck reads all', () =>
    withTempDir(async (dir) => {
      const t = big();
      const root = path.join(dir, 'out');
      const state = path.join(dir, 'state');
      await writeAll(root, t);
      const n = t.info.pieceCount;

      const first = await restart(root, state, t);
      assert.equal(first.checked, n, 'no record yet: everything is checked');
      assert.ok(first.read >= t.info.length, `the first check reads the data (${first.read} bytes)`);
      assert.equal(first.have.count, n);
      const rec = decodeResume(await fs.readFile(resumeFilePath(state, HASH, await fs.realpath(root))));
      assert.equal(rec.verified.count, n, 'the record written at close lists every piece');
      assert.equal(rec.pending.count, 0, 'none of them pending: nothing was written');

      const second = await restart(root, state, t);
      assert.deepEqual({ trusted: second.trusted, checked: second.checked, count: second.have.count }, { trusted: n, checked: 0, count: n });
      assert.ok(second.read < 64 * KiB, `a restart with a matching record reads no data (${second.read} bytes read)`);

      // Touch y (3 MiB in the middle): only the pieces touching it are read.
      const y = filePath(root, t.info, 1);
      const later = new Date(Date.now() + 5000);
      await fs.utimes(y, later, later);
      const third = await restart(root, state, t);
      const yPieces = Math.ceil((t.info.files[1]!.offset + t.info.files[1]!.length) / (256 * KiB)) - Math.floor(t.info.files[1]!.offset / (256 * KiB));
      assert.equal(third.checked, yPieces);
      assert.equal(third.trusted, n - yPieces);
      assert.equal(third.have.count, n);
      assert.ok(third.read >= 3 * MiB && third.read < 5 * MiB, `only y's pieces are read (${third.read} bytes)`);

      const forced = await restart(root, state, t, true);
      assert.equal(forced.checked, n);
      assert.ok(forced.read >= t.info.length, `recheck reads everything (${forced.read} bytes)`);
    }));

  it('a file changed behind the record is rechecked, so its damaged piece is not trusted', () =>
    withTempDir(async (dir) => {
      const t = threeFiles();
      const root = path.join(dir, 'out');
      const state = path.join(dir, 'state');
      await writeAll(root, t);
      assert.equal((await restart(root, state, t)).have.count, 6);
      const c = filePath(root, t.info, 2);
      const fh = await fs.open(c, 'r+');
      await fh.write(Buffer.from([0x42 ^ t.contents[2]![35 * KiB]!]), 0, 1, 35 * KiB);
      await fh.close();
      const later = new Date(Date.now() + 5000);
      await fs.utimes(c, later, later);
      const r = await restart(root, state, t);
      // c spans 50 .. 90 KiB: pieces 3, 4, 5; byte 35 KiB of c is piece 5.
      assert.equal(r.checked, 3);
      assert.deepEqual(list(r.have), [0, 1, 2, 3, 4]);
    }));

  it('a damaged record is no record: everything is checked', () =>
    withTempDir(async (dir) => {
      const t = threeFiles();
      const root = path.join(dir, 'out');
      const state = path.join(dir, 'state');
      await writeAll(root, t);
      await restart(root, state, t);
      const file = resumeFilePath(state, HASH, await fs.realpath(root));
      const bytes = await fs.readFile(file);
      bytes[bytes.length - 30] ^= 0x10;
      await fs.writeFile(file, bytes);
      const r = await restart(root, state, t);
      assert.deepEqual({ trusted: r.trusted, checked: r.checked, count: r.have.count }, { trusted: 0, checked: 6, count: 6 });
      await fs.writeFile(file, Buffer.alloc(10 * 1024 * 1024));
      assert.equal((await restart(root, state, t)).checked, 6, 'an oversized file is not read as a record');
    }));

  it('records pieces in batches on the clock, only once written, and at close those since the last batch as pending', () =>
    withTempDir(async (dir) => {
      const t = threeFiles();
      const root = path.join(dir, 'out');
      const state = path.join(dir, 'state');
      const clock = new FakeClock();
      const s = await open(root, state, t, clock);
      const file = resumeFilePath(state, HASH, await fs.realpath(root));
      const recorded = async (): Promise<number[]> => list(decodeResume(await fs.readFile(file)).verified);
      const pending = async (): Promise<number[]> => list(decodeResume(await fs.readFile(file)).pending);
      const commit = async (i: number): Promise<void> => {
        const buf = s.acquirePieceBuffer(i)!;
        buf.set(pieceOf(t, i));
        assert.equal(await s.commitPiece(i, buf), 'ok');
      };
      try {
        assert.equal((await s.verifyExisting()).have.count, 0);
        await commit(0);
        await commit(4);
        await assert.rejects(fs.stat(file), 'nothing is written before the first batch is due');
        clock.advance(3000);
        await s.flushResume();
        assert.deepEqual(await recorded(), [0, 4]);
        assert.deepEqual(await pending(), [], 'a batch syncs the data: nothing pending');
        const bad = s.acquirePieceBuffer(2)!;
        assert.equal(await s.commitPiece(2, bad), 'hash-mismatch');
        await commit(5);
        clock.advance(3000);
        await s.flushResume();
        assert.deepEqual(await recorded(), [0, 4, 5], 'a piece that failed its hash is never recorded');
        // Spilled but wrong: written, never recorded.
        s.writeBlock(2, 0, new Uint8Array(16 * KiB).fill(9));
        assert.equal(await s.verifyStored(2), 'hash-mismatch');
        await commit(1);
        // Spilled to disk block by block, then verified as stored: recorded too.
        s.writeBlock(3, 0, new Uint8Array(pieceOf(t, 3)));
        assert.equal(await s.verifyStored(3), 'ok');
      } finally {
        await s.close();
      }
      assert.deepEqual(await recorded(), [0, 4, 5], 'close does not wait for the data: the pieces synced before');
      assert.deepEqual(await pending(), [1, 3], '… and those written since, pending');
      assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
      assert.deepEqual(await fs.readdir(state), [path.basename(file)], 'no temporary file is left behind');
      const r = await restart(root, state, t);
      assert.deepEqual({ trusted: r.trusted, checked: r.checked, have: list(r.have) }, { trusted: 3, checked: 2, have: [0, 1, 3, 4, 5] }, 'the pending pieces are read and hashed');
      // That start synced nothing, so its record keeps them pending; the next start reads them again.
      assert.deepEqual([await recorded(), await pending()], [[0, 4, 5], [1, 3]]);
      // As after a crash before the kernel wrote piece 3 back: its bytes are gone, the file's
      // size and mtime as recorded. The pending piece is read, and not trusted.
      const c = filePath(root, t.info, 2);
      const before = await fs.stat(c);
      const fh = await fs.open(c, 'r+');
      // c starts at 50 KiB, inside piece 3 (48 .. 64 KiB): its first 8 KiB are piece 3's alone.
      await fh.write(Buffer.alloc(8 * KiB), 0, 8 * KiB, 0);
      await fh.close();
      await fs.utimes(c, before.atime, before.mtime);
      assert.deepEqual(list((await restart(root, state, t)).have), [0, 1, 4, 5]);
    }));
});
