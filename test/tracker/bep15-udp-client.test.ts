import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TrackerError } from '../../src/tracker/errors.js';
import { UdpTrackerClient } from '../../src/tracker/udp-client.js';
import { decodeAnnounceResponse, decodeConnectResponse, decodeRequest, encodeAnnounceResponse, encodeConnectResponse, encodeErrorResponse, encodeScrapeResponse } from '../../src/tracker/udp-codec.js';
import type { AnnounceParams } from '../../src/tracker/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeUdpTracker, type Handler } from './fake-udp-tracker.js';

const CONN_ID = 0x0a0b0c0d0e0f1011n;
const PARAMS: AnnounceParams = {
  infoHash: Buffer.alloc(20, 1),
  peerId: Buffer.from('-TS0001-000000000000', 'latin1'),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
};
const PEERS = [
  { host: '127.0.0.1', port: 7000 },
  { host: '127.0.0.2', port: 7001 },
];

const trackers: FakeUdpTracker[] = [];
const clients: UdpTrackerClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(trackers.map((t) => t.close()));
});

async function fake(host?: string): Promise<FakeUdpTracker> {
  const t = await FakeUdpTracker.start(host);
  trackers.push(t);
  return t;
}

/** Retransmissions are slow by default, so a loaded machine does not add packets a test counts. */
function client(opts: ConstructorParameters<typeof UdpTrackerClient>[0] = {}): UdpTrackerClient {
  const c = new UdpTrackerClient({ baseTimeoutMs: 5000, maxRetries: 2, ...opts });
  clients.push(c);
  return c;
}

/** A well-behaved tracker; `peers` as IPv4 or IPv6 depending on `family`. */
function goodTracker(family: 4 | 6 = 4, peers = PEERS): Handler {
  return (packet, _from, send) => {
    const req = decodeRequest(packet);
    if (req.action === 'connect') send(encodeConnectResponse(req.transactionId, CONN_ID));
    else if (req.action === 'announce') send(encodeAnnounceResponse({ transactionId: req.transactionId, interval: 900, leechers: 4, seeders: 5, peers }, family));
    else send(encodeScrapeResponse(req.transactionId, req.infoHashes.map((_, i) => ({ complete: i + 1, downloaded: 2, incomplete: 3 }))));
  };
}

function isTrackerError(code: string, re?: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof TrackerError && e.code === code && (re === undefined || re.test(e.message));
}

test('announce: connect, then announce with the connection id, key and port', async () => {
  const t = await fake();
  t.handler = goodTracker();
  const res = await client({ randomU32: (() => { let n = 100; return () => n++; })() }).announce(t.url, { ...PARAMS, numWant: 30 });
  assert.deepEqual(res, { interval: 900, peers: PEERS, complete: 5, incomplete: 4 });
  assert.equal(t.received.length, 2);
  const ann = decodeRequest(t.received[1]!.packet);
  assert.equal(ann.action, 'announce');
  if (ann.action !== 'announce') return;
  assert.equal(ann.connectionId, CONN_ID);
  assert.equal(ann.key, 100, 'the key is the first random draw');
  assert.equal(ann.port, 6881);
  assert.equal(ann.numWant, 30);
  assert.equal(ann.event, 'started');
  assert.notEqual(decodeRequest(t.received[0]!.packet).transactionId, ann.transactionId);
});

test('the connection id is reused for 60 s, then fetched again', async () => {
  const t = await fake();
  t.handler = goodTracker();
  const clock = new FakeClock();
  const c = client({ clock });
  await c.announce(t.url, PARAMS);
  clock.advance(59_000);
  await c.announce(t.url, PARAMS);
  assert.deepEqual(t.received.map((r) => decodeRequest(r.packet).action), ['connect', 'announce', 'announce']);
  clock.advance(2_000);
  await c.announce(t.url, PARAMS);
  assert.deepEqual(t.received.map((r) => decodeRequest(r.packet).action), ['connect', 'announce', 'announce', 'connect', 'announce']);
});

