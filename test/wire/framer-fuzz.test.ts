/**
 * Properties of the framer (fast-check): any message sequence survives encode → frame
 * decode under any chunking, and arbitrary bytes only ever produce messages or WireError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, encodeMessage, FrameReader, WireError, type IncomingMessage, type Message } from '../../src/wire/index.js';

const u32 = fc.nat({ max: 0xffffffff });
const bytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

// fc.record builds null-prototype objects; spread them into plain ones for deepStrictEqual.
const messageArb: fc.Arbitrary<Message> = fc
  .oneof(
  fc.constantFrom<Message>(
    { type: 'keep-alive' },
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'interested' },
    { type: 'not-interested' },
    { type: 'have-all' },
    { type: 'have-none' },
  ),
  fc.record({ type: fc.constant('have' as const), index: u32 }),
  fc.record({ type: fc.constant('suggest' as const), index: u32 }),
  fc.record({ type: fc.constant('allowed-fast' as const), index: u32 }),
  fc.record({ type: fc.constant('bitfield' as const), bytes: bytes(64) }),
  fc.record({ type: fc.constantFrom('request' as const, 'cancel' as const, 'reject' as const), index: u32, begin: u32, length: u32 }),
  fc.record({ type: fc.constant('piece' as const), index: u32, begin: u32, block: bytes(16384) }),
  fc.record({ type: fc.constant('port' as const), port: fc.nat({ max: 0xffff }) }),
  fc.record({ type: fc.constant('extended' as const), id: fc.nat({ max: 255 }), payload: bytes(200) }),
  )
  .map((m): Message => ({ ...m }));

/** Cut `buf` at the given (unsorted, possibly repeated) points. */
function chunk(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}

function readAll(chunks: Buffer[]): IncomingMessage[] {
  const reader = new FrameReader();
  const out: IncomingMessage[] = [];
  for (const c of chunks) {
    reader.push(c);
    for (let m = reader.next(); m !== undefined; m = reader.next()) out.push(m);
  }
  return out;
}

function onlyWireErrors(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
  }
}

describe('framer properties', () => {
  it('encode → FrameReader is the identity under random chunkings', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map(encodeMessage));
        assert.deepEqual(readAll(chunk(stream, cuts)), msgs);
      }),
      { numRuns: 300 },
    );
  });

  it('encode → decodeFrame by offset is the identity', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 30 }), (msgs) => {
        const stream = Buffer.concat(msgs.map(encodeMessage));
        const out: IncomingMessage[] = [];
        let offset = 0;
        for (let r = decodeFrame(stream, offset); r.kind === 'message'; r = decodeFrame(stream, offset)) {
          out.push(r.msg);
          offset += r.consumed;
        }
        assert.equal(offset, stream.length);
        assert.deepEqual(out, msgs);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes under random chunkings only ever throw WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 20 }), (raw, cuts) => {
        onlyWireErrors(() => readAll(chunk(Buffer.from(raw), cuts)));
        onlyWireErrors(() => {
          const buf = Buffer.from(raw);
          let offset = 0;
          for (let r = decodeFrame(buf, offset); r.kind === 'message'; r = decodeFrame(buf, offset)) offset += r.consumed;
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('well-framed random payloads (any id, any length) only decode or throw WireError', () => {
    // After libtorrent's peer fuzzer: frame the noise so the per-id checks are reached.
    const frame = fc.tuple(fc.nat({ max: 255 }), bytes(40)).map(([id, payload]) => {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(payload.length + 1, 0);
      head[4] = id;
      return Buffer.concat([head, payload]);
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        let decoded = 0;
        onlyWireErrors(() => {
          decoded = readAll(chunk(Buffer.concat(frames), cuts)).length;
        });
        assert.ok(decoded <= frames.length);
      }),
      { numRuns: 1000 },
    );
  });
});
