/**
 * BEP 52: merkle trees, v2-only and hybrid torrents (created, parsed, verified), v2 magnets, and
 * hostile v2 metainfo (bad piece layers, roots, pad files, deep trees, unknown versions, hybrids
 * whose halves disagree, random mutations).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { decode, encode, type BDict, type Encodable } from '../../src/bencode/index.js';
import { MetainfoError, createTorrent, parseMagnet, parseTorrent, toMagnet, type Metainfo } from '../../src/metainfo/index.js';
import { LeafHasher, fileLeaves, leafHashes, merkleRoot, padHash, pieceLayer, rootFromLayer, rootOf } from '../../src/metainfo/merkle.js';
import { pieceCheck, verifyPiece } from '../../src/storage/verify.js';
import { rejects } from './helpers.js';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};


describe('BEP 52 merkle trees', () => {
  test('pad hashes are roots of zero leaves', () => {
    assert.deepEqual(padHash(0), Buffer.alloc(32));
    assert.deepEqual(padHash(1), sha256(Buffer.alloc(64)));
    assert.deepEqual(padHash(2), sha256(padHash(1), padHash(1)));
  });

  test('a one-leaf file: the root is the SHA-256 of its bytes', () => {
    const data = Buffer.from('hello, world');
    assert.deepEqual(merkleRoot(data, fileLeaves(data.length)), sha256(data));
  });

  test('three leaves pad to four with a zero leaf', () => {
    const data = randomBytes(16384 * 2 + 100);
    const [a, b, c] = [0, 1, 2].map((i) => sha256(data.subarray(i * 16384, Math.min(data.length, (i + 1) * 16384))));
    const want = sha256(sha256(a!, b!), sha256(c!, Buffer.alloc(32)));
    assert.equal(fileLeaves(data.length), 4);
    assert.deepEqual(merkleRoot(data, 4), want);
  });

  test('the root from the piece layer equals the root over the leaves, for any length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300_000 }), fc.constantFrom(16384, 32768, 65536), (length, pieceLength) => {
        const data = Buffer.alloc(length, length & 0xff);
        const root = merkleRoot(data, fileLeaves(length));
        if (length > pieceLength) assert.deepEqual(rootFromLayer(pieceLayer(data, pieceLength), pieceLength), root);
      }),
      { numRuns: 40 },
    );
  });

  test('streaming leaves in odd chunks equal the one-shot leaves', () => {
    const data = randomBytes(50_000);
    const h = new LeafHasher();
    for (let at = 0; at < data.length; at += 777) h.update(data.subarray(at, at + 777));
    assert.deepEqual(h.leaves(), leafHashes(data));
  });

  test('rootOf refuses a width smaller than the node count', () => {
    assert.throws(() => rootOf(Buffer.alloc(96), 2), RangeError);
  });
});

let dir = '';
const big = randomBytes(100_000);
const small = randomBytes(5_000);
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-v2-'));
  await mkdir(path.join(dir, 'd', 'sub'), { recursive: true });
  await writeFile(path.join(dir, 'd', 'a.bin'), big);
  await writeFile(path.join(dir, 'd', 'empty'), '');
  await writeFile(path.join(dir, 'd', 'sub', 'b.bin'), small);
});
after(() => rm(dir, { recursive: true, force: true }));

/** The torrent's piece space as its peers see it: files padded with zeros to piece boundaries. */
function pieceSpace(meta: Metainfo): Buffer {
  const contents: Record<string, Buffer> = { 'a.bin': big, empty: Buffer.alloc(0), 'sub/b.bin': small };
  return Buffer.concat(meta.info.files.map((f) => (f.pad ? Buffer.alloc(f.length) : contents[f.path.join('/')]!)));
}