/** Waits (bounded) until `cond` holds; the packets travel over real loopback sockets. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('retransmits after base·2^n: silent twice, answers the third connect (fake clock)', async () => {
  const t = await fake();
  let connects = 0;
  const good = goodTracker();
  t.handler = (packet, from, send) => {
    if (decodeRequest(packet).action === 'connect' && ++connects < 3) return;
    good(packet, from, send);
  };
  const clock = new FakeClock();
  const pending = client({ baseTimeoutMs: 40, maxRetries: 3, clock }).announce(t.url, PARAMS);
  await until(() => t.received.length === 1, 'the first connect');
  clock.advance(39);
  assert.equal(clock.pending, 1, 'no retransmission before 40 ms');
  clock.advance(1);
  await until(() => t.received.length === 2, 'the first retransmission at 40 ms');
  clock.advance(79);
  assert.equal(clock.pending, 1, 'no retransmission before another 80 ms');
  clock.advance(1);
  const res = await pending;
  assert.equal(res.peers.length, 2);
  assert.deepEqual(t.received.map((r) => decodeRequest(r.packet).action), ['connect', 'connect', 'connect', 'announce']);
});

test('gives up with tracker-timeout after maxRetries + 1 tries', async () => {
  const t = await fake();
  const started = performance.now();
  await assert.rejects(client({ baseTimeoutMs: 10, maxRetries: 2 }).announce(t.url, PARAMS), isTrackerError('tracker-timeout', /3 tries/));
  assert.equal(t.received.length, 3);
  assert.ok(performance.now() - started >= 65, 'waited 10 + 20 + 40 ms');
});

test('a reply with a wrong transaction id is ignored (then timeout)', async () => {
  const t = await fake();
  t.handler = (packet, _from, send) => {
    const req = decodeRequest(packet);
    send(encodeConnectResponse((req.transactionId + 1) >>> 0, CONN_ID));
  };
  await assert.rejects(client({ baseTimeoutMs: 10, maxRetries: 1 }).announce(t.url, PARAMS), isTrackerError('tracker-timeout'));
});

test('a reply from another port is ignored', async () => {
  const t = await fake();
  const other = await fake();
  t.handler = (packet, from) => {
    const req = decodeRequest(packet);
    // answered from the other socket: same transaction id, wrong source
    other.sendTo(encodeConnectResponse(req.transactionId, CONN_ID), from.port, from.address);
  };
  await assert.rejects(client({ baseTimeoutMs: 15, maxRetries: 1 }).announce(t.url, PARAMS), isTrackerError('tracker-timeout'));
});

test('a tracker that only sends the wrong action ends in tracker-protocol after the retries', async () => {
  const t = await fake();
  t.handler = (packet, _from, send) => {
    const req = decodeRequest(packet);
    send(encodeScrapeResponse(req.transactionId, []));
  };
  await assert.rejects(client({ baseTimeoutMs: 20 }).announce(t.url, PARAMS), isTrackerError('tracker-protocol', /expected action 0, got 2/));
  assert.equal(t.received.length, 3, 'each malformed reply was waited past, then retransmitted');
});

test('a tracker that only sends truncated announce replies ends in tracker-protocol', async () => {
  const t = await fake();
  const good = goodTracker();
  t.handler = (packet, from, send) =>
    good(packet, from, (reply) => send(decodeRequest(packet).action === 'announce' ? reply.subarray(0, reply.length - 1) : reply));
  await assert.rejects(client({ baseTimeoutMs: 20 }).announce(t.url, PARAMS), isTrackerError('tracker-protocol', /multiple of 6/));
});

test('hostile tracker: malformed replies with our transaction id are ignored, the valid one that follows is used', async () => {
  const t = await fake();
  const good = goodTracker();
  t.handler = (packet, from, send) => {
    const req = decodeRequest(packet);
    const tx = Buffer.alloc(4);
    tx.writeUInt32BE(req.transactionId);
    const garbage = [
      Buffer.concat([Buffer.from([0, 0, 0, 2]), tx]),
      Buffer.concat([Buffer.from([0, 0, 0, 9]), tx, Buffer.alloc(40, 0xee)]),
      Buffer.concat([Buffer.from([0, 0, 0, req.action === 'connect' ? 0 : 1]), tx, Buffer.alloc(req.action === 'connect' ? 3 : 13)]),
    ];
    for (const g of garbage) send(g);
    good(packet, from, send);
  };
  // One try only, with a generous timeout: any wait past the garbage would fail the test.
  const res = await client({ baseTimeoutMs: 10_000, maxRetries: 0 }).announce(t.url, PARAMS);
  assert.deepEqual(res, { interval: 900, peers: PEERS, complete: 5, incomplete: 4 });
  assert.equal(t.received.length, 2, 'no retransmission was needed');
});

test('fuzz: any number of malformed replies with our transaction id never hide the valid one', async () => {
  const t = await fake();
  const good = goodTracker();
  const c = client({ baseTimeoutMs: 10_000, maxRetries: 0 });
  /** Random bytes under a header with our transaction id and an action other than error (3). */
  const junk = fc.record({ action: fc.constantFrom(0, 1, 2, 4, 0xffffffff), body: fc.uint8Array({ maxLength: 60 }) });
  await fc.assert(
    fc.asyncProperty(fc.array(junk, { minLength: 1, maxLength: 4 }), async (junks) => {
      t.received.length = 0;
      t.handler = (packet, from, send) => {
        const req = decodeRequest(packet);
        for (const j of junks) {
          const head = Buffer.alloc(8);
          head.writeUInt32BE(j.action, 0);
          head.writeUInt32BE(req.transactionId, 4);
          const reply = Buffer.concat([head, j.body]);
          // Skip the rare draw that happens to be a well-formed reply.
          const valid = (() => {
            try {
              if (req.action === 'connect') decodeConnectResponse(reply, req.transactionId);
              else decodeAnnounceResponse(reply, req.transactionId, 4);
              return true;
            } catch {
              return false;
            }
          })();
          if (!valid) send(reply);
        }
        good(packet, from, send);
      };
      const res = await c.announce(t.url, PARAMS);
      assert.deepEqual(res.peers, PEERS);
    }),
    { numRuns: 25 },
  );
});

