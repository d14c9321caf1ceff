/**
 * Web seeds (BEP 19) against Debian's nginx on 127.0.0.1: a single-file torrent whose
 * `url-list` names the server, and a multi-file one given a web seed through the library
 * option, downloaded from the web seed alone; a download fed by nginx and a libtorrent seeder
 * at once; web seeds that answer 404, 500, a redirect loop, a stalled body or corrupted bytes
 * beside a good one. Every download is compared byte for byte, and nginx's access log shows
 * the web seeds were asked.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type TorrentHandle } from '../../src/index.js';
import { compareTrees, writeRandomFile, writeRandomTree } from '../helpers/data.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { stopAll } from '../helpers/proc.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { startDownload } from '../helpers/tessera.js';
import { createSwarm, type Swarm } from '../helpers/swarm.js';
import { makeTorrent, type TorrentMeta } from '../helpers/torrents.js';

const MiB = 1024 * 1024;
const LOOPBACK = { host: '127.0.0.1', port: 0, dht: false as const };

/** Warnings of one download, for the assertions. */
function warnings(handle: TorrentHandle): string[] {
  const out: string[] = [];
  handle.on('warning', (w) => {
    if (w.code === 'web-seed') out.push(w.message);
  });
  return out;
}

describe('web seeds against nginx', { timeout: 600_000 }, () => {
  let swarm: Swarm;
  let nginx: Nginx;
  let single: TorrentMeta;
  let multi: TorrentMeta;
  const servers: Server[] = [];

  before(async () => {
    swarm = await createSwarm({ label: 'webseed', tracker: 'none' });
    await writeRandomFile(join(swarm.dataDir, 'single.bin'), 6 * MiB + 12345, 'webseed');
    await writeRandomTree(join(swarm.dataDir, 'tree'), { files: 16 });
    nginx = await startNginx({
      root: swarm.dataDir,
      workDir: join(swarm.root, 'nginx'),
      extra: `
    location /e404/ { return 404; }
    location /e500/ { return 500; }
    location /loopa/ { rewrite ^/loopa/(.*)$ /loopb/$1 redirect; }
    location /loopb/ { rewrite ^/loopb/(.*)$ /loopa/$1 redirect; }
    location /slow/ { alias ${swarm.dataDir}/; limit_rate 1m; }
    location /crawl/ { alias ${swarm.dataDir}/; limit_rate 256k; }`,
    });
    // mktorrent writes the url-list: a folder URL, so the name is appended (BEP 19).
    single = await makeTorrent({ source: join(swarm.dataDir, 'single.bin'), out: join(swarm.root, 'single.torrent'), pieceLengthLog2: 18, webSeeds: [`${nginx.base}/`] });
    multi = await makeTorrent({ source: join(swarm.dataDir, 'tree'), out: join(swarm.root, 'tree.torrent'), pieceLengthLog2: 16 });
  });

  after(async () => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await stopAll();
    await swarm?.dispose();
  });

  test('a single-file torrent from the web seed in its url-list alone', async () => {
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('single');
      const before = (await nginx.requests()).length;
      const h = await session.add(single.torrentPath, { path: out, trackers: false });
      await h.whenDone();
      await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));
      const reqs = (await nginx.requests()).slice(before);
      assert.ok(reqs.length >= 1 && reqs.every((r) => /^GET \/single\.bin 206 "bytes=\d+-\d+"/.test(r)), reqs.join('\n'));
      // Runs of consecutive pieces: far fewer requests than the 25 pieces.
      assert.ok(reqs.length < 25, `${reqs.length} requests`);
      assert.equal(h.stats().webSeedBytes, single.totalLength);
      assert.equal(h.stats().peers, 0);
    } finally {
      await session.close();
    }
  });

  test('a multi-file torrent from a web seed given as an option, the torrent having none', async () => {
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('multi');
      const before = (await nginx.requests()).length;
      const h = await session.add(multi.torrentPath, { path: out, trackers: false, webSeeds: [nginx.base] });
      await h.whenDone();
      await compareTrees(join(swarm.dataDir, 'tree'), join(out, 'tree'));
      const reqs = (await nginx.requests()).slice(before);
      const files = new Set(reqs.map((r) => r.split(' ')[1]));
      // Every non-empty file was fetched under name/path, percent-encoded where needed ("f g").
      assert.ok([...files].every((f) => f!.startsWith('/tree/')), [...files].join('\n'));
      assert.ok([...files].some((f) => f!.startsWith('/tree/f%20g/')), [...files].join('\n'));
      assert.ok(reqs.every((r) => / 206 "bytes=/.test(r)), reqs.join('\n'));
      assert.equal(h.stats().webSeedBytes, multi.totalLength);
    } finally {
      await session.close();
    }
  });

  test('CLI: --web-seed feeds a download longer than --timeout with no peer at all', async () => {
    const out = await swarm.newOutDir('cli');
    // About 1 MiB/s over 4 connections: several times the 2 s timeout for the whole tree.
    const proc = await startDownload({ torrent: multi.torrentPath, outDir: out, args: ['--web-seed', `${nginx.base}/crawl/`, '--timeout', '2s', '-q'] });
    const exit = await proc.waitForExit(240_000);
    assert.equal(exit.code, 0, proc.tail());
    assert.match(proc.stdout, /complete: tree .* (\d+) bytes from web seeds/);
    await compareTrees(join(swarm.dataDir, 'tree'), join(out, 'tree'));
    // --no-web-seeds: the single-file torrent's url-list is ignored, and nothing else serves it.
    const asked = (await nginx.requests()).length;
    const none = await startDownload({ torrent: single.torrentPath, outDir: await swarm.newOutDir('none'), args: ['--no-web-seeds', '--timeout', '2s', '-q'] });
    assert.equal((await none.waitForExit(60_000)).code, 1, none.tail());
    assert.equal((await nginx.requests()).length, asked, 'nginx was not asked');
  });

  test('a web seed and a libtorrent seeder together', async () => {
    const lt = await startLibtorrentSeeder({ torrents: [multi], dataDir: swarm.dataDir, workDir: join(swarm.root, 'lt'), uploadLimit: 2 * MiB });
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('both');
      const before = (await nginx.requests()).length;
      const h = await session.add(multi.torrentPath, { path: out, trackers: false, webSeeds: [`${nginx.base}/crawl/`], peers: [{ host: '127.0.0.1', port: lt.port }] });
      await h.whenDone();
      await compareTrees(join(swarm.dataDir, 'tree'), join(out, 'tree'));
      const st = h.stats();
      assert.ok(st.webSeedBytes > 0, 'bytes came from the web seed');
      assert.ok(st.downloaded - st.webSeedBytes > 0, 'bytes came from libtorrent');
      assert.ok((await nginx.requests()).slice(before).some((r) => r.startsWith('GET /crawl/tree/')));
    } finally {
      await session.close();
      await lt.stop();
    }
  });

  /** A Node server that answers ranges of the data folder, broken by `mode`. */
  async function brokenServer(mode: 'stall' | 'corrupt'): Promise<{ base: string; hits: () => number }> {
    let hits = 0;
    const s = createServer((req, res) => {
      hits++;
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (m === null || !req.url?.startsWith('/single.bin')) return void res.writeHead(404).end();
      const a = Number(m[1]);
      const len = Number(m[2]) - a + 1;
      void (async () => {
        const fh = await open(join(swarm.dataDir, 'single.bin'));
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, a);
        await fh.close();
        res.writeHead(206, { 'content-range': `bytes ${a}-${a + len - 1}/${single.totalLength}`, 'content-length': len });
        if (mode === 'stall') return void res.write(buf.subarray(0, len >> 1));
        buf[len >> 1] ^= 0xff;
        res.end(buf);
      })();
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { base: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`, hits: () => hits };
  }

  const failures: [string, string, RegExp][] = [
    ['404', '/e404/', /dropped: web seed answered HTTP 404/],
    ['500', '/e500/', /HTTP 500/],
    ['a redirect loop', '/loopa/', /dropped: redirect loop/],
  ];
  for (const [what, path, warning] of failures) {
    test(`a web seed that answers ${what} beside a good one: the download completes`, async () => {
      const session = new Session(LOOPBACK);
      try {
        const out = await swarm.newOutDir(path.replaceAll('/', ''));
        const before = (await nginx.requests()).length;
        const h = await session.add(single.torrentPath, { path: out, trackers: false, torrentWebSeeds: false, webSeeds: [`${nginx.base}${path}`, `${nginx.base}/slow/`] });
        const seen = warnings(h);
        await h.whenDone();
        await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));
        const reqs = (await nginx.requests()).slice(before);
        assert.ok(reqs.some((r) => r.startsWith(`GET ${path}`)), `the bad web seed was asked:\n${reqs.join('\n')}`);
        assert.ok(seen.some((w) => warning.test(w)), seen.join('\n'));
        assert.equal(h.stats().hashFailures, 0);
      } finally {
        await session.close();
      }
    });
  }

  test('a web seed whose body stalls beside a good one: the download completes', async () => {
    const bad = await brokenServer('stall');
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('stall');
      const h = await session.add(single.torrentPath, { path: out, trackers: false, torrentWebSeeds: false, webSeeds: [bad.base, `${nginx.base}/slow/`] });
      await h.whenDone();
      await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));
      assert.ok(bad.hits() >= 1, 'the stalling web seed was asked');
    } finally {
      await session.close();
    }
  });

  test('a web seed that sends corrupted bytes is dropped; the good one finishes', async () => {
    const bad = await brokenServer('corrupt');
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('corrupt');
      // The good seed crawls, so the corrupt one surely delivers pieces that get hash-checked.
      const h = await session.add(single.torrentPath, { path: out, trackers: false, torrentWebSeeds: false, webSeeds: [bad.base, `${nginx.base}/crawl/`] });
      const seen = warnings(h);
      await h.whenDone();
      await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));
      assert.ok(bad.hits() >= 1);
      assert.ok(h.stats().hashFailures >= 1);
      assert.ok(seen.some((w) => /dropped: .*failed the hash check/.test(w)), seen.join('\n'));
      assert.equal(h.stats().banned, 0, 'no peer was blamed');
    } finally {
      await session.close();
    }
  });
});
