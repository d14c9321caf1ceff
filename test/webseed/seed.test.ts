/**
 * One web seed against a small HTTP server in the test and a fake host built on the real
 * picker: ranges across files, pad files never requested, back-off, lost files, stalls,
 * redirect loops and oversized bodies, all timed on the fake clock.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Picker } from '../../src/swarm/picker.js';
import { BandwidthLimit } from '../../src/swarm/bandwidth.js';
import { Bitfield } from '../../src/util/bitfield.js';
import type { BlockSourceHost } from '../../src/swarm/swarm-types.js';
import { WebSeeds } from '../../src/webseed/index.js';
import type { WebSeedTorrent } from '../../src/webseed/seed.js';
import { FakeClock } from '../helpers/fake-clock.js';

const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** Serves `files` (path -> bytes) with byte ranges; `override` may answer instead. Logs "path range". */
async function server(files: Map<string, Buffer>, override?: Handler): Promise<{ base: string; log: string[] }> {
  const log: string[] = [];
  const s = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    log.push(`${path} ${req.headers.range ?? ''}`);
    if (override !== undefined && !res.headersSent) {
      override(req, res, log.length);
      if (res.headersSent || res.writableEnded || res.destroyed) return;
    }
    const body = files.get(path);
    if (body === undefined) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (m === null) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    const a = Number(m[1]);
    const b = Math.min(Number(m[2]), body.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${body.length}`, 'content-length': b - a + 1 }).end(body.subarray(a, b + 1));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`, log };
}

/** A host on the real picker that assembles delivered blocks into one buffer. */
function fakeHost(t: WebSeedTorrent) {
  const picker = new Picker({ pieceCount: t.pieceCount, pieceLength: t.pieceLength, totalLength: t.totalLength, have: new Bitfield(t.pieceCount) });
  const data = Buffer.alloc(t.totalLength);
  const done = new Set<number>();
  let nextKey = 1;
  let waiters: (() => void)[] = [];
  const host: BlockSourceHost = {
    newKey: () => nextKey++,
    attach: (key, has) => void picker.addPeer(key, has),
    detach: (key) => picker.removePeer(key),
    pick: (key, max) => picker.pick(key, max),
    deliver: (key, piece, begin, block) => {
      const r = picker.onBlock(key, piece, begin, block.length);
      if (!r.accepted) return;
      data.set(block, piece * t.pieceLength + begin);
      if (r.pieceComplete) {
        picker.pieceVerified(piece);
        done.add(piece);
        for (const w of waiters) w();
        waiters = [];
      }
    },
    release: (key, blocks) => picker.release(key, blocks),
  };
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 20); });
    assert.ok(cond(), 'condition not reached');
  };
  return { host, picker, data, done, until };
}

