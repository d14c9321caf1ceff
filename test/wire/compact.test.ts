import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bytesToIp,
  decodeCompactPeers,
  encodeCompactPeer,
  encodeCompactPeers,
  ipFamily,
  ipToBytes,
  WireError,
} from '../../src/wire/index.js';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

describe('compact peers (BEP 23, BEP 7)', () => {
  it('encodes and decodes 6-byte IPv4 entries', () => {
    assert.equal(encodeCompactPeer({ host: '192.168.1.2', port: 6881 }).toString('hex'), 'c0a801021ae1');
    const two = Buffer.from('c0a801021ae1' + '7f000001ffff', 'hex');
    assert.deepEqual(decodeCompactPeers(two, 4), [
      { host: '192.168.1.2', port: 6881 },
      { host: '127.0.0.1', port: 65535 },
    ]);
    assert.deepEqual(encodeCompactPeers(decodeCompactPeers(two, 4), 4), two);
  });

  it('encodes and decodes 18-byte IPv6 entries', () => {
    const one = Buffer.from('20010db8000000000000000000000001' + '1ae1', 'hex');
    assert.deepEqual(encodeCompactPeer({ host: '2001:db8::1', port: 6881 }), one);
    assert.deepEqual(decodeCompactPeers(one, 6), [{ host: '2001:db8::1', port: 6881 }]);
  });

  it('keeps each family apart when encoding a mixed list', () => {
    const peers = [
      { host: '1.2.3.4', port: 1 },
      { host: '::1', port: 2 },
    ];
    assert.equal(encodeCompactPeers(peers, 4).toString('hex'), '010203040001');
    assert.equal(encodeCompactPeers(peers, 6).toString('hex'), '00000000000000000000000000000001' + '0002');
  });

  it('rejects lengths that are not a multiple of the entry size', () => {
    rejects(() => decodeCompactPeers(Buffer.alloc(7), 4), 'bad-compact');
    rejects(() => decodeCompactPeers(Buffer.alloc(12), 6), 'bad-compact');
    assert.deepEqual(decodeCompactPeers(Buffer.alloc(0), 6), []);
  });

  it('decodes at most `max` entries', () => {
    assert.equal(decodeCompactPeers(Buffer.alloc(60), 4, 3).length, 3);
  });

  it('writes IPv6 text in RFC 5952 form', () => {
    const cases: [string, string][] = [
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['00010000000000000000000000000000', '1::'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
      ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
      ['00000000000000000000fffe01020304', '::fffe:102:304'],
    ];
    for (const [hex, text] of cases) assert.equal(bytesToIp(Buffer.from(hex, 'hex')), text);
  });

  it('parses IPv6 literals, including a dotted tail', () => {
    assert.equal(ipToBytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
    assert.equal(ipToBytes('2001:DB8::').toString('hex'), '20010db8000000000000000000000000');
    assert.equal(ipToBytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
  });

  it('IPv6 bytes → text → bytes is the identity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (raw) => {
        const text = bytesToIp(raw);
        assert.ok(isIPv6(text), text);
        assert.deepEqual(ipToBytes(text), Buffer.from(raw));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses host names, zoned addresses and bad ports', () => {
    assert.equal(ipFamily('example.com'), undefined);
    assert.equal(ipFamily('fe80::1%eth0'), undefined);
    rejects(() => ipToBytes('example.com'), 'invalid-argument');
    rejects(() => encodeCompactPeer({ host: '1.2.3.4', port: 65536 }), 'invalid-argument');
    rejects(() => bytesToIp(Buffer.alloc(5)), 'invalid-argument');
  });
});
