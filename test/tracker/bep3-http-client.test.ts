import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from '../../src/bencode/index.js';
import { announce, scrape } from '../../src/tracker/announce.js';
import { TrackerError } from '../../src/tracker/errors.js';
import { parseQueryBytes } from '../../src/tracker/http-codec.js';
import type { AnnounceParams } from '../../src/tracker/types.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: Handler): Promise<string> {
  const s = createServer(handler);
  s.on('error', () => undefined);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const PARAMS: AnnounceParams = {
  infoHash: Buffer.from('00ff2025' + 'ab'.repeat(16), 'hex'),
  peerId: Buffer.from('-TS0001-\u0000\u00ff........', 'latin1'),
  port: 6881,
  uploaded: 5,
  downloaded: 6,
  left: 7,
  event: 'completed',
};
const OK_BODY = encode({ complete: 1, incomplete: 2, interval: 120, peers: Buffer.from('7f0000011ae1', 'hex') });
const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof TrackerError && e.code === code && (re === undefined || re.test(e.message));

test('announce sends the raw bytes and the BEP 3 fields, and reads the reply', async () => {
  let seen: Map<string, Buffer[]> | undefined;
  const base = await serve((req, res) => {
    seen = parseQueryBytes((req.url ?? '').split('?')[1] ?? '');
    res.end(OK_BODY);
  });
  const res = await announce(`${base}/announce`, PARAMS);
  assert.deepEqual(res, { interval: 120, peers: [{ host: '127.0.0.1', port: 6881 }], complete: 1, incomplete: 2 });
  assert.deepEqual(seen?.get('info_hash'), [Buffer.from(PARAMS.infoHash)]);
  assert.deepEqual(seen?.get('peer_id'), [Buffer.from(PARAMS.peerId)]);
  const text = (k: string): string | undefined => seen?.get(k)?.[0]?.toString();
  assert.deepEqual(['port', 'uploaded', 'downloaded', 'left', 'event', 'compact'].map(text), ['6881', '5', '6', '7', 'completed', '1']);
});

test('follows up to 5 redirects, relative ones included', async () => {
  const base = await serve((req, res) => {
    const hop = Number(/\/r(\d+)/.exec(req.url ?? '')?.[1] ?? '-1');
    if (hop >= 0 && hop < 5) {
      res.writeHead(302, { location: hop % 2 === 0 ? `/r${hop + 1}` : `${base}/r${hop + 1}` }).end();
    } else res.end(OK_BODY);
  });
  const res = await announce(`${base}/r0/announce`, PARAMS);
  assert.equal(res.peers.length, 1);
});

test('more than 5 redirects is a tracker-redirect error', async () => {
  let hits = 0;
  const base = await serve((_req, res) => {
    hits++;
    res.writeHead(301, { location: '/again' }).end();
  });
  await assert.rejects(announce(`${base}/announce`, PARAMS), isCode('tracker-redirect', /more than 5/));
  assert.equal(hits, 6);
});

test('a redirect to a non-http scheme is refused', async () => {
  const base = await serve((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
  await assert.rejects(announce(`${base}/announce`, PARAMS), isCode('tracker-refused', /file:/));
});

test('hostile tracker: absurd numbers, unsorted keys and trailing garbage still give a usable reply', async () => {
  const huge = 'i9223372036854775808e';
  const body = Buffer.from(`d8:intervali${'9'.repeat(30)}e8:complete${huge}10:incompletei-1e5:peers12:\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe212:min intervali-7ee\n<html>oops</html>`, 'latin1');
  const base = await serve((_req, res) => res.end(body));
  const res = await announce(`${base}/announce`, PARAMS);
  assert.deepEqual(res, {
    interval: 86400,
    minInterval: 60,
    peers: [
      { host: '127.0.0.1', port: 6881 },
      { host: '127.0.0.2', port: 6882 },
    ],
    complete: Number.MAX_SAFE_INTEGER,
  });
});

test('a declared body over 1 MiB is refused before reading it', async () => {
  const base = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': 2 * 1024 * 1024 });
    res.write(Buffer.alloc(1000));
  });
  await assert.rejects(announce(`${base}/announce`, PARAMS), isCode('tracker-too-large', /2097152/));
});

