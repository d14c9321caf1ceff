/**
 * The in-place `files` reader (file-list.ts, FileTable, PathRegistry.claimSpans) against the
 * straightforward reading over decoded values (reference-files.ts): on random lists, valid and
 * not, with hostile names, duplicates, pad files, symlinks, `path.utf-8` and non-canonical
 * bencode, both give the same entries, warnings, raw paths and errors, directly and through
 * parseTorrent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BencodeError, decode, decodeDetailed, type DecodeOptions } from '../../src/bencode/index.js';
import { MetainfoError, parseTorrent } from '../../src/metainfo/index.js';
import { readFileList, takePlainList } from '../../src/metainfo/file-list.js';
import { FileTable } from '../../src/metainfo/file-table.js';
import { PathRegistry } from '../../src/metainfo/path-registry.js';
import { referenceFiles, ReferenceRegistry } from './reference-files.js';

/** Bencode written by hand, so keys can come unsorted and lengths with leading zeros. */
type Raw = { int: string } | { str: Buffer; zero: boolean } | { list: Raw[] } | { dict: [string, Raw][] };

function write(r: Raw): Buffer {
  if ('int' in r) return Buffer.from(`i${r.int}e`);
  if ('str' in r) return Buffer.concat([Buffer.from(`${r.zero ? '0' : ''}${r.str.length}:`), r.str]);
  if ('list' in r) return Buffer.concat([Buffer.from('l'), ...r.list.map(write), Buffer.from('e')]);
  return Buffer.concat([Buffer.from('d'), ...r.dict.flatMap(([k, v]) => [Buffer.from(`${k.length}:${k}`), write(v)]), Buffer.from('e')]);
}

const NAMES = [
  'a', 'b', 'x.txt', 'folder', 'folder', '.pad', '_____padding_file_0', '.', '..', '', 'CON', 'con.txt', 'com1', 'Lpt9.log',
  'aux', 'nul.tar.gz', 'comx', 'a/b', 'a\\b', 'C:x', 'x.', 'x ', 'é', '\u202eevil', 'a\u0000b', 'A'.repeat(300), '12:x', 'd3',
].map((s) => Buffer.from(s, 'utf8'));
const component: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 4 }).map((u) => Buffer.from(u)) },
);
const str = (s: fc.Arbitrary<Buffer>): fc.Arbitrary<Raw> => fc.tuple(s, fc.nat(9)).map(([b, z]) => ({ str: b, zero: z === 0 }));
const pathList: fc.Arbitrary<Raw> = fc.oneof(
  { weight: 8, arbitrary: fc.array(str(component), { minLength: 1, maxLength: 4 }).map((list) => ({ list })) },
  { weight: 1, arbitrary: fc.constant<Raw>({ list: [] }) },
  { weight: 1, arbitrary: fc.constant<Raw>({ int: '3' }) },
  { weight: 1, arbitrary: fc.constant<Raw>({ list: [{ str: Buffer.from('a'), zero: false }, { int: '1' }] }) },
  { weight: 1, arbitrary: fc.constant<Raw>({ list: Array.from({ length: 257 }, () => ({ str: Buffer.from('d'), zero: false })) }) },
);
const lengthValue: fc.Arbitrary<Raw> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => ({ int: String(n) })) },
  { weight: 1, arbitrary: fc.constantFrom('-3', '-0', '012', '9007199254740993', '4503599627370496', '1000000000000000').map((int) => ({ int })) },
  { weight: 1, arbitrary: str(fc.constant(Buffer.from('7'))) },
);
const attrValue: fc.Arbitrary<Raw> = fc.oneof(
  str(fc.constantFrom('p', 'l', 'x', 'h', 'xh', 'lx', 'P7?', '').map((s) => Buffer.from(s))),
  fc.constant<Raw>({ int: '1' }),
);
const utf8List: fc.Arbitrary<Raw> = fc.oneof(
  fc.array(str(component), { minLength: 0, maxLength: 3 }).map((list) => ({ list })),
  fc.constant<Raw>({ list: [{ str: Buffer.from([0xff]), zero: false }] }),
  fc.constant<Raw>({ int: '5' }),
);
const wildDict: fc.Arbitrary<Raw> = fc
  .record(
    {
      length: lengthValue,
      path: pathList,
      'path.utf-8': utf8List,
      attr: attrValue,
      'symlink path': pathList,
      md5sum: str(fc.constant(Buffer.from('00'))),
    },
    { requiredKeys: [] },
  )
  .chain((rec) => fc.shuffledSubarray(Object.entries(rec), { minLength: Object.keys(rec).length }).map((dict) => ({ dict: dict as [string, Raw][] })));
