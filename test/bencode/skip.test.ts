/**
 * `DecodeOptions.skip` and `BencodeCursor`: a skipped value is checked exactly as a built one
 * (same errors at the same offsets, same warnings, same budgets), and the cursor reads back
 * what the decoder accepted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BDict, BencodeCursor, BencodeError, decode, decodeDetailed, type BValue, type DecodeOptions, type DecodeResult } from '../../src/bencode/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

type Outcome = { ok: true; result: DecodeResult } | { ok: false; code: string; offset: number };

function run(bytes: Buffer, options: DecodeOptions): Outcome {
  try {
    return { ok: true, result: decodeDetailed(bytes, options) };
  } catch (err) {
    if (!(err instanceof BencodeError)) throw err;
    return { ok: false, code: err.code, offset: err.offset };
  }
}

/** A value without dictionary spans (a sub-decode counts its offsets from its own start). */
function plain(v: BValue): unknown {
  if (v instanceof BDict) return [...v].map(([k, x]) => [k, plain(x)]);
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** Walks the full decode `a` beside the skipping one `b`: what `b` lacks must be a skipped span that decodes to it. */
function sameButSkipped(bytes: Buffer, a: BValue, bv: BValue, skipped: DecodeResult['skipped']): void {
  if (a instanceof BDict) {
    assert.ok(bv instanceof BDict);
    assert.equal(bv.start, a.start);
    assert.equal(bv.end, a.end);
    for (const [key, value] of a) {
      if (bv.has(key)) sameButSkipped(bytes, value, bv.get(key)!, skipped);
      else {
        const span: DecodeResult['skipped'][number] | undefined = skipped.find((s) => s.parent === bv && s.key === key);
        assert.ok(span !== undefined, `key ${key} is neither built nor skipped`);
        assert.deepEqual(plain(decode(bytes.subarray(span.start, span.end), { strict: false, maxDepth: 1000 })), plain(value));
      }
    }
    assert.equal(bv.size + skipped.filter((s) => s.parent === bv).length, a.size);
  } else if (Array.isArray(a)) {
    assert.ok(Array.isArray(bv));
    assert.equal(bv.length, a.length);
    a.forEach((v, i) => sameButSkipped(bytes, v, bv[i]!, skipped));
  } else {
    assert.deepEqual(bv, a);
  }
}

/** Bencode text of a random value: keys from a small set, in any order, with non-canonical forms at times. */
const text: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('i1e', 'i0e', 'i-0e', 'i03e', 'i-5e', 'i12345678901234567e', '0:', '1:x', '03:abc', '4:spam'),
    fc.array(tie('v'), { maxLength: 4 }).map((items) => `l${items.join('')}e`),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'files', 'files'), tie('v')), { maxLength: 4, selector: ([k]) => k })
      .map((entries) => `d${entries.map(([k, v]) => `${k.length}:${k}${v}`).join('')}e`),
  ),
})).v;

/** A random value as bytes, then at times one byte replaced, inserted or removed. */
const soup = fc
  .tuple(text, fc.constantFrom('none', 'none', 'replace', 'insert', 'remove'), fc.nat(), fc.constantFrom(...'delie0123456789:x-'))
  .map(([t, how, at, ch]) => {
    const body = `d5:files${t}1:z${t}e`;
    const k = at % body.length;
    if (how === 'replace') return body.slice(0, k) + ch + body.slice(k + 1);
    if (how === 'insert') return body.slice(0, k) + ch + body.slice(k);
    if (how === 'remove') return body.slice(0, k) + body.slice(k + 1);
    return body;
  });

