import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorageError } from '../../src/storage/index.js';
import type { PieceStore } from '../../src/storage/index.js';
import { makeTorrent, pieceOf } from './fixtures.js';
import type { TestTorrent } from './fixtures.js';

/**
 * The contract every `PieceStore` must meet (STYLE.md §8), run against `TorrentStorage`
 * and `MemoryStore`. Not a test file itself: the `*.test.ts` files call it.
 */

export interface OpenedStore {
  readonly store: PieceStore;
  /** File `i` as stored right now, or undefined when it does not exist. */
  stored(fileIndex: number): Promise<Uint8Array | undefined>;
  cleanup(): Promise<void>;
}

export interface StoreHarness {
  open(t: TestTorrent, opts?: { poolBytes?: number; initial?: readonly (Uint8Array | undefined)[] }): Promise<OpenedStore>;
}

const PIECE = 32768;

/**
 * Zero-length files at the start, middle and end; piece 1 spans b, d and the pad e
 * (with the empty c between); the pad ends on a piece boundary; the last piece is short.
 */
export function standardTorrent(): TestTorrent {
  return makeTorrent(
    [
      { name: 'a', length: 0 },
      { name: 'b', length: 50000 },
      { name: 'c', length: 0 },
      { name: 'd', length: 3000 },
      { name: 'e', length: 12536, pad: true },
      { name: 'f', length: 70000 },
      { name: 'g', length: 1 },
      { name: 'h', length: 0 },
    ],
    PIECE,
  );
}

const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

async function commitCopy(store: PieceStore, index: number, data: Uint8Array): Promise<string> {
  const buf = store.acquirePieceBuffer(index);
  assert.ok(buf !== undefined, `a buffer for piece ${index}`);
  assert.equal(buf.length, data.length);
  buf.set(data);
  return store.commitPiece(index, buf);
}

/** Which pieces a correct recheck must find, computed byte by byte from what is stored. */
function expectedHave(t: TestTorrent, initial: readonly (Uint8Array | undefined)[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < t.info.pieceCount; p++) {
    const start = p * PIECE;
    const end = Math.min(t.space.length, start + PIECE);
    let ok = true;
    for (let b = start; b < end && ok; b++) {
      const i = t.info.files.findIndex((f) => b >= f.offset && b < f.offset + f.length);
      const f = t.info.files[i]!;
      if (f.pad) continue;
      const data = initial[i];
      ok = data !== undefined && b - f.offset < data.length && data[b - f.offset] === t.space[b];
    }
    if (ok) out.push(p);
  }
  return out;
}

function bits(have: { size: number; has(i: number): boolean }): number[] {
  return [...Array(have.size).keys()].filter((i) => have.has(i));
}

