import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TrackerError } from '../../src/tracker/errors.js';
import {
  decodeAnnounceResponse,
  decodeConnectResponse,
  decodeErrorResponse,
  decodeRequest,
  decodeScrapeResponse,
  encodeAnnounceRequest,
  encodeAnnounceResponse,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeErrorResponse,
  encodeScrapeRequest,
  encodeScrapeResponse,
} from '../../src/tracker/udp-codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const HASH = Buffer.alloc(20, 0xaa);
const PEER_ID = Buffer.from('-TS0001-abcdefghijkl', 'latin1');

function protocolError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof TrackerError && e.code === 'tracker-protocol' && re.test(e.message));
}

test('connect request is the BEP 15 magic, action 0 and the transaction id', () => {
  assert.deepEqual(encodeConnectRequest(0x01020304), hex('0000041727101980 00000000 01020304'));
});

test('announce request: 98 bytes at the BEP 15 offsets', () => {
  const b = encodeAnnounceRequest({
    connectionId: 0x1122334455667788n,
    transactionId: 0xdeadbeef,
    infoHash: HASH,
    peerId: PEER_ID,
    downloaded: 1,
    left: 2 ** 40,
    uploaded: 3,
    event: 'started',
    key: 0xcafebabe,
    numWant: -1,
    port: 6881,
  });
  const expected = hex(
    `1122334455667788 00000001 deadbeef ${HASH.toString('hex')} ${PEER_ID.toString('hex')}
     0000000000000001 0000010000000000 0000000000000003 00000002 00000000 cafebabe ffffffff 1ae1`,
  );
  assert.equal(b.length, 98);
  assert.deepEqual(b, expected);
});

test('announce request event codes: none 0, completed 1, started 2, stopped 3', () => {
  const base = { connectionId: 1n, transactionId: 1, infoHash: HASH, peerId: PEER_ID, downloaded: 0, left: 0, uploaded: 0, key: 0, numWant: 5, port: 1 };
  assert.equal(encodeAnnounceRequest(base).readUInt32BE(80), 0);
  assert.equal(encodeAnnounceRequest({ ...base, event: 'completed' }).readUInt32BE(80), 1);
  assert.equal(encodeAnnounceRequest({ ...base, event: 'started' }).readUInt32BE(80), 2);
  assert.equal(encodeAnnounceRequest({ ...base, event: 'stopped' }).readUInt32BE(80), 3);
});

test('scrape request: header then 20 bytes per hash, at most 74 hashes', () => {
  const b = encodeScrapeRequest(7n, 9, [HASH, Buffer.alloc(20, 0xbb)]);
  assert.deepEqual(b, hex(`0000000000000007 00000002 00000009 ${'aa'.repeat(20)} ${'bb'.repeat(20)}`));
  protocolError(() => encodeScrapeRequest(7n, 9, []), /1 to 74/);
  protocolError(() => encodeScrapeRequest(7n, 9, new Array<Buffer>(75).fill(HASH)), /1 to 74/);
});

test('connect response: exactly 16 bytes, matching transaction id', () => {
  const ok = hex('00000000 01020304 0102030405060708');
  assert.equal(decodeConnectResponse(ok, 0x01020304), 0x0102030405060708n);
  protocolError(() => decodeConnectResponse(ok.subarray(0, 15), 0x01020304), /15 bytes/);
  protocolError(() => decodeConnectResponse(Buffer.concat([ok, Buffer.alloc(1)]), 0x01020304), /17 bytes/);
  protocolError(() => decodeConnectResponse(ok, 0x01020305), /transaction id/);
  protocolError(() => decodeConnectResponse(hex('00000001 01020304 0102030405060708'), 0x01020304), /expected action 0, got 1/);
  protocolError(() => decodeConnectResponse(hex('000000'), 1), /shorter than 8/);
});

test('announce response: IPv4 peers are 6 bytes, IPv6 peers 18', () => {
  const v4 = hex('00000001 00000007 00000708 00000002 00000003 7f000001 1ae1 0a000002 0050');
  assert.deepEqual(decodeAnnounceResponse(v4, 7, 4), {
    transactionId: 7,
    interval: 1800,
    leechers: 2,
    seeders: 3,
    peers: [
      { host: '127.0.0.1', port: 6881 },
      { host: '10.0.0.2', port: 80 },
    ],
  });
  const v6 = hex(`00000001 00000007 00000708 00000000 00000001 ${'00'.repeat(15)}01 1ae1`);
  assert.deepEqual(decodeAnnounceResponse(v6, 7, 6).peers, [{ host: '::1', port: 6881 }]);
  protocolError(() => decodeAnnounceResponse(v4, 7, 6), /multiple of 18/);
  protocolError(() => decodeAnnounceResponse(v4.subarray(0, 25), 7, 4), /multiple of 6/);
  protocolError(() => decodeAnnounceResponse(v4.subarray(0, 19), 7, 4), /shorter than 20/);
  protocolError(() => decodeAnnounceResponse(v4, 8, 4), /transaction id/);
});

