import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { MetainfoError, createTorrent, defaultPieceLength, parseTorrent, type PieceHasher } from '../../src/metainfo/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-create-'));
  await mkdir(path.join(dir, 'tree', 'b', 'deep'), { recursive: true });
  await mkdir(path.join(dir, 'tree', 'empty-dir'));
  await writeFile(path.join(dir, 'tree', 'z.bin'), Buffer.alloc(40_000, 1));
  await writeFile(path.join(dir, 'tree', 'a.txt'), 'hello');
  await writeFile(path.join(dir, 'tree', 'b', 'deep', 'x'), Buffer.alloc(16_384, 2));
  await writeFile(path.join(dir, 'tree', 'b', 'zero'), '');
  await symlink('/etc/hostname', path.join(dir, 'tree', 'link'));
  await writeFile(path.join(dir, 'single.bin'), Buffer.alloc(100_000, 3));
  await mkdir(path.join(dir, 'hollow'));
  await writeFile(path.join(dir, 'hollow', 'e'), '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createTorrent', () => {
  test('a folder: sorted by path bytes, empty files kept, symlinks skipped, pieces verifiable', async () => {
    const meta = parseTorrent(await createTorrent(path.join(dir, 'tree'), { pieceLength: 16384 }));
    assert.equal(meta.info.name, 'tree');
    assert.deepEqual(
      meta.info.files.map((f) => [f.path.join('/'), f.length]),
      [
        ['a.txt', 5],
        ['b/deep/x', 16384],
        ['b/zero', 0],
        ['z.bin', 40000],
      ],
    );
    const data = Buffer.concat([Buffer.from('hello'), Buffer.alloc(16384, 2), Buffer.alloc(40000, 1)]);
    for (let i = 0; i < meta.info.pieceCount; i++) {
      const digest = createHash('sha1').update(data.subarray(i * 16384, (i + 1) * 16384)).digest();
      assert.deepEqual(Buffer.from(meta.info.pieces.subarray(i * 20, i * 20 + 20)), digest, `piece ${i}`);
    }
  });

  test('deterministic: identical input gives identical bytes; no creation date unless given', async () => {
    const a = await createTorrent(path.join(dir, 'tree'));
    const b = await createTorrent(path.join(dir, 'tree'));
    assert.deepEqual(a, b);
    assert.equal(parseTorrent(a).creationDate, undefined);
    assert.equal(parseTorrent(await createTorrent(path.join(dir, 'tree'), { creationDate: 1700000000 })).creationDate, 1700000000);
  });

  test('a single file, with trackers in tiers, web seeds, private, comment and source', async () => {
    const bytes = await createTorrent(path.join(dir, 'single.bin'), {
      trackers: [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2', 'http://127.0.0.1:3/announce']],
      webSeeds: ['http://127.0.0.1/seed'],
      private: true,
      comment: 'note',
      source: 'SRC',
      createdBy: 'test',
    });
    const meta = parseTorrent(bytes);
    assert.equal(meta.info.multiFile, false);
    assert.equal(meta.info.length, 100_000);
    assert.deepEqual(meta.announce, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2', 'http://127.0.0.1:3/announce']]);
    assert.deepEqual(meta.urlList, ['http://127.0.0.1/seed']);
    assert.equal(meta.info.private, true);
    assert.equal(meta.info.source, 'SRC');
    assert.equal(meta.comment, 'note');
    assert.equal(meta.createdBy, 'test');
  });

  test('uses the injected hasher and reports progress up to the total', async () => {
    let calls = 0;
    const hasher: PieceHasher = {
      hash: async (data) => {
        calls++;
        return createHash('sha1').update(data).digest();
      },
    };
    const progress: [number, number][] = [];
    const meta = parseTorrent(await createTorrent(path.join(dir, 'single.bin'), { pieceLength: 16384, hasher, onProgress: (d, t) => progress.push([d, t]) }));
    assert.equal(calls, meta.info.pieceCount);
    assert.deepEqual(progress.at(-1), [100_000, 100_000]);
  });

  test('refuses empty input, bad piece lengths, bad URLs, and stops on abort', async () => {
    const isCreate = (e: unknown): boolean => e instanceof MetainfoError && e.code === 'create';
    await assert.rejects(createTorrent(path.join(dir, 'hollow')), isCreate);
    await assert.rejects(createTorrent(path.join(dir, 'missing')), isCreate);
    await assert.rejects(createTorrent(path.join(dir, 'single.bin'), { pieceLength: 1000 }), isCreate);
    await assert.rejects(createTorrent(path.join(dir, 'single.bin'), { trackers: [['ftp://127.0.0.1/x']] }), isCreate);
    await assert.rejects(createTorrent(path.join(dir, 'single.bin'), { webSeeds: ['udp://127.0.0.1/x'] }), isCreate);
    await assert.rejects(createTorrent(path.join(dir, 'tree'), { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  test('defaultPieceLength: powers of two from 16 KiB to 16 MiB, about 1,500 pieces', () => {
    assert.equal(defaultPieceLength(1), 16384);
    assert.equal(defaultPieceLength(700 * 1024 * 1024), 512 * 1024);
    assert.equal(defaultPieceLength(2 ** 50), 16 * 1024 * 1024);
    for (const total of [30e6, 123e6, 4.7e9, 20e9]) {
      const pl = defaultPieceLength(total);
      assert.equal(pl & (pl - 1), 0);
      const pieces = total / pl;
      assert.ok(pieces > 700 && pieces <= 1500, `${total}: ${pieces}`);
    }
  });
});
