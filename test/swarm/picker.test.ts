import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_SIZE, Picker, PickerError } from '../../src/swarm/picker.js';
import { bf, deliver, labels, setup } from './picker-dsl.js';

describe('picker geometry', () => {
  it('requests every block once, the last block of the last piece shorter', () => {
    const p = setup({ have: '000', avail: ['111'], blocks: 2, lastPieceBytes: BLOCK_SIZE + 100 });
    const reqs = p.pick(0, 100);
    assert.equal(reqs.length, 6);
    assert.deepEqual(new Set(labels(reqs)), new Set(['0/0', '0/1', '1/0', '1/1', '2/0', '2/1']));
    const last = reqs.find((r) => r.piece === 2 && r.begin === BLOCK_SIZE);
    assert.equal(last?.length, 100);
    assert.ok(reqs.filter((r) => r !== last).every((r) => r.length === BLOCK_SIZE));
    assert.deepEqual(p.pick(0, 100), []);
  });

  it('rejects inconsistent geometry and bitfields of the wrong size', () => {
    assert.throws(() => new Picker({ pieceCount: 2, pieceLength: 10, totalLength: 25, have: bf('00') }), PickerError);
    assert.throws(() => new Picker({ pieceCount: 2, pieceLength: 10, totalLength: 10, have: bf('00') }), PickerError);
    assert.throws(() => new Picker({ pieceCount: 2, pieceLength: 10, totalLength: 20, have: bf('000') }), PickerError);
    const p = setup({ have: '00' });
    assert.throws(() => p.addPeer(0, bf('000')), PickerError);
    assert.throws(() => p.addPeer(-1, bf('00')), PickerError);
    p.addPeer(0, bf('01'));
    assert.throws(() => p.addPeer(0, bf('01')), PickerError);
    assert.throws(() => p.peerHave(0, 2), PickerError);
    assert.throws(() => p.pick(9, 1), PickerError);
  });

  it('never picks pieces we have or the peer lacks', () => {
    const p = setup({ have: '1100', avail: ['1110'] });
    assert.deepEqual(labels(p.pick(0, 10)), ['2/0']);
    assert.equal(p.blockState(0, 0), 'verified');
    assert.equal(p.blockState(3, 0), 'need');
  });
});

describe('picker order', () => {
  it('picks rarest first', () => {
    // availability: pieces 0-3 three peers, piece 4 two, pieces 5-6 one.
    const p = setup({ have: '0000000', avail: ['1111111', '1111100', '1111000'] });
    const order = labels(p.pick(0, 7)).map((l) => Number(l.split('/')[0]));
    assert.deepEqual(new Set(order.slice(0, 2)), new Set([5, 6]));
    assert.equal(order[2], 4);
    assert.deepEqual(new Set(order.slice(3)), new Set([0, 1, 2, 3]));
  });

  it('counts seeds: a piece only seeds have is rarest for a seed', () => {
    const p = setup({ have: '000', avail: ['111', '011', '011'] });
    assert.equal(p.availability(0), 1);
    assert.equal(p.availability(1), 3);
    assert.deepEqual(labels(p.pick(0, 1)), ['0/0']);
  });

  it('breaks availability ties at random, not by index', () => {
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const p = setup({ have: '0'.repeat(32), avail: ['1'.repeat(32)], seed });
      firsts.add(p.pick(0, 1)[0]!.piece);
    }
    assert.ok(firsts.size >= 10, `only ${firsts.size} distinct first pieces`);
  });

  it('picks the first randomFirst pieces at random, then rarest first', () => {
    // Piece 0 is the only rarest piece; a rarest-first picker always starts there.
    const avail = ['1'.repeat(64), '0' + '1'.repeat(63)];
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const p = setup({ have: '0'.repeat(64), avail, seed, randomFirst: 4 });
      firsts.add(p.pick(0, 1)[0]!.piece);
      assert.equal(setup({ have: '0'.repeat(64), avail, seed, randomFirst: 0 }).pick(0, 1)[0]!.piece, 0);
    }
    assert.ok(firsts.size >= 10, `only ${firsts.size} distinct first pieces`);
    const p = setup({ have: '01111' + '0'.repeat(59), avail, seed: 3, randomFirst: 4 });
    assert.equal(p.pick(0, 1)[0]!.piece, 0);
  });

  it('is reproducible for a given rng seed', () => {
    const run = (): string[] => labels(setup({ have: '0'.repeat(20), avail: ['1'.repeat(20)], seed: 7, randomFirst: 4 }).pick(0, 20));
    assert.deepEqual(run(), run());
  });

  it('gives each peer whole pieces, contiguous blocks', () => {
    const p = setup({ have: '0000', avail: ['1111', '1111'], blocks: 4 });
    const a1 = p.pick(0, 2);
    const b1 = p.pick(1, 2);
    const a2 = p.pick(0, 2);
    const x = a1[0]!.piece;
    assert.deepEqual(labels(a1), [`${x}/0`, `${x}/1`]);
    assert.deepEqual(labels(a2), [`${x}/2`, `${x}/3`]);
    assert.notEqual(b1[0]!.piece, x);
    assert.deepEqual(labels(b1), [`${b1[0]!.piece}/0`, `${b1[0]!.piece}/1`]);
    const a3 = p.pick(0, 8);
    assert.equal(new Set(a3.map((r) => r.piece)).size, 2);
  });

  it('finishes a released partial piece before starting new ones', () => {
    const p = setup({ have: '0000', avail: ['1111', '1111'], blocks: 4 });
    const a = p.pick(0, 4);
    const x = a[0]!.piece;
    deliver(p, 0, a.slice(0, 2));
    p.releaseAll(0);
    assert.equal(p.outstanding(0), 0);
    assert.equal(p.blockState(x, 2), 'need');
    assert.equal(p.blockState(x, 0), 'received');
    const b = p.pick(1, 3);
    assert.deepEqual(labels(b.slice(0, 2)), [`${x}/2`, `${x}/3`]);
    assert.notEqual(b[2]!.piece, x);
    assert.deepEqual(p.requestersOf(x, 2), [1]);
  });
});

