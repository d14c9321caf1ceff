import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { encode, type Encodable } from '../../src/bencode/index.js';
import { MetainfoError, loadTorrentFile, parseTorrent } from '../../src/metainfo/index.js';
import { makeTorrent, rejects, sha1 } from './helpers.js';


describe('BEP 3 single and multi-file torrents', () => {
  test('single-file: name, length, pieces, and the info hash over the raw info span', () => {
    const bytes = makeTorrent({ name: 'hello.txt', length: 40_000, root: { announce: 'http://127.0.0.1:6969/announce' } });
    const meta = parseTorrent(bytes);
    assert.equal(meta.info.name, 'hello.txt');
    assert.equal(meta.info.length, 40_000);
    assert.equal(meta.info.pieceCount, 3);
    assert.equal(meta.info.multiFile, false);
    assert.deepEqual(meta.info.files, [{ path: ['hello.txt'], length: 40_000, offset: 0, pad: false, attr: '' }]);
    const start = bytes.indexOf('4:infod') + 6;
    assert.deepEqual(Buffer.from(meta.infoBytes), bytes.subarray(start, bytes.length - 1));
    assert.equal(meta.infoHashHex, sha1(bytes.subarray(start, bytes.length - 1)).toString('hex'));
    assert.deepEqual(meta.announce, [['http://127.0.0.1:6969/announce']]);
    assert.deepEqual(meta.warnings, []);
  });

  test('multi-file: paths below the name, offsets in piece space', () => {
    const meta = parseTorrent(makeTorrent({ name: 'dir', files: [{ path: ['a', 'b.txt'], length: 10 }, { path: ['c'], length: 20 }] }));
    assert.equal(meta.info.multiFile, true);
    assert.deepEqual(
      meta.info.files.map((f) => [f.path, f.length, f.offset]),
      [
        [['a', 'b.txt'], 10, 0],
        [['c'], 20, 10],
      ],
    );
    assert.equal(meta.info.length, 30);
  });

  test('unsorted info keys: the hash is over the bytes as written, with a warning', () => {
    const pieces = Buffer.alloc(20, 1);
    const info = Buffer.concat([Buffer.from('d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:'), pieces, Buffer.from('e')]);
    const bytes = Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]);
    const meta = parseTorrent(bytes);
    assert.equal(meta.infoHashHex, sha1(info).toString('hex'));
    assert.match(meta.warnings.join('\n'), /not sorted/);
  });

  test('name.utf-8 and path.utf-8 are preferred when valid', () => {
    const meta = parseTorrent(
      makeTorrent({
        name: Buffer.from([0xe9, 0x74, 0xe9]),
        files: [{ path: ['x'], length: 5 }],
        info: { 'name.utf-8': 'été', files: [{ length: 5, path: [Buffer.from([0xff])], 'path.utf-8': ['ü.txt'] }] },
      }),
    );
    assert.equal(meta.info.name, 'été');
    assert.deepEqual(meta.info.files[0]!.path, ['ü.txt']);
  });

  test('BEP 27 private flag and source', () => {
    const meta = parseTorrent(makeTorrent({ info: { private: 1, source: 'TRK' } }));
    assert.equal(meta.info.private, true);
    assert.equal(meta.info.source, 'TRK');
    assert.equal(parseTorrent(makeTorrent({ info: { private: 0 } })).info.private, false);
  });

  test('comment, created by, creation date', () => {
    const meta = parseTorrent(makeTorrent({ root: { comment: 'c', 'created by': 'me', 'creation date': 1234567 } }));
    assert.equal(meta.comment, 'c');
    assert.equal(meta.createdBy, 'me');
    assert.equal(meta.creationDate, 1234567);
  });
});

