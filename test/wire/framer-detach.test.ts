import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, encodeMessage } from '../../src/wire/index.js';

test('detach keeps a partial frame intact when the pushed buffer is reused', () => {
  const block = Buffer.alloc(100, 0x5a);
  const frame = encodeMessage({ type: 'piece', index: 3, begin: 16384, block });
  const shared = Buffer.alloc(128);
  const reader = new FrameReader();
  frame.copy(shared, 0, 0, 40);
  reader.push(shared.subarray(0, 40));
  assert.equal(reader.next(), undefined);
  reader.detach();
  shared.fill(0xff); // the next read overwrites the buffer
  frame.copy(shared, 0, 40);
  reader.push(shared.subarray(0, frame.length - 40));
  const msg = reader.next();
  assert.ok(msg !== undefined && msg.type === 'piece');
  assert.equal(msg.index, 3);
  assert.equal(msg.begin, 16384);
  assert.deepEqual(Buffer.from(msg.block), block);
  assert.equal(reader.bufferedBytes, 0);
});

test('detach with nothing buffered is a no-op', () => {
  const reader = new FrameReader();
  reader.detach();
  assert.equal(reader.bufferedBytes, 0);
  reader.push(encodeMessage({ type: 'unchoke' }));
  reader.detach();
  assert.deepEqual(reader.next(), { type: 'unchoke' });
});

test('with reuseBlockBuffer, straddling piece frames decode through one reused buffer', () => {
  const reader = new FrameReader({}, { reuseBlockBuffer: true });
  const blocks = [Buffer.alloc(16384, 0x11), Buffer.alloc(16384, 0x22)];
  const frames = blocks.map((block, i) => encodeMessage({ type: 'piece', index: i, begin: 0, block }));
  const seen: Uint8Array[] = [];
  for (const frame of frames) {
    reader.push(frame.subarray(0, 1000));
    assert.equal(reader.next(), undefined);
    reader.push(frame.subarray(1000));
    const msg = reader.next();
    assert.ok(msg !== undefined && msg.type === 'piece');
    assert.deepEqual(Buffer.from(msg.block), blocks[msg.index]);
    seen.push(msg.block);
  }
  assert.equal(seen[0]!.buffer, seen[1]!.buffer, 'the second block reused the first one\'s buffer');
});

test('detach alternates two carry buffers, so a tail kept from the last one stays intact', () => {
  const reader = new FrameReader();
  const frame = encodeMessage({ type: 'piece', index: 7, begin: 0, block: Buffer.alloc(16384, 0x33) });
  const shared = Buffer.alloc(frame.length);
  frame.copy(shared);
  // The frame arrives in three reads of one reused buffer, with a detach after each.
  for (const [from, to] of [[0, 5000], [5000, 9000], [9000, frame.length]] as const) {
    reader.push(shared.subarray(from, to));
    const msg = reader.next();
    if (to < frame.length) {
      assert.equal(msg, undefined);
      reader.detach();
      shared.fill(0xee, from, to);
    } else {
      assert.ok(msg !== undefined && msg.type === 'piece');
      assert.deepEqual(Buffer.from(msg.block), Buffer.alloc(16384, 0x33));
    }
  }
});