export function storeCompliance(name: string, harness: StoreHarness): void {
  describe(`${name}: PieceStore compliance`, () => {
    const t = standardTorrent();

    async function withStore(fn: (s: OpenedStore) => Promise<void>, opts?: Parameters<StoreHarness['open']>[1]): Promise<void> {
      const s = await harness.open(t, opts);
      try {
        await fn(s);
      } finally {
        await s.cleanup();
      }
    }

    it('stores a good piece spanning three files byte-exact, never writing the pad', () =>
      withStore(async ({ store, stored }) => {
        assert.equal(await commitCopy(store, 1, pieceOf(t, 1)), 'ok');
        const b = await stored(1);
        assert.ok(b !== undefined);
        assert.deepEqual(Buffer.from(b.subarray(PIECE, 50000)), t.contents[1]!.subarray(PIECE));
        assert.deepEqual(Buffer.from((await stored(3))!), t.contents[3]);
        assert.equal(await stored(4), undefined);
        assert.equal(await stored(5), undefined);
      }));

    it('creates zero-length files at start, middle and end', () =>
      withStore(async ({ stored }) => {
        for (const i of [0, 2, 7]) assert.equal((await stored(i))?.length, 0, `file ${i}`);
      }));

    it('stores nothing for a piece whose hash does not match, and frees its buffer', () =>
      withStore(async ({ store, stored }) => {
        const bad = Buffer.from(pieceOf(t, 2));
        bad[100]! ^= 1;
        assert.equal(await commitCopy(store, 2, bad), 'hash-mismatch');
        assert.equal(await stored(5), undefined);
        await assert.rejects(store.readBlock(2, 0, 16384), isCode('disk'));
        assert.equal(await commitCopy(store, 2, pieceOf(t, 2)), 'ok');
      }, { poolBytes: 0 }));

    it('stores every piece, the short last one too, and reads any block back', () =>
      withStore(async ({ store, stored }) => {
        for (let i = 0; i < t.info.pieceCount; i++) assert.equal(await commitCopy(store, i, pieceOf(t, i)), 'ok');
        for (const i of [1, 3, 5, 6]) assert.deepEqual(Buffer.from((await stored(i))!), t.contents[i], `file ${i}`);
        assert.equal(store.geometry.pieceSize(4), t.space.length - 4 * PIECE);
        assert.deepEqual(await store.readBlock(1, 16384, 16384), pieceOf(t, 1).subarray(16384));
        assert.deepEqual(await store.readBlock(4, 0, t.space.length - 4 * PIECE), pieceOf(t, 4));
        const pad = await store.readBlock(1, 53000 - PIECE, 12536);
        assert.deepEqual(pad, Buffer.alloc(12536));
      }));

    it('refuses block ranges outside the piece', () =>
      withStore(async ({ store }) => {
        await assert.rejects(store.readBlock(0, PIECE - 10, 11), isCode('invalid-argument'));
        await assert.rejects(store.readBlock(5, 0, 1), isCode('invalid-argument'));
        await assert.rejects(store.readBlock(0, 0, 0), isCode('invalid-argument'));
      }));

    it('refuses foreign buffers and a buffer acquired for another piece', () =>
      withStore(async ({ store }) => {
        await assert.rejects(store.commitPiece(0, Buffer.from(pieceOf(t, 0))), isCode('invalid-argument'));
        const buf = store.acquirePieceBuffer(0)!;
        buf.set(pieceOf(t, 2));
        await assert.rejects(store.commitPiece(2, buf), isCode('invalid-argument'));
        assert.throws(() => store.releasePieceBuffer(buf), isCode('invalid-argument'), 'the failed commit released it');
      }));

    it('returns undefined when the pool is exhausted and recovers on release', () =>
      withStore(async ({ store }) => {
        const a = store.acquirePieceBuffer(0);
        const b = store.acquirePieceBuffer(1);
        assert.ok(a !== undefined && b !== undefined);
        assert.equal(store.acquirePieceBuffer(2), undefined);
        let calls = 0;
        const off = store.onPoolAvailable(() => calls++);
        store.releasePieceBuffer(a);
        assert.equal(calls, 1);
        const c = store.acquirePieceBuffer(2);
        assert.ok(c !== undefined);
        assert.equal(store.acquirePieceBuffer(3), undefined);
        c.set(pieceOf(t, 2));
        assert.equal(await store.commitPiece(2, c), 'ok');
        assert.equal(calls, 2, 'commit releases the buffer');
        off();
        store.releasePieceBuffer(b);
        assert.equal(calls, 2, 'unsubscribed');
        assert.ok(store.acquirePieceBuffer(3) !== undefined);
      }, { poolBytes: 2 * PIECE + PIECE / 2 }));

    it('keeps at least two buffers when the pool is smaller than a piece', () =>
      withStore(async ({ store }) => {
        assert.ok(store.acquirePieceBuffer(0) !== undefined);
        assert.ok(store.acquirePieceBuffer(1) !== undefined);
        assert.equal(store.acquirePieceBuffer(2), undefined);
      }, { poolBytes: 100 }));

    const cases: [string, (Uint8Array | undefined)[]][] = [
      ['nothing on disk', []],
      ['complete files', t.contents.map((c) => c)],
      ['a missing file and a corrupted byte', [t.contents[0], t.contents[1], t.contents[2], undefined, undefined, corrupt(t.contents[5]!, 60000), t.contents[6]]],
      ['short files', [undefined, t.contents[1]!.subarray(0, 40000), undefined, t.contents[3], undefined, t.contents[5]!.subarray(0, 40000), t.contents[6]]],
    ];
    for (const [label, initial] of cases) {
      it(`recheck finds exactly the pieces present: ${label}`, () =>
        withStore(async ({ store }) => {
          const progress: number[] = [];
          const have = await store.recheck((checked, total) => {
            assert.equal(total, t.info.pieceCount);
            progress.push(checked);
          });
          assert.deepEqual(bits(have), expectedHave(t, initial));
          assert.equal(progress[progress.length - 1], t.info.pieceCount);
        }, { initial }));
    }

    it('recheck after commits finds the committed pieces', () =>
      withStore(async ({ store }) => {
        for (const i of [0, 3]) assert.equal(await commitCopy(store, i, pieceOf(t, i)), 'ok');
        assert.deepEqual(bits(await store.recheck()), [0, 3]);
      }));

    it('recheck stops when aborted', () =>
      withStore(async ({ store }) => {
        await assert.rejects(store.recheck(undefined, AbortSignal.abort()), isCode('aborted'));
      }));

    /** Writes piece `index` block by block as a spilled piece, in the order `order` gives. */
    function spillPiece(store: PieceStore, index: number, data: Uint8Array, order: (blocks: number[]) => number[] = (b) => b): void {
      const blocks = [...Array(Math.ceil(data.length / 16384)).keys()];
      for (const b of order(blocks)) store.writeBlock(index, b * 16384, data.subarray(b * 16384, Math.min(data.length, (b + 1) * 16384)));
    }

    it('spill: a piece written block by block without a buffer verifies on disk and reads back', () =>
      withStore(async ({ store, stored }) => {
        spillPiece(store, 1, pieceOf(t, 1));
        spillPiece(store, 4, pieceOf(t, 4), (b) => b.reverse());
        assert.ok(store.spillBacklog > 0, 'staged bytes count as backlog');
        assert.equal(await store.verifyStored(1), 'ok');
        assert.equal(await store.verifyStored(4), 'ok');
        assert.equal(store.spillBacklog, 0);
        assert.deepEqual(Buffer.from((await stored(3))!), t.contents[3]);
        assert.equal(await stored(4), undefined, 'the pad is never written');
        assert.deepEqual(await store.readBlock(1, 0, PIECE), pieceOf(t, 1));
        assert.deepEqual(await store.readBlock(4, 0, t.space.length - 4 * PIECE), pieceOf(t, 4));
      }, { poolBytes: 0 }));

    it('spill: a corrupt spilled piece fails its hash and is fixed by writing it again', () =>
      withStore(async ({ store }) => {
        spillPiece(store, 2, corrupt(pieceOf(t, 2), 20000));
        assert.equal(await store.verifyStored(2), 'hash-mismatch');
        spillPiece(store, 2, pieceOf(t, 2));
        assert.equal(await store.verifyStored(2), 'ok');
        assert.equal(await store.verifyStored(3), 'hash-mismatch', 'a piece never written does not verify');
      }));

    it('spill: refuses blocks outside the piece and pieces out of range', () =>
      withStore(async ({ store }) => {
        assert.throws(() => store.writeBlock(0, PIECE - 100, new Uint8Array(200)), isCode('invalid-argument'));
        assert.throws(() => store.writeBlock(t.info.pieceCount, 0, new Uint8Array(1)), isCode('invalid-argument'));
        await assert.rejects(store.verifyStored(t.info.pieceCount), isCode('invalid-argument'));
      }));

    it('close waits for commits in flight, then refuses work', async () => {
      const s = await harness.open(t);
      try {
        const commits = [...Array(t.info.pieceCount).keys()].map((i) => {
          const buf = s.store.acquirePieceBuffer(i)!;
          buf.set(pieceOf(t, i));
          return s.store.commitPiece(i, buf);
        });
        await s.store.close();
        assert.deepEqual(await Promise.all(commits), Array(t.info.pieceCount).fill('ok'));
        for (const i of [1, 3, 5, 6]) assert.deepEqual(Buffer.from((await s.stored(i))!), t.contents[i], `file ${i}`);
        assert.throws(() => s.store.acquirePieceBuffer(0), isCode('closed'));
        await assert.rejects(s.store.readBlock(0, 0, 1), isCode('closed'));
        await s.store.close();
      } finally {
        await s.cleanup();
      }
    });
  });
}

function corrupt(data: Buffer, at: number): Buffer {
  const out = Buffer.from(data);
  out[at]! ^= 0x40;
  return out;
}