function torrent(files: { name: string; length: number; pad?: boolean }[], pieceLength: number, multiFile = true): WebSeedTorrent {
  let offset = 0;
  const out = files.map((f) => { const e = { offset, length: f.length, pad: f.pad === true, urlPath: [f.name] }; offset += f.length; return e; });
  return { pieceCount: Math.ceil(offset / pieceLength), pieceLength, totalLength: offset, multiFile, name: 'T', files: out };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

test('a multi-file torrent with a pad file: every byte arrives, pieces span files, the pad is never requested', async () => {
  const a = randomBytes(40_000);
  const b = randomBytes(70_000);
  const t = torrent([{ name: 'a.bin', length: a.length }, { name: 'pad', length: 9_152, pad: true }, { name: 'b.bin', length: b.length }], 32768);
  const srv = await server(new Map([['/T/a.bin', a], ['/T/b.bin', b]]));
  const h = fakeHost(t);
  const clock = new FakeClock();
  const ws = new WebSeeds([srv.base], t, h.host, { clock, maxRequestBytes: 65536, maxRequests: 2 });
  ws.fill();
  await h.until(() => h.picker.done);
  ws.stop();
  assert.deepEqual(h.data, Buffer.concat([a, Buffer.alloc(9_152), b]));
  assert.ok(srv.log.every((l) => l.startsWith('/T/a.bin bytes=') || l.startsWith('/T/b.bin bytes=')), srv.log.join('\n'));
  // A piece crossing from a.bin over the pad into b.bin took a ranged GET of each file.
  assert.ok(srv.log.some((l) => /^\/T\/a\.bin bytes=\d+-39999$/.test(l)) && srv.log.some((l) => /^\/T\/b\.bin bytes=0-/.test(l)), srv.log.join('\n'));
  assert.equal(ws.stats[0]!.bytes, a.length + b.length);
});

test('a single-file web seed URL naming the file itself', async () => {
  const body = randomBytes(100_000);
  const t = torrent([{ name: 'x.iso', length: body.length }], 16384, false);
  const srv = await server(new Map([['/mirror/x.iso', body]]));
  const h = fakeHost(t);
  const ws = new WebSeeds([`${srv.base}mirror/x.iso`], t, h.host, { clock: new FakeClock() });
  ws.fill();
  await h.until(() => h.picker.done);
  ws.stop();
  assert.deepEqual(h.data, body);
  // Runs of consecutive pieces: far fewer requests than the 7 pieces.
  assert.ok(srv.log.length <= 4, srv.log.join('\n'));
});

test('HTTP 500: the seed rests for the back-off on the fake clock, then retries and finishes', async () => {
  const body = randomBytes(50_000);
  const t = torrent([{ name: 'x', length: body.length }], 16384, false);
  const srv = await server(new Map([['/x', body]]), (_q, res, hit) => { if (hit === 1) res.writeHead(500).end(); });
  const h = fakeHost(t);
  const clock = new FakeClock();
  const errors: string[] = [];
  const ws = new WebSeeds([`${srv.base}x`], t, h.host, { clock, maxRequests: 1, backoff: { baseMs: 10_000 }, onError: (_u, e) => errors.push(e.code) });
  ws.fill();
  await h.until(() => errors.length === 1);
  assert.equal(ws.stats[0]!.state, 'resting');
  // Its blocks went back to the picker at once.
  assert.equal(h.picker.outstanding(1), 0);
  clock.advance(9_999);
  ws.fill();
  await tick();
  assert.equal(srv.log.length, 1, 'no request while resting');
  clock.advance(1);
  await h.until(() => h.picker.done);
  ws.stop();
  assert.deepEqual(h.data, body);
});

test('back-off doubles and the seed is dropped after maxFailures in a row', async () => {
  const t = torrent([{ name: 'x', length: 20_000 }], 16384, false);
  const srv = await server(new Map(), (_q, res) => void res.writeHead(503, { 'retry-after': '1' }).end());
  const h = fakeHost(t);
  const clock = new FakeClock();
  const dropped: string[] = [];
  const ws = new WebSeeds([`${srv.base}x`], t, h.host, { clock, maxRequests: 1, backoff: { baseMs: 1000, maxMs: 4000, maxFailures: 4 }, onDropped: (_u, r) => dropped.push(r) });
  ws.fill();
  const waits = [1000, 2000, 4000];
  for (const [i, ms] of waits.entries()) {
    await h.until(() => srv.log.length === i + 1 && ws.stats[0]!.state === 'resting');
    clock.advance(ms - 1);
    await tick();
    assert.equal(srv.log.length, i + 1, `still resting after ${ms - 1} ms`);
    clock.advance(1);
  }
  await h.until(() => dropped.length === 1);
  assert.equal(ws.stats[0]!.state, 'dropped');
  assert.equal(srv.log.length, 4);
  assert.equal(h.picker.availability(0), 0, 'a dropped seed is no longer with the picker');
  ws.stop();
});

test('404 on one file: that file is never asked again, the other files still come', async () => {
  const a = randomBytes(32768);
  const b = randomBytes(32768);
  const t = torrent([{ name: 'a', length: a.length }, { name: 'b', length: b.length }], 16384);
  const srv = await server(new Map([['/T/b', b]]));
  const h = fakeHost(t);
  const ws = new WebSeeds([srv.base], t, h.host, { clock: new FakeClock(), maxRequests: 1 });
  ws.fill();
  await h.until(() => h.done.has(2) && h.done.has(3));
  await tick(100);
  assert.equal(ws.stats[0]!.state, 'active');
  ws.stop();
  assert.equal(h.done.has(0) || h.done.has(1), false);
  assert.deepEqual(h.data.subarray(32768), b);
  assert.equal(srv.log.filter((l) => l.startsWith('/T/a ')).length, 1, srv.log.join('\n'));
});

test('a stalled body times out on the fake clock and its blocks return to the picker', async () => {
  const t = torrent([{ name: 'x', length: 32768 }], 32768, false);
  const srv = await server(new Map(), (_q, res) => {
    res.writeHead(206, { 'content-range': 'bytes 0-32767/32768', 'content-length': 32768 });
    res.write(Buffer.alloc(20000));
  });
  const h = fakeHost(t);
  const clock = new FakeClock();
  const errors: string[] = [];
  const ws = new WebSeeds([`${srv.base}x`], t, h.host, { clock, stallMs: 5000, onError: (_u, e) => errors.push(e.code) });
  ws.fill();
  await h.until(() => srv.log.length === 1);
  await tick(100);
  // The first whole block was delivered; the second is still outstanding.
  assert.equal(h.picker.blockState(0, 0), 'received');
  assert.equal(h.picker.outstanding(1), 1);
  clock.advance(5000);
  await h.until(() => errors.length === 1);
  assert.deepEqual(errors, ['webseed-timeout']);
  assert.equal(h.picker.outstanding(1), 0);
  assert.equal(h.picker.blockState(0, 1), 'need');
  ws.stop();
});

test('a redirect loop, a body longer than the range and a cross-scheme redirect each drop the seed', async () => {
  const cases: [Handler, RegExp][] = [
    [(q, res) => void res.writeHead(302, { location: q.url === '/x' ? '/y' : '/x' }).end(), /redirect loop/],
    [(_q, res) => void res.writeHead(206, { 'content-range': 'bytes 0-32767/32768' }).end(Buffer.alloc(40000)), /more than the 32768 bytes/],
    [(_q, res) => void res.writeHead(301, { location: 'https://127.0.0.1:1/x' }).end(), /another scheme/],
    [(_q, res) => void res.writeHead(200, { 'content-length': 99999 }).end(Buffer.alloc(99999)), /ignored the range/],
  ];
  for (const [handler, reason] of cases) {
    const t = torrent([{ name: 'x', length: 32768 }], 32768, false);
    const srv = await server(new Map(), handler);
    const h = fakeHost(t);
    const dropped: string[] = [];
    const ws = new WebSeeds([`${srv.base}x`], t, h.host, { clock: new FakeClock(), onDropped: (_u, r) => dropped.push(r) });
    ws.fill();
    await h.until(() => dropped.length === 1);
    assert.match(dropped[0]!, reason);
    assert.ok(srv.log.length <= 3, srv.log.join('\n'));
    assert.equal(h.picker.blockState(0, 0), 'need');
    ws.stop();
  }
});

test('a loopback web seed with a query string is never contacted (SSRF rule)', async () => {
  const t = torrent([{ name: 'x', length: 100 }], 16384, false);
  const srv = await server(new Map([['/x', Buffer.alloc(100)]]));
  const h = fakeHost(t);
  const dropped: string[] = [];
  const ws = new WebSeeds([`${srv.base}x?cmd=reboot`], t, h.host, { clock: new FakeClock(), onDropped: (_u, r) => dropped.push(r) });
  ws.fill();
  await h.until(() => dropped.length === 1);
  assert.match(dropped[0]!, /query string/);
  assert.equal(srv.log.length, 0);
  ws.stop();
});

test('the download limit holds the body back on the fake clock, and the stall timer waits meanwhile', async () => {
  const body = randomBytes(256 * 1024);
  const t = torrent([{ name: 'x', length: body.length }], 256 * 1024, false);
  const srv = await server(new Map([['/x', body]]));
  const h = fakeHost(t);
  const clock = new FakeClock();
  const errors: string[] = [];
  const downLimit = new BandwidthLimit(32 * 1024, clock);
  const ws = new WebSeeds([`${srv.base}x`], t, h.host, { clock, downLimit, stallMs: 1000, onError: (_u, e) => errors.push(e.code) });
  ws.fill();
  await h.until(() => ws.stats[0]!.bytes > 0);
  await tick(200);
  assert.equal(h.picker.done, false, 'nothing more without time passing');
  let advanced = 0;
  for (let i = 0; i < 40 && !h.picker.done; i++) {
    clock.advance(500);
    advanced += 500;
    await tick(20);
  }
  ws.stop();
  assert.ok(h.picker.done);
  assert.deepEqual(h.data, body);
  assert.ok(advanced >= 4000, `${advanced} ms of fake time for 256 KiB at 32 KiB/s`);
  assert.deepEqual(errors, [], 'a body held back by the limit is not a stall');
});
