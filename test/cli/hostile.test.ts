/**
 * `tessera info` on every generated hostile torrent: exit code 3, exactly one `tessera: ` line on
 * stderr, no stack frames, before the 10 s deadline of `runCli` (which kills a hung run).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostileTorrents } from '../fixtures/hostile/generate.js';
import { runCli } from '../metainfo/helpers.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-hostile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tessera info on hostile torrents', () => {
  const all = hostileTorrents();

  test('the generator gives distinct, named inputs', () => {
    assert.ok(all.length >= 30);
    assert.equal(new Set(all.map((h) => h.name)).size, all.length);
  });

  for (const h of all) {
    test(h.name, async () => {
      const file = path.join(dir, `${h.name}.torrent`);
      await writeFile(file, h.bytes);
      const r = await runCli(['info', file], 10_000);
      assert.equal(r.code, 3, `stderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^tessera: [^\n]+\n$/);
      assert.doesNotMatch(r.stderr, /\bat .*:\d+:\d+/);
      assert.doesNotMatch(r.stderr, /internal error/);
    });
  }

  test('a torrent file over 10 MB is refused from its size', async () => {
    const file = path.join(dir, 'big.torrent');
    await writeFile(file, Buffer.alloc(10 * 1024 * 1024 + 1, 0x64));
    const r = await runCli(['info', file]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^tessera: torrent file .* bytes \(limit 10485760\)\n$/);
  });

  test('messy real-world magnet links are read, their bad parts dropped', async () => {
    const hex = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
    const links = [
      `  MAGNET:?XT=URN:BTIH:${hex.toUpperCase()}&DN=Messy%20one&TR=udp%3A%2F%2F127.0.0.1%3A6969  `,
      `magnet://?xt=urn:btih:${hex}&dn=%C3%28raw&tr=udp%3A%2F%2F127.0.0.1%3A99999&tr=udp%3A%2F%2F127.0.0.1%3A6969#frag`,
      `magnet:///?xt=urn:btih:${hex}&so=1,x,3-2,4&xl=big&x.pe=nope&x.pe=127.0.0.1:6881&tr=%ZZ&tr=udp%3A%2F%2F127.0.0.1%3A6969`,
    ];
    for (const link of links) {
      const r = await runCli(['info', '--json', link]);
      assert.equal(r.code, 0, `${link}: ${r.stderr}`);
      assert.equal(r.stderr, '');
      const out = JSON.parse(r.stdout) as { infoHash: string; trackers: string[] };
      assert.equal(out.infoHash, hex, link);
      assert.deepEqual(out.trackers, ['udp://127.0.0.1:6969'], link);
    }
    const third = JSON.parse((await runCli(['info', '--json', links[2]!])).stdout) as { select: number[]; peers: unknown[] };
    assert.deepEqual([third.select, third.peers], [[1, 4], [{ host: '127.0.0.1', port: 6881 }]]);
  });

  test('a bad magnet link exits 3 with one line', async () => {
    for (const m of ['magnet:?xt=urn:btih:%ZZ', 'magnet:?dn=nohash', 'magnet:?xt=urn:btih:123', ' MAGNET:?XT=urn:btih:zz&dn=x', 'magnet:?dn=x#xt=urn:btih:0000000000000000000000000000000000000000']) {
      const r = await runCli(['info', m]);
      assert.equal(r.code, 3, m);
      assert.match(r.stderr, /^tessera: invalid magnet link: [^\n]+\n$/);
    }
  });
});
