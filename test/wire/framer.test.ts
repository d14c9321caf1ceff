import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeFrame,
  encodeHandshake,
  encodeMessage,
  FrameReader,
  frameLimits,
  makeReserved,
  MAX_BITFIELD_BYTES,
  WireError,
  type IncomingMessage,
} from '../../src/wire/index.js';
import { bytesOf, SAMPLES } from './samples.js';

const STREAM = Buffer.concat(SAMPLES.map(bytesOf));
const EXPECTED = SAMPLES.map((s) => s.msg);

function drain(reader: FrameReader): IncomingMessage[] {
  const out: IncomingMessage[] = [];
  for (let m = reader.next(); m !== undefined; m = reader.next()) out.push(m);
  return out;
}

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

/** Push only `header` (never the body) and expect the reader to refuse it. */
function refusesHeader(hex: string, code: string, options: { maxFrame?: number; maxBitfield?: number } = {}): void {
  const reader = new FrameReader(options);
  reader.push(Buffer.from(hex.replace(/ /g, ''), 'hex'));
  rejects(() => reader.next(), code);
}

describe('FrameReader', () => {
  it('decodes the whole sample stream pushed as one chunk', () => {
    const reader = new FrameReader();
    reader.push(STREAM);
    assert.deepEqual(drain(reader), EXPECTED);
    assert.equal(reader.bufferedBytes, 0);
  });

  it('decodes the stream split at every byte boundary', () => {
    for (let split = 0; split <= STREAM.length; split++) {
      const reader = new FrameReader();
      const out: IncomingMessage[] = [];
      reader.push(STREAM.subarray(0, split));
      out.push(...drain(reader));
      reader.push(STREAM.subarray(split));
      out.push(...drain(reader));
      assert.deepEqual(out, EXPECTED, `split at ${split}`);
    }
  });

  it('decodes the stream fed one byte at a time', () => {
    const reader = new FrameReader();
    const out: IncomingMessage[] = [];
    for (let i = 0; i < STREAM.length; i++) {
      reader.push(STREAM.subarray(i, i + 1));
      out.push(...drain(reader));
    }
    assert.deepEqual(out, EXPECTED);
  });

  it('returns a piece block inside one chunk as a view of that chunk', () => {
    const block = Buffer.alloc(16384, 7);
    const chunk = Buffer.concat([encodeMessage({ type: 'have', index: 1 }), encodeMessage({ type: 'piece', index: 3, begin: 0, block })]);
    const reader = new FrameReader();
    reader.push(chunk);
    assert.deepEqual(reader.next(), { type: 'have', index: 1 });
    const msg = reader.next();
    assert.ok(msg !== undefined && msg.type === 'piece');
    assert.equal(msg.block.buffer, chunk.buffer);
    assert.equal(msg.block.byteOffset, chunk.byteOffset + 9 + 13);
    assert.equal(msg.block.length, 16384);
  });

  it('assembles a piece split across chunks once, with the right bytes', () => {
    const block = Buffer.from(Array.from({ length: 16384 }, (_, i) => i & 0xff));
    const frame = encodeMessage({ type: 'piece', index: 3, begin: 16384, block });
    const reader = new FrameReader();
    reader.push(frame.subarray(0, 100));
    assert.equal(reader.next(), undefined);
    reader.push(frame.subarray(100, 9000));
    assert.equal(reader.next(), undefined);
    reader.push(frame.subarray(9000));
    const msg = reader.next();
    assert.ok(msg !== undefined && msg.type === 'piece');
    assert.notEqual(msg.block.buffer, frame.buffer);
    assert.deepEqual(Buffer.from(msg.block), block);
    assert.equal(reader.next(), undefined);
  });

  it('keeps views valid after later pushes', () => {
    const reader = new FrameReader();
    reader.push(encodeMessage({ type: 'bitfield', bytes: Buffer.from([0xaa, 0x55]) }));
    const first = reader.next();
    reader.push(encodeMessage({ type: 'bitfield', bytes: Buffer.from([0x11]) }));
    const second = reader.next();
    assert.deepEqual(first, { type: 'bitfield', bytes: Buffer.from([0xaa, 0x55]) });
    assert.deepEqual(second, { type: 'bitfield', bytes: Buffer.from([0x11]) });
  });

  it('reads the raw handshake, then frames, from shared chunks', () => {
    const hs = encodeHandshake({ reserved: makeReserved({ fast: true }), infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, 2) });
    const stream = Buffer.concat([hs, encodeMessage({ type: 'have-all' }), encodeMessage({ type: 'unchoke' })]);
    for (let split = 0; split <= stream.length; split++) {
      const reader = new FrameReader();
      reader.push(stream.subarray(0, split));
      const head = reader.readRaw(48);
      if (split < 48) assert.equal(head, undefined);
      else assert.deepEqual(head, hs.subarray(0, 48));
      reader.push(stream.subarray(split));
      const all = head ?? reader.readRaw(48);
      assert.deepEqual(all, hs.subarray(0, 48));
      assert.deepEqual(reader.readRaw(20), hs.subarray(48));
      assert.deepEqual(drain(reader), [{ type: 'have-all' }, { type: 'unchoke' }]);
    }
  });

  it('returns unknown ids and carries on', () => {
    const reader = new FrameReader();
    reader.push(Buffer.from('0000000315aabb' + '0000000101', 'hex'));
    assert.deepEqual(drain(reader), [{ type: 'unknown', id: 0x15, payload: Buffer.from('aabb', 'hex') }, { type: 'unchoke' }]);
  });
});

