import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerAddress } from '../../src/metainfo/types.js';
import type { NodeContact } from '../../src/dht/compact.js';
import type { KrpcResponseBody } from '../../src/dht/krpc.js';
import { Lookup, type LookupQuery } from '../../src/dht/lookup.js';
import { bigIntToId, idToBigInt } from '../../src/dht/node-id.js';

/**
 * A scripted network: N nodes with ids 1..N (as 160-bit numbers) on ports 10000+i. Each
 * knows its `fanout` XOR-closest neighbours of any target, and some hold peers.
 */
class FakeNetwork {
  readonly nodes: NodeContact[];
  readonly dead = new Set<string>();
  readonly peers = new Map<string, PeerAddress[]>();
  readonly queried: string[] = [];

  constructor(count: number) {
    this.nodes = Array.from({ length: count }, (_, i) => ({ id: bigIntToId(BigInt(i + 1) << 100n), host: '127.0.0.1', port: 10000 + i }));
  }

  answer(q: LookupQuery, target: Uint8Array): KrpcResponseBody | undefined {
    this.queried.push(q.key);
    if (this.dead.has(q.key)) return undefined;
    const self = this.nodes.find((n) => `${n.host}:${n.port}` === q.key)!;
    const t = idToBigInt(target);
    const nodes = [...this.nodes]
      // Nodes on even ports have already dropped the dead from their tables; odd ones have not.
      .filter((n) => n !== self && (self.port % 2 === 1 || !this.dead.has(key(n))))
      .sort((a, b) => {
        const da = idToBigInt(a.id) ^ t;
        const db = idToBigInt(b.id) ^ t;
        return da < db ? -1 : da > db ? 1 : 0;
      })
      .slice(0, 8);
    const values = this.peers.get(q.key);
    return { id: self.id, nodes, token: new Uint8Array([self.port & 0xff]), ...(values ? { values } : {}) };
  }

  /** Drives a lookup to the end in rounds of parallel queries; returns the rounds used. */
  run(lookup: Lookup, target: Uint8Array, maxRounds = 100): { rounds: number; maxParallel: number } {
    let rounds = 0;
    let maxParallel = 0;
    while (!lookup.done && rounds < maxRounds) {
      const batch = lookup.next();
      maxParallel = Math.max(maxParallel, batch.length);
      for (const q of batch) {
        const body = this.answer(q, target);
        if (body === undefined) lookup.onFailure(q.key);
        else lookup.onResponse(q.key, body);
      }
      rounds++;
    }
    return { rounds, maxParallel };
  }
}

function key(n: NodeContact): string {
  return `${n.host}:${n.port}`;
}

