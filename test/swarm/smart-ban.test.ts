/**
 * Smart ban: after a piece built from several peers fails, the peer whose block differs from
 * the verified piece is named, and only it. Property-tested over random pieces, senders and
 * lies: a liar is always named, an honest peer never.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SmartBan } from '../../src/swarm/smart-ban.js';

const BLOCK = 16;

describe('SmartBan', () => {
  test('names the peer whose block differed, not the one that shared the piece', () => {
    const good = randomBytes(4 * BLOCK);
    const bad = Buffer.from(good);
    bad[2 * BLOCK + 3]! ^= 1;
    const sb = new SmartBan(BLOCK);
    sb.failed(7, ['honest', 'honest', 'liar', 'honest'], bad);
    assert.equal(sb.tracks(7), true);
    assert.deepEqual(sb.verified(7, good), ['liar']);
    assert.equal(sb.tracks(7), false, 'forgotten once settled');
    assert.deepEqual(sb.verified(7, good), []);
  });

  test('a short last block is compared on its own length', () => {
    const good = randomBytes(2 * BLOCK + 5);
    const bad = Buffer.from(good);
    bad[2 * BLOCK + 4]! ^= 0x80;
    const sb = new SmartBan(BLOCK);
    sb.failed(0, ['a', 'b', 'c'], bad);
    assert.deepEqual(sb.verified(0, good), ['c']);
  });

  test('remembers a bounded number of pieces', () => {
    const sb = new SmartBan(BLOCK, 3);
    const data = randomBytes(BLOCK);
    for (let p = 0; p < 10; p++) sb.failed(p, ['x'], data);
    assert.equal(sb.size, 3);
    assert.equal(sb.tracks(0), false);
    assert.equal(sb.tracks(9), true);
  });

  test('property: over several failures, every liar and no honest peer is named', () => {
    const peers = ['h1', 'h2', 'l1', 'l2'];
    const liar = (ip: string): boolean => ip.startsWith('l');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.array(fc.constantFrom(...peers), { minLength: 12, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (blocks, attempts, lies) => {
          const good = randomBytes(blocks * BLOCK);
          const sb = new SmartBan(BLOCK);
          const expected = new Set<string>();
          for (const senders of attempts) {
            const got = Buffer.from(good);
            const from = senders.slice(0, blocks);
            from.forEach((ip, b) => {
              // A liar lies about the blocks `lies` marks (at least one per attempt it joins).
              if (liar(ip) && (lies[b] === true || b === from.indexOf(ip))) {
                got[b * BLOCK]! ^= 0xff;
                expected.add(ip);
              }
            });
            sb.failed(0, from, got);
          }
          const named = new Set(sb.verified(0, good));
          assert.deepEqual([...named].sort(), [...expected].sort());
          for (const ip of named) assert.ok(liar(ip), `${ip} is honest`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