test('an undeclared (chunked) body is cut off once it passes 1 MiB', async () => {
  let written = 0;
  const base = await serve((_req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (written < 8 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  });
  await assert.rejects(announce(`${base}/announce`, PARAMS), isCode('tracker-too-large', /exceeds 1048576/));
  assert.ok(written < 8 * 1024 * 1024, 'the server was not read to the end');
});

test('a tracker that never answers times out', async () => {
  const base = await serve(() => undefined);
  const started = performance.now();
  await assert.rejects(announce(`${base}/announce`, PARAMS, { timeoutMs: 150 }), isCode('tracker-timeout', /150 ms/));
  assert.ok(performance.now() - started < 2000);
});

test('non-bencode, HTTP errors, gzip and a refused connection are typed errors', async () => {
  const base = await serve((req, res) => {
    if (req.url?.startsWith('/html')) res.end('<html>hello</html>');
    else if (req.url?.startsWith('/500')) res.writeHead(500).end('oops');
    else if (req.url?.startsWith('/400')) res.writeHead(400).end(encode({ 'failure reason': 'unregistered torrent' }));
    else if (req.url?.startsWith('/gzip')) res.writeHead(200, { 'content-encoding': 'gzip' }).end(Buffer.alloc(10));
    else res.end('');
  });
  await assert.rejects(announce(`${base}/html/announce`, PARAMS), isCode('tracker-protocol', /not valid bencode/));
  await assert.rejects(announce(`${base}/500/announce`, PARAMS), isCode('tracker-http-status', /HTTP 500/));
  await assert.rejects(announce(`${base}/400/announce`, PARAMS), isCode('tracker-failure', /^unregistered torrent$/));
  await assert.rejects(announce(`${base}/gzip/announce`, PARAMS), isCode('tracker-protocol', /gzip/));
  await assert.rejects(announce(`${base}/empty/announce`, PARAMS), isCode('tracker-protocol'));
  const closed = await serve(() => undefined);
  const s = servers.pop()!;
  await new Promise((r) => s.close(r));
  await assert.rejects(announce(`${closed}/announce`, PARAMS), isCode('tracker-network', /ECONNREFUSED/));
  await assert.rejects(announce('ftp://127.0.0.1/announce', PARAMS), isCode('tracker-bad-url'));
});

test('abort signal cancels an HTTP announce', async () => {
  const base = await serve(() => undefined);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  await assert.rejects(announce(`${base}/announce`, { ...PARAMS, signal: ac.signal }), isCode('tracker-aborted'));
});

test('scrape goes to the BEP 48 URL with every info hash', async () => {
  let path = '';
  let hashes: Buffer[] = [];
  const h1 = Buffer.alloc(20, 1);
  const h2 = Buffer.alloc(20, 2);
  const base = await serve((req, res) => {
    [path] = (req.url ?? '').split('?') as [string];
    hashes = parseQueryBytes((req.url ?? '').split('?')[1] ?? '').get('info_hash') ?? [];
    res.end(encode({ files: new Map([[h1.toString('latin1'), { complete: 1, downloaded: 2, incomplete: 3 }]]) }));
  });
  const res = await scrape(`${base}/x/announce`, [h1, h2]);
  assert.equal(path, '/x/scrape');
  assert.deepEqual(hashes, [h1, h2]);
  assert.deepEqual(res.get(h1.toString('hex')), { complete: 1, downloaded: 2, incomplete: 3 });
  assert.equal(res.has(h2.toString('hex')), false);
  await assert.rejects(scrape(`${base}/tracker`, [h1]), isCode('tracker-bad-url', /BEP 48/));
});
