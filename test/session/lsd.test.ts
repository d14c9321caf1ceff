/**
 * LocalDiscovery on an in-memory multicast group and a hand-driven clock: nothing here
 * opens a socket (BEP 14's groups are outside loopback). The default transport's set-up
 * is checked against a fake socket factory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { decodeAnnounce, encodeAnnounce, LSD_HOST_V4 } from '../../src/session/lsd-codec.js';
import {
  LocalDiscovery,
  LsdError,
  MIN_SEND_INTERVAL_MS,
  openMulticastTransport,
  REANNOUNCE_INTERVAL_MS,
  type LsdSender,
  type LsdTransport,
  type MulticastSocket,
} from '../../src/session/lsd.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A multicast group in memory with loopback on: every datagram reaches every member, the sender too. */
class FakeGroup {
  readonly members: FakeTransport[] = [];
  join(address: string): FakeTransport {
    const t = new FakeTransport(this, address);
    this.members.push(t);
    return t;
  }
  deliver(datagram: Uint8Array, from: LsdSender): void {
    for (const m of this.members) m.receive(datagram, from);
  }
}

class FakeTransport implements LsdTransport {
  readonly host = LSD_HOST_V4;
  readonly sent: Uint8Array[] = [];
  closed = false;
  private handler: ((d: Uint8Array, from: LsdSender) => void) | undefined;
  constructor(
    private readonly group: FakeGroup,
    readonly address: string,
  ) {}
  send(datagram: Uint8Array): void {
    assert.equal(this.closed, false, 'send after close');
    this.sent.push(Uint8Array.from(datagram));
    this.group.deliver(datagram, { address: this.address, port: 6771 });
  }
  onMessage(handler: (d: Uint8Array, from: LsdSender) => void): void {
    this.handler = handler;
  }
  receive(datagram: Uint8Array, from: LsdSender): void {
    if (!this.closed) this.handler?.(datagram, from);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const hash = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const hex = (n: number): string => Buffer.from(hash(n)).toString('hex');
type Found = { infoHash: string; host: string; port: number };
const hosts = (found: readonly Found[]): string[] => found.map((f) => f.host);
const ports = (found: readonly Found[]): number[] => found.map((f) => f.port);

async function node(group: FakeGroup, address: string, port: number, clock: FakeClock, extra: { maxPeersPerMinute?: number } = {}) {
  const found: Found[] = [];
  const transport = group.join(address);
  const lsd = await LocalDiscovery.start({
    port,
    socket: transport,
    clock,
    onPeer: (infoHash, peer) => found.push({ infoHash, ...peer }),
    ...extra,
  });
  return { lsd, transport, found };
}

function announced(datagram: Uint8Array): string[] {
  const r = decodeAnnounce(datagram);
  assert.ok(r.ok, 'we sent an invalid announce');
  return [...r.announce.infoHashes];
}

describe('LocalDiscovery', () => {
  test('two instances learn each other for the shared torrent only, and ignore their own announces', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const a = await node(group, '192.168.1.10', 6881, clock);
    const b = await node(group, '192.168.1.11', 51413, clock);
    a.lsd.announce([hash(1), hash(2)]);
    b.lsd.announce([hash(1), hash(3)]);
    // a's first announce reached b before b announced anything: b was not tracking hash 1 yet.
    assert.deepEqual(a.found, [{ infoHash: hex(1), host: '192.168.1.11', port: 51413 }]);
    assert.equal(b.found.length, 0);
    // A copy of b's announce inside 5 minutes (a second interface, a replay) is not reported twice.
    group.deliver(b.transport.sent[0]!, { address: '192.168.1.11', port: 6771 });
    assert.equal(a.found.length, 1);
    clock.advance(REANNOUNCE_INTERVAL_MS);
    assert.deepEqual(b.found, [{ infoHash: hex(1), host: '192.168.1.10', port: 6881 }]);
    // b's 5-minute re-announce is reported again, so a peer the pool has since dropped comes back.
    assert.deepEqual(a.found, [
      { infoHash: hex(1), host: '192.168.1.11', port: 51413 },
      { infoHash: hex(1), host: '192.168.1.11', port: 51413 },
    ]);
    // Each heard its own datagrams too (loopback) and never reported itself.
    assert.deepEqual(hosts(a.found), ['192.168.1.11', '192.168.1.11']);
    assert.deepEqual(hosts(b.found), ['192.168.1.10']);
    await a.lsd.close();
    await b.lsd.close();
    assert.equal(a.transport.closed, true);
    assert.equal(clock.pending, 0, 'a timer outlived close');
  });

  test('an announce carrying our cookie is ignored even from another address', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const a = await node(group, '10.0.0.1', 6881, clock);
    a.lsd.announce([hash(7)]);
    const forged = encodeAnnounce({ host: LSD_HOST_V4, port: 7000, infoHashes: [hash(7)], cookie: a.lsd.cookie });
    group.deliver(forged, { address: '10.0.0.2', port: 6771 });
    assert.deepEqual(a.found, []);
    const other = encodeAnnounce({ host: LSD_HOST_V4, port: 7000, infoHashes: [hash(7)], cookie: `${a.lsd.cookie}x` });
    group.deliver(other, { address: '10.0.0.2', port: 6771 });
    assert.deepEqual(a.found, [{ infoHash: hex(7), host: '10.0.0.2', port: 7000 }]);
    await a.lsd.close();
  });

  test('sends at most one datagram a minute and re-announces each torrent every 5 minutes', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const a = await node(group, '10.0.0.1', 6881, clock);
    a.lsd.announce([hash(1)]);
    assert.equal(a.transport.sent.length, 1);
    a.lsd.announce([hash(1)]);
    a.lsd.announce([hash(2)]);
    assert.equal(a.transport.sent.length, 1, 'a second datagram inside the first minute');
    clock.advance(MIN_SEND_INTERVAL_MS - 1);
    assert.equal(a.transport.sent.length, 1);
    clock.advance(1);
    assert.equal(a.transport.sent.length, 2);
    assert.deepEqual(announced(a.transport.sent[1]!), [hex(2)], 'hash 1 repeated before its 5 minutes');
    // Hash 1 was sent at t0, hash 2 at t0+60 s: each comes back 5 minutes after its own last send.
    clock.advance(REANNOUNCE_INTERVAL_MS - MIN_SEND_INTERVAL_MS - 1);
    assert.equal(a.transport.sent.length, 2);
    clock.advance(1);
    assert.equal(a.transport.sent.length, 3);
    assert.deepEqual(announced(a.transport.sent[2]!), [hex(1)]);
    clock.advance(MIN_SEND_INTERVAL_MS);
    assert.equal(a.transport.sent.length, 4);
    assert.deepEqual(announced(a.transport.sent[3]!), [hex(2)]);
    await a.lsd.close();
  });

