/**
 * The built-in tracker against hostile clients on loopback: one address flooding a swarm with
 * ports or the table with info hashes, malformed UDP packets that would make it a reflector,
 * and connection ids replayed from another address or port. 127.0.0.2 plays the honest
 * neighbour: every 127.0.0.0/8 address is this machine on Linux.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import fc from 'fast-check';
import { asBytes, asDict, asText, decode } from '../../src/bencode/index.js';
import { percentEncodeBytes } from '../../src/tracker/http-codec.js';
import { startTrackerServer, type TrackerServer, type TrackerServerOptions } from '../../src/tracker/server.js';
import { SwarmStore, sourceOf } from '../../src/tracker/swarm-store.js';
import { UdpTrackerClient } from '../../src/tracker/udp-client.js';
import { decodeConnectResponse, decodeErrorResponse, encodeAnnounceRequest, encodeConnectRequest, peekResponse } from '../../src/tracker/udp-codec.js';
import { UdpProbe } from './udp-probe.js';

const servers: TrackerServer[] = [];
const closers: (() => void)[] = [];
after(async () => {
  for (const c of closers) c();
  await Promise.all(servers.map((s) => s.close()));
});

async function server(opts: TrackerServerOptions = {}): Promise<TrackerServer> {
  const s = await startTrackerServer({ interval: 600, ...opts });
  servers.push(s);
  return s;
}

async function probe(host = '127.0.0.1'): Promise<UdpProbe> {
  const p = await UdpProbe.open(host);
  closers.push(() => p.close());
  return p;
}

const hash = (n: number): Buffer => Buffer.alloc(20, n);
const peerId = (n: number): Buffer => Buffer.from(`-TS0001-${String(n).padStart(12, '0')}`, 'latin1');

/** An HTTP announce from `localAddress`; resolves with the reply dictionary. */
function httpAnnounce(s: TrackerServer, localAddress: string, infoHash: Buffer, port: number): Promise<ReturnType<typeof asDict>> {
  const q = `info_hash=${percentEncodeBytes(infoHash)}&peer_id=${percentEncodeBytes(peerId(port))}&port=${port}&uploaded=0&downloaded=0&left=1`;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: s.httpPort, path: `/announce?${q}`, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(asDict(decode(Buffer.concat(chunks)))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Peers a scrape counts in each swarm (all announce as leechers here). */
async function stored(s: TrackerServer, hashes: Buffer[]): Promise<number[]> {
  const c = new UdpTrackerClient({ baseTimeoutMs: 5000, maxRetries: 0 });
  closers.push(() => c.close());
  const r = await c.scrape(s.udpUrl, hashes);
  return hashes.map((h) => r.get(h.toString('hex'))?.incomplete ?? -1);
}

test('one address cannot fill a swarm with thousands of ports; its neighbour still gets in', async () => {
  const s = await server({ maxPortsPerSource: 16 });
  const flooder = new UdpTrackerClient({ baseTimeoutMs: 5000, maxRetries: 1 });
  closers.push(() => flooder.close());
  const params = (port: number) => ({ infoHash: hash(1), peerId: peerId(port), port, uploaded: 0, downloaded: 0, left: 1, numWant: 0 });
  for (let port = 1000; port < 1300; port++) await flooder.announce(s.udpUrl, params(port));
  assert.deepEqual(await stored(s, [hash(1)]), [16], '16 of the 300 ports were stored');
  const honest = await httpAnnounce(s, '127.0.0.2', hash(1), 7000);
  assert.equal(asText(honest?.get('failure reason')), undefined);
  assert.equal(asBytes(honest?.get('peers'))?.length, 16 * 6, 'the honest peer is handed the stored ones');
  assert.deepEqual(await stored(s, [hash(1)]), [17], 'and is stored itself');
  const again = await flooder.announce(s.udpUrl, params(1000));
  assert.equal(again.incomplete, 17, 'a stored port still re-announces');
});

test('one address cannot fill the torrent table; its neighbour can still start a swarm', async () => {
  const s = await server({ maxSwarms: 40, maxPeersPerSource: 10 });
  const hashes = Array.from({ length: 60 }, (_, i) => hash(i + 1));
  for (const h of hashes) {
    const r = await httpAnnounce(s, '127.0.0.1', h, 5000);
    assert.equal(asText(r?.get('failure reason')), undefined, 'answered as usual, if not stored');
  }
  const counts = await stored(s, hashes);
  assert.equal(counts.filter((n) => n === 1).length, 10, 'only 10 swarms are held for that address');
  const honest = await httpAnnounce(s, '127.0.0.2', hash(200), 6000);
  assert.equal(asText(honest?.get('failure reason')), undefined);
  assert.deepEqual(await stored(s, [hash(200)]), [1]);
});

test('UDP: no reply to a malformed or unauthenticated request is larger than the request (fuzz)', async () => {
  const s = await server();
  const p = await probe();
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 16, maxLength: 120 }), fc.constantFrom(0, 1, 2, 3, 9), async (bytes, action) => {
      const packet = Buffer.from(bytes);
      packet.writeUInt32BE(action, 8);
      const reply = await p.ask(packet, s.udpPort);
      assert.ok(reply !== undefined, 'every request of 16 bytes or more is answered');
      assert.ok(reply.length <= packet.length, `a ${packet.length}-byte request got ${reply.length} bytes`);
      answered++;
    }),
    { numRuns: 150 },
  );
  assert.equal(answered, 150);
  assert.equal(await p.ask(Buffer.alloc(15), s.udpPort, '127.0.0.1', 300), undefined, 'below 16 bytes: no reply at all');
});

