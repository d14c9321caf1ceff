/**
 * Which addresses are dialled, how duplicates are settled, whom the turnover closes, and the
 * token bucket that paces ut_metadata answers; with fast-check over arbitrary addresses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  SelfAddresses,
  TokenBucket,
  ipKey,
  isLoopback,
  isUsablePeerAddress,
  keepNewerDuplicate,
  leastUseful,
  type TurnoverPeer,
} from '../../src/swarm/peer-limits.js';

describe('peer addresses', () => {
  test('addresses no peer can have are unusable', () => {
    for (const host of ['0.0.0.0', '0.1.2.3', '255.255.255.255', '224.0.0.1', '239.192.152.143', '240.0.0.1', '::', 'ff02::1', '::ffff:0.0.0.0', '::ffff:224.0.0.1']) {
      assert.equal(isUsablePeerAddress({ host, port: 6881 }), false, host);
    }
    for (const port of [0, -1, 65536, 1.5]) assert.equal(isUsablePeerAddress({ host: '10.0.0.1', port }), false, `port ${port}`);
    for (const host of ['1.2.3.4', '127.0.0.1', '10.0.0.1', '223.255.255.254', '::1', '2001:db8::1', 'example.org']) {
      assert.equal(isUsablePeerAddress({ host, port: 6881 }), true, host);
    }
  });

  test('IP keys are canonical: mapped IPv4 unwrapped, IPv6 compressed', () => {
    assert.equal(ipKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(ipKey('2001:0DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(ipKey('10.1.2.3'), '10.1.2.3');
    assert.equal(isLoopback('127.9.9.9'), true);
    assert.equal(isLoopback('::ffff:127.0.0.1'), true);
    assert.equal(isLoopback('::1'), true);
    assert.equal(isLoopback('10.0.0.1'), false);
  });

  test('property: an IPv4 address and its mapped form agree on key and usability', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 70000 }), (ip, port) => {
        const mapped = `::ffff:${ip}`;
        assert.equal(ipKey(mapped), ipKey(ip));
        assert.equal(isUsablePeerAddress({ host: mapped, port }), isUsablePeerAddress({ host: ip, port }));
        const first = Number(ip.split('.')[0]);
        assert.equal(isUsablePeerAddress({ host: ip, port }), first !== 0 && first < 224 && port >= 1 && port <= 65535);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: any IPv6 spelling of an address has one key', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const key = ipKey(ip);
        assert.equal(ipKey(key), key);
        assert.equal(ipKey(ip.toUpperCase()), key);
      }),
      { numRuns: 2000 },
    );
  });

  test('our listening sockets: any loopback or local address with our port', () => {
    const self = new SelfAddresses();
    assert.equal(self.has({ host: '127.0.0.1', port: 6881 }), false, 'nothing before the port is known');
    self.set(6881, ['192.168.1.7', 'fe80::1']);
    assert.equal(self.has({ host: '127.0.0.1', port: 6881 }), true);
    assert.equal(self.has({ host: '127.0.0.2', port: 6881 }), true);
    assert.equal(self.has({ host: '::1', port: 6881 }), true);
    assert.equal(self.has({ host: '192.168.1.7', port: 6881 }), true);
    assert.equal(self.has({ host: '::ffff:192.168.1.7', port: 6881 }), true);
    assert.equal(self.has({ host: '192.168.1.7', port: 6882 }), false);
    assert.equal(self.has({ host: '192.168.1.8', port: 6881 }), false);
  });
});

describe('duplicate connections', () => {
  const low = Buffer.alloc(20, 1);
  const high = Buffer.alloc(20, 2);

  test('the same side twice: the first connection stays', () => {
    assert.equal(keepNewerDuplicate(true, true, low, high), false);
    assert.equal(keepNewerDuplicate(false, false, low, high), false);
  });

  test('one each way: both ends keep the connection the greater peer id opened', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.boolean(), (a, b, olderOutgoing) => {
        fc.pre(Buffer.compare(a, b) !== 0);
        // Seen from A: the older connection is outgoing or not; from B the directions swap.
        const keptByA = keepNewerDuplicate(olderOutgoing, !olderOutgoing, a, b) ? 'newer' : 'older';
        const keptByB = keepNewerDuplicate(!olderOutgoing, olderOutgoing, b, a) ? 'newer' : 'older';
        assert.equal(keptByA, keptByB);
        // The kept connection was opened by the greater id.
        const newerOpenedByA = !olderOutgoing;
        const keptOpenedByA = keptByA === 'newer' ? newerOpenedByA : !newerOpenedByA;
        assert.equal(keptOpenedByA, Buffer.compare(a, b) > 0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('peer turnover', () => {
  const peer = (key: number, over: Partial<TurnoverPeer> = {}): TurnoverPeer => ({ key, downloading: false, uploading: false, interested: false, lastActive: 0, ...over });

  test('peers that move data are never closed', () => {
    assert.equal(leastUseful([peer(1, { downloading: true }), peer(2, { uploading: true })]), undefined);
    assert.equal(leastUseful([]), undefined);
  });

  test('no interest either way goes first, then the longest inactive', () => {
    assert.equal(leastUseful([peer(1, { interested: true, lastActive: 0 }), peer(2, { lastActive: 50 }), peer(3, { lastActive: 10 })]), 3);
    assert.equal(leastUseful([peer(1, { interested: true, lastActive: 5 }), peer(2, { interested: true, lastActive: 1 }), peer(3, { downloading: true })]), 2);
  });

  test('property: the chosen peer moves no data and no better candidate exists', () => {
    const arb = fc.array(fc.record({ downloading: fc.boolean(), uploading: fc.boolean(), interested: fc.boolean(), lastActive: fc.nat(1000) }), { maxLength: 30 });
    fc.assert(
      fc.property(arb, (list) => {
        const peers = list.map((p, key) => ({ key, ...p }));
        const idle = peers.filter((p) => !p.downloading && !p.uploading);
        const chosen = leastUseful(peers);
        if (idle.length === 0) return assert.equal(chosen, undefined);
        const c = peers[chosen!]!;
        assert.ok(!c.downloading && !c.uploading);
        for (const p of idle) assert.ok(Number(c.interested) < Number(p.interested) || (c.interested === p.interested && c.lastActive <= p.lastActive));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('TokenBucket', () => {
  test('a burst of `capacity`, then one per period', () => {
    const b = new TokenBucket(3, 1000, 0);
    assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
    assert.equal(b.take(999), false);
    assert.equal(b.take(1000), true);
    assert.equal(b.take(1000), false);
    assert.equal(b.take(100_000), true, 'refilled');
    assert.deepEqual([b.take(100_000), b.take(100_000), b.take(100_000)], [true, true, false], 'never above capacity');
  });
});
