import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerPool, peerKey } from '../../src/swarm/peer-pool.js';

const a = { host: '127.0.0.1', port: 6881 };
const b = { host: '127.0.0.1', port: 6882 };

describe('PeerPool', () => {
  test('deduplicates by host and port, refuses port 0 and the bound', () => {
    const pool = new PeerPool({ maxPeers: 2 });
    assert.equal(pool.add(a, 'tracker'), true);
    assert.equal(pool.add({ ...a }, 'dht'), false);
    assert.equal(pool.add({ host: '127.0.0.1', port: 0 }, 'pex'), false);
    assert.equal(pool.add(b, 'pex'), true);
    assert.equal(pool.add({ host: '127.0.0.1', port: 6883 }, 'pex'), false);
    assert.equal(pool.size, 2);
  });

  test('take hands out each dialable peer once', () => {
    const pool = new PeerPool();
    pool.add(a, 'tracker');
    pool.add(b, 'tracker');
    assert.deepEqual(pool.take(1, 0), [a]);
    assert.deepEqual(pool.take(5, 0), [b]);
    assert.deepEqual(pool.take(5, 0), []);
  });

  test('failures back off exponentially, then the peer is forgotten', () => {
    const pool = new PeerPool({ retryBaseMs: 1000, maxFailures: 3 });
    pool.add(a, 'tracker');
    pool.take(1, 0);
    pool.disconnected(a, false, 0);
    assert.deepEqual(pool.take(1, 999), []);
    assert.deepEqual(pool.take(1, 1000), [a]);
    pool.disconnected(a, false, 1000);
    assert.deepEqual(pool.take(1, 2999), []);
    assert.deepEqual(pool.take(1, 3000), [a]);
    pool.disconnected(a, false, 3000);
    assert.equal(pool.size, 0);
  });

  test('a useful connection resets the failure count', () => {
    const pool = new PeerPool({ retryBaseMs: 1000, maxFailures: 2 });
    pool.add(a, 'tracker');
    pool.take(1, 0);
    pool.disconnected(a, false, 0);
    pool.take(1, 1000);
    pool.disconnected(a, true, 1000);
    pool.take(1, 2000);
    pool.disconnected(a, false, 2000);
    assert.equal(pool.size, 1);
  });

  test('a known seed is skipped while we are a seed, and dialled while we are not', () => {
    const pool = new PeerPool({ retryBaseMs: 1000 });
    pool.add(a, 'tracker');
    pool.add(b, 'tracker');
    pool.setSeed(a, true);
    pool.setSeed({ host: '127.0.0.1', port: 1 }, true);
    assert.deepEqual(pool.take(5, 0, undefined, true), [b], 'only the peer not known to be a seed');
    pool.disconnected(b, true, 0);
    assert.deepEqual(pool.take(5, 1000, undefined, true), [b]);
    assert.deepEqual(pool.take(5, 1000, undefined, false), [a], 'a seed is worth dialling for a leecher');
    assert.equal(pool.size, 2, 'marking an unknown address adds nothing');
  });

  test("PEX's seed flag holds until a connection shows otherwise", () => {
    const pool = new PeerPool({ retryBaseMs: 1000 });
    pool.add(a, 'pex', true);
    assert.equal(pool.add(b, 'tracker'), true);
    assert.equal(pool.add(b, 'pex', true), false, 'a known address is not added again, only flagged');
    assert.deepEqual(pool.take(5, 0, undefined, true), [], 'both flagged as seeds');
    pool.setSeed(a, false);
    assert.deepEqual(pool.take(5, 0, undefined, true), [a], 'a connection showed it lacks pieces');
  });

  test('banned and self addresses are never dialled again', () => {
    const pool = new PeerPool();
    pool.add(a, 'tracker');
    pool.ban(a);
    assert.equal(pool.isBanned(a), true);
    assert.equal(pool.add(a, 'pex'), false);
    assert.equal(pool.bannedCount, 1);
    pool.add(b, 'tracker');
    pool.addSelf(b);
    assert.equal(pool.size, 0, 'a candidate found to be ourselves is forgotten');
    assert.equal(pool.add(b, 'tracker'), false);
    assert.deepEqual(pool.take(5, 0), []);
  });

  test('bans are by IP: every port of a banned IP is refused, its candidates forgotten', () => {
    const pool = new PeerPool();
    pool.add(a, 'tracker');
    pool.add(b, 'tracker');
    pool.add({ host: '10.0.0.1', port: 1 }, 'tracker');
    pool.ban({ host: '::ffff:127.0.0.1', port: 9 });
    assert.equal(pool.size, 1);
    assert.equal(pool.isBanned({ host: '127.0.0.1', port: 1234 }), true);
    assert.equal(pool.add({ host: '127.0.0.1', port: 7000 }, 'pex'), false);
    assert.equal(pool.isBanned({ host: '10.0.0.1', port: 1 }), false);
  });

  test('unusable addresses and our own listening sockets are never taken in', () => {
    const pool = new PeerPool();
    for (const host of ['0.0.0.0', '255.255.255.255', '224.0.0.251', '::', 'ff02::1']) assert.equal(pool.add({ host, port: 6881 }, 'pex'), false, host);
    assert.equal(pool.add({ host: '10.0.0.1', port: 0 }, 'pex'), false);
    pool.add({ host: '127.0.0.3', port: 7000 }, 'tracker');
    pool.add({ host: '192.168.5.5', port: 7000 }, 'tracker');
    pool.setListening(7000, ['192.168.5.5']);
    assert.equal(pool.size, 0, 'candidates that are ourselves are forgotten');
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '192.168.5.5']) assert.equal(pool.add({ host, port: 7000 }, 'tracker'), false, host);
    assert.equal(pool.add({ host: '192.168.5.5', port: 7001 }, 'tracker'), true);
  });

  test('take skips what the caller refuses and keeps it for later', () => {
    const pool = new PeerPool();
    pool.add(a, 'tracker');
    pool.add(b, 'tracker');
    assert.deepEqual(pool.take(5, 0, (x) => x.port !== a.port), [b]);
    assert.deepEqual(pool.take(5, 0), [a]);
  });

  test('IPv6 keys are bracketed', () => {
    assert.equal(peerKey({ host: '::1', port: 1 }), '[::1]:1');
    assert.equal(peerKey(a), '127.0.0.1:6881');
  });
});
