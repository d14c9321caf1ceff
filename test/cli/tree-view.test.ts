/**
 * The tree view of `tessera info` (tree-view.ts) against the straightforward rendering: one
 * string per line, folders in maps by name, every name through `safeText` and every size
 * through `humanBytes`. Random torrents mix names held verbatim in the .torrent with names that
 * sanitizing or renaming changed, pad files, symlinks and sizes of every unit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encode } from '../../src/bencode/index.js';
import { humanBytes, safeText } from '../../src/cli/context.js';
import { TextSink, writeTree } from '../../src/cli/tree-view.js';
import { FileTable, parseTorrent } from '../../src/metainfo/index.js';

interface RefFolder {
  readonly name: string;
  readonly folders: Map<string, RefFolder>;
  readonly children: (RefFolder | number)[];
}

function reference(table: FileTable): string {
  const root: RefFolder = { name: '', folders: new Map(), children: [] };
  for (let i = 0; i < table.count; i++) {
    const path = table.path(i);
    let node = root;
    for (const name of path.slice(0, -1)) {
      let next = node.folders.get(name);
      if (next === undefined) {
        next = { name, folders: new Map(), children: [] };
        node.folders.set(name, next);
        node.children.push(next);
      }
      node = next;
    }
    node.children.push(i);
  }
  const dataIndex: number[] = [];
  for (let i = 0, k = 0; i < table.count; i++) dataIndex.push(table.isPad(i) ? -1 : k++);
  const lines: string[] = [];
  const walk = (node: RefFolder, prefix: string): void => {
    node.children.forEach((child, n) => {
      const last = n === node.children.length - 1;
      const head = `${prefix}${last ? '└─ ' : '├─ '}`;
      if (typeof child === 'number') {
        const link = table.symlinkPath(child);
        lines.push(
          `${head}${dataIndex[child]! < 0 ? '' : `[${dataIndex[child]}] `}${safeText(table.name(child))}  ${humanBytes(table.length(child))}` +
            `${table.isPad(child) ? ' [padding]' : ''}${link === undefined ? '' : ` -> ${safeText(link.join('/'))}`}\n`,
        );
      } else {
        lines.push(`${head}${safeText(child.name)}/\n`);
        walk(child, prefix + (last ? '   ' : '│  '));
      }
    });
  };
  walk(root, '');
  return lines.join('');
}

function rendered(table: FileTable): string {
  const sink = new TextSink(16);
  writeTree(table, sink);
  return sink.bytes().toString('utf8');
}

const NAMES = ['a', 'b', 'dir', 'x.txt', 'x.txt', '.pad', '_____padding_file_1', '..', '', 'CON', 'a/b', 'x ', 'é', '\u202eevil', '\u0007bell', 'A'.repeat(300), '12:x'];
const name = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) });
const length = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.integer({ min: 0, max: 2 ** 32 }),
  fc.constantFrom(1023, 1024, 10_234, 10_235, 102_348, 1_048_063, 1_048_064, 2 ** 36 - 1, 2 ** 36),
);
const file = fc.record(
  { length, path: fc.array(name, { minLength: 1, maxLength: 3 }), attr: fc.constantFrom('', '', '', 'p', 'x', 'l') },
  { requiredKeys: ['length', 'path', 'attr'] },
);

describe('tessera info: the tree of files', () => {
  test('random torrents: the same text as the straightforward rendering', () => {
    let shown = 0;
    fc.assert(
      fc.property(fc.array(file, { minLength: 1, maxLength: 12 }), (files) => {
        const list = files.map((f) => ({
          length: f.length,
          path: f.path,
          ...(f.attr === '' ? {} : { attr: f.attr }),
          ...(f.attr === 'l' ? { 'symlink path': ['dir', 'x.txt'] } : {}),
        }));
        const total = files.reduce((n, f) => n + (f.attr === 'l' ? 0 : f.length), 0);
        fc.pre(total > 0 && total <= 2 ** 40);
        const pieces = Math.ceil(total / 2 ** 29);
        let table: FileTable;
        try {
          const torrent = encode({ info: { files: list, name: 't', 'piece length': 2 ** 29, pieces: Buffer.alloc(pieces * 20) } });
          table = parseTorrent(torrent).info.fileTable;
        } catch {
          return;
        }
        assert.equal(rendered(table), reference(table));
        shown++;
      }),
      { numRuns: 1500 },
    );
    assert.ok(shown > 500, `${shown} torrents loaded`);
  });

  test('tables made from entries, and sizes of every unit', () => {
    const sizes = [0, 1, 1023, 1024, 1535, 1536, 10_239, 10_240, 1_048_575, 1_048_576, 2 ** 40 - 1, 2 ** 40, 2 ** 40 * 1023.5, 2 ** 50 - 1, 2 ** 50, 2 ** 53 - 1, 1.5, 2e20];
    const entries = sizes.map((n, i) => ({ path: [`d${i % 3}`, `f${i}`], length: n, offset: 0, pad: i % 5 === 4, attr: '' }));
    const table = FileTable.fromEntries(entries);
    assert.equal(rendered(table), reference(table));
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(2 ** (Math.random() * 53));
      const one = FileTable.fromEntries([{ path: ['f'], length: n, offset: 0, pad: false, attr: '' }]);
      assert.equal(rendered(one), `└─ [0] f  ${humanBytes(n)}\n`);
    }
  });
});