describe('picker back-pressure and sharing', () => {
  it('with newPieces false, only continues started pieces, taking others\' from the top', () => {
    const p = setup({ have: '0000', avail: ['1111', '1111'], blocks: 4 });
    assert.deepEqual(p.pick(1, 4, { newPieces: false }), []);
    const a = p.pick(0, 1);
    const x = a[0]!.piece;
    assert.deepEqual(labels(p.pick(1, 10, { newPieces: false })), [`${x}/3`, `${x}/2`, `${x}/1`]);
    assert.equal(p.endgame, false);
    assert.deepEqual(p.pick(0, 10, { newPieces: false }), []);
  });

  it('shares a started piece when the peer has no other piece to start', () => {
    const p = setup({ have: '00', avail: ['10', '10'], blocks: 4 });
    assert.deepEqual(labels(p.pick(0, 2)), ['0/0', '0/1']);
    assert.deepEqual(labels(p.pick(1, 10)), ['0/3', '0/2']);
    assert.equal(p.endgame, false, 'piece 1 is still needed and nobody has it');
    assert.deepEqual(p.pick(0, 10), []);
  });
});

describe('picker piece affinity', () => {
  // Peer 0 fills a piece it has not fully asked for yet; no new piece may start (back-pressure).
  const started = (): { p: Picker; x: number } => {
    const p = setup({ have: '0000', avail: ['1111', '1111'], blocks: 8 });
    const x = p.pick(0, 2)[0]!.piece;
    return { p, x };
  };

  it('a fast peer keeps whole pieces: a slower one takes none of its blocks', () => {
    const { p, x } = started();
    // Peer 0 drains its queue in 20 ms, peer 1 (slow, with a backlog) in 900 ms.
    const wait = new Map([[0, 20], [1, 900]]);
    assert.deepEqual(p.pick(1, 10, { newPieces: false, holderWait: (k) => wait.get(k)! }), []);
    assert.deepEqual(labels(p.pick(0, 6, { newPieces: false })), [2, 3, 4, 5, 6, 7].map((b) => `${x}/${b}`), 'the fast peer fetches its piece whole');
  });

  it('a slow peer never holds the last blocks of a piece others wait for; a faster one helps from the top', () => {
    const { p, x } = started();
    // Peer 1's wait grows with what it is asked: 100 ms now, 50 ms more per block.
    const wait = (k: number): number => (k === 0 ? 240 : 100 + 50 * p.outstanding(1));
    assert.deepEqual(labels(p.pick(1, 10, { newPieces: false, holderWait: wait })), [`${x}/7`, `${x}/6`, `${x}/5`], 'only while it will deliver them before peer 0 would');
    assert.deepEqual(p.pick(1, 10, { newPieces: false, holderWait: wait }), []);
  });

  it('a piece nobody fills, or help from a source without a rate, is not held back', () => {
    const { p } = started();
    const slow = (k: number): number => (k === 0 ? 10 : 5000);
    p.releaseAll(0);
    assert.equal(labels(p.pick(1, 10, { newPieces: false, holderWait: slow })).length, 8, 'an orphan goes to whoever asks');
    const q = started();
    const webSeed = (k: number): number => (k === 0 ? 10 : Number.MAX_SAFE_INTEGER);
    assert.equal(q.p.pick(1, 10, { newPieces: false, holderWait: webSeed }).length, 6);
  });
});

