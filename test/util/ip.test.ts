import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ipFamily, parseIp } from '../../src/util/ip.js';

/** What `ipFamily` must call IPv6: what Node accepts, less zoned addresses. */
const nodeSaysV6 = (s: string): boolean => isIPv6(s) && !s.includes('%');

/** Sixteen bytes written as IPv6 text in one of the forms RFC 4291 allows, chosen by `form`. */
function write(bytes: Uint8Array, form: { pad: number[]; upper: boolean; gapAt: number; gapLen: number; dotted: boolean }): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  const cells = groups.map((g, i) => {
    const hex = g.toString(16).padStart(form.pad[i]!, '0');
    return form.upper ? hex.toUpperCase() : hex;
  });
  const tail = form.dotted ? [`${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`] : [];
  const items = form.dotted ? [...cells.slice(0, 6), ...tail] : cells;
  const width = form.dotted ? 6 : 8;
  // A gap may stand for a run of zero groups (at least one), never reaching into a dotted tail.
  const from = form.gapAt % width;
  let len = 0;
  while (len < form.gapLen && from + len < width && groups[from + len] === 0) len++;
  if (len === 0) return items.join(':');
  return `${items.slice(0, from).join(':')}::${items.slice(from + len).join(':')}`;
}

const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  // Zero runs are what `::` stands for: make them common.
  for (let i = 0; i < 16; i += 2) if (b[i]! < 100) b[i] = b[i + 1] = 0;
  return b;
});
const form = fc.record({
  pad: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 8, maxLength: 8 }),
  upper: fc.boolean(),
  gapAt: fc.nat(),
  gapLen: fc.integer({ min: 0, max: 8 }),
  dotted: fc.boolean(),
});
const alphabet = fc.constantFrom('0', '1', '2', '5', '9', 'a', 'f', 'F', 'g', ':', ':', '.', '%', ' ', '\u0010');

describe('IP literals', () => {
  it('reads every RFC 4291 form of sixteen bytes back to those bytes', () => {
    fc.assert(
      fc.property(bytes16, form, (b, f) => {
        const text = write(b, f);
        assert.equal(isIPv6(text), true, text);
        assert.equal(ipFamily(text), 6, text);
        assert.deepEqual(parseIp(text), Buffer.from(b), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what Node accepts as IPv6, one edit away from valid text', () => {
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'replace'), char: alphabet });
    fc.assert(
      fc.property(bytes16, form, fc.array(edit, { minLength: 1, maxLength: 3 }), (b, f, edits) => {
        let text = write(b, f);
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          if (e.kind === 'insert') text = text.slice(0, at) + e.char + text.slice(at);
          else if (e.kind === 'delete') text = text.slice(0, at) + text.slice(at + 1);
          else text = text.slice(0, at) + e.char + text.slice(at + 1);
        }
        assert.equal(ipFamily(text) === 6, nodeSaysV6(text), JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts exactly what Node accepts as IPv6, for any short text of its characters', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 24 }).map((cs) => cs.join('')), (text) => {
        assert.equal(ipFamily(text) === 6, nodeSaysV6(text), JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with Node on the edges of the grammar', () => {
    const cases = [
      '', ':', '::', ':::', '::::', '1::', '::1', '1::2::3', ':1::2', '1::2:', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '12345::', 'fffff::1', 'ffff::1',
      '::1.2.3.4', '::ffff:1.2.3.4', '1.2.3.4::', '::1.2.3', '::1.2.3.4.5', '::01.2.3.4', '::1.2.3.256', '::255.255.255.255',
      '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5::1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '1::1.2.3.4:5',
      '::1.2.3.4:5', ' ::1', '::1 ', '\u0010::1', '::g', '::ABCD', '0:0:0:0:0:0:0:0', '::%eth0', 'fe80::1%eth0',
    ];
    for (const text of cases) assert.equal(ipFamily(text) === 6, nodeSaysV6(text), JSON.stringify(text));
    const longest = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255';
    assert.equal(ipFamily(longest), 6);
    for (const text of [`0${longest}`, ':'.repeat(100_000), `${'0:'.repeat(50_000)}0`]) {
      assert.equal(ipFamily(text) === 6, nodeSaysV6(text), text.slice(0, 20));
    }
    assert.equal(ipFamily('1.2.3.4'), 4);
    assert.deepEqual(parseIp('::'), Buffer.alloc(16));
    assert.deepEqual(parseIp('::ffff:1.2.3.4'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]));
    assert.equal(parseIp('example.com'), undefined);
  });
});