describe('FrameReader limits (refused from the header, before the body is buffered)', () => {
  it('refuses length prefixes at and above 2^31', () => {
    refusesHeader('80000000', 'frame-too-large');
    refusesHeader('ffffffff', 'frame-too-large');
  });

  it('refuses a prefix split over chunks too', () => {
    const reader = new FrameReader();
    reader.push(Buffer.from('ff', 'hex'));
    assert.equal(reader.next(), undefined);
    reader.push(Buffer.from('ff', 'hex'));
    reader.push(Buffer.from('ffff', 'hex'));
    rejects(() => reader.next(), 'frame-too-large');
  });

  it('bounds a piece to a 16 KiB block plus its header by default', () => {
    const reader = new FrameReader();
    reader.push(Buffer.from('0000400907', 'hex'));
    assert.equal(reader.next(), undefined);
    refusesHeader('0000400a 07', 'frame-too-large');
    refusesHeader('0000400a 07', 'frame-too-large', { maxFrame: 16397 });
    const bigger = new FrameReader({ maxFrame: 32768 + 13 });
    bigger.push(Buffer.from('0000800907', 'hex'));
    assert.equal(bigger.next(), undefined);
  });

  it('bounds bitfields, and the bound can be tightened to ceil(pieces/8)', () => {
    const maxPrefix = (1 + MAX_BITFIELD_BYTES).toString(16).padStart(8, '0');
    const reader = new FrameReader();
    reader.push(Buffer.from(maxPrefix + '05', 'hex'));
    assert.equal(reader.next(), undefined);
    refusesHeader((2 + MAX_BITFIELD_BYTES).toString(16).padStart(8, '0') + '05', 'frame-too-large');
    refusesHeader('00000003 05', 'frame-too-large', { maxBitfield: 1 });
    const tightened = new FrameReader();
    tightened.setMaxBitfield(Math.ceil(1313 / 8));
    tightened.push(Buffer.from('000000a605', 'hex'));
    assert.equal(tightened.next(), undefined);
    const over = new FrameReader();
    over.setMaxBitfield(Math.ceil(1313 / 8));
    over.push(Buffer.from('000000a7 05'.replace(' ', ''), 'hex'));
    rejects(() => over.next(), 'frame-too-large');
  });

  it('bounds extended messages to 1 MiB and requires an extended id', () => {
    const reader = new FrameReader();
    reader.push(Buffer.from('000ffffc 14'.replace(' ', ''), 'hex'));
    assert.equal(reader.next(), undefined);
    refusesHeader('000ffffd 14', 'frame-too-large');
    refusesHeader('00000001 14', 'bad-message-length');
  });

  it('bounds unknown ids like piece frames', () => {
    refusesHeader('0000400a 15', 'frame-too-large');
    const reader = new FrameReader();
    reader.push(Buffer.from('00004009 15'.replace(' ', ''), 'hex'));
    assert.equal(reader.next(), undefined);
  });

  it('checks the exact payload length of every fixed-size id', () => {
    const fixed: [number, number][] = [
      [0, 0], [1, 0], [2, 0], [3, 0], [4, 4], [6, 12], [8, 12], [9, 2], [13, 4], [14, 0], [15, 0], [16, 12], [17, 4],
    ];
    for (const [id, payload] of fixed) {
      for (const wrong of [payload - 1, payload + 1]) {
        if (wrong < 0) continue;
        const hex = (wrong + 1).toString(16).padStart(8, '0') + id.toString(16).padStart(2, '0');
        refusesHeader(hex, 'bad-message-length');
      }
    }
    refusesHeader('00000004 04', 'bad-message-length'); // a have with a 3-byte payload
    refusesHeader('00000008 07', 'bad-message-length'); // a piece shorter than its header
  });

  it('rejects nonsensical limits', () => {
    rejects(() => frameLimits({ maxFrame: 12 }), 'invalid-argument');
    rejects(() => frameLimits({ maxBitfield: -1 }), 'invalid-argument');
    rejects(() => frameLimits({ maxExtended: 2 ** 40 }), 'invalid-argument');
    rejects(() => new FrameReader().setMaxBitfield(0.5), 'invalid-argument');
  });
});

describe('decodeFrame (pure)', () => {
  it('decodes each sample and reports how many bytes it still needs', () => {
    for (const sample of SAMPLES) {
      const bytes = bytesOf(sample);
      const done = decodeFrame(bytes);
      assert.deepEqual(done, { kind: 'message', msg: sample.msg, consumed: bytes.length });
      for (let n = 0; n < bytes.length; n++) {
        const r = decodeFrame(bytes.subarray(0, n));
        assert.equal(r.kind, 'need', `${sample.msg.type} at ${n}`);
        const expected = n < 4 ? 4 - n : bytes.length - n;
        assert.equal(r.kind === 'need' ? r.bytes : -1, expected, `${sample.msg.type} at ${n}`);
      }
    }
  });

  it('walks a stream by offset', () => {
    const out: IncomingMessage[] = [];
    let offset = 0;
    for (;;) {
      const r = decodeFrame(STREAM, offset);
      if (r.kind === 'need') break;
      out.push(r.msg);
      offset += r.consumed;
    }
    assert.equal(offset, STREAM.length);
    assert.deepEqual(out, EXPECTED);
  });

  it('refuses oversized and malformed headers before the body arrives', () => {
    rejects(() => decodeFrame(Buffer.from('80000000', 'hex')), 'frame-too-large');
    rejects(() => decodeFrame(Buffer.from('0000400a07', 'hex')), 'frame-too-large');
    rejects(() => decodeFrame(Buffer.from('0000000404', 'hex')), 'bad-message-length');
    rejects(() => decodeFrame(Buffer.from('0000000305', 'hex'), 0, frameLimits({ maxBitfield: 1 })), 'frame-too-large');
  });
});
