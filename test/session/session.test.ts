/**
 * Session.add's sources and refusals, offline: a .torrent from bytes, a path, an http URL (with
 * its size limit and timeout), a bare info hash in hex and base32; duplicates, a closed
 * session, an aborted signal; pause and resume of a local seed; whenDone after close.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode, encode } from '../../src/bencode/index.js';
import { createTorrent, MetainfoError, parseTorrent, Session, SessionError } from '../../src/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

let dir = '';
let torrentBytes: Buffer;
let server: http.Server;
let base = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-session-'));
  await writeFile(join(dir, 'hello.txt'), 'hello, session\n');
  torrentBytes = await createTorrent(join(dir, 'hello.txt'), { pieceLength: 16384 });
  await writeFile(join(dir, 'hello.torrent'), torrentBytes);
  server = http.createServer((req, res) => {
    if (req.url === '/ok.torrent') res.end(torrentBytes);
    else if (req.url === '/huge.torrent') {
      res.setHeader('content-length', String(20 * 1024 * 1024));
      res.write(Buffer.alloc(1024));
    } else if (req.url === '/slow.torrent') res.write('d');
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

const options = { host: '127.0.0.1', port: 0, dht: false as const };

describe('Session.add', { timeout: 60_000 }, () => {
  test('a .torrent from bytes, path and http URL; a seed is ready at once', async () => {
    const hash = parseTorrent(torrentBytes).infoHashHex;
    for (const source of [torrentBytes, join(dir, 'hello.torrent'), `${base}/ok.torrent`]) {
      const session = new Session(options);
      try {
        const h = await session.add(source, { path: dir, trackers: false });
        assert.equal(h.infoHash, hash);
        assert.equal(h.name, 'hello.txt');
        await h.whenReady();
        assert.equal(h.state, 'seeding');
        await h.whenDone();
        assert.deepEqual(h.files(), [{ path: 'hello.txt', length: 15, offset: 0, verifiedBytes: 15, priority: 'normal' }]);
        assert.equal(session.get(hash.toUpperCase()), h);
      } finally {
        await session.close();
      }
    }
  });

  test('bare info hashes (hex and base32) are magnets waiting for metadata', async () => {
    const hexHash = '0123456789abcdef0123456789abcdef01234567';
    const base32 = 'AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH';
    const session = new Session(options);
    try {
      const hex = await session.add(hexHash, { path: dir, paused: true });
      assert.equal(hex.state, 'paused');
      assert.equal(hex.metainfo, undefined);
      assert.deepEqual(hex.files(), []);
      // The same hash in base32: the session already holds it.
      await assert.rejects(session.add(base32, { path: dir }), (e: unknown) => e instanceof SessionError && e.code === 'duplicate');
      await hex.remove();
      const b32 = await session.add(base32, { path: dir, paused: true });
      assert.equal(b32.infoHash, hexHash);
    } finally {
      await session.close();
    }
  });

  test('refusals: bad bytes, missing file, http errors and limits, closed session, aborted signal', async () => {
    const session = new Session(options);
    await assert.rejects(session.add(Buffer.from('not bencode')), MetainfoError);
    await assert.rejects(session.add(join(dir, 'missing.torrent')), (e: unknown) => e instanceof MetainfoError && e.code === 'read');
    await assert.rejects(session.add(`${base}/nope.torrent`), (e: unknown) => e instanceof SessionError && e.code === 'bad-source' && /HTTP 404/.test(e.message));
    await assert.rejects(session.add(`${base}/huge.torrent`), (e: unknown) => e instanceof SessionError && e.code === 'bad-source' && /limit/.test(e.message));
    await assert.rejects(session.add(`${base}/slow.torrent`, { fetchTimeoutMs: 300 }), (e: unknown) => e instanceof SessionError && /timed out/.test(e.message));
    await assert.rejects(session.add(new URL('ftp://127.0.0.1/x.torrent')), (e: unknown) => e instanceof SessionError && e.code === 'bad-source');
    await assert.rejects(session.add(torrentBytes, { signal: AbortSignal.abort() }), (e: unknown) => e instanceof SessionError && e.code === 'aborted');
    // A v2-only torrent of several pieces without its piece layers cannot be verified.
    await writeFile(join(dir, 'two-pieces.bin'), Buffer.alloc(40_000, 7));
    const v2 = decode(await createTorrent(join(dir, 'two-pieces.bin'), { pieceLength: 16384, version: 'v2' })) as Map<string, unknown>;
    assert.ok(v2.delete('piece layers'));
    const noLayers = encode(v2 as Map<string, Uint8Array>);
    assert.equal(parseTorrent(noLayers).v2?.layersComplete, false);
    await assert.rejects(session.add(noLayers, { path: dir }), (e: unknown) => e instanceof SessionError && e.code === 'bad-source' && /piece layers/.test(e.message));
    const h = await session.add(torrentBytes, { path: dir, trackers: false });
    await assert.rejects(session.add(torrentBytes, { path: dir }), (e: unknown) => e instanceof SessionError && e.code === 'duplicate');
    await session.close();
    assert.equal(h.state, 'stopped');
    await assert.rejects(session.add(torrentBytes), (e: unknown) => e instanceof SessionError && e.code === 'closed');
  });

  test('a magnet still fetching metadata: whenDone rejects with stopped when the session closes', async () => {
    const session = new Session(options);
    const h = await session.add('magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=nothing', { path: dir, trackers: false });
    assert.equal(h.state, 'metadata');
    assert.equal(h.name, 'nothing');
    const done = h.whenDone();
    const progress = (async () => {
      let n = 0;
      for await (const p of h.progress()) {
        assert.equal(p.fraction, 0);
        n++;
      }
      return n;
    })();
    await session.close();
    await assert.rejects(done, (e: unknown) => e instanceof SessionError && e.code === 'stopped');
    assert.ok((await progress) >= 1, 'the iterator yielded and then ended');
    assert.equal(h.state, 'stopped');
  });

  test('pause and resume keep what is verified without a recheck', async () => {
    const session = new Session(options);
    try {
      const h = await session.add(torrentBytes, { path: dir, trackers: false });
      await h.whenReady();
      const states: string[] = [];
      h.on('state', (s) => states.push(s));
      await h.pause();
      assert.equal(h.state, 'paused');
      h.resume();
      await h.whenReady();
      assert.deepEqual(states, ['paused', 'checking', 'seeding']);
      assert.equal(h.stats().verified, 1);
    } finally {
      await session.close();
    }
  });

  test('seed limits: idle time and ratio pause a seeding torrent once met; times count anew from each start', async () => {
    const clock = new FakeClock();
    const session = new Session({ ...options, clock });
    try {
      const h = await session.add(torrentBytes, { path: dir, trackers: false, seedIdleMs: 5000 });
      await h.whenReady();
      assert.equal(h.state, 'seeding');
      let seeded = 0;
      h.on('seeded', () => seeded++);
      clock.advance(4000);
      assert.equal(h.state, 'seeding', 'not idle long enough yet');
      clock.advance(1000);
      assert.equal(seeded, 1);
      await until(() => h.state === 'paused');
      h.resume();
      await h.whenReady();
      clock.advance(4000);
      assert.equal(h.state, 'seeding', 'the idle time counts from the new start');
      h.setSeedLimits({ ratio: 0 });
      assert.deepEqual(h.seedLimits, { ratio: 0 });
      clock.advance(1000);
      assert.equal(seeded, 2, 'a ratio of 0 is met at once');
      await until(() => h.state === 'paused');
      h.setSeedLimits({});
      h.resume();
      await h.whenReady();
      clock.advance(60_000);
      assert.equal(h.state, 'seeding', 'no limit: seeds on');
      assert.throws(() => h.setSeedLimits({ ratio: -1 }), (e: unknown) => e instanceof SessionError && e.code === 'bad-argument');
      assert.throws(() => h.setSeedLimits({ idleMs: Number.NaN }), SessionError);
    } finally {
      await session.close();
    }
  });
});

async function until(test: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(test(), 'condition not met within 5 s');
}
