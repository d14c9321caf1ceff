import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { decode, asDict, asBytes, asInt, asList, asText } from '../../src/bencode/index.js';
import { announce, scrape } from '../../src/tracker/announce.js';
import { TrackerError } from '../../src/tracker/errors.js';
import { percentEncodeBytes } from '../../src/tracker/http-codec.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startTrackerServer, type TrackerServer, type TrackerServerOptions } from '../../src/tracker/server.js';
import type { AnnounceParams } from '../../src/tracker/types.js';
import { UdpTrackerClient } from '../../src/tracker/udp-client.js';
import { decodeRequest, encodeAnnounceRequest, encodeConnectRequest, peekResponse, decodeErrorResponse, decodeConnectResponse } from '../../src/tracker/udp-codec.js';
import { UdpProbe } from './udp-probe.js';

const servers: TrackerServer[] = [];
const clients: UdpTrackerClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function server(opts: TrackerServerOptions = {}): Promise<TrackerServer> {
  const s = await startTrackerServer({ interval: 100, ...opts });
  servers.push(s);
  return s;
}

function udpClient(): UdpTrackerClient {
  const c = new UdpTrackerClient({ baseTimeoutMs: 200, maxRetries: 1 });
  clients.push(c);
  return c;
}

const hash = (n: number): Buffer => Buffer.alloc(20, n);
const peerId = (n: number): Buffer => Buffer.from(`-TS0001-${String(n).padStart(12, '0')}`, 'latin1');
const params = (n: number, extra: Partial<AnnounceParams> = {}): AnnounceParams => ({
  infoHash: hash(1),
  peerId: peerId(n),
  port: 10_000 + n,
  uploaded: 0,
  downloaded: 0,
  left: n === 0 ? 0 : 100,
  ...extra,
});