describe('picker blocks left', () => {
  it('counts the blocks of unverified wanted pieces not received yet', () => {
    const p = setup({ have: '100', avail: ['111'], blocks: 4 });
    assert.equal(p.blocksLeft, 8);
    const a = p.pick(0, 4);
    deliver(p, 0, a.slice(0, 3));
    assert.equal(p.blocksLeft, 5);
    deliver(p, 0, a.slice(3));
    p.pieceFailed(a[0]!.piece);
    assert.equal(p.blocksLeft, 8, 'a failed piece is to fetch again');
    deliver(p, 0, p.pick(0, 4));
    p.pieceVerified(a[0]!.piece);
    assert.equal(p.blocksLeft, 4);
  });
});

describe('picker endgame', () => {
  it('duplicates requested blocks, bounded per block, and names whom to cancel', () => {
    const p = setup({ have: '00', avail: ['11', '11', '11', '11'], blocks: 2, maxRequestersPerBlock: 3 });
    const a = p.pick(0, 10);
    assert.equal(a.length, 4);
    assert.equal(p.endgame, true);
    const b = p.pick(1, 10);
    assert.deepEqual(new Set(labels(b)), new Set(labels(a)));
    const c = p.pick(2, 2);
    assert.equal(c.length, 2);
    const c2 = p.pick(2, 10);
    assert.equal(c2.length, 2);
    assert.deepEqual(p.pick(3, 10), [], 'each block already has three requesters');
    assert.deepEqual(p.pick(1, 10), [], 'a peer never requests the same block twice');
    const first = a[0]!;
    assert.deepEqual(new Set(p.requestersOf(first.piece, first.begin / BLOCK_SIZE)), new Set([0, 1, 2]));
    const res = p.onBlock(2, first.piece, first.begin, first.length);
    assert.equal(res.accepted, true);
    assert.deepEqual(new Set(res.cancelFrom), new Set([0, 1]));
    assert.equal(p.outstanding(0), 3);
    assert.equal(p.outstanding(1), 3);
    assert.equal(p.outstanding(2), 3);
    assert.equal(p.onBlock(0, first.piece, first.begin, first.length).accepted, false, 'late duplicate');
    // Now peer 3 can take a slot freed by nobody: the received block is not duplicated.
    assert.deepEqual(p.pick(3, 10), []);
  });

  it('duplicates the least-requested blocks first, the last requested first among them', () => {
    const p = setup({ have: '0', avail: ['1', '1', '1'], blocks: 3 });
    p.pick(0, 3);
    assert.deepEqual(labels(p.pick(1, 1)), ['0/2'], 'the top block: its holder sends it last');
    assert.deepEqual(labels(p.pick(2, 2)), ['0/1', '0/0']);
  });

  it('duplicates the blocks of the slowest holder first, and only of holders slower than the picker', () => {
    // Peers 0, 1 and 2 each fill one of three pieces; peer 3 has drained its queue.
    const p = setup({ have: '000', avail: ['100', '010', '001', '111'], blocks: 2 });
    for (const k of [0, 1, 2]) p.pick(k, 2);
    assert.equal(p.endgame, true);
    const wait = new Map([[0, 300], [1, 2000], [2, 40], [3, 50]]);
    const holderWait = (k: number): number => wait.get(k)!;
    assert.deepEqual(labels(p.pick(3, 3, { holderWait })), ['1/1', '1/0', '0/1'], 'peer 1 is slowest, then 0; peer 2 is faster than 3');
    assert.deepEqual(labels(p.pick(3, 3, { holderWait })), ['0/0']);
    assert.deepEqual(p.pick(3, 3, { holderWait }), [], "peer 2's blocks are not worth duplicating");
    assert.deepEqual(p.onBlock(3, 1, BLOCK_SIZE, BLOCK_SIZE).cancelFrom, [1]);
  });

  it("takes the slowest holder's newest blocks first, and looks further when it lacks them", () => {
    // Peers 0 and 1 each fill two of four pieces; peer 1 is the slowest holder.
    const both = setup({ have: '0000', avail: ['1111', '1111', '1111'], blocks: 4, endgameDepth: 8 });
    both.pick(0, 8);
    const b = labels(both.pick(1, 8));
    assert.equal(both.endgame, true);
    const wait = new Map([[0, 500], [1, 1000], [2, 10]]);
    const holderWait = (k: number): number => wait.get(k)!;
    // Newest piece first, top block first: peer 1's second piece, then its first.
    const newestFirst = [...b.slice(4).reverse(), ...b.slice(0, 4).reverse()];
    assert.deepEqual(labels(both.pick(2, 3, { holderWait })), newestFirst.slice(0, 3));
    assert.deepEqual(labels(both.pick(2, 3, { holderWait })), newestFirst.slice(3, 6));
    // A peer that has only peer 0's pieces gets peer 0's blocks, whoever is slowest.
    const some = setup({ have: '0000', avail: ['1111', '1111'], blocks: 4, endgameDepth: 8 });
    const onlyA = labels(some.pick(0, 8));
    const pieces = new Set(onlyA.map((l) => Number(l.split('/')[0])));
    some.pick(1, 8);
    some.addPeer(2, bf([0, 1, 2, 3].map((i) => (pieces.has(i) ? '1' : '0')).join('')));
    assert.deepEqual(labels(some.pick(2, 3, { holderWait })), [...onlyA.slice(4).reverse(), ...onlyA.slice(0, 4).reverse()].slice(0, 3));
  });

  it('asks a peer for duplicates only while it has fewer than endgameDepth requests outstanding', () => {
    // Peer 0 holds all 16 blocks; peer 1 may keep up to 4 of them duplicated.
    const p = setup({ have: '0', avail: ['1', '1'], blocks: 16, endgameDepth: 4 });
    assert.equal(p.pick(0, 16).length, 16);
    assert.equal(p.endgame, true);
    const first = p.pick(1, 16);
    assert.equal(first.length, 4, 'topped up to endgameDepth, not to max');
    assert.deepEqual(p.pick(1, 16), [], 'nothing more while four are outstanding');
    deliver(p, 1, first.slice(0, 3));
    assert.equal(p.pick(1, 16).length, 3, 'three delivered: three more');
    assert.equal(p.outstanding(1), 4);
    assert.throws(() => setup({ have: '0', endgameDepth: 0 }), PickerError);
  });

  it('pieceFailed names the peer that actually sent the block', () => {
    const p = setup({ have: '0', avail: ['1', '1'] });
    const a = p.pick(0, 1);
    assert.deepEqual(labels(p.pick(1, 1)), labels(a));
    assert.deepEqual(p.onBlock(1, 0, 0, BLOCK_SIZE), { accepted: true, pieceComplete: true, cancelFrom: [0] });
    assert.deepEqual(p.pieceFailed(0), [1]);
  });

  it('a released duplicate keeps the block requested from the other peer', () => {
    const p = setup({ have: '0', avail: ['1', '1'], blocks: 1 });
    const a = p.pick(0, 1);
    p.pick(1, 1);
    p.release(0, a);
    assert.equal(p.blockState(0, 0), 'requested');
    assert.deepEqual(p.requestersOf(0, 0), [1]);
    p.release(1, a);
    assert.equal(p.blockState(0, 0), 'need');
    assert.equal(p.endgame, false);
  });
});