  test('an hour of steady state: the send log obeys both limits', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const transport = group.join('10.0.0.1');
    const log: { at: number; hashes: string[] }[] = [];
    const recording: LsdTransport = {
      host: transport.host,
      send: (d) => log.push({ at: clock.now(), hashes: announced(d) }),
      onMessage: (h) => transport.onMessage(h),
      close: () => transport.close(),
    };
    const lsd = await LocalDiscovery.start({ port: 6881, socket: recording, clock, onPeer: () => undefined });
    lsd.announce([hash(1), hash(2)]);
    clock.advance(30_000);
    lsd.announce([hash(3)]);
    clock.advance(60 * 60_000);
    assert.ok(log.length >= 12, `only ${log.length} announces in an hour`);
    for (let i = 1; i < log.length; i++) assert.ok(log[i]!.at - log[i - 1]!.at >= MIN_SEND_INTERVAL_MS, `datagrams ${i - 1} and ${i} too close`);
    for (const h of [hex(1), hex(2), hex(3)]) {
      const at = log.filter((e) => e.hashes.includes(h)).map((e) => e.at);
      assert.ok(at.length >= 11, `${h} announced only ${at.length} times`);
      for (let i = 1; i < at.length; i++) {
        assert.ok(at[i]! - at[i - 1]! >= REANNOUNCE_INTERVAL_MS, `${h} re-announced after ${at[i]! - at[i - 1]!} ms`);
        assert.ok(at[i]! - at[i - 1]! <= REANNOUNCE_INTERVAL_MS + MIN_SEND_INTERVAL_MS, `${h} waited ${at[i]! - at[i - 1]!} ms`);
      }
    }
    await lsd.close();
  });

  test('more torrents than fit in 1400 bytes go round-robin in full datagrams', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const a = await node(group, '10.0.0.1', 6881, clock);
    a.lsd.announce(Array.from({ length: 60 }, (_, i) => hash(i)));
    assert.equal(a.transport.sent.length, 1);
    const first = announced(a.transport.sent[0]!);
    assert.ok(first.length > 1 && first.length < 60, `${first.length} hashes in one datagram`);
    assert.ok(a.transport.sent[0]!.length <= 1400);
    clock.advance(2 * MIN_SEND_INTERVAL_MS);
    const all = new Set(a.transport.sent.flatMap((d) => announced(d)));
    assert.equal(all.size, 60, 'every torrent announced within three minutes');
    await a.lsd.close();
  });

  test('withdraw stops announcing and reporting a torrent', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const a = await node(group, '10.0.0.1', 6881, clock);
    a.lsd.announce([hash(1)]);
    a.lsd.withdraw([hash(1)]);
    assert.equal(clock.pending, 0);
    clock.advance(REANNOUNCE_INTERVAL_MS * 2);
    assert.equal(a.transport.sent.length, 1);
    group.deliver(encodeAnnounce({ host: LSD_HOST_V4, port: 7000, infoHashes: [hash(1)], cookie: 'other' }), { address: '10.0.0.2', port: 6771 });
    assert.deepEqual(a.found, []);
    await a.lsd.close();
  });

  test('peer reports are capped per minute, and hostile datagrams report nothing', async () => {
    const clock = new FakeClock();
    const group = new FakeGroup();
    const a = await node(group, '10.0.0.1', 6881, clock, { maxPeersPerMinute: 5 });
    a.lsd.announce([hash(9)]);
    group.deliver(Buffer.from('BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ' + hex(9) + '\r\n\r\n'), { address: '10.0.0.66', port: 6771 });
    group.deliver(new Uint8Array(65_000), { address: '10.0.0.66', port: 6771 });
    assert.equal(a.found.length, 0);
    const flood = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        group.deliver(encodeAnnounce({ host: LSD_HOST_V4, port: 10_000 + i, infoHashes: [hash(9)], cookie: 'x' }), { address: '10.0.0.2', port: 6771 });
      }
    };
    flood(0, 20);
    assert.equal(a.found.length, 5);
    clock.advance(59_999);
    flood(20, 30);
    assert.equal(a.found.length, 5, 'the window has not slid yet');
    clock.advance(1);
    flood(30, 40);
    assert.equal(a.found.length, 10);
    assert.deepEqual(ports(a.found), [10_000, 10_001, 10_002, 10_003, 10_004, 10_030, 10_031, 10_032, 10_033, 10_034]);
    await a.lsd.close();
  });

  test('validates its inputs', async () => {
    const group = new FakeGroup();
    const base = { socket: group.join('10.0.0.1'), onPeer: () => undefined };
    await assert.rejects(LocalDiscovery.start({ ...base, port: 0 }), (e: unknown) => e instanceof LsdError && e.code === 'lsd-bad-port');
    await assert.rejects(LocalDiscovery.start({ ...base, port: 6881, cookie: 'a b' }), (e: unknown) => e instanceof LsdError && e.code === 'lsd-bad-cookie');
    await assert.rejects(LocalDiscovery.start({ ...base, port: 6881, maxPeersPerMinute: 0 }), (e: unknown) => e instanceof LsdError && e.code === 'lsd-bad-limit');
    const clock = new FakeClock();
    const lsd = await LocalDiscovery.start({ ...base, port: 6881, clock });
    assert.throws(() => lsd.announce([hash(1), new Uint8Array(32)]), (e: unknown) => e instanceof LsdError && e.code === 'lsd-bad-infohash');
    assert.equal(group.members[0]!.sent.length, 0, 'a rejected batch sent something');
    await lsd.close();
    lsd.announce([hash(1)]);
    assert.equal(group.members[0]!.sent.length, 0, 'announce after close sent something');
  });

  test('with an injected transport no socket is created', async (t) => {
    const create = t.mock.method(dgram, 'createSocket', () => {
      throw new Error('a socket was created');
    });
    const lsd = await LocalDiscovery.start({ port: 6881, socket: new FakeGroup().join('10.0.0.1'), onPeer: () => undefined });
    await lsd.close();
    assert.equal(create.mock.callCount(), 0);
  });
});

