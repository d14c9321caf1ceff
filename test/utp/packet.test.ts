/**
 * The BEP 29 packet codec: the header layout byte by byte, the selective ACK bitmask, the
 * extension chain, strict bounds, and (fast-check) that random bytes only ever decode or
 * throw UtpError, and that every header round-trips.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UtpError } from '../../src/utp/errors.js';
import { ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN, decodePacket, encodePacket, isUtpPacket, seqDistance, seqLess, type PacketType } from '../../src/utp/packet.js';

describe('uTP packet header (BEP 29)', () => {
  it('lays out type and version, connection id, timestamps, window, seq and ack big-endian', () => {
    const bytes = encodePacket({ type: ST_SYN, connectionId: 0x1234, timestamp: 0xdeadbeef, timestampDiff: 7, wndSize: 0x00100000, seq: 1, ack: 0xfffe });
    assert.equal(bytes.toString('hex'), '4100' + '1234' + 'deadbeef' + '00000007' + '00100000' + '0001' + 'fffe');
    const p = decodePacket(bytes);
    assert.deepEqual({ ...p, payload: [...p.payload] }, { type: ST_SYN, connectionId: 0x1234, timestamp: 0xdeadbeef, timestampDiff: 7, wndSize: 0x100000, seq: 1, ack: 0xfffe, sack: undefined, payload: [] });
  });

  it('carries a selective ACK as extension 1 and the payload after it', () => {
    const sack = Uint8Array.from([0b101, 0, 0, 0x80]);
    const bytes = encodePacket({ type: ST_STATE, connectionId: 9, timestamp: 1, timestampDiff: 2, wndSize: 3, seq: 4, ack: 5 }, Uint8Array.from([0xaa]), sack);
    assert.equal(bytes[1], 1, 'extension type in the header');
    assert.deepEqual([...bytes.subarray(20, 22)], [0, 4], 'no next extension, 4 bytes');
    const p = decodePacket(bytes);
    assert.deepEqual([...p.sack!], [...sack]);
    assert.deepEqual([...p.payload], [0xaa]);
  });

  it('skips unknown extensions and keeps the payload', () => {
    const head = encodePacket({ type: ST_DATA, connectionId: 1, timestamp: 0, timestampDiff: 0, wndSize: 0, seq: 0, ack: 0 });
    head[1] = 2; // extension bits (type 2), then a selective ACK
    const bytes = Buffer.concat([head, Buffer.from([1, 8, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 4, 1, 0, 0, 0]), Buffer.from('hi')]);
    const p = decodePacket(bytes);
    assert.deepEqual([...p.sack!], [1, 0, 0, 0]);
    assert.equal(Buffer.from(p.payload).toString(), 'hi');
  });

  it("reads libtorrent's selective ACKs of any length, and an empty one as none", () => {
    const ok = encodePacket({ type: ST_STATE, connectionId: 1, timestamp: 0, timestampDiff: 0, wndSize: 0, seq: 0, ack: 0 });
    for (const mask of [[0x05], [0xff, 0x01], [1, 2, 3], [1, 2, 3, 4, 5]]) {
      const p = decodePacket(Buffer.concat([Buffer.from([0x21, 1]), ok.subarray(2), Buffer.from([0, mask.length, ...mask])]));
      assert.deepEqual([...p.sack!], mask);
      assert.equal(p.payload.length, 0);
    }
    assert.equal(decodePacket(Buffer.concat([Buffer.from([0x21, 1]), ok.subarray(2), Buffer.from([0, 0])])).sack, undefined);
  });

  it('rejects short packets, other versions, unknown types, and extension chains too long or past the end', () => {
    const ok = encodePacket({ type: ST_FIN, connectionId: 1, timestamp: 0, timestampDiff: 0, wndSize: 0, seq: 0, ack: 0 });
    const cases: [string, Buffer][] = [
      ['truncated', ok.subarray(0, 19)],
      ['bad-header', Buffer.concat([Buffer.from([0x12]), ok.subarray(1)])],
      ['bad-header', Buffer.concat([Buffer.from([0x51]), ok.subarray(1)])],
      ['truncated', Buffer.concat([Buffer.from([0x01, 1]), ok.subarray(2)])],
      ['truncated', Buffer.concat([Buffer.from([0x01, 1]), ok.subarray(2), Buffer.from([0, 8, 1, 2])])],
      ['bad-extension', Buffer.concat([Buffer.from([0x01, 2]), ok.subarray(2), Buffer.alloc(40, 2)])],
    ];
    for (const [code, bytes] of cases) {
      assert.throws(() => decodePacket(bytes), (e: unknown) => e instanceof UtpError && e.code === code, `${code}: ${bytes.toString('hex')}`);
    }
  });

  it('tells uTP from DHT and UDP tracker datagrams by the first byte', () => {
    const utp = encodePacket({ type: ST_RESET, connectionId: 1, timestamp: 0, timestampDiff: 0, wndSize: 0, seq: 0, ack: 0 });
    assert.equal(isUtpPacket(utp), true);
    assert.equal(isUtpPacket(Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe')), false);
    assert.equal(isUtpPacket(Buffer.from('0000000100000000000000000000000000000000', 'hex')), false, 'an announce reply (action 1)');
    assert.equal(isUtpPacket(utp.subarray(0, 19)), false);
  });

  it('does 16-bit sequence arithmetic across the wrap', () => {
    assert.equal(seqDistance(0xffff, 1), 2);
    assert.equal(seqDistance(5, 3), 0xfffe);
    assert.equal(seqLess(0xfff0, 0x0005), true);
    assert.equal(seqLess(0x0005, 0xfff0), false);
    assert.equal(seqLess(7, 7), false);
  });
});

describe('uTP packet codec properties', () => {
  it('random bytes decode or throw UtpError, and a decoded payload lies inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (bytes, forceUtp) => {
        if (forceUtp && bytes.length > 0) bytes[0] = (bytes[0]! & 0x70) | 1;
        try {
          const p = decodePacket(bytes);
          assert.ok(p.payload.byteOffset >= bytes.byteOffset && p.payload.byteOffset + p.payload.length === bytes.byteOffset + bytes.length);
          assert.ok(p.sack === undefined || p.sack.length > 0);
        } catch (err) {
          assert.ok(err instanceof UtpError, String(err));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('every header, selective ACK and payload round-trips', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(
        fc.constantFrom<PacketType>(ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN),
        u16, u32, u32, u32, u16, u16,
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 128 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 64 }),
        (type, connectionId, timestamp, timestampDiff, wndSize, seq, ack, sack, payload) => {
          const h = { type, connectionId, timestamp, timestampDiff, wndSize, seq, ack };
          const p = decodePacket(encodePacket(h, payload, sack));
          assert.deepEqual({ ...p, sack: p.sack && [...p.sack], payload: [...p.payload] }, { ...h, sack: sack && [...sack], payload: [...payload] });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