describe('picker releases', () => {
  it('release returns only the named blocks; unknown ones are ignored', () => {
    const p = setup({ have: '00', avail: ['11', '11'], blocks: 4 });
    const a = p.pick(0, 4);
    const x = a[0]!.piece;
    p.release(0, [a[1]!, { piece: 1 - x, begin: 0, length: BLOCK_SIZE }, { piece: x, begin: 5, length: 1 }]);
    assert.equal(p.outstanding(0), 3);
    assert.equal(p.blockState(x, 1), 'need');
    assert.deepEqual(labels(p.pick(1, 1)), [`${x}/1`], 'the releasing peer gives up the piece; it is finished first');
  });

  it('removePeer releases its requests and its availability', () => {
    const p = setup({ have: '000', avail: ['110', '111'], blocks: 2 });
    assert.equal(p.availability(0), 2);
    const a = p.pick(0, 2);
    p.removePeer(0);
    assert.equal(p.availability(0), 1);
    assert.equal(p.availability(2), 1);
    assert.equal(p.outstanding(0), 0);
    assert.equal(p.blockState(a[0]!.piece, 0), 'need');
    assert.deepEqual(labels(p.pick(1, 2)), labels(a), 'the orphaned piece comes first');
    p.removePeer(1);
    assert.equal(p.availability(2), 0);
    assert.equal(p.onBlock(1, a[0]!.piece, 0, BLOCK_SIZE).accepted, false);
  });

  it('pieceFailed sends every block back to need, first in line, and names the senders', () => {
    const p = setup({ have: '000', avail: ['111', '111'], blocks: 2 });
    const a = p.pick(0, 1);
    const b = p.pick(1, 1);
    const x = a[0]!.piece;
    assert.deepEqual(labels(p.pick(1, 1)), [`${b[0]!.piece}/1`]);
    p.release(1, p.pick(1, 0));
    const a2 = p.pick(0, 1);
    assert.deepEqual(deliver(p, 0, [...a, ...a2]), [x]);
    assert.throws(() => p.pieceVerified(b[0]!.piece), PickerError);
    assert.deepEqual(p.pieceFailed(x), [0]);
    assert.equal(p.blockState(x, 0), 'need');
    assert.equal(p.blockState(x, 1), 'need');
    assert.deepEqual(labels(p.pick(0, 2)), [`${x}/0`, `${x}/1`]);
  });
});

