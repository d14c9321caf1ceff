/**
 * `tessera create`: deterministic output, BEP 12 tiers from --tracker, options, usage errors,
 * and transmission-show reading what Tessera wrote.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { runCli, runTool } from '../metainfo/helpers.js';

let dir = '';
let folder = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-cli-create-'));
  folder = path.join(dir, 'folder');
  await mkdir(path.join(folder, 'a', 'b', 'c'), { recursive: true });
  await mkdir(path.join(folder, 'empty-dir'));
  await writeFile(path.join(folder, 'a', 'b', 'c', 'deep.bin'), Buffer.alloc(50_000, 4));
  await writeFile(path.join(folder, 'a', 'empty1'), '');
  await writeFile(path.join(folder, 'empty2'), '');
  await writeFile(path.join(folder, 'top.txt'), 'top level\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tessera create', () => {
  test('twice on the same input gives identical bytes', async () => {
    const one = path.join(dir, 'one.torrent');
    const two = path.join(dir, 'two.torrent');
    const args = ['--tracker', 'http://127.0.0.1:1/announce', '--comment', 'same'];
    const r1 = await runCli(['create', folder, '-o', one, ...args]);
    const r2 = await runCli(['create', folder, '-o', two, ...args]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r1.stdout, /info hash [0-9a-f]{40}/);
    assert.deepEqual(await readFile(one), await readFile(two));
  });

  test('a folder with empty files and nested dirs parses back with the same file list', async () => {
    const out = path.join(dir, 'tree.torrent');
    assert.equal((await runCli(['create', folder, '-o', out])).code, 0);
    const meta = parseTorrent(await readFile(out));
    assert.deepEqual(
      meta.info.files.map((f) => [f.path.join('/'), f.length]),
      [
        ['a/b/c/deep.bin', 50_000],
        ['a/empty1', 0],
        ['empty2', 0],
        ['top.txt', 10],
      ],
    );
  });

  test('--v2 and --hybrid write BEP 52 torrents; info shows their v2 hashes; both flags at once is a usage error', async () => {
    const v2 = path.join(dir, 'v2.torrent');
    const r = await runCli(['create', folder, '-o', v2, '--v2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 file\(s\).*v2 info hash [0-9a-f]{64}\n$/);
    const meta = parseTorrent(await readFile(v2));
    assert.equal(meta.hybrid, false);
    assert.ok(meta.v2 !== undefined);
    const info = await runCli(['info', v2]);
    assert.match(info.stdout, new RegExp(`version: +v2 only \\(BEP 52\\)\nv2 info hash: +${meta.v2.infoHashHex}\nswarm hash: +${meta.infoHashHex}`));
    const hybrid = path.join(dir, 'hybrid.torrent');
    const h = await runCli(['create', folder, '-o', hybrid, '--hybrid']);
    assert.equal(h.code, 0, h.stderr);
    const hm = parseTorrent(await readFile(hybrid));
    assert.equal(hm.hybrid, true);
    assert.match(h.stdout, new RegExp(`info hash ${hm.infoHashHex}, v2 info hash ${hm.v2!.infoHashHex}`));
    const json = JSON.parse((await runCli(['info', hybrid, '--json'])).stdout) as { version: string; infoHashV2: string };
    assert.deepEqual([json.version, json.infoHashV2], ['hybrid', hm.v2!.infoHashHex]);
    const both = await runCli(['create', folder, '-o', path.join(dir, 'x.torrent'), '--v2', '--hybrid']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^tessera: --v2 and --hybrid exclude each other/);
  });

  test('transmission-show reads a created torrent and agrees on the info hash', async () => {
    const out = path.join(dir, 'show.torrent');
    assert.equal((await runCli(['create', folder, '-o', out, '--private', '--web-seed', 'http://127.0.0.1/seed/'])).code, 0);
    const show = await runTool('transmission-show', [out]);
    assert.equal(show.code, 0, show.stderr);
    const hash = /Hash(?: v1)?:\s*([0-9a-f]{40})/.exec(show.stdout)?.[1];
    assert.equal(hash, parseTorrent(await readFile(out)).infoHashHex);
    assert.match(show.stdout, /Private/i);
  });

  test('--tracker per tier, a,b as one tier; piece length with units; source and comment', async () => {
    const out = path.join(dir, 'opts.torrent');
    const r = await runCli([
      'create', folder, '-o', out,
      '--tracker', 'http://127.0.0.1:1/announce',
      '--tracker', 'udp://127.0.0.1:2,http://127.0.0.1:3/announce',
      '--piece-length', '32KiB', '--source', 'SRC', '--comment', 'hello',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const meta = parseTorrent(await readFile(out));
    assert.deepEqual(meta.announce, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2', 'http://127.0.0.1:3/announce']]);
    assert.equal(meta.info.pieceLength, 32 * 1024);
    assert.equal(meta.info.source, 'SRC');
    assert.equal(meta.comment, 'hello');
  });

  test('errors: usage exit 2, bad input exit 3, each one line', async () => {
    const cases: [string[], number][] = [
      [['create'], 2],
      [['create', folder], 2],
      [['create', folder, '-o', path.join(dir, 'x.torrent'), '--piece-length', 'huge'], 2],
      [['create', folder, '-o', path.join(dir, 'x.torrent'), '--piece-length', '1000'], 3],
      [['create', folder, '-o', path.join(dir, 'x.torrent'), '--tracker', 'ftp://127.0.0.1/'], 3],
      [['create', path.join(dir, 'missing'), '-o', path.join(dir, 'x.torrent')], 3],
    ];
    for (const [args, code] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tessera: [^\n]+\n$/);
    }
  });
});
