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