test('the error action becomes a tracker-failure with the message', async () => {
  const t = await fake();
  const good = goodTracker();
  t.handler = (packet, from, send) => {
    const req = decodeRequest(packet);
    if (req.action === 'announce') send(encodeErrorResponse(req.transactionId, 'torrent not registered'));
    else good(packet, from, send);
  };
  await assert.rejects(client().announce(t.url, PARAMS), isTrackerError('tracker-failure', /^torrent not registered$/));
});

test('IPv6: an IPv6 socket reads 18-byte peers', async () => {
  const t = await fake('::1');
  const v6 = [{ host: '::1', port: 7002 }, { host: '2001:db8::5', port: 7003 }];
  t.handler = goodTracker(6, v6);
  const res = await client().announce(t.url, PARAMS);
  assert.deepEqual(res.peers, v6);
});

test('one client, one socket: two trackers see the same source port', async () => {
  const a = await fake();
  const b = await fake();
  a.handler = goodTracker();
  b.handler = goodTracker();
  const c = client();
  const [ra, rb] = await Promise.all([c.announce(a.url, PARAMS), c.announce(b.url, PARAMS)]);
  assert.equal(ra.peers.length, 2);
  assert.equal(rb.peers.length, 2);
  assert.equal(a.received[0]!.from.port, b.received[0]!.from.port);
});

test('scrape over UDP returns counts per info hash', async () => {
  const t = await fake();
  t.handler = goodTracker();
  const h1 = Buffer.alloc(20, 1);
  const h2 = Buffer.alloc(20, 2);
  const res = await client().scrape(t.url, [h1, h2]);
  assert.deepEqual([...res], [
    [h1.toString('hex'), { complete: 1, downloaded: 2, incomplete: 3 }],
    [h2.toString('hex'), { complete: 2, downloaded: 2, incomplete: 3 }],
  ]);
});

test('an abort signal stops the exchange at once', async () => {
  const t = await fake();
  const ac = new AbortController();
  const p = client({ baseTimeoutMs: 5000 }).announce(t.url, { ...PARAMS, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const started = performance.now();
  await assert.rejects(p, isTrackerError('tracker-aborted'));
  assert.ok(performance.now() - started < 1000);
});

test('closing the client fails exchanges in flight', async () => {
  const t = await fake();
  const c = new UdpTrackerClient({ baseTimeoutMs: 5000 });
  const p = c.announce(t.url, PARAMS);
  setTimeout(() => c.close(), 20);
  await assert.rejects(p, isTrackerError('tracker-aborted'));
});

test('bad URLs are rejected before any packet is sent', async () => {
  const c = client();
  await assert.rejects(c.announce('udp://127.0.0.1/announce', PARAMS), isTrackerError('tracker-bad-url', /without a port/));
  await assert.rejects(c.announce('http://127.0.0.1:1/announce', PARAMS), isTrackerError('tracker-bad-url'));
});
