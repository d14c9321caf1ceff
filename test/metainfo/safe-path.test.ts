import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MetainfoError, PathRegistry, sanitizeComponent, sanitizePath } from '../../src/metainfo/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function clean(s: string | Buffer): string | undefined {
  return sanitizeComponent(typeof s === 'string' ? b(s) : s, 'x', []);
}

/** Joined under a root with both POSIX and Windows rules, the path must stay inside it. */
function staysInside(components: readonly string[]): boolean {
  const posix = path.posix.resolve('/out', ...components);
  const win = path.win32.resolve('C:\\out', ...components);
  return posix.startsWith('/out/') && win.startsWith('C:\\out\\');
}

describe('sanitizeComponent: rewrite, and say so', () => {
  const cases: [string | Buffer, string | undefined][] = [
    ['plain.txt', 'plain.txt'],
    ['.', undefined],
    ['..', undefined],
    ['', undefined],
    ['/foobar', '_foobar'],
    ['\\', '_'],
    ['foo/../../../bar', 'foo_.._.._.._bar'],
    ['a\u0001b\u007fc\u0085', 'a_b_c_'],
    ['evil\u202etxt.exe', 'evil_txt.exe'],
    ['foobar ', 'foobar'],
    ['name...', 'name'],
    ['. .', '_'],
    ['CON', '_CON'],
    ['com1.txt', '_com1.txt'],
    ['lpt9', '_lpt9'],
    ['console', 'console'],
    [Buffer.from([0x66, 0x80, 0x67]), 'f\ufffdg'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input.toString())} -> ${JSON.stringify(expected)}`, () => {
      const notes: string[] = [];
      assert.equal(sanitizeComponent(typeof input === 'string' ? b(input) : input, 'x', notes), expected);
      const changed = typeof input !== 'string' || expected !== input;
      assert.equal(notes.length > 0, changed, 'a change is reported exactly when one happens');
    });
  }

  test('components over 255 bytes are cut on a UTF-8 boundary, keeping the extension', () => {
    const long = `${'é'.repeat(200)}.mkv`;
    const out = clean(long)!;
    assert.ok(Buffer.byteLength(out) <= 255);
    assert.ok(out.endsWith('.mkv'));
    assert.ok(!out.includes('\ufffd'));
  });

  test('NUL and drive letters are rejected with the entry named', () => {
    assert.throws(() => clean('a\u0000b'), (e: unknown) => e instanceof MetainfoError && e.code === 'path-nul' && e.message.startsWith('x:'));
    assert.throws(() => clean('C:'), (e: unknown) => e instanceof MetainfoError && e.code === 'path-drive');
    assert.throws(() => clean('d:evil'), (e: unknown) => e instanceof MetainfoError && e.code === 'path-drive');
  });
});

describe('sanitizePath', () => {
  test('drops . and .. and empties; never returns an empty path', () => {
    assert.deepEqual(sanitizePath([b('..'), b('..'), b('bar')], 'p', []), ['bar']);
    assert.deepEqual(sanitizePath([b(''), b('')], 'p', []), ['_']);
    assert.deepEqual(sanitizePath([], 'p', []), ['_']);
  });

  test('more than 256 components is rejected', () => {
    assert.throws(() => sanitizePath(Array.from({ length: 257 }, () => b('a')), 'p', []), (e: unknown) => e instanceof MetainfoError && e.code === 'path-depth');
  });

  test('hostile paths stay inside the output folder under POSIX and Windows rules', () => {
    const hostile = [
      ['..', '..', 'etc', 'passwd'],
      ['/etc/passwd'],
      ['\\\\server\\share\\x'],
      ['foo\\..\\..\\bar'],
      ['.', '.'],
      ['...', '..'],
      [' ..', '.. '],
      ['\u202e..'],
    ];
    for (const p of hostile) {
      const out = sanitizePath(p.map(b), 'p', []);
      assert.ok(staysInside(out), `${JSON.stringify(p)} -> ${JSON.stringify(out)}`);
    }
  });
});

describe('PathRegistry: duplicates renamed in linear time, within a budget', () => {
  test('x.1.ext, x.2.ext, and no clash with an existing x.1.ext', () => {
    const r = new PathRegistry();
    const notes: string[] = [];
    assert.deepEqual(r.claim(['d', 'x.txt'], 'f0', notes), ['d', 'x.txt']);
    assert.deepEqual(r.claim(['d', 'x.1.txt'], 'f1', notes), ['d', 'x.1.txt']);
    assert.deepEqual(r.claim(['d', 'x.txt'], 'f2', notes), ['d', 'x.2.txt']);
    assert.deepEqual(r.claim(['d', 'x.txt'], 'f3', notes), ['d', 'x.3.txt']);
    assert.deepEqual(r.claim(['noext'], 'f4', notes), ['noext']);
    assert.deepEqual(r.claim(['noext'], 'f5', notes), ['noext.1']);
    assert.equal(notes.length, 3);
  });

  test('a file named like an existing directory is renamed', () => {
    const r = new PathRegistry();
    r.claim(['a', 'b'], 'f0', []);
    assert.deepEqual(r.claim(['a'], 'f1', []), ['a.1']);
  });

  test('past the budget of 500 rename attempts: rejected, quickly', () => {
    const r = new PathRegistry();
    const started = Date.now();
    assert.throws(() => {
      for (let i = 0; i < 100_000; i++) r.claim(['same'], `f${i}`, []);
    }, (e: unknown) => e instanceof MetainfoError && e.code === 'too-many-duplicates');
    assert.ok(Date.now() - started < 1000);
  });

  test('many distinct names cost nothing from the budget', () => {
    const r = new PathRegistry();
    for (let i = 0; i < 10_000; i++) r.claim([`f${i}`], 'f', []);
    assert.deepEqual(r.claim(['f0'], 'f', []), ['f0.1']);
  });
});