test('UDP: a connection id is accepted only from the address and port it was given to', async () => {
  const s = await server();
  const owner = await probe();
  const samePortElsewhere = await probe();
  const otherAddress = await probe('127.0.0.2');
  const id = decodeConnectResponse((await owner.ask(encodeConnectRequest(1), s.udpPort))!, 1);
  const announce = (port: number): Buffer =>
    encodeAnnounceRequest({ connectionId: id, transactionId: 2, infoHash: hash(3), peerId: peerId(port), downloaded: 0, left: 1, uploaded: 0, key: 0, numWant: -1, port });
  for (const thief of [samePortElsewhere, otherAddress]) {
    const reply = (await thief.ask(announce(4000), s.udpPort))!;
    assert.equal(decodeErrorResponse(reply).message, 'invalid connection id');
  }
  assert.deepEqual(await stored(s, [hash(3)]), [0], 'nothing was stored for the thieves');
  assert.equal(peekResponse((await owner.ask(announce(4001), s.udpPort))!).action, 1);
  assert.deepEqual(await stored(s, [hash(3)]), [1]);
});

test('store quotas: an IPv6 /64 is one source; stopped and expired peers give their quota back', () => {
  let now = 0;
  const store = new SwarmStore({ peerTtlMs: 1000, maxSwarms: 100, maxPeersPerSwarm: 100, maxPortsPerSource: 2, maxPeersPerSource: 3, now: () => now });
  assert.equal(sourceOf('2001:db8:1:2::5'), sourceOf('2001:db8:1:2:ffff::9'));
  assert.notEqual(sourceOf('2001:db8:1:2::5'), sourceOf('2001:db8:1:3::5'));
  const ann = (host: string, port: number, n = 1, event?: 'stopped') =>
    store.announce({ infoHashHex: String(n), host, port, peerId: peerId(port), left: 1, numWant: 50, ...(event === undefined ? {} : { event }) });
  ann('2001:db8:1:2::5', 1);
  ann('2001:db8:1:2::6', 2);
  ann('2001:db8:1:2::7', 3);
  assert.equal(store.peersOfSource('2001:db8:1:2::1'), 2, 'two ports per swarm for the whole /64');
  ann('2001:db8:1:2::7', 3, 2);
  ann('2001:db8:1:2::7', 4, 3);
  assert.equal(store.peersOfSource('2001:db8:1:2::1'), 3, 'three peers in all swarms');
  ann('2001:db8:1:2::5', 1, 1, 'stopped');
  assert.equal(store.peersOfSource('2001:db8:1:2::1'), 2);
  ann('2001:db8:1:2::7', 4, 3);
  assert.equal(store.peersOfSource('2001:db8:1:2::1'), 3, 'the freed quota is used again');
  now += 2000;
  store.sweep();
  assert.equal(store.peersOfSource('2001:db8:1:2::1'), 0, 'expiry frees it too');
  assert.equal(store.swarmCount, 0);
});