/** GET a path on the server and return the decoded dictionary (and the status). */
function raw(s: TrackerServer, path: string): Promise<{ status: number; body: ReturnType<typeof asDict> }> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${s.httpPort}${path}`, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: asDict(decode(Buffer.concat(chunks))) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const failure = async (s: TrackerServer, path: string): Promise<string | undefined> => asText((await raw(s, path)).body?.get('failure reason'));

test('HTTP: peers see each other (compact), counts follow left, the caller is not in its own list', async () => {
  const s = await server();
  const first = await announce(s.httpUrl, params(0, { event: 'started' }));
  assert.deepEqual(first.peers, []);
  assert.deepEqual([first.complete, first.incomplete, first.interval], [1, 0, 100]);
  const second = await announce(s.httpUrl, params(1, { event: 'started' }));
  assert.deepEqual(second.peers, [{ host: '127.0.0.1', port: 10_000 }]);
  assert.deepEqual([second.complete, second.incomplete], [1, 1]);
  const sc = await scrape(s.httpUrl, [hash(1), hash(2)]);
  assert.deepEqual(sc.get(hash(1).toString('hex')), { complete: 1, downloaded: 0, incomplete: 1 });
  assert.deepEqual(sc.get(hash(2).toString('hex')), { complete: 0, downloaded: 0, incomplete: 0 });
});

test('a seed is handed leechers only; a leecher gets seeds and leechers', async () => {
  const s = await server();
  await announce(s.httpUrl, params(0));
  await announce(s.httpUrl, params(1));
  const seed = await announce(s.httpUrl, params(2, { left: 0 }));
  assert.deepEqual(seed.peers, [{ host: '127.0.0.1', port: 10_001 }], 'the other seed (port 10000) is left out');
  assert.deepEqual([seed.complete, seed.incomplete], [2, 1], 'the counts still count every seed');
  const leecher = await announce(s.httpUrl, params(3));
  assert.deepEqual(
    leecher.peers.map((p) => p.port).sort(),
    [10_000, 10_001, 10_002],
  );
});

test('HTTP: the dictionary form when compact=0, with or without peer ids', async () => {
  const s = await server();
  await announce(s.httpUrl, params(0));
  const q = (n: number): string =>
    `info_hash=${percentEncodeBytes(hash(1))}&peer_id=${percentEncodeBytes(peerId(n))}&port=${10_000 + n}&uploaded=0&downloaded=0&left=5`;
  const { body } = await raw(s, `/announce?${q(1)}&compact=0`);
  const peers = asList(body?.get('peers')) ?? [];
  assert.equal(peers.length, 1);
  const p = asDict(peers[0]);
  assert.equal(asText(p?.get('ip')), '127.0.0.1');
  assert.equal(asInt(p?.get('port')), 10_000);
  assert.deepEqual(Buffer.from(asBytes(p?.get('peer id')) ?? []), peerId(0));
  const noId = asDict((asList((await raw(s, `/announce?${q(1)}&compact=0&no_peer_id=1`)).body?.get('peers')) ?? [])[0]);
  assert.equal(noId?.has('peer id'), false);
  assert.equal(asInt(body?.get('min interval')), 50);
});

test('HTTP: stopped removes the peer, completed counts a download', async () => {
  const s = await server();
  await announce(s.httpUrl, params(1, { event: 'started' }));
  await announce(s.httpUrl, params(2, { event: 'completed', left: 0 }));
  let sc = (await scrape(s.httpUrl, [hash(1)])).get(hash(1).toString('hex'));
  assert.deepEqual(sc, { complete: 1, downloaded: 1, incomplete: 1 });
  await announce(s.httpUrl, params(1, { event: 'stopped' }));
  sc = (await scrape(s.httpUrl, [hash(1)])).get(hash(1).toString('hex'));
  assert.deepEqual(sc, { complete: 1, downloaded: 1, incomplete: 0 });
});

test('peers expire after twice the interval (injected clock)', async () => {
  const clock = new FakeClock();
  const s = await server({ interval: 10, clock });
  await announce(s.httpUrl, params(1));
  clock.advance(19_000);
  assert.equal((await announce(s.httpUrl, params(2))).peers.length, 1);
  clock.advance(1_500);
  const r = await announce(s.httpUrl, params(3));
  assert.deepEqual(r.peers, [{ host: '127.0.0.1', port: 10_002 }], 'peer 1 (last seen 20.5 s ago) expired, peer 2 (1.5 s) did not');
});

test('numwant is capped, and the caps on swarms and peers hold', async () => {
  const s = await server({ maxNumWant: 3, maxPeersPerSwarm: 5, maxSwarms: 2 });
  for (let n = 1; n <= 8; n++) await announce(s.httpUrl, params(n));
  const r = await announce(s.httpUrl, params(1, { numWant: 100 }));
  assert.equal(r.peers.length, 3);
  assert.equal((r.complete ?? 0) + (r.incomplete ?? 0), 5, 'only 5 peers were stored');
  assert.equal((await announce(s.httpUrl, params(2, { numWant: 2 }))).peers.length, 2);
  await announce(s.httpUrl, params(1, { infoHash: hash(2) }));
  await assert.rejects(announce(s.httpUrl, params(1, { infoHash: hash(3) })), (e: unknown) => e instanceof TrackerError && e.code === 'tracker-failure' && /full/.test(e.message));
});

test('HTTP: malformed requests get a failure reason, never a crash', async () => {
  const s = await server();
  const ih = percentEncodeBytes(hash(1));
  const pid = percentEncodeBytes(peerId(1));
  const ok = `info_hash=${ih}&peer_id=${pid}&port=1&uploaded=0&downloaded=0&left=0`;
  assert.equal(await failure(s, '/announce'), 'info_hash must be 20 bytes');
  assert.equal(await failure(s, `/announce?${ok.replace(ih, '%00%01')}`), 'info_hash must be 20 bytes');
  assert.equal(await failure(s, `/announce?${ok.replace(pid, 'short')}`), 'peer_id must be 20 bytes');
  assert.equal(await failure(s, `/announce?${ok.replace('port=1', 'port=0')}`), 'invalid port');
  assert.equal(await failure(s, `/announce?${ok.replace('port=1', 'port=99999')}`), 'invalid port');
  assert.equal(await failure(s, `/announce?${ok.replace('port=1', 'port=1e3')}`), 'invalid port');
  assert.equal(await failure(s, `/announce?${ok.replace('left=0', 'left=-1')}`), 'invalid left');
  assert.equal(await failure(s, `/announce?${ok.replace('uploaded=0', 'uploaded=x')}`), 'invalid uploaded');
  assert.equal(await failure(s, `/announce?${ok}&event=exploded`), 'invalid event');
  assert.equal(await failure(s, '/scrape'), 'scrape needs info_hash');
  assert.equal(await failure(s, `/scrape?info_hash=abc`), 'info_hash must be 20 bytes');
  assert.equal(await failure(s, `/scrape?${new Array(101).fill(`info_hash=${ih}`).join('&')}`), 'at most 100 info hashes per scrape');
  const nf = await raw(s, '/nothing%ZZ?%%%');
  assert.equal(nf.status, 404);
  assert.equal(asText(nf.body?.get('failure reason')), 'not found');
  assert.equal(asInt((await raw(s, `/announce?${ok}`)).body?.get('complete')), 1, 'still serving after all that');
});

test('UDP: connect, announce and scrape through the real client; both transports share swarms', async () => {
  const s = await server();
  const c = udpClient();
  await announce(s.httpUrl, params(1));
  const r = await c.announce(s.udpUrl, params(2));
  assert.deepEqual(r.peers, [{ host: '127.0.0.1', port: 10_001 }]);
  assert.deepEqual([r.complete, r.incomplete, r.interval], [0, 2, 100]);
  const sc = await c.scrape(s.udpUrl, [hash(1)]);
  assert.deepEqual(sc.get(hash(1).toString('hex')), { complete: 0, downloaded: 0, incomplete: 2 });
});

test('IPv6: the built-in tracker on ::1 returns peers6 over HTTP and 18-byte peers over UDP', async () => {
  const s = await server({ host: '::1' });
  assert.match(s.httpUrl, /^http:\/\/\[::1\]:\d+\/announce$/);
  await announce(s.httpUrl, params(1));
  assert.deepEqual((await announce(s.httpUrl, params(2))).peers, [{ host: '::1', port: 10_001 }]);
  assert.deepEqual((await udpClient().announce(s.udpUrl, params(3))).peers.map((p) => p.host), ['::1', '::1']);
});

test('UDP: bad connection ids, expired ids and malformed packets get an error reply', async () => {
  const clock = new FakeClock();
  const s = await server({ clock });
  const probe = await UdpProbe.open();
  const ask = (packet: Buffer, waitMs?: number): Promise<Buffer | undefined> => probe.ask(packet, s.udpPort, '127.0.0.1', waitMs);
  try {
    const announceWith = (connectionId: bigint): Buffer =>
      encodeAnnounceRequest({ connectionId, transactionId: 77, infoHash: hash(9), peerId: peerId(1), downloaded: 0, left: 1, uploaded: 0, key: 0, numWant: -1, port: 5 });
    const bad = await ask(announceWith(12345n));
    assert.deepEqual(decodeErrorResponse(bad!), { transactionId: 77, message: 'invalid connection id' });
    const id = decodeConnectResponse((await ask(encodeConnectRequest(5)))!, 5);
    assert.equal(peekResponse((await ask(announceWith(id)))!).action, 1, 'a fresh id works');
    clock.advance(61_000);
    assert.equal(peekResponse((await ask(announceWith(id)))!).action, 1, 'still valid in the next minute');
    clock.advance(60_000);
    assert.equal(decodeErrorResponse((await ask(announceWith(id)))!).message, 'invalid connection id');
    const garbage = Buffer.concat([Buffer.alloc(12), Buffer.from([0, 0, 0, 9]), Buffer.alloc(3)]);
    const reply = (await ask(garbage))!;
    assert.deepEqual(decodeErrorResponse(reply), { transactionId: 9, message: 'connect req' }, 'the message is cut to the 19 bytes of the request');
    assert.equal(reply.length, garbage.length);
    assert.equal(await ask(Buffer.alloc(5), 300), undefined, 'too short to answer');
    assert.equal(decodeRequest(encodeConnectRequest(1)).action, 'connect');
    assert.equal(peekResponse((await ask(encodeConnectRequest(6)))!).action, 0, 'still serving');
  } finally {
    probe.close();
  }
});
