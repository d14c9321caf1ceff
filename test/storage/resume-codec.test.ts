/**
 * The resume record codec: a known record byte for byte, round trips of arbitrary records,
 * and hostile input (truncated, oversized counts, bad flags, damaged bytes) rejected with
 * `ResumeFormatError` only.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeResume, encodeResume, ResumeFormatError, type ResumeRecord } from '../../src/storage/index.js';
import { Bitfield } from '../../src/util/bitfield.js';

const HASH = Buffer.alloc(20, 0xab);

function record(over: Partial<ResumeRecord> = {}): ResumeRecord {
  const verified = new Bitfield(10);
  for (const p of [0, 3, 9]) verified.set(p);
  const pending = new Bitfield(10);
  pending.set(4);
  return {
    infoHash: HASH,
    root: '/data/dl',
    files: [
      { present: true, size: 12345, mtimeNs: 1_700_000_000_123_456_789n },
      { present: false, size: 0, mtimeNs: 0n },
    ],
    verified,
    pending,
    ...over,
  };
}

/** `record()` by hand, before its checksum: version 1 has no pending set. */
function knownBody(version: 1 | 2): Buffer {
  return Buffer.concat([
    Buffer.from([0x54, 0x53, 0x52, 0x53, version, 0, 0, 0]),
    HASH,
    Buffer.from([0, 0, 0, 10, 0, 0, 0, 2, 0, 8]),
    Buffer.from('/data/dl'),
    Buffer.from('01' + '0000000000003039' + '17979cfe3d85cd15', 'hex'),
    Buffer.from('00' + '0000000000000000' + '0000000000000000', 'hex'),
    Buffer.from([0b1001_0000, 0b0100_0000]),
    version === 2 ? Buffer.from([0b0000_1000, 0b0000_0000]) : Buffer.alloc(0),
  ]);
}

/** Recompute the trailing SHA-1, so that a crafted body reaches the field checks. */
function reseal(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  createHash('sha1').update(b.subarray(0, b.length - 20)).digest().copy(b, b.length - 20);
  return b;
}

const rejects = (bytes: Uint8Array, why: RegExp): void => {
  assert.throws(() => decodeResume(bytes), (e: unknown) => e instanceof ResumeFormatError && why.test(e.message));
};