class FakeSocket extends EventEmitter implements MulticastSocket {
  readonly calls: string[] = [];
  constructor(private readonly bindError?: Error) {
    super();
  }
  bind(port: number, callback: () => void): this {
    this.calls.push(`bind ${port}`);
    queueMicrotask(() => (this.bindError !== undefined ? this.emit('error', this.bindError) : callback()));
    return this;
  }
  addMembership(group: string): void {
    this.calls.push(`addMembership ${group}`);
  }
  setMulticastTTL(ttl: number): this {
    this.calls.push(`ttl ${ttl}`);
    return this;
  }
  setMulticastLoopback(flag: boolean): this {
    this.calls.push(`loopback ${flag}`);
    return this;
  }
  unref(): this {
    this.calls.push('unref');
    return this;
  }
  send(msg: Uint8Array, port: number, address: string): void {
    this.calls.push(`send ${msg.length} ${address}:${port}`);
  }
  close(callback: () => void): this {
    this.calls.push('close');
    queueMicrotask(callback);
    return this;
  }
}

describe('openMulticastTransport (fake socket)', () => {
  test('joins 239.192.152.143:6771 with TTL 1 and loopback, and sends to the group', async () => {
    const socket = new FakeSocket();
    const transport = await openMulticastTransport(() => socket);
    assert.equal(transport.host, '239.192.152.143:6771');
    const got: LsdSender[] = [];
    transport.onMessage((_d, from) => got.push(from));
    socket.emit('message', Buffer.from('x'), { address: '192.168.0.5', port: 6771, family: 'IPv4', size: 1 });
    assert.deepEqual(got, [{ address: '192.168.0.5', port: 6771 }]);
    transport.send(new Uint8Array(10));
    socket.emit('error', new Error('ENETUNREACH'));
    await transport.close();
    assert.deepEqual(socket.calls, ['bind 6771', 'addMembership 239.192.152.143', 'ttl 1', 'loopback true', 'unref', 'send 10 239.192.152.143:6771', 'close']);
  });

  test('a failed bind closes the socket and rejects with LsdError', async () => {
    const socket = new FakeSocket(new Error('EADDRINUSE'));
    await assert.rejects(openMulticastTransport(() => socket), (e: unknown) => e instanceof LsdError && e.code === 'lsd-socket' && /EADDRINUSE/.test(e.message));
    assert.deepEqual(socket.calls, ['bind 6771', 'close']);
  });
});