describe('BEP 12 tiers and BEP 19 web seeds', () => {
  test('announce-list replaces announce; duplicates, empties and other schemes dropped', () => {
    const meta = parseTorrent(
      makeTorrent({
        root: {
          announce: 'http://127.0.0.1/ignored',
          'announce-list': [['http://127.0.0.1/a', ' udp://127.0.0.1:1 ', ''], ['http://127.0.0.1/a'], ['ws://127.0.0.1/x', 'https://127.0.0.1/b']],
        },
      }),
    );
    assert.deepEqual(meta.announce, [['http://127.0.0.1/a', 'udp://127.0.0.1:1'], ['https://127.0.0.1/b']]);
    assert.match(meta.warnings.join('\n'), /unusable tracker/);
  });

  test('announce alone becomes one tier; whitespace trimmed', () => {
    assert.deepEqual(parseTorrent(makeTorrent({ root: { announce: '\t udp://127.0.0.1:80/announce' } })).announce, [['udp://127.0.0.1:80/announce']]);
  });

  test('url-list as a string or a list; deduped, empties and non-strings dropped', () => {
    assert.deepEqual(parseTorrent(makeTorrent({ root: { 'url-list': 'http://127.0.0.1/f' } })).urlList, ['http://127.0.0.1/f']);
    const meta = parseTorrent(makeTorrent({ root: { 'url-list': ['http://127.0.0.1/f', '', 5, ['x'], 'http://127.0.0.1/f', 'http://127.0.0.1/a b'] } }));
    assert.deepEqual(meta.urlList, ['http://127.0.0.1/f', 'http://127.0.0.1/a%20b']);
  });
});

describe('BEP 47 pad files, attributes and symlinks', () => {
  test('attr p marks padding; .pad/ and legacy names too; pads may omit path', () => {
    const bytes = encode({
      info: {
        name: 'p',
        'piece length': 16384,
        pieces: Buffer.alloc(40),
        files: [
          { length: 100, path: ['a'] },
          { length: 16284, attr: 'p' },
          { length: 10, path: ['b'], attr: 'x' },
          { length: 16374, path: ['.pad', '16374'] },
          { length: 0, path: ['_____padding_file_0'] },
        ],
      },
    });
    const files = parseTorrent(bytes).info.files;
    assert.deepEqual(
      files.map((f) => [f.pad, f.attr]),
      [
        [false, ''],
        [true, 'p'],
        [false, 'x'],
        [true, ''],
        [true, ''],
      ],
    );
    assert.deepEqual(files[1]!.path, ['.pad', '16284']);
  });

  test('symlinks: zero length in piece space, sanitized target', () => {
    const bytes = encode({
      info: {
        name: 's',
        'piece length': 16384,
        pieces: Buffer.alloc(20),
        files: [
          { length: 10, path: ['a'] },
          { attr: 'l', path: ['link'], 'symlink path': ['..', 'a'] },
        ],
      },
    });
    const f = parseTorrent(bytes).info.files[1]!;
    assert.equal(f.length, 0);
    assert.deepEqual(f.symlinkPath, ['a']);
  });

  test('a symlink whose target is not a list of strings is rejected', () => {
    const bytes = encode({
      info: { name: 's', 'piece length': 16384, pieces: Buffer.alloc(20), files: [{ length: 10, path: ['a'] }, { attr: 'l', path: ['l'], 'symlink path': [1] }] },
    });
    rejects(bytes, 'invalid-symlink', /files\[1\]\.symlink path\[0\] is not a string/);
  });
});

