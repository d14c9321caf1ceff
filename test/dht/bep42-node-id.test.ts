/**
 * BEP 42's own examples ("IP, rand, example node ID") and the checksum's check value, then the
 * rules around them: exempt networks, r in the last byte, and IPv6's 8-byte mask.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bep42Exempt, bep42NodeId, conformsToBep42, crc32c } from '../../src/dht/bep42.js';

const VECTORS: ReadonlyArray<readonly [string, number, string]> = [
  ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
  ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
  ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
  ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
  ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
];

function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

describe('BEP 42 node ids', () => {
  it('crc32c gives the Castagnoli check value', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  for (const [ip, rand, example] of VECTORS) {
    it(`the example id for ${ip} (rand ${rand}) conforms, and one made from the same randomness matches its 21-bit prefix`, () => {
      const id = bytesOf(example);
      assert.equal(id[19], rand);
      assert.ok(conformsToBep42(id, ip));
      // The randomness below is the example's own bytes with its prefix cleared: the prefix must come back.
      const made = bep42NodeId(ip, (n) => {
        const r = new Uint8Array(id.subarray(0, n));
        r[0] = 0;
        r[1] = 0;
        r[2]! &= 0x07;
        return r;
      });
      assert.equal(Buffer.from(made).toString('hex'), example);
      const flipped = new Uint8Array(id);
      flipped[2]! ^= 0x08;
      assert.ok(!conformsToBep42(flipped, ip), 'the 21st bit counts');
      const otherR = new Uint8Array(id);
      otherR[19] = (rand + 1) & 0xff;
      assert.ok(!conformsToBep42(otherR, ip), 'r comes from the last byte');
    });
  }

  it('no example id conforms for another example address', () => {
    for (const [ip] of VECTORS) {
      for (const [other, , example] of VECTORS) if (other !== ip) assert.ok(!conformsToBep42(bytesOf(example), ip), `${example} at ${ip}`);
    }
  });

  it('private, link-local and loopback addresses are exempt: any id conforms, and a fresh id is left random', () => {
    const id = bytesOf(VECTORS[0]![2]);
    for (const ip of ['10.1.2.3', '172.16.0.9', '192.168.1.1', '169.254.3.4', '127.0.0.1', '::1', 'fd00::1', 'fe80::1']) {
      assert.ok(bep42Exempt(ip), ip);
      assert.ok(conformsToBep42(id, ip), ip);
      assert.deepEqual(bep42NodeId(ip, (n) => new Uint8Array(n).fill(0xab)), new Uint8Array(20).fill(0xab));
    }
    assert.ok(!bep42Exempt('203.0.113.7'));
  });

  it('IPv6: the mask covers the first 8 bytes, so the interface half of the address does not change the prefix', () => {
    let seed = 0;
    const random = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed++) & 0xff);
    for (let i = 0; i < 16; i++) {
      const id = bep42NodeId('2001:db8:1234:5678::9', random);
      assert.ok(conformsToBep42(id, '2001:db8:1234:5678::9'));
      assert.ok(conformsToBep42(id, '2001:db8:1234:5678:aaaa:bbbb:cccc:dddd'), 'same /64');
    }
    // Bits the mask keeps do change it: over 8 values of r, some prefix must differ.
    const ids = Array.from({ length: 8 }, () => bep42NodeId('2001:db8:1234:5678::9', random));
    assert.ok(ids.some((id) => !conformsToBep42(id, '2001:db8:1234:5679::9')));
  });
});
