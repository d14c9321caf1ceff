/**
 * One test per row of the shared corpus INDEX.tsv (real hostile and edge-case torrents from
 * libtorrent's and Transmission's test suites). Each row's `expect` must hold, v2 rows included.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MetainfoError, parseTorrent, type Metainfo } from '../../src/metainfo/index.js';
import { CORPUS, runCli } from './helpers.js';

interface Row {
  readonly file: string;
  readonly expect: string;
  readonly hash: string | undefined;
  readonly what: string;
}

const rows: Row[] = readFileSync(path.join(CORPUS, 'INDEX.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [file, , expect, v1, what, must] = line.split('\t');
    // Some rows give the hash in prose ("v1 hash efa7...") rather than in the v1_infohash column.
    const hash = /^[0-9a-f]{40}$/.test(v1 ?? '') ? v1 : /v1 hash ([0-9a-f]{40})/.exec(`${what} ${must}`)?.[1];
    return { file: file!, expect: expect!, hash, what: what ?? '' };
  });

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function load(row: Row): Metainfo | MetainfoError {
  try {
    return parseTorrent(readFileSync(path.join(CORPUS, row.file)));
  } catch (err) {
    if (err instanceof MetainfoError) return err;
    throw err;
  }
}

/** Every path, joined under a folder, stays inside it and carries no control character. */
function assertContained(meta: Metainfo): void {
  const root = path.join(tmpdir(), 'tessera-out');
  const top = path.resolve(root, meta.info.name);
  assert.ok(top.startsWith(root + path.sep), `name ${meta.info.name}`);
  assert.ok(!CONTROL.test(meta.info.name));
  for (const f of meta.info.files) {
    for (const parts of [f.path, f.symlinkPath ?? []]) {
      const full = path.resolve(top, ...parts);
      assert.ok(full.startsWith(top + path.sep) || parts.length === 0, `${JSON.stringify(parts)} escapes`);
      for (const c of parts) {
        assert.ok(!CONTROL.test(c) && c !== '' && c !== '.' && c !== '..' && !c.includes('/') && !c.includes('\\'), JSON.stringify(c));
        assert.ok(Buffer.byteLength(c) <= 255);
      }
    }
  }
  const written = meta.info.files.filter((f) => !f.pad).map((f) => f.path.join('/'));
  assert.equal(new Set(written).size, written.length, 'no two files share a path');
}

async function assertCliRejects(row: Row): Promise<void> {
  const r = await runCli(['info', path.join(CORPUS, row.file)]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tessera: [^\n]+\n$/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('shared corpus INDEX.tsv', () => {
  test('the index has every file of the corpus folders', () => {
    assert.ok(rows.length >= 120, `${rows.length} rows`);
  });

  for (const row of rows) {
    test(`${row.expect} ${row.file}: ${row.what.slice(0, 60)}`, async () => {
      const result = load(row);
      switch (row.expect) {
        case 'REJECT':
          assert.ok(result instanceof MetainfoError, 'must be rejected');
          assert.ok(!result.message.includes('\n'));
          await assertCliRejects(row);
          break;
        case 'ACCEPT':
          assert.ok(!(result instanceof MetainfoError), `must load: ${result instanceof MetainfoError ? result.message : ''}`);
          assert.ok(result.info.length > 0);
          if (row.hash !== undefined) assert.equal(result.infoHashHex, row.hash);
          break;
        case 'SANITIZE':
          assert.ok(!(result instanceof MetainfoError), `must load: ${result instanceof MetainfoError ? result.message : ''}`);
          assertContained(result);
          break;
        case 'REJECT_OR_SANITIZE':
          if (!(result instanceof MetainfoError)) assertContained(result);
          break;
        case 'REJECT_OR_ACCEPT':
          if (!(result instanceof MetainfoError) && row.hash !== undefined) assert.equal(result.infoHashHex, row.hash);
          break;
        default:
          assert.fail(`unknown expectation ${row.expect}`);
      }
    });
  }

  test('terminal output of every loadable sanitized torrent is free of control characters', async () => {
    for (const row of rows.filter((r) => r.expect === 'SANITIZE')) {
      const r = await runCli(['info', path.join(CORPUS, row.file)]);
      assert.ok(r.code === 0 || r.code === 3, row.file);
      assert.ok(!CONTROL.test(r.stdout.replace(/\n/g, '')), row.file);
      assert.ok(!CONTROL.test(r.stderr.replace(/\n/g, '')), row.file);
    }
  });
});