describe('v2-only torrents', () => {
  test('created and parsed: pads align files, piece layers check out, the swarm hash is the truncated SHA-256', async () => {
    const bytes = await createTorrent(path.join(dir, 'd'), { version: 'v2', pieceLength: 32768 });
    const meta = parseTorrent(bytes);
    assert.equal(meta.hybrid, false);
    assert.ok(meta.v2 !== undefined && meta.v2.layersComplete);
    assert.deepEqual(Buffer.from(meta.v2.infoHash), sha256(meta.infoBytes));
    assert.deepEqual(Buffer.from(meta.infoHash), sha256(meta.infoBytes).subarray(0, 20));
    assert.deepEqual(
      meta.info.files.map((f) => [f.path.join('/'), f.length, f.offset, f.pad]),
      [
        ['a.bin', 100_000, 0, false],
        ['.pad/31072', 31_072, 100_000, true],
        ['empty', 0, 131_072, false],
        ['sub/b.bin', 5_000, 131_072, false],
        ['.pad/27768', 27_768, 136_072, true],
      ],
    );
    assert.equal(meta.info.pieceCount, 5);
    assert.equal(meta.info.pieces.length, 0);
    assert.deepEqual(
      meta.v2.files.map((f) => [f.fileIndex, f.firstPiece, f.pieceCount, f.layer?.length]),
      [
        [0, 0, 4, 128],
        [3, 4, 1, undefined],
      ],
    );
    assert.deepEqual(Buffer.from(meta.v2.files[0]!.root), merkleRoot(big, fileLeaves(big.length)));
    assert.deepEqual(Buffer.from(meta.v2.files[1]!.root), sha256(small));
  });

  test('every piece verifies against its merkle hash; one flipped byte fails it', async () => {
    const meta = parseTorrent(await createTorrent(path.join(dir, 'd'), { version: 'v2', pieceLength: 32768 }));
    const space = pieceSpace(meta);
    for (let i = 0; i < meta.info.pieceCount; i++) {
      const piece = Buffer.from(space.subarray(i * 32768, (i + 1) * 32768));
      assert.ok(verifyPiece(piece, pieceCheck(meta.info, i)), `piece ${i}`);
      piece[100] ^= 1;
      assert.ok(!verifyPiece(piece, pieceCheck(meta.info, i)), `corrupt piece ${i}`);
    }
  });

  test('a single file: its tree key is its name, no folder', async () => {
    await writeFile(path.join(dir, 'one.bin'), big);
    const meta = parseTorrent(await createTorrent(path.join(dir, 'one.bin'), { version: 'v2', pieceLength: 65536 }));
    assert.equal(meta.info.multiFile, false);
    assert.deepEqual(meta.info.files[0]!.path, ['one.bin']);
    assert.equal(meta.info.files[1]!.pad, true);
  });

  test('magnets: urn:btmh with the sha2-256 multihash prefix, read back', async () => {
    const meta = parseTorrent(await createTorrent(path.join(dir, 'd'), { version: 'v2', pieceLength: 32768 }));
    const link = toMagnet(meta);
    assert.match(link, /^magnet:\?xt=urn:btmh:1220[0-9a-f]{64}&dn=d$/);
    const m = parseMagnet(link);
    assert.equal(m.infoHash, undefined);
    assert.deepEqual(Buffer.from(m.infoHashV2!), Buffer.from(meta.v2!.infoHash));
  });
});

describe('hybrid torrents', () => {
  test('created and parsed: v1 pad files, both hashes, v1 pieces over the padded space', async () => {
    const meta = parseTorrent(await createTorrent(path.join(dir, 'd'), { version: 'hybrid', pieceLength: 32768 }));
    assert.equal(meta.hybrid, true);
    assert.ok(meta.v2 !== undefined);
    assert.deepEqual(Buffer.from(meta.infoHash), createHash('sha1').update(meta.infoBytes).digest());
    assert.equal(meta.info.merkle, undefined);
    const space = pieceSpace(meta);
    for (let i = 0; i < meta.info.pieceCount; i++) {
      assert.ok(verifyPiece(space.subarray(i * 32768, (i + 1) * 32768), pieceCheck(meta.info, i)), `piece ${i}`);
    }
    const link = toMagnet(meta);
    assert.match(link, /^magnet:\?xt=urn:btih:[0-9a-f]{40}&xt=urn:btmh:1220[0-9a-f]{64}&/);
    assert.equal(parseMagnet(link).infoHashHex, meta.infoHashHex);
  });
});

