import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BDict, BencodeError, decode, decodeDetailed, encode, type BValue } from '../../src/bencode/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function rejects(input: string, code: string, offset: number, strict = true): void {
  assert.throws(
    () => decode(b(input), { strict }),
    (err: unknown) => err instanceof BencodeError && err.code === code && err.offset === offset,
    `${JSON.stringify(input)} should fail with ${code} at ${offset}`,
  );
}

describe('BEP 3 examples', () => {
  test('strings', () => {
    assert.deepEqual(decode(b('4:spam')), b('spam'));
    assert.deepEqual(decode(b('0:')), b(''));
    assert.equal(encode(b('spam')).toString(), '4:spam');
  });
  test('integers', () => {
    assert.equal(decode(b('i3e')), 3);
    assert.equal(decode(b('i-3e')), -3);
    assert.equal(decode(b('i0e')), 0);
    assert.equal(encode(3).toString(), 'i3e');
    assert.equal(encode(-3).toString(), 'i-3e');
  });
  test('lists', () => {
    assert.deepEqual(decode(b('l4:spam4:eggse')), [b('spam'), b('eggs')]);
    assert.equal(encode([b('spam'), b('eggs')]).toString(), 'l4:spam4:eggse');
  });
  test('dictionaries', () => {
    const d = decode(b('d3:cow3:moo4:spam4:eggse'));
    assert.ok(d instanceof BDict);
    assert.deepEqual(d.get('cow'), b('moo'));
    assert.deepEqual(d.get('spam'), b('eggs'));
    assert.equal(encode(d).toString(), 'd3:cow3:moo4:spam4:eggse');
    const l = decode(b('d4:spaml1:a1:bee'));
    assert.ok(l instanceof BDict);
    assert.deepEqual(l.get('spam'), [b('a'), b('b')]);
  });
});

describe('decoder details', () => {
  test('byte strings stay bytes, including invalid UTF-8', () => {
    const v = decode(Buffer.concat([b('3:'), Buffer.from([0xff, 0x00, 0xfe])]));
    assert.ok(v instanceof Uint8Array);
    assert.deepEqual([...v], [0xff, 0x00, 0xfe]);
  });
  test('integers beyond 2^53 become bigint, beyond int64 are rejected', () => {
    assert.equal(decode(b('i9007199254740991e')), 9007199254740991);
    assert.equal(decode(b('i9007199254740993e')), 9007199254740993n);
    assert.equal(decode(b('i-9223372036854775808e')), -9223372036854775808n);
    rejects('i9223372036854775808e', 'int-overflow', 0);
    rejects('i123456789012345678901234567890e', 'int-overflow', 0);
  });
  test('saturate: integers past int64 become its bounds, the rest decodes', () => {
    const d = decode(b('d1:ai9223372036854775808e1:bi-123456789012345678901234567890e1:ci7ee'), { saturate: true }) as BDict;
    assert.deepEqual([d.get('a'), d.get('b'), d.get('c')], [2n ** 63n - 1n, -(2n ** 63n), 7]);
  });
  test('records the exact byte span of every dictionary', () => {
    const input = b('d4:infod6:lengthi5eee');
    const d = decode(input) as BDict;
    const info = d.get('info') as BDict;
    assert.equal(info.start, 7);
    assert.equal(info.end, input.length - 1);
    assert.equal(input.subarray(info.start, info.end).toString(), 'd6:lengthi5ee');
  });
  test('decodeDetailed reports the end for values followed by raw data', () => {
    const r = decodeDetailed(b('d1:ai1eeRAW'), { allowTrailing: true });
    assert.equal(r.end, 8);
  });
});

describe('malformed input is rejected with the offset', () => {
  test('structure', () => {
    rejects('', 'unexpected-eof', 0);
    rejects('l', 'unexpected-eof', 1);
    rejects('d3:cow', 'unexpected-eof', 6);
    rejects('e', 'unexpected-end', 0);
    rejects('x', 'invalid-token', 0);
    rejects('di1ei2ee', 'invalid-key', 1);
    rejects('dlee', 'invalid-key', 1);
    rejects('d1:ae', 'missing-value', 4);
  });
  test('numbers', () => {
    rejects('i12.3e', 'invalid-number', 3);
    rejects('i+1e', 'invalid-number', 1);
    rejects('ie', 'invalid-number', 1);
    rejects('i-e', 'invalid-number', 2);
    rejects('i12', 'unexpected-eof', 3);
    rejects('-3:abc', 'invalid-token', 0);
  });
  test('lengths past the end and absurd prefixes', () => {
    rejects('5:abc', 'string-past-end', 0);
    rejects('99999999999999999999:x', 'string-past-end', 0);
    rejects('l4:spam', 'unexpected-eof', 7);
  });
  test('duplicate keys, always', () => {
    rejects('d1:ai1e1:ai2ee', 'duplicate-key', 7);
    rejects('d1:ai1e1:ai2ee', 'duplicate-key', 7, false);
  });
  test('nesting past the bound is an error, not a stack overflow', () => {
    rejects('l'.repeat(100_000), 'too-deep', 64);
    rejects('d1:a'.repeat(70), 'too-deep', 64 * 4);
    // With the bound raised, the same depth decodes: the decoder is iterative, not recursive.
    const deep = decode(b('l'.repeat(100_000) + 'e'.repeat(100_000)), { maxDepth: 1_000_000 });
    assert.ok(Array.isArray(deep));
  });
  test('token bound', () => {
    assert.throws(() => decode(b('l' + 'i1e'.repeat(20) + 'e'), { maxTokens: 5 }), /more than 5 values/);
  });
});

describe('non-canonical forms: errors when strict, warnings when tolerant', () => {
  const cases: [string, string, number][] = [
    ['d1:bi1e1:ai2ee', 'unsorted-keys', 7],
    ['i03e', 'leading-zero', 0],
    ['i-0e', 'negative-zero', 0],
    ['03:abc', 'leading-zero', 0],
    ['i1ejunk', 'trailing-bytes', 3],
  ];
  for (const [input, code, offset] of cases) {
    test(code, () => {
      rejects(input, code, offset);
      const r = decodeDetailed(b(input), { strict: false });
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0]!, new RegExp(`at byte ${offset}$`));
    });
  }
});

const canonical: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -1e15, max: 1e15 }),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).filter((x) => x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)),
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('v')), { maxLength: 5 }).map((entries) => {
      const d = new BDict();
      for (const [k, v] of entries) d.set(Buffer.from(k, 'utf8').toString('latin1'), v);
      return d;
    }),
  ),
})).v;

describe('properties', () => {
  test('encode then decode is the identity, and re-encoding is byte-exact', () => {
    fc.assert(
      fc.property(canonical, (v) => {
        const bytes = encode(v);
        const back = decode(bytes);
        assert.deepEqual(encode(back), bytes);
      }),
      { numRuns: 500 },
    );
  });
  test('random bytes throw only BencodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (u, strict) => {
        try {
          decode(u, { strict });
        } catch (err) {
          assert.ok(err instanceof BencodeError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });
  test('mutations of valid encodings throw only BencodeError', () => {
    fc.assert(
      fc.property(canonical, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
        const bytes = Buffer.from(encode(v));
        bytes[at % bytes.length] = byte;
        try {
          decode(bytes);
        } catch (err) {
          assert.ok(err instanceof BencodeError, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
