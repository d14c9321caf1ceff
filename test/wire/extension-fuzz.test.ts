/**
 * The bencoded extension payloads (BEP 9, 10, 11) come straight from peers: arbitrary
 * bytes, and arbitrary well-formed bencode, must only decode or throw WireError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type Encodable } from '../../src/bencode/index.js';
import { decodeExtendedHandshake, decodeUtMetadata, decodeUtPex, WireError } from '../../src/wire/index.js';

const DECODERS: [string, (b: Uint8Array) => unknown][] = [
  ['extended handshake', decodeExtendedHandshake],
  ['ut_metadata', (b) => decodeUtMetadata(b, 40000)],
  ['ut_pex', decodeUtPex],
];

function onlyWireErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return false;
  }
}

const KEYS = ['m', 'p', 'v', 'reqq', 'yourip', 'metadata_size', 'msg_type', 'piece', 'total_size', 'added', 'added.f', 'added6', 'dropped'];
const leaf: fc.Arbitrary<Encodable> = fc.oneof(
  fc.integer({ min: -5, max: 70000 }),
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
);
const value: fc.Arbitrary<Encodable> = fc.oneof(
  leaf,
  fc.array(leaf, { maxLength: 4 }),
  fc.dictionary(fc.constantFrom(...KEYS, 'ut_pex', 'ut_metadata'), leaf, { maxKeys: 4 }).map((d) => new Map(Object.entries(d))),
);
const payload = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 8 }).map((d) => encode(new Map(Object.entries(d))));

describe('extension payload properties', () => {
  for (const [name, decodeFn] of DECODERS) {
    it(`${name}: random bytes only decode or throw WireError`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => void onlyWireErrors(() => decodeFn(raw))), { numRuns: 1000 });
    });

    it(`${name}: random dictionaries with the real keys only decode or throw WireError`, () => {
      let decoded = 0;
      fc.assert(
        fc.property(payload, (bytes) => {
          if (onlyWireErrors(() => decodeFn(bytes))) decoded++;
        }),
        { numRuns: 1000 },
      );
      assert.ok(decoded > 0, 'some random dictionaries decode');
    });
  }
});