describe('hybrids whose v1 and v2 halves disagree', () => {
  let good: BDict;
  before(async () => {
    good = decode(await createTorrent(path.join(dir, 'd'), { version: 'hybrid', pieceLength: 32768 })) as BDict;
  });
  /** The good hybrid with `edit` applied to a deep copy of its v1 `files` list (a.bin, pad, empty, sub/b.bin, pad). */
  const variant = (edit: (files: BDict[], info: BDict) => void): Buffer => {
    const root = decode(encode(good)) as BDict;
    const info = root.get('info') as BDict;
    edit(info.get('files') as BDict[], info);
    return encode(root);
  };

  test('the unedited hybrid loads', () => assert.equal(parseTorrent(variant(() => undefined)).hybrid, true));
  test('a v1 file of another length', () => rejects(variant((files) => files[0]!.set('length', 99_999)), 'hybrid-inconsistent', /v1 file 1 does not match the v2 tree/));
  test('v1 files in another order', () => {
    rejects(variant((files) => files.splice(0, 4, files[3]!, files[1]!, files[2]!, files[0]!)), 'hybrid-inconsistent', /does not match the v2 tree/);
  });
  test('a v1 file under another name', () => rejects(variant((files) => files[0]!.set('path', [Buffer.from('A.bin')])), 'hybrid-inconsistent', /v1 file 1 does not match/));
  test('a v1 pad file missing: the next file is off its piece boundary', () => {
    rejects(variant((files) => files.splice(1, 1)), 'hybrid-inconsistent', /v1 file 3 does not start on a piece boundary/);
  });
  test('v1 piece hashes for another piece count', () => rejects(variant((_f, info) => info.set('pieces', Buffer.alloc(20))), 'pieces', /holds 1 hashes/));
});

