/**
 * File priorities in the picker: `skip` pieces never start, `high` ones start first, "done"
 * and interest count only wanted pieces, and a change while peers are connected takes effect
 * at once. Invariants are checked after every call (picker-dsl's `checked`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { piecePriorities, priorityLevel } from '../../src/swarm/piece-priority.js';
import { PickerError } from '../../src/swarm/picker.js';
import { deliver, labels, setup } from './picker-dsl.js';

/** Levels from a string: s(kip) l(ow) n(ormal) h(igh), one per piece. */
function levels(s: string): Uint8Array {
  return Uint8Array.from([...s].map((c) => 'slnh'.indexOf(c)));
}

function pieces(reqs: { piece: number }[]): number[] {
  return reqs.map((r) => r.piece);
}

describe('piece priorities from file priorities', () => {
  it('a piece takes the highest level of the files it holds bytes of', () => {
    // Pieces of 10 bytes; files: [0,15) [15,15) empty, [15,30), pad [30,32), [32,40).
    const files = [
      { offset: 0, length: 15, pad: false },
      { offset: 15, length: 0, pad: false },
      { offset: 15, length: 15, pad: false },
      { offset: 30, length: 2, pad: true },
      { offset: 32, length: 8, pad: false },
    ];
    const lv = (names: ('skip' | 'low' | 'normal' | 'high')[]): number[] => names.map(priorityLevel);
    assert.deepEqual([...piecePriorities(files, lv(['skip', 'high', 'low', 'normal', 'skip']), 10, 4)], [0, 1, 1, 0]);
    assert.deepEqual([...piecePriorities(files, lv(['high', 'skip', 'skip', 'skip', 'normal']), 10, 4)], [3, 3, 0, 2]);
    assert.deepEqual([...piecePriorities(files, lv(['skip', 'skip', 'skip', 'skip', 'skip']), 10, 4)], [0, 0, 0, 0]);
  });

  it('a piece of padding alone is wanted as soon as any file is', () => {
    const files = [
      { offset: 0, length: 5, pad: false },
      { offset: 5, length: 15, pad: true },
      { offset: 20, length: 5, pad: false },
    ];
    assert.deepEqual([...piecePriorities(files, [0, 0, 2], 10, 3)], [0, 2, 2]);
    assert.deepEqual([...piecePriorities(files, [0, 0, 0], 10, 3)], [0, 0, 0]);
  });

  it('refuses unknown priorities and mismatched lengths', () => {
    assert.throws(() => priorityLevel('urgent' as 'high'), PickerError);
    assert.throws(() => piecePriorities([{ offset: 0, length: 1, pad: false }], [], 1, 1), PickerError);
    assert.throws(() => piecePriorities([{ offset: 0, length: 1, pad: false }], [4], 1, 1), PickerError);
    const p = setup({ have: '000' });
    assert.throws(() => p.setPriorities(new Uint8Array(2)), PickerError);
  });
});

describe('picker with file priorities', () => {
  it('never starts a skipped piece, and is done when every wanted piece is verified', () => {
    const p = setup({ have: '0000', avail: ['1111'] });
    p.setPriorities(levels('nsns'));
    assert.equal(p.remaining, 2);
    const reqs = p.pick(0, 10);
    assert.deepEqual(new Set(pieces(reqs)), new Set([0, 2]));
    assert.equal(p.done, false);
    deliver(p, 0, reqs);
    p.pieceVerified(0);
    assert.equal(p.done, false);
    p.pieceVerified(2);
    assert.equal(p.done, true);
    assert.equal(p.isInteresting(0), false, 'a seed has nothing we want');
    assert.deepEqual(p.pick(0, 10), []);
  });

  it('a peer with only skipped pieces is not interesting, and becomes so when one is wanted', () => {
    const p = setup({ have: '000', avail: ['001'] });
    assert.equal(p.isInteresting(0), true);
    p.setPriorities(levels('nns'));
    assert.equal(p.isInteresting(0), false);
    assert.equal(p.peerHave(0, 2), false, 'a have of a skipped piece makes nothing interesting');
    assert.equal(p.peerHave(0, 1), true);
    p.setPriorities(levels('nnn'));
    assert.equal(p.isInteresting(0), true);
  });

  it('high pieces start before normal ones, low ones after, whatever their rarity', () => {
    // Piece 3 is the rarest (one peer); rarest first alone would start it first.
    const p = setup({ have: '0000', avail: ['1111', '1110'] });
    p.setPriorities(levels('lhnn'));
    assert.deepEqual(labels(p.pick(0, 1)), ['1/0']);
    const next = pieces(p.pick(1, 2));
    assert.deepEqual(new Set(next), new Set([2, 3].filter((x) => x !== 3).concat([next[1]!])));
    assert.equal(next[0], 2, 'normal before low for a peer without piece 3');
    assert.equal(next[1], 0, 'then low');
    assert.deepEqual(labels(p.pick(0, 1)), ['3/0']);
  });

  it('sequential and random-first picking also keep to the levels', () => {
    const seq = setup({ have: '00000', avail: ['11111'] });
    seq.setSequential(true);
    seq.setPriorities(levels('snshn'));
    assert.deepEqual(pieces(seq.pick(0, 5)), [3, 1, 4]);
    const rnd = setup({ have: '00000', avail: ['11111'], randomFirst: 10 });
    rnd.setPriorities(levels('sssns'));
    assert.deepEqual(pieces(rnd.pick(0, 5)), [3]);
  });

  it('urgent pieces of a skipped file are not fetched', () => {
    const p = setup({ have: '000', avail: ['111'] });
    p.setPriorities(levels('snn'));
    p.setUrgent([0, 2]);
    assert.deepEqual(labels(p.pick(0, 1)), ['2/0']);
  });

  it('skip to normal while running starts fetching; normal to skip stops new pieces, finishes started ones', () => {
    const p = setup({ have: '0000', avail: ['1111'], blocks: 2 });
    p.setPriorities(levels('nnss'));
    const first = p.pick(0, 2);
    assert.deepEqual(labels(first), labels(first).filter((l) => /^[01]\//.test(l)));
    assert.equal(first.length, 2, 'one whole piece');
    const started = first[0]!.piece;
    const other = 1 - started;
    // The started piece becomes skipped, the other too; pieces 2 and 3 are wanted now.
    p.setPriorities(levels('ssnn'));
    assert.equal(p.remaining, 2);
    const more = p.pick(0, 10);
    assert.ok(!pieces(more).includes(other), 'a skipped piece never starts');
    assert.deepEqual(new Set(pieces(more)), new Set([2, 3]));
    deliver(p, 0, first);
    p.pieceVerified(started);
    assert.equal(p.remaining, 2, 'a skipped piece verified counts for nothing');
    deliver(p, 0, more);
    p.pieceVerified(2);
    p.pieceVerified(3);
    assert.equal(p.done, true);
    assert.equal(p.blockState(other, 0), 'need');
    // Everything wanted again: the torrent is not done any more, and the peer is interesting.
    p.setPriorities(undefined);
    assert.equal(p.done, false);
    assert.equal(p.isInteresting(0), true);
    assert.deepEqual(new Set(pieces(p.pick(0, 10))), new Set([other]));
  });

  it('endgame comes when every wanted block is requested, skipped ones aside', () => {
    const p = setup({ have: '000', avail: ['111', '111'] });
    p.setPriorities(levels('nss'));
    assert.equal(p.endgame, false);
    p.pick(0, 10);
    assert.equal(p.endgame, true);
    assert.deepEqual(labels(p.pick(1, 10)), ['0/0'], 'a duplicate of the wanted block only');
  });
});