describe('resume record codec', () => {
  it('encodes a known record byte for byte', () => {
    const bytes = Buffer.from(encodeResume(record()));
    const body = knownBody(2);
    assert.equal(bytes.toString('hex'), Buffer.concat([body, createHash('sha1').update(body).digest()]).toString('hex'));
    const back = decodeResume(bytes);
    assert.deepEqual(back.files, record().files);
    assert.equal(back.root, '/data/dl');
    assert.deepEqual([...back.verified.bytes], [0b1001_0000, 0b0100_0000]);
    assert.deepEqual([...back.pending.bytes], [0b0000_1000, 0b0000_0000]);
  });

  it('decodes a version 1 record (no pending set) as one with nothing pending', () => {
    const body = knownBody(1);
    const back = decodeResume(Buffer.concat([body, createHash('sha1').update(body).digest()]));
    assert.deepEqual([...back.verified.bytes], [0b1001_0000, 0b0100_0000]);
    assert.equal(back.pending.count, 0);
    assert.equal(back.pending.size, 10);
  });

  it('rejects a piece both verified and pending, and spare bits in the pending set', () => {
    const good = Buffer.from(encodeResume(record()));
    const pendingAt = good.length - 20 - 2;
    const both = Buffer.from(good);
    both[pendingAt] = 0b1000_0000;
    rejects(reseal(both), /both verified and pending/);
    const spare = Buffer.from(good);
    spare[pendingAt + 1] = 0b0000_0001;
    rejects(reseal(spare), /spare bits of the pending set/);
    const overlapping = new Bitfield(10);
    overlapping.set(3);
    assert.throws(() => encodeResume(record({ pending: overlapping })), ResumeFormatError);
    assert.throws(() => encodeResume(record({ pending: new Bitfield(9) })), ResumeFormatError);
  });

  it('rejects a damaged or foreign record', () => {
    const good = encodeResume(record());
    rejects(good.subarray(0, 30), /too short/);
    rejects(good.subarray(0, good.length - 1), /bytes, its counts say/);
    rejects(Buffer.concat([good, Buffer.alloc(1)]), /bytes, its counts say/);
    const flipped = Buffer.from(good);
    flipped[40] ^= 1;
    rejects(flipped, /checksum/);
    const magic = Buffer.from(good);
    magic[0] = 0x58;
    rejects(reseal(magic), /not a resume record/);
    const version = Buffer.from(good);
    version[4] = 3;
    rejects(reseal(version), /version 3/);
    const reserved = Buffer.from(good);
    reserved[6] = 1;
    rejects(reseal(reserved), /reserved/);
  });

  it('rejects counts past the limits before allocating', () => {
    const good = Buffer.from(encodeResume(record()));
    const pieces = Buffer.from(good);
    pieces.writeUInt32BE(2 ** 21 + 1, 28);
    rejects(pieces, /pieces exceed/);
    const files = Buffer.from(good);
    files.writeUInt32BE(0xffffffff, 32);
    rejects(files, /files exceed/);
    const root = Buffer.from(good);
    root.writeUInt16BE(0xffff, 36);
    rejects(root, /output path of 65535 bytes/);
  });

  it('rejects bad fields inside a well-sealed record', () => {
    const good = Buffer.from(encodeResume(record()));
    const fileAt = 38 + '/data/dl'.length;
    const flag = Buffer.from(good);
    flag[fileAt] = 2;
    rejects(reseal(flag), /presence flag/);
    const ghost = Buffer.from(good);
    ghost[fileAt + 17 + 8] = 1;
    rejects(reseal(ghost), /absent but has/);
    const huge = Buffer.from(good);
    huge.writeBigUInt64BE(2n ** 53n, fileAt + 1);
    rejects(reseal(huge), /size out of range/);
    const spare = Buffer.from(good);
    spare[good.length - 23] |= 1;
    rejects(reseal(spare), /spare bits of the piece set/);
    const utf = Buffer.from(good);
    utf[38] = 0xff;
    rejects(reseal(utf), /not UTF-8/);
  });

  it('refuses to encode what it could not decode', () => {
    assert.throws(() => encodeResume(record({ infoHash: Buffer.alloc(19) })), ResumeFormatError);
    assert.throws(() => encodeResume(record({ root: 'x'.repeat(5000) })), ResumeFormatError);
    assert.throws(() => encodeResume(record({ files: [{ present: true, size: -1, mtimeNs: 0n }] })), ResumeFormatError);
  });

  const arbRecord = fc
    .record({
      infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      root: fc.string({ maxLength: 200 }),
      files: fc.array(
        fc.oneof(
          fc.constant({ present: false, size: 0, mtimeNs: 0n }),
          fc.record({ present: fc.constant(true), size: fc.maxSafeNat(), mtimeNs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
        ),
        { maxLength: 20 },
      ),
      pieces: fc.nat({ max: 300 }),
      seed: fc.uint8Array({ maxLength: 38 }),
      pendingSeed: fc.uint8Array({ maxLength: 38 }),
    })
    .map(({ infoHash, root, files, pieces, seed, pendingSeed }) => {
      const verified = new Bitfield(pieces, seed);
      // Pending pieces are never verified ones.
      const pending = new Bitfield(pieces, Uint8Array.from(pendingSeed, (b, i) => b & ~(verified.bytes[i] ?? 0)));
      return { infoHash, root, files: files.map((f) => ({ present: f.present, size: f.size, mtimeNs: f.mtimeNs })), verified, pending };
    });

  it('round-trips any record (property)', () => {
    fc.assert(
      fc.property(arbRecord, (rec) => {
        const bytes = encodeResume(rec);
        const back = decodeResume(bytes);
        assert.deepEqual(Buffer.from(back.infoHash), Buffer.from(rec.infoHash));
        assert.equal(back.root, Buffer.from(rec.root, 'utf8').toString('utf8'));
        assert.deepEqual(back.files, rec.files);
        assert.deepEqual([...back.verified.bytes], [...rec.verified.bytes]);
        assert.deepEqual([...back.pending.bytes], [...rec.pending.bytes]);
        assert.deepEqual(Buffer.from(encodeResume(back)), Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes only ever throw ResumeFormatError (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          decodeResume(bytes);
        } catch (e) {
          assert.ok(e instanceof ResumeFormatError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('resealed mutations of a valid record decode canonically or throw ResumeFormatError (fuzz)', () => {
    fc.assert(
      fc.property(arbRecord, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (rec, edits) => {
        const bytes = Buffer.from(encodeResume(rec));
        for (const [at, v] of edits) bytes[at % (bytes.length - 20)] = v;
        try {
          const back = decodeResume(reseal(bytes));
          assert.deepEqual(Buffer.from(encodeResume(back)), reseal(bytes));
        } catch (e) {
          assert.ok(e instanceof ResumeFormatError, String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
