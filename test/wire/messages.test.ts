import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeMessage,
  encodeHave,
  encodeMessage,
  encodePieceHeader,
  encodeRequest,
  isKnownMessageId,
  MessageId,
  WireError,
  type Message,
} from '../../src/wire/index.js';
import { bytesOf, SAMPLES } from './samples.js';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

describe('wire messages (BEP 3, 5, 6, 10)', () => {
  for (const sample of SAMPLES) {
    it(`${sample.msg.type} encodes to its BEP bytes and decodes back`, () => {
      const bytes = bytesOf(sample);
      assert.equal(encodeMessage(sample.msg).toString('hex'), bytes.toString('hex'));
      assert.deepEqual(decodeMessage(bytes.subarray(4)), sample.msg);
    });
  }

  it('covers every message type of the union', () => {
    const types = new Set(SAMPLES.map((s) => s.msg.type));
    assert.equal(types.size, 17);
  });

  it('piece header is the 13 bytes before the block', () => {
    assert.equal(encodePieceHeader(2, 0x4000, 3).toString('hex'), '0000000c070000000200004000');
    const full = encodeMessage({ type: 'piece', index: 2, begin: 0x4000, block: Buffer.from('abc') });
    assert.deepEqual(Buffer.concat([encodePieceHeader(2, 0x4000, 3), Buffer.from('abc')]), full);
  });

  it('hot-path encoders match encodeMessage', () => {
    assert.deepEqual(encodeRequest(5, 16384, 16384), encodeMessage({ type: 'request', index: 5, begin: 16384, length: 16384 }));
    assert.deepEqual(encodeHave(9), encodeMessage({ type: 'have', index: 9 }));
  });

  it('reads indices ≥ 2^31 as unsigned', () => {
    const msg = decodeMessage(Buffer.from('0480000000', 'hex'));
    assert.deepEqual(msg, { type: 'have', index: 0x80000000 });
  });

  it('checks the exact payload length per id', () => {
    rejects(() => decodeMessage(Buffer.from('04010203', 'hex')), 'bad-message-length'); // have with 3 bytes
    rejects(() => decodeMessage(Buffer.from('0401020304ff', 'hex')), 'bad-message-length');
    rejects(() => decodeMessage(Buffer.from('06' + '00'.repeat(11), 'hex')), 'bad-message-length');
    rejects(() => decodeMessage(Buffer.from('06' + '00'.repeat(13), 'hex')), 'bad-message-length');
    rejects(() => decodeMessage(Buffer.from('0000', 'hex')), 'bad-message-length'); // choke with a payload
    rejects(() => decodeMessage(Buffer.from('091ae100', 'hex')), 'bad-message-length');
    rejects(() => decodeMessage(Buffer.from('07' + '00'.repeat(7), 'hex')), 'bad-message-length');
    rejects(() => decodeMessage(Buffer.from('14', 'hex')), 'bad-message-length');
  });

  it('accepts an empty piece block and an empty bitfield at this level', () => {
    assert.deepEqual(decodeMessage(Buffer.from('07' + '00'.repeat(8), 'hex')), { type: 'piece', index: 0, begin: 0, block: Buffer.alloc(0) });
    assert.deepEqual(decodeMessage(Buffer.from('05', 'hex')), { type: 'bitfield', bytes: Buffer.alloc(0) });
  });

  it('returns unknown ids as a distinct result (BEP 3: ignore them)', () => {
    assert.deepEqual(decodeMessage(Buffer.from('15aabb', 'hex')), { type: 'unknown', id: 0x15, payload: Buffer.from('aabb', 'hex') });
    assert.deepEqual(decodeMessage(Buffer.from('ff', 'hex')), { type: 'unknown', id: 0xff, payload: Buffer.alloc(0) });
    assert.equal(isKnownMessageId(MessageId.allowedFast), true);
    assert.equal(isKnownMessageId(10), false);
  });

  it('decodes from a plain Uint8Array as well as a Buffer', () => {
    const u8 = new Uint8Array([0x04, 0, 0, 0, 9]);
    assert.deepEqual(decodeMessage(u8), { type: 'have', index: 9 });
  });

  it('refuses to encode out-of-range fields', () => {
    const bad: Message[] = [
      { type: 'have', index: -1 },
      { type: 'have', index: 2 ** 32 },
      { type: 'request', index: 0, begin: 1.5, length: 1 },
      { type: 'port', port: 65536 },
      { type: 'extended', id: 256, payload: Buffer.alloc(0) },
    ];
    for (const msg of bad) rejects(() => encodeMessage(msg), 'invalid-argument');
    rejects(() => encodePieceHeader(0, 0, -1), 'invalid-argument');
  });
});