describe('Lookup', () => {
  it('converges on the K closest nodes from a single far seed, α at a time', () => {
    const net = new FakeNetwork(200);
    const target = bigIntToId((77n << 100n) + 5n);
    const lookup = new Lookup({ target, seeds: [{ host: '127.0.0.1', port: 10000 + 199 }] });
    const { maxParallel } = net.run(lookup, target);
    assert.ok(lookup.done);
    assert.ok(maxParallel <= 3);
    const t = idToBigInt(target);
    const expected = [...net.nodes]
      .sort((a, b) => ((idToBigInt(a.id) ^ t) < (idToBigInt(b.id) ^ t) ? -1 : 1))
      .slice(0, 8)
      .map(key);
    assert.deepEqual(
      lookup.results().map((r) => key(r.contact)),
      expected,
    );
    assert.ok(lookup.results().every((r) => r.token !== undefined));
    assert.ok(lookup.queriesSent < 64);
  });

  it('collects peers from values, deduplicated, and reports only new ones', () => {
    const net = new FakeNetwork(30);
    const target = bigIntToId(3n << 100n);
    const p = { host: '127.0.0.9', port: 6881 };
    for (const n of net.nodes.slice(0, 10)) net.peers.set(key(n), [p, { host: '127.0.0.9', port: n.port }]);
    const lookup = new Lookup({ target, seeds: [{ host: '127.0.0.1', port: 10029 }] });
    net.run(lookup, target);
    const peers = lookup.peers();
    assert.equal(peers.filter((x) => x.port === 6881).length, 1);
    assert.ok(peers.length >= 5);
  });

  it('routes around dead nodes and still finishes', () => {
    const net = new FakeNetwork(60);
    const target = bigIntToId(10n << 100n);
    // Ids 8..11, half of the eight nodes closest to the target, never answer.
    for (const n of net.nodes.slice(7, 11)) net.dead.add(key(n));
    const lookup = new Lookup({ target, seeds: [{ host: '127.0.0.1', port: 10059 }] });
    net.run(lookup, target);
    assert.ok(lookup.done);
    const t = idToBigInt(target);
    const alive = net.nodes
      .filter((n) => !net.dead.has(key(n)))
      .sort((a, b) => ((idToBigInt(a.id) ^ t) < (idToBigInt(b.id) ^ t) ? -1 : 1))
      .slice(0, 8)
      .map(key);
    assert.deepEqual(
      lookup.results().map((r) => key(r.contact)),
      alive,
    );
    assert.ok(net.queried.some((k) => net.dead.has(k)));
    assert.ok(lookup.results().every((r) => !net.dead.has(key(r.contact))));
  });

  it('stops at the query budget even when the network never converges', () => {
    // Every answer names 8 brand-new, ever-closer nodes: a hostile infinite network.
    let next = 1n << 150n;
    const lookup = new Lookup({ target: new Uint8Array(20), seeds: [{ host: '127.0.0.1', port: 1 }], maxQueries: 20 });
    let rounds = 0;
    while (!lookup.done && rounds < 1000) {
      for (const q of lookup.next()) {
        const nodes = Array.from({ length: 8 }, (_, i) => ({ id: bigIntToId((next -= 1000n)), host: '127.0.0.1', port: 2 + Number(next % 60000n) + i }));
        lookup.onResponse(q.key, { id: bigIntToId(next + 500n), nodes });
      }
      rounds++;
    }
    assert.ok(lookup.done);
    assert.equal(lookup.queriesSent, 20);
  });

  it('finishes at once when every seed fails, and with no seeds', () => {
    const lookup = new Lookup({ target: new Uint8Array(20), seeds: [{ host: '127.0.0.1', port: 1 }] });
    const [q] = lookup.next();
    assert.ok(q !== undefined && !lookup.done);
    lookup.onFailure(q.key);
    assert.ok(lookup.done);
    assert.ok(new Lookup({ target: new Uint8Array(20), seeds: [] }).done);
  });

  it('ignores answers it did not ask for, and nodes claiming our own id', () => {
    const self = bigIntToId(42n);
    const lookup = new Lookup({ target: new Uint8Array(20), seeds: [{ host: '127.0.0.1', port: 1 }], selfId: self });
    assert.deepEqual(lookup.onResponse('127.0.0.1:9', { id: bigIntToId(1n), values: [{ host: '127.0.0.5', port: 5 }] }), []);
    const [q] = lookup.next();
    lookup.onResponse(q!.key, { id: bigIntToId(7n), nodes: [{ id: self, host: '127.0.0.1', port: 50 }] });
    assert.ok(lookup.next().every((x) => x.port !== 50));
  });

  it('applies the accept filter to learned nodes', () => {
    const lookup = new Lookup({
      target: new Uint8Array(20),
      seeds: [{ host: '127.0.0.1', port: 1 }],
      accept: (c) => c.host.startsWith('127.'),
    });
    const [q] = lookup.next();
    lookup.onResponse(q!.key, {
      id: bigIntToId(9n),
      nodes: [
        { id: bigIntToId(3n), host: '8.8.8.8', port: 53 },
        { id: bigIntToId(4n), host: '127.0.0.2', port: 99 },
      ],
    });
    assert.deepEqual(
      lookup.next().map((x) => x.host),
      ['127.0.0.2'],
    );
  });
});