describe('validation: one rule per test, each a typed one-line error', () => {
  test('not bencode', () => rejects(Buffer.from('hello'), 'bencode', /^invalid torrent file: .* at byte \d+$/));
  test('root is not a dictionary', () => rejects(Buffer.from('l4:infoe'), 'not-a-dict', /root is not a dictionary/));
  test('missing info', () => rejects(encode({ announce: 'x' }), 'missing-info', /'info'/));
  test('info is not a dictionary', () => rejects(encode({ info: 'files' }), 'missing-info', /'info'/));
  test('missing piece length', () => rejects(makeTorrent({ info: { 'piece length': undefined } }), 'piece-length', /piece length/));
  test('piece length is a string', () => rejects(makeTorrent({ info: { 'piece length': '16384' } }), 'piece-length', /piece length/));
  test('piece length zero', () => rejects(makeTorrent({ info: { 'piece length': 0 } }), 'piece-length', /must be positive/));
  test('piece length negative', () => rejects(makeTorrent({ info: { 'piece length': -16384 } }), 'piece-length', /must be positive/));
  test('piece length above 2^29', () => rejects(makeTorrent({ info: { 'piece length': 2 ** 29 + 1 } }), 'piece-length', /exceeds the limit/));
  test('piece length of exactly 2^29 is accepted', () => {
    assert.equal(parseTorrent(makeTorrent({ pieceLength: 2 ** 29, length: 10 })).info.pieceLength, 2 ** 29);
  });
  test('missing pieces', () => rejects(makeTorrent({ info: { pieces: undefined } }), 'pieces', /'pieces'/));
  test('pieces is an integer', () => rejects(makeTorrent({ info: { pieces: -23 } }), 'pieces', /'pieces'/));
  test('pieces not a multiple of 20', () => rejects(makeTorrent({ info: { pieces: Buffer.alloc(24) } }), 'pieces', /not a multiple of 20/));
  test('too few piece hashes', () => rejects(makeTorrent({ length: 40_000, info: { pieces: Buffer.alloc(40) } }), 'pieces', /holds 2 hashes .* need 3/));
  test('too many piece hashes', () => rejects(makeTorrent({ length: 10, info: { pieces: Buffer.alloc(40) } }), 'pieces', /holds 2 hashes .* need 1/));
  test('more than 2^21 pieces, before anything is allocated', () => {
    rejects(makeTorrent({ length: 1, info: { length: 16384 * 2 ** 21 + 1, pieces: Buffer.alloc(20) } }), 'too-many-pieces', /exceed the limit of 2097152/);
  });
  test('missing name', () => rejects(makeTorrent({ info: { name: undefined } }), 'missing-name', /'name'/));
  test('name is an integer', () => rejects(makeTorrent({ info: { name: 1348 } }), 'missing-name', /'name'/));
  test('missing length (single-file)', () => rejects(makeTorrent({ info: { length: undefined } }), 'invalid-length', /'length'/));
  test('negative length', () => rejects(makeTorrent({ info: { length: -425 } }), 'invalid-length', /negative/));
  test('length beyond 2^53', () => rejects(makeTorrent({ info: { length: 2n ** 60n } }), 'invalid-length', /too large/));
  test('total length zero', () => rejects(makeTorrent({ info: { length: 0, pieces: Buffer.alloc(0) } }), 'invalid-length', /total length 0/));
  test('files is empty', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [] } }), 'no-files', /'files' is empty/));
  test('files is not a list', () => rejects(makeTorrent({ info: { files: 'x' } }), 'invalid-files', /not a list/));
  test('a file entry is not a dictionary', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [5] } }), 'invalid-file', /files\[0\] is not a dictionary/));
  test('file length is a list', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [{ path: ['a'], length: [45] }] } }), 'invalid-length', /files\[0\]\.length/));
  test('negative file length', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [{ path: ['a'], length: -45 }] } }), 'invalid-length', /files\[0\]\.length is negative/));
  test('file without path', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [{ length: 1 }] } }), 'missing-path', /files\[0\] has no 'path'/));
  test('path component is an integer', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [{ length: 1, path: [1242, 'a'] }] } }), 'invalid-path', /files\[0\]\.path\[0\] is not a string/));
  test('path is an empty list', () => {
    rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [{ length: 1, path: [] }] } }), 'invalid-path', /files\[0\]\.path is an empty list/);
    const utf8Empty = { length: 1, path: ['a'], 'path.utf-8': [] };
    assert.deepEqual(parseTorrent(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [utf8Empty] } })).info.files[0]?.path, ['a'], 'an empty path.utf-8 falls back to path');
  });
  test('path is not a list', () => rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }], info: { files: [{ length: 1, path: 'a' }] } }), 'invalid-path', /not a list/));
  test('NUL in a path', () => rejects(makeTorrent({ files: [{ path: ['a\u0000b'], length: 1 }] }), 'path-nul', /files\[0\]\.path\[0\]: NUL/));
  test('drive letter in a path', () => rejects(makeTorrent({ files: [{ path: ['C:', 'x'], length: 1 }] }), 'path-drive', /drive letter/));
  test('a file used as a directory', () => {
    rejects(makeTorrent({ files: [{ path: ['a'], length: 1 }, { path: ['a', 'b'], length: 1 }] }), 'path-conflict', /directory 'a' is also a file/);
  });
  test('nesting deeper than the decoder limit', () => {
    rejects(Buffer.from(`d4:info${'l'.repeat(100_000)}${'e'.repeat(100_000)}e`), 'bencode', /nesting deeper/);
  });
  test('duplicate keys', () => rejects(Buffer.from('d4:infod1:ai1e1:ai2eee'), 'bencode', /duplicate/));
  test('files larger than 10 MB are refused', () => rejects(Buffer.alloc(10 * 1024 * 1024 + 1), 'too-large', /limit/));
  test('v2-only torrent with an empty file tree', () => {
    rejects(makeTorrent({ info: { 'meta version': 2, pieces: undefined, 'file tree': {} } }), 'no-files', /'file tree' holds no files/);
  });
  test('unknown meta version', () => rejects(makeTorrent({ info: { 'meta version': 3 } }), 'meta-version', /unsupported 'meta version' 3/));
});

