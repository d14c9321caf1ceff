import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Choker, type ChokerPeer } from '../../src/swarm/choker.js';
import { seeded } from './picker-dsl.js';

const NOW = 1_000_000;

/** An interested peer connected long ago that sent a block just now. */
function peer(key: number, downloadRate: number, over: Partial<ChokerPeer> = {}): ChokerPeer {
  return { key, interested: true, amInterested: true, downloadRate, uploadRate: 0, lastPieceFrom: NOW, connectedAt: 0, amChoking: true, ...over };
}

/** Applies a decision to the peers' `amChoking`, as the swarm would. */
function apply(peers: ChokerPeer[], unchoke: Set<number>): ChokerPeer[] {
  return peers.map((p) => ({ ...p, amChoking: !unchoke.has(p.key) }));
}

describe('choker', () => {
  it('gives the regular slots to the fastest uploaders to us, plus one optimistic', () => {
    const c = new Choker({ rng: seeded(1) });
    const peers = [peer(0, 100), peer(1, 500), peer(2, 300), peer(3, 50), peer(4, 400), peer(5, 200)];
    const d = c.rechoke(peers, NOW, false);
    assert.equal(d.unchoke.size, 4);
    for (const k of [1, 4, 2]) assert.ok(d.unchoke.has(k), `peer ${k} has a regular slot`);
    assert.ok(d.optimistic !== undefined && [0, 3, 5].includes(d.optimistic));
    assert.ok(d.unchoke.has(d.optimistic));
  });

  it('rotates the optimistic slot every third round, keeping it in between', () => {
    const c = new Choker({ rng: seeded(5) });
    let peers = [peer(0, 900), peer(1, 800), peer(2, 700), peer(3, 0), peer(4, 0), peer(5, 0), peer(6, 0)];
    const seen: (number | undefined)[] = [];
    for (let round = 0; round < 9; round++) {
      const now = NOW + round * 10_000;
      peers = peers.map((p) => ({ ...p, lastPieceFrom: now }));
      const d = c.rechoke(peers, now, false);
      seen.push(d.optimistic);
      peers = apply(peers, d.unchoke);
      assert.equal(d.unchoke.size, 4);
    }
    assert.ok(seen.every((k) => k !== undefined && k >= 3));
    for (const start of [0, 3, 6]) {
      assert.equal(seen[start + 1], seen[start]);
      assert.equal(seen[start + 2], seen[start]);
    }
    assert.notEqual(seen[3], seen[2]);
    assert.notEqual(seen[6], seen[5]);
  });

  it('replaces an optimistic peer that left or lost interest at once', () => {
    const c = new Choker({ rng: seeded(2) });
    const peers = [peer(0, 0), peer(1, 0), peer(2, 0), peer(3, 0), peer(4, 0), peer(5, 0)];
    const first = c.rechoke(peers, NOW, false).optimistic!;
    const rest = peers.filter((p) => p.key !== first);
    const second = c.rechoke(rest, NOW + 10_000, false);
    assert.ok(second.optimistic !== undefined && second.optimistic !== first);
    const third = c.rechoke(rest.map((p) => (p.key === second.optimistic ? { ...p, interested: false } : p)), NOW + 20_000, false);
    assert.ok(third.optimistic !== undefined && third.optimistic !== second.optimistic);
  });

  it('does not keep as optimistic a peer that has earned a regular slot', () => {
    const c = new Choker({ rng: seeded(9), slots: 2 });
    for (let round = 0; round < 3; round++) {
      assert.equal(c.rechoke([peer(0, 100), peer(1, 0)], NOW, false).optimistic, 1);
    }
    const d = c.rechoke([peer(0, 100, { interested: false }), peer(1, 1000, { amChoking: false })], NOW, false);
    assert.equal(d.optimistic, undefined);
    assert.deepEqual(d.unchoke, new Set([0, 1]));
  });

  it('takes the regular slot from a snubbing peer while leeching', () => {
    const c = new Choker({ rng: seeded(3), slots: 2 });
    const snubber = peer(0, 10_000, { lastPieceFrom: NOW - 60_000 });
    const peers = [snubber, peer(1, 100), peer(2, 50)];
    assert.equal(c.isSnubbed(snubber, NOW), true);
    const d = c.rechoke(peers, NOW, false);
    assert.ok(d.unchoke.has(1), 'the best non-snubbing peer is regular');
    assert.ok(!d.unchoke.has(0) || d.optimistic === 0, 'a snubbing peer is only ever optimistic');
    // Not snubbed when we do not want its data, when it is new, or when we seed.
    assert.equal(c.isSnubbed({ ...snubber, amInterested: false }, NOW), false);
    assert.equal(c.isSnubbed({ ...snubber, connectedAt: NOW - 30_000 }, NOW), false);
    const s = new Choker({ rng: seeded(3), slots: 2 }).rechoke(peers.map((p) => ({ ...p, uploadRate: p.downloadRate })), NOW, true);
    assert.ok(s.unchoke.has(0));
    assert.notEqual(s.optimistic, 0, 'seeding: the fastest taker holds a regular slot');
  });

  it('orders by upload rate while seeding', () => {
    const c = new Choker({ rng: seeded(4) });
    const peers = [0, 1, 2, 3, 4, 5].map((k) => peer(k, 1000 * k, { uploadRate: 1000 * (6 - k) }));
    const d = c.rechoke(peers, NOW, true);
    for (const k of [0, 1, 2]) assert.ok(d.unchoke.has(k), `peer ${k} takes the most from us`);
    assert.ok(d.optimistic !== undefined && [3, 4, 5].includes(d.optimistic));
  });

  it('with fewer interested peers than slots, unchokes all of them and the uninterested', () => {
    const c = new Choker({ rng: seeded(6) });
    const peers = [peer(0, 10), peer(1, 20), peer(2, 0, { interested: false }), peer(3, 0, { interested: false })];
    const d = c.rechoke(peers, NOW, false);
    assert.deepEqual(d.unchoke, new Set([0, 1, 2, 3]));
    assert.equal(d.optimistic, undefined);
    assert.deepEqual(c.rechoke([], NOW, false).unchoke, new Set());
  });

  it('when slots are full, unchokes only uninterested peers faster than the slowest regular one', () => {
    const c = new Choker({ rng: seeded(7) });
    const peers = [peer(0, 500), peer(1, 400), peer(2, 300), peer(3, 10), peer(4, 350, { interested: false }), peer(5, 200, { interested: false })];
    const d = c.rechoke(peers, NOW, false);
    assert.ok(d.unchoke.has(4));
    assert.ok(!d.unchoke.has(5));
    assert.equal(d.optimistic, 3);
    assert.equal(d.unchoke.size, 5);
  });

  it('prefers peers it is choking for the optimistic slot', () => {
    const c = new Choker({ rng: seeded(8), slots: 2 });
    const peers = [peer(0, 100), peer(1, 50, { amChoking: false }), peer(2, 10)];
    assert.equal(c.rechoke(peers, NOW, false).optimistic, 2);
  });

  it('makes new peers three times as likely to be the optimistic unchoke', () => {
    let newWins = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) {
      const c = new Choker({ rng: seeded(i + 1), slots: 1 });
      const peers = [peer(0, 0), peer(1, 0), peer(2, 0), peer(3, 0, { connectedAt: NOW - 5_000 })];
      if (c.rechoke(peers, NOW, false).optimistic === 3) newWins++;
    }
    // Expected share 3 / (1 + 1 + 1 + 3) = 0.5; an unweighted pick would give 0.25.
    assert.ok(newWins / trials > 0.44 && newWins / trials < 0.56, `new peer won ${newWins} of ${trials}`);
  });
});