describe('picker blocks and interest', () => {
  it('accepts only blocks requested from that peer, at the right offset and length', () => {
    const p = setup({ have: '00', avail: ['11', '11'], blocks: 2, lastPieceBytes: 20000 });
    const a = p.pick(0, 4);
    const r = a.find((q) => q.piece === 1 && q.begin === BLOCK_SIZE)!;
    assert.equal(r.length, 20000 - BLOCK_SIZE);
    assert.equal(p.onBlock(0, 1, BLOCK_SIZE, BLOCK_SIZE).accepted, false, 'wrong length');
    assert.equal(p.onBlock(1, 1, BLOCK_SIZE, r.length).accepted, false, 'not requested from peer 1');
    assert.equal(p.onBlock(0, 1, 1, r.length).accepted, false, 'misaligned');
    assert.equal(p.onBlock(0, 1, 2 * BLOCK_SIZE, r.length).accepted, false, 'past the piece');
    assert.equal(p.onBlock(0, 7, 0, BLOCK_SIZE).accepted, false, 'no such piece');
    assert.equal(p.onBlock(9, 1, BLOCK_SIZE, r.length).accepted, false, 'unknown peer');
    const ok = p.onBlock(0, 1, BLOCK_SIZE, r.length);
    assert.deepEqual(ok, { accepted: true, pieceComplete: false, cancelFrom: [] });
    assert.equal(p.onBlock(0, 1, BLOCK_SIZE, r.length).accepted, false, 'duplicate');
    assert.equal(p.onBlock(0, 1, 0, BLOCK_SIZE).pieceComplete, true);
  });

  it('tracks interest through have, have_all and verification', () => {
    const p = setup({ have: '100', avail: ['100'] });
    assert.equal(p.isInteresting(0), false);
    assert.deepEqual(p.pick(0, 3), []);
    assert.equal(p.peerHave(0, 1), true);
    assert.equal(p.peerHave(0, 1), false, 'repeated have');
    assert.equal(p.peerHave(0, 2), false, 'already interesting');
    assert.equal(p.addPeer(1, bf('000')), false);
    assert.equal(p.peerHaveAll(1), true);
    assert.equal(p.availability(1), 2);
    deliver(p, 0, p.pick(0, 1));
    deliver(p, 1, p.pick(1, 1));
    const verified = [...p.pick(0, 0)];
    assert.deepEqual(verified, []);
    assert.deepEqual(p.pieceVerified(1), []);
    assert.deepEqual(new Set(p.pieceVerified(2)), new Set([0, 1]));
    assert.equal(p.done, true);
    assert.equal(p.isInteresting(0), false);
    assert.equal(p.isInteresting(1), false);
    assert.deepEqual(p.pick(1, 5), []);
    assert.deepEqual(p.pieceVerified(2), [], 'idempotent');
  });

  it('a piece verified from elsewhere leaves the candidates', () => {
    const p = setup({ have: '00', avail: ['11'] });
    p.pieceVerified(0);
    assert.deepEqual(labels(p.pick(0, 5)), ['1/0']);
  });

  it('a peer with nothing to start picks again after announcing a new piece', () => {
    const p = setup({ have: '000', avail: ['100', '100'] });
    p.pick(0, 1);
    assert.deepEqual(p.pick(1, 1), []);
    assert.equal(p.peerHave(1, 2), false);
    assert.deepEqual(labels(p.pick(1, 1)), ['2/0']);
  });
});