describe('BEP 52 hybrids: both halves must agree', () => {
  const root = Buffer.alloc(32, 9);
  const hybrid = (tree: Encodable, files?: Encodable): Buffer =>
    makeTorrent({
      name: 'h',
      files: [{ path: ['a'], length: 16384 }, { path: ['b'], length: 5 }],
      info: { 'meta version': 2, 'file tree': tree, ...(files === undefined ? {} : { files }) },
    });

  test('matching halves parse with hybrid: true', () => {
    const meta = parseTorrent(hybrid({ a: { '': { length: 16384, 'pieces root': root } }, b: { '': { length: 5, 'pieces root': root } } }));
    assert.equal(meta.hybrid, true);
    assert.equal(meta.info.files.length, 2);
  });

  test('mismatched lengths are rejected', () => {
    rejects(hybrid({ a: { '': { length: 16384, 'pieces root': root } }, b: { '': { length: 6, 'pieces root': root } } }), 'hybrid-inconsistent', /does not match/);
  });

  test('a v1 file off a piece boundary is rejected', () => {
    const tree = { a: { '': { length: 5, 'pieces root': root } }, b: { '': { length: 16384, 'pieces root': root } } };
    rejects(hybrid(tree, [{ length: 5, path: ['a'] }, { length: 16384, path: ['b'] }]), 'hybrid-inconsistent', /piece boundary/);
  });

  test('a leaf without the empty key is rejected', () => {
    rejects(hybrid({ a: { length: 16384 } }), 'file-tree', /'file tree' entry 'a\/length' is not a dictionary/);
  });
});

describe('loadTorrentFile', () => {
  test('reads a file; missing files and directories are typed errors', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tessera-meta-'));
    try {
      const file = path.join(dir, 'a.torrent');
      await writeFile(file, makeTorrent({}));
      assert.equal((await loadTorrentFile(file)).info.name, 'test');
      await assert.rejects(loadTorrentFile(path.join(dir, 'nope.torrent')), (e: unknown) => e instanceof MetainfoError && /ENOENT/.test(e.message));
      await assert.rejects(loadTorrentFile(dir), (e: unknown) => e instanceof MetainfoError && /not a regular file/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses a file over 10 MB from its size, before reading it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tessera-meta-'));
    try {
      const file = path.join(dir, 'big.torrent');
      await writeFile(file, '');
      await truncate(file, 11 * 1024 * 1024);
      await assert.rejects(loadTorrentFile(file), (e: unknown) => e instanceof MetainfoError && e.code === 'too-large');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