describe('hostile v2 metainfo', () => {
  let good: BDict;
  let layerKey = '';
  before(async () => {
    good = decode(await createTorrent(path.join(dir, 'd'), { version: 'v2', pieceLength: 32768 })) as BDict;
    layerKey = [...(good.get('piece layers') as BDict).keys()][0]!;
  });
  /** The good torrent with `edit` applied to a deep copy. */
  const variant = (edit: (root: BDict, info: BDict, tree: BDict) => void): Buffer => {
    const root = decode(encode(good)) as BDict;
    const info = root.get('info') as BDict;
    edit(root, info, info.get('file tree') as BDict);
    return encode(root);
  };
  const leafOf = (tree: BDict, name: string): BDict => (tree.get(name) as BDict).get('') as BDict;

  test('the unedited torrent loads', () => assert.ok(parseTorrent(variant(() => undefined)).v2?.layersComplete));
  test('a piece layer of the wrong size', () => {
    rejects(variant((root) => (root.get('piece layers') as BDict).set(layerKey, Buffer.alloc(96, 1))), 'piece-layers', /holds 3 hashes, not 4/);
  });
  test('a piece layer that is not a multiple of 32 bytes', () => {
    rejects(variant((root) => (root.get('piece layers') as BDict).set(layerKey, Buffer.alloc(100, 1))), 'piece-layers', /not a multiple of 32/);
  });
  test('a piece layer that does not hash to the root', () => {
    rejects(variant((root) => (root.get('piece layers') as BDict).set(layerKey, Buffer.alloc(128, 1))), 'piece-layers', /does not hash/);
  });
  test('a piece layer for no file', () => {
    rejects(variant((root) => (root.get('piece layers') as BDict).set('x'.repeat(32), Buffer.alloc(128, 1))), 'piece-layers', /for no multi-piece file/);
  });
  test('piece layers that are not a dictionary', () => rejects(variant((root) => root.set('piece layers', 5)), 'piece-layers', /not a dictionary/));
  test('a missing piece layer loads, marked incomplete', () => {
    const meta = parseTorrent(variant((root) => root.delete('piece layers')));
    assert.equal(meta.v2?.layersComplete, false);
  });
  test('a pieces root of the wrong length', () => rejects(variant((_r, _i, tree) => leafOf(tree, 'a.bin').set('pieces root', Buffer.alloc(31, 1))), 'pieces-root', /not 32 bytes/));
  test('an all-zero pieces root', () => rejects(variant((_r, _i, tree) => leafOf(tree, 'a.bin').set('pieces root', Buffer.alloc(32))), 'pieces-root', /all zeros/));
  test('a non-empty file without a pieces root', () => rejects(variant((_r, _i, tree) => leafOf(tree, 'a.bin').delete('pieces root')), 'pieces-root', /missing/));
  test('a pad file inside the tree', () => rejects(variant((_r, _i, tree) => leafOf(tree, 'a.bin').set('attr', Buffer.from('p'))), 'pad-file', /no pad files/));
  test('a piece length that is not a power of two', () => rejects(variant((_r, info) => info.set('piece length', 49152)), 'piece-length', /power of two/));
  test('a negative file length', () => rejects(variant((_r, _i, tree) => leafOf(tree, 'a.bin').set('length', -1)), 'invalid-length', /invalid length/));
  test('a file too large for the piece limit', () => rejects(variant((_r, _i, tree) => leafOf(tree, 'a.bin').set('length', 2 ** 45)), 'too-many-pieces', /exceed/));
  test('a tree nested deeper than the decoder allows', () => {
    let node: Encodable = { '': { length: 5, 'pieces root': Buffer.alloc(32, 1) } };
    for (let i = 0; i < 120; i++) node = { d: node };
    rejects(variant((_r, info) => info.set('file tree', decode(encode(node), { maxDepth: 1000 }))), 'bencode', /nesting deeper/);
  });
  test('an empty directory in the tree', () => rejects(variant((_r, _i, tree) => tree.set('z', new Map() as BDict)), 'file-tree', /is empty/));
  test('a file node with other keys beside it', () => {
    rejects(variant((_r, _i, tree) => (tree.get('a.bin') as BDict).set('x', new Map([['', new Map([['length', 1]])]]) as unknown as BDict)), 'file-tree', /malformed/);
  });
  test('a hybrid whose v1 list names other files', () => {
    rejects(variant((_r, info) => {
      info.set('pieces', Buffer.alloc(4 * 20));
      info.set('files', [new Map<string, Encodable>([['length', 100_000], ['path', [Buffer.from('other')]]]) as unknown as BDict]);
    }), 'hybrid-inconsistent', /v1 lists 1 files but the v2 tree has 3/);
  });
  test('a piece layer for a file of one piece (its root is its only hash)', () => {
    rejects(variant((root, _i, tree) => {
      const b = ((tree.get('sub') as BDict).get('b.bin') as BDict).get('') as BDict;
      (root.get('piece layers') as BDict).set(Buffer.from(b.get('pieces root') as Uint8Array).toString('latin1'), Buffer.alloc(32, 3));
    }), 'piece-layers', /for no multi-piece file/);
  });
  test('an unknown meta version', () => rejects(variant((_r, info) => info.set('meta version', 3)), 'meta-version', /unsupported 'meta version' 3/));
  test("a '..' key in the tree is dropped with a note: nothing lands outside the folder", () => {
    const meta = parseTorrent(variant((_r, _i, tree) => {
      tree.set('..', tree.get('a.bin')!);
      tree.delete('a.bin');
    }));
    assert.ok(meta.info.files.every((f) => !f.path.includes('..') && !f.path.includes('.')), JSON.stringify(meta.info.files.map((f) => f.path)));
    assert.ok(meta.warnings.some((w) => /'\.\.' component dropped/.test(w)), meta.warnings.join('; '));
  });
  test('a tree 60 folders deep, inside the decoder limit, loads with its whole path', () => {
    let node: Encodable = { '': { length: 5, 'pieces root': Buffer.alloc(32, 1) } };
    for (let i = 0; i < 60; i++) node = { d: node };
    const meta = parseTorrent(variant((root, info) => {
      info.set('file tree', decode(encode(node)) as BDict);
      root.delete('piece layers');
    }));
    assert.deepEqual(meta.info.files.map((f) => f.path.length), [60, 2], 'the file, then its pad (.pad/N)');
  });
  test('random single-byte mutations throw only MetainfoError', () => {
    const bytes = variant(() => undefined);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const copy = Buffer.from(bytes);
        copy[at] = value;
        try {
          parseTorrent(copy);
        } catch (err) {
          if (!(err instanceof MetainfoError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
