import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PEER_TTL_MS, PeerStore } from '../../src/dht/peer-store.js';

const hash = (n: number): Uint8Array => new Uint8Array(20).fill(n);

describe('PeerStore', () => {
  it('stores, refreshes and returns peers newest first, up to a maximum', () => {
    const store = new PeerStore({ now: () => 0 });
    store.add(hash(1), { host: '127.0.0.1', port: 1 });
    store.add(hash(1), { host: '127.0.0.1', port: 2 });
    store.add(hash(1), { host: '127.0.0.1', port: 1 });
    assert.deepEqual(store.get(hash(1), 10), [
      { host: '127.0.0.1', port: 1 },
      { host: '127.0.0.1', port: 2 },
    ]);
    assert.equal(store.get(hash(1), 1).length, 1);
    assert.deepEqual(store.get(hash(2), 10), []);
  });

  it('expires peers after 30 minutes', () => {
    let t = 0;
    const store = new PeerStore({ now: () => t });
    store.add(hash(1), { host: '127.0.0.1', port: 1 });
    t = PEER_TTL_MS - 1;
    assert.equal(store.get(hash(1), 10).length, 1);
    t = PEER_TTL_MS;
    assert.equal(store.get(hash(1), 10).length, 0);
    assert.equal(store.infoHashCount(), 0);
  });

  it('bounds peers per hash by evicting the oldest', () => {
    const store = new PeerStore({ now: () => 0, maxPeersPerHash: 3 });
    for (let p = 1; p <= 5; p++) store.add(hash(1), { host: '127.0.0.1', port: p });
    assert.deepEqual(
      store.get(hash(1), 10).map((x) => x.port),
      [5, 4, 3],
    );
  });

  it('bounds info hashes by refusing new ones until old ones expire', () => {
    let t = 0;
    const store = new PeerStore({ now: () => t, maxInfoHashes: 2 });
    assert.ok(store.add(hash(1), { host: '127.0.0.1', port: 1 }));
    assert.ok(store.add(hash(2), { host: '127.0.0.1', port: 1 }));
    assert.ok(!store.add(hash(3), { host: '127.0.0.1', port: 1 }));
    assert.ok(store.add(hash(1), { host: '127.0.0.1', port: 2 }));
    t = PEER_TTL_MS;
    assert.ok(store.add(hash(3), { host: '127.0.0.1', port: 1 }));
    assert.equal(store.infoHashCount(), 1);
  });
});