test('scrape response: 12 bytes per requested hash, no more, no less', () => {
  const r = hex('00000002 00000005 00000001 00000002 00000003 00000004 00000005 00000006');
  assert.deepEqual(decodeScrapeResponse(r, 5, 2), [
    { complete: 1, downloaded: 2, incomplete: 3 },
    { complete: 4, downloaded: 5, incomplete: 6 },
  ]);
  protocolError(() => decodeScrapeResponse(r, 5, 1), /expected 20/);
  protocolError(() => decodeScrapeResponse(r.subarray(0, 31), 5, 2), /31 bytes/);
});

test('an error reply turns into a tracker-failure with its (sanitized) message', () => {
  const e = hex(`00000003 00000005 ${Buffer.from('bad\ntorrent', 'utf8').toString('hex')}`);
  assert.deepEqual(decodeErrorResponse(e), { transactionId: 5, message: 'bad?torrent' });
  assert.throws(
    () => decodeConnectResponse(e, 5),
    (err: unknown) => err instanceof TrackerError && err.code === 'tracker-failure' && err.message === 'bad?torrent',
  );
  protocolError(() => decodeConnectResponse(e, 6), /transaction id/);
});

test('server side: requests decode back to what the client encoded', () => {
  assert.deepEqual(decodeRequest(encodeConnectRequest(42)), { action: 'connect', transactionId: 42 });
  const req = {
    connectionId: 5n,
    transactionId: 6,
    infoHash: HASH,
    peerId: PEER_ID,
    downloaded: 10,
    left: 20,
    uploaded: 30,
    event: 'stopped' as const,
    key: 7,
    numWant: 50,
    port: 9,
  };
  const d = decodeRequest(encodeAnnounceRequest(req));
  assert.equal(d.action, 'announce');
  assert.deepEqual({ ...d, infoHash: Buffer.from(d.action === 'announce' ? d.infoHash : []), peerId: Buffer.from(d.action === 'announce' ? d.peerId : []) }, { action: 'announce', ...req });
  const s = decodeRequest(encodeScrapeRequest(5n, 6, [HASH]));
  assert.equal(s.action, 'scrape');
  protocolError(() => decodeRequest(hex('0000000000000000 00000000 00000001')), /protocol id/);
  protocolError(() => decodeRequest(encodeAnnounceRequest(req).subarray(0, 97)), /shorter than 98/);
  protocolError(() => decodeRequest(Buffer.concat([encodeScrapeRequest(5n, 6, [HASH]), Buffer.alloc(3)])), /scrape request/);
  protocolError(() => decodeRequest(hex('0000000000000005 00000009 00000001')), /unknown action 9/);
  protocolError(() => decodeRequest(Buffer.alloc(15)), /shorter than 16/);
});

test('server side: responses have the exact BEP 15 layout', () => {
  assert.deepEqual(encodeConnectResponse(1, 2n), hex('00000000 00000001 0000000000000002'));
  assert.deepEqual(
    encodeAnnounceResponse({ transactionId: 1, interval: 60, leechers: 2, seeders: 3, peers: [{ host: '127.0.0.1', port: 1 }, { host: '::1', port: 2 }] }, 4),
    hex('00000001 00000001 0000003c 00000002 00000003 7f000001 0001'),
  );
  assert.deepEqual(encodeScrapeResponse(4, [{ complete: 1, downloaded: 2, incomplete: 3 }]), hex('00000002 00000004 00000001 00000002 00000003'));
  assert.deepEqual(encodeErrorResponse(4, 'no'), hex('00000003 00000004 6e6f'));
});

test('fuzz: random replies either decode or throw a TrackerError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 3 }), (bytes, txId) => {
      const buf = Buffer.from(bytes);
      for (const fn of [
        () => decodeConnectResponse(buf, txId),
        () => decodeAnnounceResponse(buf, txId, 4),
        () => decodeAnnounceResponse(buf, txId, 6),
        () => decodeScrapeResponse(buf, txId, 2),
        () => decodeRequest(buf),
      ]) {
        try {
          fn();
        } catch (e) {
          if (!(e instanceof TrackerError)) throw e;
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: announce responses round-trip through encode and decode', () => {
  const peer = fc.record({ host: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }) });
  fc.assert(
    fc.property(fc.array(peer, { maxLength: 30 }), fc.nat(), (peers, n) => {
      const r = { transactionId: n >>> 0, interval: n % 5000, leechers: n % 7, seeders: n % 11, peers };
      const d = decodeAnnounceResponse(encodeAnnounceResponse(r, 4), r.transactionId, 4);
      assert.deepEqual(d.peers, peers.map((p) => ({ host: p.host.split('.').map(Number).join('.'), port: p.port })));
      assert.equal(d.interval, r.interval);
    }),
  );
});