/** Mostly an ordinary file: a length and a path of plain names, keys in any order. */
const plainDict: fc.Arbitrary<Raw> = fc
  .tuple(
    fc.integer({ min: 0, max: 70_000 }),
    fc.array(str(fc.constantFrom('a', 'b', 'dir', 'x.txt', 'x.1.txt').map((s) => Buffer.from(s))), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([n, list, swap]): Raw => {
    const entries: [string, Raw][] = [['length', { int: String(n) }], ['path', { list }]];
    return { dict: swap ? entries.reverse() : entries };
  });
const entry: fc.Arbitrary<Raw> = fc.oneof(
  { weight: 8, arbitrary: plainDict },
  { weight: 6, arbitrary: wildDict },
  { weight: 1, arbitrary: fc.constant<Raw>({ int: '0' }) },
);
const files: fc.Arbitrary<Raw> = fc.oneof(
  { weight: 10, arbitrary: fc.array(entry, { minLength: 0, maxLength: 6 }).map((list) => ({ list })) },
  { weight: 1, arbitrary: fc.constant<Raw>({ dict: [] }) },
);

type Outcome<T> = { ok: true; value: T; notes: string[] } | { ok: false; code: string; message: string };

function outcome<T>(fn: (notes: string[]) => T): Outcome<T> {
  const notes: string[] = [];
  try {
    return { ok: true, value: fn(notes), notes };
  } catch (err) {
    if (!(err instanceof MetainfoError)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

const hex = (paths: readonly (readonly Uint8Array[])[]): string[][] => paths.map((p) => p.map((c) => Buffer.from(c).toString('hex')));

describe('readFileList agrees with the reading over decoded values', () => {
  test('random file lists: same entries, warnings, raw paths and errors', () => {
    let loaded = 0;
    let refused = 0;
    fc.assert(
      fc.property(files, (raw) => {
        const bytes = write(raw);
        const ref = outcome((notes) => referenceFiles(decode(bytes, { strict: false, maxDepth: 100 }), notes));
        const got = outcome((notes) => readFileList(bytes, 0, bytes.length, notes));
        if (!ref.ok) {
          assert.deepEqual(got, ref);
          refused++;
          return;
        }
        if (!got.ok) assert.fail(`refused: ${got.code}: ${got.message}`);
        assert.deepEqual(got.notes, ref.notes);
        assert.equal(got.value.total, ref.value.total);
        assert.deepEqual(got.value.table.toArray(), ref.value.entries);
        assert.deepEqual([...got.value.table], ref.value.entries);
        ref.value.entries.forEach((e, i) => {
          assert.deepEqual(got.value.table.path(i), e.path);
          assert.equal(got.value.table.name(i), e.path.at(-1));
        });
        const gotRaw = got.value.raw();
        assert.deepEqual(hex(gotRaw.map((f) => f.path)), hex(ref.value.raw.map((f) => f.path)));
        assert.deepEqual(gotRaw.map((f) => [f.length, f.pad]), ref.value.raw.map((f) => [f.length, f.pad]));
        loaded++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(loaded > 300 && refused > 300, `${loaded} loaded, ${refused} refused`);
  });

  test('through parseTorrent: the same files and warnings as the reference', () => {
    fc.assert(
      fc.property(files, (raw) => {
        const list = write(raw);
        const ref = outcome((notes) => referenceFiles(decode(list, { strict: false, maxDepth: 100 }), notes));
        fc.pre(ref.ok && ref.value.total > 0 && ref.value.total < 2 ** 30);
        if (!ref.ok) return;
        const pieces = Math.ceil(ref.value.total / 16384) * 20;
        const torrent = Buffer.concat([
          Buffer.from('d4:infod5:files'),
          list,
          Buffer.from(`4:name4:test12:piece lengthi16384e6:pieces${pieces}:`),
          Buffer.alloc(pieces, 7),
          Buffer.from('ee'),
        ]);
        const meta = parseTorrent(torrent);
        assert.deepEqual(meta.info.files, ref.value.entries);
        assert.equal(meta.info.length, ref.value.total);
        assert.ok(meta.info.multiFile);
        for (const note of ref.notes.slice(0, 40)) assert.ok(meta.warnings.includes(note), note);
      }),
      { numRuns: 500 },
    );
  });
});

/** A decode of `bytes` that skips `files`, as its outcome: the error's code and offset, or what the caller sees. */
function decoded(bytes: Buffer, options: DecodeOptions): unknown {
  try {
    const r = decodeDetailed(bytes, { ...options, skip: (key) => key === 'files' });
    return { end: r.end, warnings: r.warnings, skipped: r.skipped.map((v) => [v.key, v.start, v.end, v.count]) };
  } catch (err) {
    if (!(err instanceof BencodeError)) throw err;
    return { code: err.code, offset: err.offset };
  }
}

/** What readFileList makes of `bytes[start, end)`: entries, notes, total and raw paths, or the error. */
function readAll(bytes: Buffer, start: number, end: number, count: number, plain?: ReturnType<typeof takePlainList>): unknown {
  return outcome((notes) => {
    const { table, total, raw } = readFileList(bytes, start, end, notes, count, plain);
    return { entries: table.toArray(), total, raw: hex(raw().map((f) => f.path)), index: table.pathIndex };
  });
}

describe('takePlainList: what it takes, the decoder would accept without a word, and it reads the same', () => {
  test('random lists, budgets and damage: the same outcome with and without it, and the same files', () => {
    let taken = 0;
    fc.assert(
      fc.property(
        files,
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 5, max: 300 }),
        fc.constantFrom('none', 'none', 'none', 'replace', 'remove'),
        fc.nat(),
        fc.constantFrom(...'delie0123456789:x-'),
        (raw, maxDepth, maxTokens, how, at, ch) => {
          let bytes = Buffer.concat([Buffer.from('d5:files'), write(raw), Buffer.from('1:zi1ee')]);
          const k = 8 + (at % (bytes.length - 8));
          if (how === 'replace') bytes = Buffer.concat([bytes.subarray(0, k), Buffer.from(ch), bytes.subarray(k + 1)]);
          if (how === 'remove') bytes = Buffer.concat([bytes.subarray(0, k), bytes.subarray(k + 1)]);
          const options: DecodeOptions = { strict: false, maxDepth, maxTokens };
          const plain = takePlainList(bytes, 8);
          assert.deepEqual(decoded(bytes, { ...options, take: takePlainList }), decoded(bytes, options));
          if (plain === undefined) return;
          // Taken: canonical bencode (the strict decoder accepts it) of as many entries.
          const list = decode(bytes.subarray(8, plain.end), { maxDepth: 1000, maxTokens: 1e9 });
          assert.ok(Array.isArray(list));
          assert.equal(list.length, plain.count);
          assert.deepEqual(readAll(bytes, 8, plain.end, plain.count, plain), readAll(bytes, 8, plain.end, plain.count));
          taken++;
        },
      ),
      { numRuns: 3000 },
    );
    assert.ok(taken > 300, `${taken} lists taken`);
  });

  test('a long plain list (its arrays grow) reads as the entry-by-entry reader reads it', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => `d6:lengthi${i * 7}e5:mtimei1e4:pathl${i % 3 === 0 ? '3:dir' : ''}${String(i).length + 2}:f.${i}ee`);
    const bytes = Buffer.from(`l${entries.join('')}e`);
    const plain = takePlainList(bytes, 0);
    assert.ok(plain !== undefined);
    assert.equal(plain.count, 5000);
    assert.equal(plain.end, bytes.length);
    assert.deepEqual(readAll(bytes, 0, bytes.length, 5000, plain), readAll(bytes, 0, bytes.length, 5000));
  });

  test('a list whose entries get denser past its first thousand (the arrays outgrow their estimate) reads the same', () => {
    const long = 'x'.repeat(200);
    const head = Array.from({ length: 1100 }, (_, i) => `d6:lengthi${i}e4:pathl3:dir${long.length}:${long}${String(i).length}:${i}ee`);
    const tail = Array.from({ length: 9000 }, (_, i) => `d6:lengthi1e4:pathl${String(i).length}:${i}ee`);
    const bytes = Buffer.from(`l${head.join('')}${tail.join('')}e`);
    const plain = takePlainList(bytes, 0);
    assert.ok(plain !== undefined);
    assert.equal(plain.count, 10_100);
    assert.equal(plain.spanStart[plain.count], 2 * (3 * 1100 + 9000));
    assert.deepEqual(readAll(bytes, 0, bytes.length, 10_100, plain), readAll(bytes, 0, bytes.length, 10_100));
  });
});

describe('PathRegistry.claimSpans agrees with claim and with the /-joined registry', () => {
  const names = fc.constantFrom('a', 'b', 'c', 'a.txt', 'a.1.txt', 'd', 'x');
  test('random path sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(names, { minLength: 1, maxLength: 3 }), fc.boolean()), { maxLength: 30 }), (paths) => {
        const spans = new PathRegistry();
        const strings = new PathRegistry();
        const reference = new ReferenceRegistry();
        const notes: string[][] = [[], [], []];
        for (const [path, zero] of paths) {
          const listBytes = Buffer.concat(path.map((c, i) => Buffer.from(`${zero && i === 0 ? '0' : ''}${c.length}:${c}`)));
          const at: number[] = [];
          let p = 0;
          for (const c of path) {
            p = listBytes.indexOf(':', p) + 1;
            at.push(p, p + c.length);
            p += c.length;
          }
          const run = <T>(fn: () => T): T | string => {
            try {
              return fn();
            } catch (err) {
              return (err as Error).message;
            }
          };
          const expected = run(() => reference.claim(path, 'w', notes[0]!));
          const viaStrings = run(() => strings.claim(path, 'w', notes[1]!));
          const renamed = run(() => spans.claimSpans(listBytes, 0, at, () => 'w', notes[2]!));
          assert.deepEqual(viaStrings, expected);
          if (typeof expected === 'string') assert.equal(renamed, expected);
          else assert.equal(renamed ?? path.at(-1), expected.at(-1));
          if (typeof expected === 'string') return;
        }
        assert.deepEqual(notes[1], notes[0]);
        assert.deepEqual(notes[2], notes[0]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('FileTable', () => {
  test('fromEntries keeps the entries, and reads them back by index', () => {
    const entries = [
      { path: ['d', 'a'], length: 5, offset: 0, pad: false, attr: 'x' },
      { path: ['.pad', '11'], length: 11, offset: 5, pad: true, attr: 'p' },
      { path: ['d', 'l'], length: 0, offset: 16, pad: false, attr: 'l', symlinkPath: ['d', 'a'] },
    ];
    const t = FileTable.fromEntries(entries);
    assert.equal(t.count, 3);
    assert.equal(t.toArray(), entries);
    assert.deepEqual([t.length(1), t.offset(1), t.isPad(1), t.attr(1), t.name(1)], [11, 5, true, 'p', '11']);
    assert.deepEqual(t.symlinkPath(2), ['d', 'a']);
    assert.equal(t.symlinkPath(0), undefined);
    assert.deepEqual([...t], entries);
  });

  test('paths read from the torrent bytes share their folder names', () => {
    const list = Buffer.from('ld6:lengthi1e4:pathl3:dir1:aeed6:lengthi2e4:pathl3:dir1:beee');
    const { table } = readFileList(list, 0, list.length, []);
    assert.deepEqual([table.path(0), table.path(1)], [['dir', 'a'], ['dir', 'b']]);
    assert.deepEqual([table.offset(1), table.length(1)], [1, 2]);
  });
});