describe('skip: a skipped value is checked as if it were built', () => {
  test('random token soup: same error and offset, or same warnings and the same value less the skipped spans', () => {
    let withSkips = 0;
    let failing = 0;
    fc.assert(
      fc.property(
        soup,
        fc.boolean(),
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 5, max: 80 }),
        fc.boolean(),
        (input, strict, maxDepth, maxTokens, allowTrailing) => {
          const bytes = b(input);
          const options: DecodeOptions = { strict, maxDepth, maxTokens, allowTrailing };
          const full = run(bytes, options);
          const skipping = run(bytes, { ...options, skip: (key, depth) => key === 'files' || (key === 'a' && depth > 1) });
          if (!full.ok) {
            assert.deepEqual(skipping, full);
            failing++;
            return;
          }
          // Not JSON.stringify(skipping) in the message: a decoded value may hold a BigInt.
          if (!skipping.ok) assert.fail(`the skipping decode failed: ${skipping.code} at byte ${skipping.offset}`);
          assert.deepEqual(skipping.result.warnings, full.result.warnings);
          assert.equal(skipping.result.end, full.result.end);
          sameButSkipped(bytes, full.result.value, skipping.result.value, skipping.result.skipped);
          if (skipping.result.skipped.length > 0) withSkips++;
        },
      ),
      { numRuns: 4000 },
    );
    // The soup must exercise both sides: values really skipped, and errors really raised.
    assert.ok(withSkips > 200 && failing > 200, `${withSkips} decodes with skips, ${failing} errors`);
  });

  test('errors inside a skipped value keep their offsets', () => {
    const cases: [string, string, number][] = [
      ['d5:filesld1:bi1e1:ai2eeee', 'unsorted-keys', 16],
      ['d5:filesld1:ai1e1:ai2eeee', 'duplicate-key', 16],
      ['d5:filesldi1ei2eeee', 'invalid-key', 10],
      ['d5:filesld1:aeee', 'missing-value', 13],
      ['d5:fileslllee', 'too-deep', 10],
      ['d5:filesli1x', 'invalid-number', 11],
      ['d5:files9:x', 'string-past-end', 8],
    ];
    for (const [input, code, offset] of cases) {
      const expected = (e: unknown): boolean => e instanceof BencodeError && e.code === code && e.offset === offset;
      assert.throws(() => decode(b(input), { maxDepth: 3 }), expected, input);
      assert.throws(() => decode(b(input), { maxDepth: 3, skip: (key) => key === 'files' }), expected, input);
    }
  });

  test('a key seen in a skipped dictionary after unsorted keys is still a duplicate', () => {
    const input = b('d5:filesd1:ci1e1:ai1e1:bi1e1:ci1eee');
    assert.throws(() => decode(input, { strict: false, skip: (k) => k === 'files' }), /duplicate dictionary key at byte 27/);
    assert.throws(() => decode(input, { strict: false }), /duplicate dictionary key at byte 27/);
  });

  test('a skipped key is remembered: the same key again is a duplicate', () => {
    assert.throws(() => decode(b('d5:filesle5:filesi1ee'), { strict: false, skip: (k) => k === 'files' }), /duplicate dictionary key at byte 10/);
  });

  test('scalars are never skipped, and the skipped span is reported with its holder', () => {
    const r = decodeDetailed(b('d1:ai1e5:filesd1:xi2ee1:zl1:qee'), { skip: (k) => k === 'files' || k === 'a' });
    const root = r.value as BDict;
    assert.deepEqual([...root.keys()], ['a', 'z']);
    assert.deepEqual(r.skipped.map((s) => [s.parent === root, s.key, s.start, s.end]), [[true, 'files', 14, 22]]);
  });
});

describe('BencodeCursor', () => {
  test('reads back integers, strings, lists and dictionaries the decoder accepted', () => {
    const bytes = b('d3:bigi12345678901234567e3:inti-42e4:listl1:xi0ee3:str5:helloe');
    const c = new BencodeCursor(bytes, 0, bytes.length);
    assert.equal(c.kind(), 'dict');
    c.enter();
    const seen: unknown[] = [];
    while (!c.leave()) {
      const key = c.key();
      if (c.kind() === 'int') seen.push([key, c.int()]);
      else if (c.kind() === 'bytes') {
        c.bytes();
        seen.push([key, bytes.toString('latin1', c.from, c.to)]);
      } else {
        const at = c.pos;
        c.skip();
        seen.push([key, at, c.pos]);
      }
    }
    assert.deepEqual(seen, [['big', 12345678901234567n], ['int', -42], ['list', 41, 49], ['str', 'hello']]);
    assert.equal(c.pos, bytes.length);
  });

  test('never reads past its end: truncated input throws BencodeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), (cut) => {
        const bytes = b('ld1:ai5e1:b3:xyzee');
        const c = new BencodeCursor(bytes, 0, Math.min(cut, bytes.length - 1));
        assert.throws(() => c.skip(), BencodeError);
      }),
    );
  });
});
