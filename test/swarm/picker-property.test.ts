/**
 * fast-check: random sequences of picker operations keep every block in exactly one state
 * (`checkInvariants` runs after each call), never request a block the peer lacks or one
 * already verified, and agree with a model of each peer's outstanding requests. File
 * priorities change at random too: a skipped piece is requested only if it was started before.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BLOCK_SIZE, type BlockRequest } from '../../src/swarm/picker.js';
import { bf, setup } from './picker-dsl.js';

const PEERS = 4;

const peer = fc.nat(PEERS - 1);
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('add' as const), k: peer, bits: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remove' as const), k: peer }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('have' as const), k: peer, i: fc.nat(15) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('haveAll' as const), k: peer }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('pick' as const), k: peer, max: fc.nat(12), fresh: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('block' as const), k: peer, i: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('junk' as const), k: peer, i: fc.nat(15), b: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), k: peer, i: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('releaseAll' as const), k: peer }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('hash' as const), i: fc.nat(15), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('prio' as const), levels: fc.option(fc.array(fc.nat(3), { minLength: 16, maxLength: 16 })) }) },
);

const world = fc.record({
  pieces: fc.integer({ min: 1, max: 10 }),
  blocks: fc.integer({ min: 1, max: 4 }),
  lastBlockBytes: fc.integer({ min: 1, max: BLOCK_SIZE }),
  have: fc.array(fc.nat(3).map((x) => x === 0), { minLength: 16, maxLength: 16 }),
  seed: fc.nat(),
  randomFirst: fc.nat(3),
  maxRequestersPerBlock: fc.integer({ min: 1, max: 3 }),
  initial: fc.array(fc.oneof(fc.constant(Array<boolean>(16).fill(true)), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 })), { maxLength: PEERS }),
  ops: fc.array(op, { minLength: 10, maxLength: 150, size: 'max' }),
});

const key = (r: BlockRequest): string => `${r.piece}/${r.begin}`;
const bits = (b: boolean[], n: number): string => b.slice(0, n).map((x) => (x ? '1' : '0')).join('');

it('random operation sequences keep the picker consistent', () => {
  fc.assert(
    fc.property(world, (w) => {
      const n = w.pieces;
      const p = setup({
        have: bits(w.have, n),
        blocks: w.blocks,
        lastPieceBytes: (w.blocks - 1) * BLOCK_SIZE + w.lastBlockBytes,
        seed: w.seed,
        randomFirst: w.randomFirst,
        maxRequestersPerBlock: w.maxRequestersPerBlock,
      });
      const peerHas = new Map<number, Set<number> | 'all'>();
      const model = new Map<number, Map<string, BlockRequest>>();
      const complete = new Set<number>();
      let levels: number[] | null = null;
      const requested = new Set<number>();
      let startedBeforePrio = new Set<number>();
      const has = (k: number, piece: number): boolean => {
        const h = peerHas.get(k);
        return h === 'all' || (h !== undefined && h.has(piece));
      };
      const nth = (k: number, i: number): BlockRequest | undefined => {
        const m = [...(model.get(k)?.values() ?? [])];
        return m.length === 0 ? undefined : m[i % m.length];
      };
      const ops = [...w.initial.map((b, k) => ({ t: 'add' as const, k, bits: b })), ...w.ops];
      for (const o of ops) {
        switch (o.t) {
          case 'add': {
            if (peerHas.has(o.k)) break;
            const s = bits(o.bits, n);
            p.addPeer(o.k, bf(s));
            const set = new Set<number>();
            for (let i = 0; i < n; i++) if (s[i] === '1') set.add(i);
            peerHas.set(o.k, set.size === n ? 'all' : set);
            model.set(o.k, new Map());
            break;
          }
          case 'remove':
            p.removePeer(o.k);
            peerHas.delete(o.k);
            model.delete(o.k);
            break;
          case 'have': {
            const h = peerHas.get(o.k);
            if (h === undefined || o.i >= n) break;
            p.peerHave(o.k, o.i);
            if (h !== 'all') h.add(o.i);
            break;
          }
          case 'haveAll':
            if (!peerHas.has(o.k)) break;
            p.peerHaveAll(o.k);
            peerHas.set(o.k, 'all');
            break;
          case 'pick': {
            if (!peerHas.has(o.k)) break;
            const reqs = p.pick(o.k, o.max, { newPieces: o.fresh });
            assert.ok(reqs.length <= o.max);
            for (const r of reqs) {
              assert.ok(has(o.k, r.piece), `peer ${o.k} lacks piece ${r.piece}`);
              assert.notEqual(p.blockState(r.piece, r.begin / BLOCK_SIZE), 'verified');
              assert.ok(!model.get(o.k)!.has(key(r)), 'requested twice from one peer');
              assert.ok(levels === null || levels[r.piece] !== 0 || startedBeforePrio.has(r.piece), `skipped piece ${r.piece} started`);
              model.get(o.k)!.set(key(r), r);
              requested.add(r.piece);
            }
            break;
          }
          case 'block': {
            const r = nth(o.k, o.i);
            if (r === undefined) break;
            const res = p.onBlock(o.k, r.piece, r.begin, r.length);
            assert.equal(res.accepted, true);
            model.get(o.k)!.delete(key(r));
            for (const c of res.cancelFrom) assert.ok(model.get(c)!.delete(key(r)), `cancel ${c} for a block it had not requested`);
            if (res.pieceComplete) complete.add(r.piece);
            break;
          }
          case 'junk': {
            if (!peerHas.has(o.k)) break;
            const unrequested = o.i < n && !model.get(o.k)!.has(`${o.i}/${o.b * BLOCK_SIZE}`);
            const res = p.onBlock(o.k, o.i, o.b * BLOCK_SIZE, BLOCK_SIZE);
            if (unrequested) assert.equal(res.accepted, false);
            else if (res.accepted) model.get(o.k)!.delete(`${o.i}/${o.b * BLOCK_SIZE}`);
            for (const c of res.cancelFrom) model.get(c)!.delete(`${o.i}/${o.b * BLOCK_SIZE}`);
            if (res.pieceComplete) complete.add(o.i);
            break;
          }
          case 'release': {
            const r = nth(o.k, o.i);
            if (r === undefined) break;
            p.release(o.k, [r]);
            model.get(o.k)!.delete(key(r));
            break;
          }
          case 'releaseAll':
            p.releaseAll(o.k);
            model.get(o.k)?.clear();
            break;
          case 'hash': {
            const piece = [...complete][o.i % Math.max(1, complete.size)];
            if (piece === undefined) break;
            complete.delete(piece);
            if (o.ok) p.pieceVerified(piece);
            else p.pieceFailed(piece);
            break;
          }
          case 'prio':
            levels = o.levels === null ? null : o.levels.slice(0, n);
            p.setPriorities(levels === null ? undefined : Uint8Array.from(levels));
            startedBeforePrio = new Set(requested);
            break;
        }
        for (const [k, m] of model) assert.equal(p.outstanding(k), m.size, `outstanding of peer ${k}`);
      }
    }),
    { numRuns: 400 },
  );
});

it('a seed and a leecher download everything, each block verified once', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (n, blocks, seed) => {
      const p = setup({ have: '0'.repeat(n), avail: ['1'.repeat(n)], blocks, seed, randomFirst: 4 });
      let rounds = 0;
      while (!p.done) {
        const reqs = p.pick(0, 7);
        assert.ok(reqs.length > 0, 'stalled before done');
        for (const r of reqs) {
          const res = p.onBlock(0, r.piece, r.begin, r.length);
          assert.equal(res.accepted, true);
          if (res.pieceComplete) p.pieceVerified(r.piece);
        }
        rounds++;
      }
      assert.equal(rounds, Math.ceil((n * blocks) / 7));
      assert.equal(p.verifiedCount, n);
    }),
    { numRuns: 100 },
  );
});
