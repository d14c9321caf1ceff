import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPILL_HIGH_WATER, SPILL_LOW_WATER, SPILL_RUN_BYTES, SpillWriter } from '../../src/storage/spill.js';

const BLOCK = 16 << 10;

describe('SpillWriter', () => {
  it('is full past the high-water mark and calls back once when the backlog falls below the low one', async () => {
    const waiting: (() => void)[] = [];
    const spill = new SpillWriter(
      (_index, _begin, data) => new Promise<ArrayBuffer>((resolve) => waiting.push(() => resolve(new ArrayBuffer(data.length)))),
    );
    let drained = 0;
    spill.onDrained(() => drained++);
    const block = new Uint8Array(BLOCK);
    const perPiece = SPILL_RUN_BYTES / BLOCK;
    let piece = 0;
    while (spill.backlog < SPILL_HIGH_WATER) {
      for (let b = 0; b < perPiece; b++) spill.add(piece, b * BLOCK, block);
      piece++;
    }
    assert.equal(spill.full, true);
    assert.equal(waiting.length, piece, 'one write per full run');
    // Writes finish one by one: still full until the backlog is below the low-water mark.
    while (spill.backlog >= SPILL_LOW_WATER) {
      assert.equal(spill.full, true);
      assert.equal(drained, 0);
      waiting.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(spill.full, false);
    assert.equal(drained, 1);
    for (const done of waiting.splice(0)) done();
    await new Promise((r) => setImmediate(r));
    assert.equal(spill.backlog, 0);
    assert.equal(drained, 1, 'called once per time it was full');
  });

  it('copies a run cut short out of its buffer, so a lone block holds no whole run buffer while it is written', async () => {
    const writes: { begin: number; length: number; held: number }[] = [];
    const spill = new SpillWriter((_index, begin, data) => {
      writes.push({ begin, length: data.length, held: data.buffer.byteLength });
      return Promise.resolve(new ArrayBuffer(data.length));
    });
    const block = new Uint8Array(BLOCK).fill(7);
    // Endgame-like arrival: every block starts a run the next block does not continue.
    for (let i = 0; i < 8; i++) spill.add(0, i * 2 * BLOCK, block);
    await spill.settle(0);
    assert.equal(writes.length, 8);
    for (const w of writes) assert.deepEqual([w.length, w.held], [BLOCK, BLOCK]);
    // A full run is handed over as it is: no copy.
    for (let b = 0; b < SPILL_RUN_BYTES / BLOCK; b++) spill.add(1, b * BLOCK, block);
    await spill.settle(1);
    assert.deepEqual(writes.at(-1), { begin: 0, length: SPILL_RUN_BYTES, held: SPILL_RUN_BYTES });
    assert.equal(spill.backlog, 0);
  });
});
