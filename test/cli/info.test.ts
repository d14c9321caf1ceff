/**
 * `tessera info`: text and JSON output, magnets, usage errors, and interop — torrents made by
 * mktorrent and transmission-create give the info hash transmission-show prints.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/bencode/index.js';
import { CLI, makeTorrent, runCli, runTool } from '../metainfo/helpers.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-info-'));
  await mkdir(path.join(dir, 'content', 'sub', 'deeper'), { recursive: true });
  await writeFile(path.join(dir, 'content', 'one.bin'), Buffer.alloc(70_000, 5));
  await writeFile(path.join(dir, 'content', 'sub', 'two.txt'), 'two');
  await writeFile(path.join(dir, 'content', 'sub', 'deeper', 'three.dat'), Buffer.alloc(33_333, 9));
  await writeFile(path.join(dir, 'single.bin'), Buffer.alloc(123_457, 1));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function hashFromShow(stdout: string): string {
  const m = /Hash(?: v1)?:\s*([0-9a-f]{40})/.exec(stdout);
  assert.ok(m !== null, `no hash in transmission-show output: ${stdout.slice(0, 200)}`);
  return m[1]!;
}

async function jsonInfo(file: string): Promise<{ infoHash: string; files: { path: string[]; length: number }[]; name: string }> {
  const r = await runCli(['info', '--json', file]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { infoHash: string; files: { path: string[]; length: number }[]; name: string };
}

describe('tessera info output', () => {
  test('text: name, hash, sizes, pieces, private, tiers, web seeds, tree, warnings', async () => {
    const file = path.join(dir, 'text.torrent');
    await writeFile(
      file,
      makeTorrent({
        name: 'My\u001b[31mDir',
        files: [{ path: ['a', 'x.txt'], length: 2048 }, { path: ['b.bin'], length: 1_048_576 }],
        info: { private: 1 },
        root: { 'announce-list': [['http://127.0.0.1:1/a'], ['udp://127.0.0.1:2', 'http://127.0.0.1:3/b']], 'url-list': ['http://127.0.0.1/ws'] },
      }),
    );
    const r = await runCli(['info', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.doesNotMatch(out, /\u001b/);
    assert.match(out, /^name: +My_\[31mDir$/m);
    assert.match(out, /^info hash: +[0-9a-f]{40}$/m);
    assert.match(out, /^total size: +1\.00 MiB \(1,050,624 bytes\)$/m);
    assert.match(out, /^pieces: +65 x 16\.0 KiB \(16384 bytes\)$/m);
    assert.match(out, /^private: +yes$/m);
    assert.match(out, /^ {2}tier 1: http:\/\/127\.0\.0\.1:1\/a$/m);
    assert.match(out, /^ {2}tier 2: udp:\/\/127\.0\.0\.1:2, http:\/\/127\.0\.0\.1:3\/b$/m);
    assert.match(out, /^ {2}http:\/\/127\.0\.0\.1\/ws$/m);
    assert.match(out, /^files \(2\):$/m);
    assert.match(out, /^├─ a\/$/m);
    // Numbered as `download --select` takes them, in torrent order (x.txt comes first).
    assert.match(out, /^│ {2}└─ \[0\] x\.txt {2}2\.00 KiB$/m);
    assert.match(out, /^└─ \[1\] b\.bin {2}1\.00 MiB$/m);
    assert.match(out, /^warnings \(1\):$/m);
  });

  test('--json: one object, lowercase hex hash, files with path arrays and lengths', async () => {
    const file = path.join(dir, 'json.torrent');
    await writeFile(file, makeTorrent({ name: 'j', files: [{ path: ['a', 'b'], length: 3 }, { path: ['c'], length: 4 }] }));
    const r = await runCli(['info', file, '--json']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.match(String(j['infoHash']), /^[0-9a-f]{40}$/);
    assert.equal(j['length'], 7);
    assert.deepEqual(j['files'], [
      { index: 0, path: ['a', 'b'], length: 3, offset: 0 },
      { index: 1, path: ['c'], length: 4, offset: 3 },
    ]);
  });

  test('magnet: what the link says, without network', async () => {
    const hash = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
    const magnet = `magnet:?xt=urn:btih:${hash}&dn=Some%20Name&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=127.0.0.1:6881&ws=http%3A%2F%2F127.0.0.1%2Fw`;
    const text = await runCli(['info', magnet]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`^info hash: +${hash}$`, 'm'));
    assert.match(text.stdout, /^name: +Some Name$/m);
    assert.match(text.stdout, /^ {2}udp:\/\/127\.0\.0\.1:6969$/m);
    assert.match(text.stdout, /^ {2}127\.0\.0\.1:6881$/m);
    const json = await runCli(['info', '--json', magnet]);
    assert.deepEqual(JSON.parse(json.stdout), {
      kind: 'magnet',
      infoHash: hash,
      name: 'Some Name',
      trackers: ['udp://127.0.0.1:6969'],
      peers: [{ host: '127.0.0.1', port: 6881 }],
      webSeeds: ['http://127.0.0.1/w'],
    });
  });

  test('usage errors exit 2 with one line', async () => {
    for (const args of [['info'], ['info', 'a', 'b'], ['info', '--bogus', 'x']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^tessera: [^\n]+\n$/);
    }
  });

  test('a missing file exits 3 with one line', async () => {
    const r = await runCli(['info', path.join(dir, 'nope.torrent')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^tessera: cannot read torrent file .*ENOENT\)\n$/);
  });

  test('non-canonical but loadable bencode prints warnings, still exit 0', async () => {
    const file = path.join(dir, 'trailing.torrent');
    await writeFile(file, Buffer.concat([encode({ info: { length: 5, name: 'n', 'piece length': 16384, pieces: Buffer.alloc(20) } }), Buffer.from('\n')]));
    const r = await runCli(['info', file]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /bytes after the root value/);
  });
});

describe('tessera info into a pipe that closes early', () => {
  test('`| head -n 1` ends quietly with exit 0: no EPIPE trace', async () => {
    const file = path.join(dir, 'many-files.torrent');
    const files = Array.from({ length: 20_000 }, (_, i) => ({ path: [`d${i % 50}`, `file-${i}.bin`], length: 100 + i }));
    await writeFile(file, makeTorrent({ name: 'many', pieceLength: 1 << 20, files }));
    const script = `"${process.execPath}" "${CLI}" info "${file}" 2> "${file}.err" | head -n 1; exit \${PIPESTATUS[0]}`;
    const r = await runTool('bash', ['-c', script]);
    assert.equal(r.stdout, 'name:          many\n');
    assert.equal(await readFile(`${file}.err`, 'utf8'), '');
    assert.equal(r.code, 0);
  });
});

describe('interop: mktorrent and transmission-create, checked by transmission-show', () => {
  const makers: [string, (input: string, out: string) => Promise<void>][] = [
    ['mktorrent', async (input, out) => void (await runTool('mktorrent', ['-a', 'http://127.0.0.1:6969/announce', '-o', out, input]))],
    ['transmission-create', async (input, out) => void (await runTool('transmission-create', ['-t', 'http://127.0.0.1:6969/announce', '-o', out, input]))],
  ];
  for (const [maker, make] of makers) {
    for (const kind of ['single', 'multi'] as const) {
      test(`${maker} ${kind}-file: same info hash and files as transmission-show`, async () => {
        const input = kind === 'single' ? path.join(dir, 'single.bin') : path.join(dir, 'content');
        const out = path.join(dir, `${maker}-${kind}.torrent`);
        await make(input, out);
        const show = await runTool('transmission-show', [out]);
        assert.equal(show.code, 0, show.stderr);
        const info = await jsonInfo(out);
        assert.equal(info.infoHash, hashFromShow(show.stdout));
        const lengths = info.files.map((f) => f.length).sort((a, b) => a - b);
        assert.deepEqual(lengths, kind === 'single' ? [123_457] : [3, 33_333, 70_000]);
      });
    }
  }
});
