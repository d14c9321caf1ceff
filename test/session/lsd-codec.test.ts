/**
 * BEP 14 announce codec: the spec's own layout, strict rejection of every malformed form,
 * and fast-check properties (random bytes are rejected or decoded, never thrown on;
 * encode→decode is the identity).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeAnnounce,
  encodeAnnounce,
  infoHashesPerDatagram,
  LSD_HOST_V4,
  LsdError,
  MAX_DATAGRAM_BYTES,
  type DecodeResult,
} from '../../src/session/lsd-codec.js';

const HASH_A = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const HASH_B = Buffer.from('fedcba9876543210fedcba9876543210fedcba98', 'hex');

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const decodeText = (s: string, ownCookie?: string): DecodeResult => decodeAnnounce(ascii(s), ownCookie !== undefined ? { ownCookie } : {});

function rejectedFor(r: DecodeResult): string {
  assert.equal(r.ok, false, 'expected a rejection');
  return r.ok ? '' : r.reason;
}

/** The BEP 14 template filled in, as another client would send it. */
const BEP14_EXAMPLE =
  'BT-SEARCH * HTTP/1.1\r\n' +
  'Host: 239.192.152.143:6771\r\n' +
  'Port: 6881\r\n' +
  'Infohash: 0123456789abcdef0123456789abcdef01234567\r\n' +
  'cookie: 5e2a\r\n' +
  '\r\n' +
  '\r\n';

describe('encodeAnnounce', () => {
  test('lays out the BEP 14 template byte for byte', () => {
    const bytes = encodeAnnounce({ host: LSD_HOST_V4, port: 6881, infoHashes: [HASH_A], cookie: '5e2a' });
    assert.equal(Buffer.from(bytes).toString('latin1'), BEP14_EXAMPLE);
  });

  test('several info hashes are consecutive Infohash headers; no cookie line without a cookie', () => {
    const text = Buffer.from(encodeAnnounce({ host: LSD_HOST_V4, port: 1, infoHashes: [HASH_A, HASH_B] })).toString('latin1');
    assert.equal(
      text,
      'BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 1\r\n' +
        `Infohash: ${HASH_A.toString('hex')}\r\nInfohash: ${HASH_B.toString('hex')}\r\n\r\n\r\n`,
    );
  });

  test('rejects bad fields with LsdError codes', () => {
    const base = { host: LSD_HOST_V4, port: 6881, infoHashes: [HASH_A] };
    const cases: [object, string][] = [
      [{ ...base, port: 0 }, 'lsd-bad-port'],
      [{ ...base, port: 65536 }, 'lsd-bad-port'],
      [{ ...base, port: 1.5 }, 'lsd-bad-port'],
      [{ ...base, infoHashes: [] }, 'lsd-no-infohash'],
      [{ ...base, infoHashes: [new Uint8Array(19)] }, 'lsd-bad-infohash'],
      [{ ...base, cookie: 'a b' }, 'lsd-bad-cookie'],
      [{ ...base, cookie: 'x\r\nPort: 1' }, 'lsd-bad-cookie'],
      [{ ...base, host: 'h\r\nPort: 1' }, 'lsd-bad-host'],
    ];
    for (const [fields, code] of cases) {
      assert.throws(
        () => encodeAnnounce(fields as Parameters<typeof encodeAnnounce>[0]),
        (e: unknown) => e instanceof LsdError && e.code === code,
        code,
      );
    }
  });

  test('infoHashesPerDatagram is the exact number that fits in 1400 bytes', () => {
    const fields = { host: LSD_HOST_V4, port: 65535, cookie: '0123456789abcdef' };
    const n = infoHashesPerDatagram(fields);
    assert.ok(n >= 20, `only ${n} fit`);
    const hashes = Array.from({ length: n + 1 }, (_, i) => Buffer.alloc(20, i));
    assert.ok(encodeAnnounce({ ...fields, infoHashes: hashes.slice(0, n) }).length <= MAX_DATAGRAM_BYTES);
    assert.throws(() => encodeAnnounce({ ...fields, infoHashes: hashes }), (e: unknown) => e instanceof LsdError && e.code === 'lsd-too-large');
  });
});

describe('decodeAnnounce', () => {
  test('decodes the BEP 14 example', () => {
    assert.deepEqual(decodeText(BEP14_EXAMPLE), {
      ok: true,
      announce: { port: 6881, infoHashes: ['0123456789abcdef0123456789abcdef01234567'], cookie: '5e2a' },
    });
  });

  test('header names are case-insensitive, hex is lower-cased, duplicates merged, unknown headers ignored', () => {
    const r = decodeText(
      'BT-SEARCH * HTTP/1.1\r\nHOST: 239.192.152.143:6771\r\nport:  51413 \r\nX-Future: whatever\r\n' +
        'INFOHASH: FEDCBA9876543210FEDCBA9876543210FEDCBA98\r\ninfohash: fedcba9876543210fedcba9876543210fedcba98\r\n' +
        'Infohash: 0123456789abcdef0123456789abcdef01234567\r\n\r\n',
    );
    assert.deepEqual(r, {
      ok: true,
      announce: { port: 51413, infoHashes: [HASH_B.toString('hex'), HASH_A.toString('hex')], cookie: undefined },
    });
  });

  test('our own cookie is recognised; another cookie is not', () => {
    assert.equal(rejectedFor(decodeText(BEP14_EXAMPLE, '5e2a')), 'own-cookie');
    const other = decodeText(BEP14_EXAMPLE, '5e2b');
    assert.equal(other.ok, true);
  });

  const H = '0123456789abcdef0123456789abcdef01234567';
  const hostile: [string, string | Uint8Array, string][] = [
    ['empty', '', 'not-bt-search'],
    ['HTTP request', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'not-bt-search'],
    ['SSDP search', 'M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n', 'not-bt-search'],
    ['lower-case method', 'bt-search * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\n\r\n', 'not-bt-search'],
    ['HTTP/1.0', 'BT-SEARCH * HTTP/1.0\r\nPort: 1\r\nInfohash: ' + H + '\r\n\r\n', 'not-bt-search'],
    ['bare LF', 'BT-SEARCH * HTTP/1.1\nPort: 1\nInfohash: ' + H + '\n\n', 'bad-line-ending'],
    ['bare LF in headers', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\nInfohash: ' + H + '\r\n\r\n', 'bad-line-ending'],
    ['bare CR in headers', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\rInfohash: ' + H + '\r\n\r\n', 'bad-line-ending'],
    ['no blank line', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\n', 'truncated'],
    ['body after headers', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\n\r\nhello', 'trailing-data'],
    ['NUL byte', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\x00\r\nInfohash: ' + H + '\r\n\r\n', 'not-ascii'],
    ['high byte', Buffer.concat([ascii('BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nX: '), Buffer.from([0xff]), ascii('\r\nInfohash: ' + H + '\r\n\r\n')]), 'not-ascii'],
    ['header without colon', 'BT-SEARCH * HTTP/1.1\r\nPort 1\r\nInfohash: ' + H + '\r\n\r\n', 'bad-header'],
    ['space in header name', 'BT-SEARCH * HTTP/1.1\r\nPo rt: 1\r\nInfohash: ' + H + '\r\n\r\n', 'bad-header'],
    ['folded header', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n Infohash: ' + H + '\r\n\r\n', 'bad-header'],
    ['no port', 'BT-SEARCH * HTTP/1.1\r\nInfohash: ' + H + '\r\n\r\n', 'missing-port'],
    ['port 0', 'BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ' + H + '\r\n\r\n', 'bad-port'],
    ['port 65536', 'BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: ' + H + '\r\n\r\n', 'bad-port'],
    ['port 999999', 'BT-SEARCH * HTTP/1.1\r\nPort: 999999\r\nInfohash: ' + H + '\r\n\r\n', 'bad-port'],
    ['negative port', 'BT-SEARCH * HTTP/1.1\r\nPort: -1\r\nInfohash: ' + H + '\r\n\r\n', 'bad-port'],
    ['hex port', 'BT-SEARCH * HTTP/1.1\r\nPort: 0x1A\r\nInfohash: ' + H + '\r\n\r\n', 'bad-port'],
    ['empty port', 'BT-SEARCH * HTTP/1.1\r\nPort:\r\nInfohash: ' + H + '\r\n\r\n', 'bad-port'],
    ['two ports', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nport: 2\r\nInfohash: ' + H + '\r\n\r\n', 'duplicate-port'],
    ['no info hash', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n', 'missing-infohash'],
    ['39 hex', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H.slice(1) + '\r\n\r\n', 'bad-infohash'],
    ['41 hex', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '0\r\n\r\n', 'bad-infohash'],
    ['non-hex', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + 'g'.repeat(40) + '\r\n\r\n', 'bad-infohash'],
    ['v2 hash (64 hex)', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + 'a'.repeat(64) + '\r\n\r\n', 'bad-infohash'],
    ['two cookies', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\ncookie: a\r\ncookie: b\r\n\r\n', 'duplicate-cookie'],
    ['too many headers', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\n' + 'X: y\r\n'.repeat(40) + '\r\n', 'too-many-headers'],
    ['over 1400 bytes', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\nX: ' + 'y'.repeat(1400) + '\r\n\r\n', 'too-large'],
  ];
  for (const [name, input, reason] of hostile) {
    test(`rejects: ${name}`, () => {
      assert.equal(rejectedFor(decodeAnnounce(typeof input === 'string' ? ascii(input) : input)), reason);
    });
  }

  test('a 1400-byte announce is accepted, 1401 bytes is not', () => {
    const head = 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ' + H + '\r\nX: ';
    const tail = '\r\n\r\n';
    const fill = (n: number): string => head + 'y'.repeat(n - head.length - tail.length) + tail;
    assert.equal(decodeText(fill(1400)).ok, true);
    assert.equal(rejectedFor(decodeText(fill(1401))), 'too-large');
  });

  test('decodes a view into a larger buffer without reading outside it', () => {
    const inner = ascii(BEP14_EXAMPLE);
    const big = Buffer.concat([ascii('garbage'), inner, ascii('more garbage')]);
    const view = big.subarray(7, 7 + inner.length);
    assert.equal(decodeAnnounce(view).ok, true);
  });
});

describe('properties', () => {
  const rejectReasons = new Set([
    'too-large', 'not-ascii', 'not-bt-search', 'bad-line-ending', 'truncated', 'trailing-data', 'too-many-headers',
    'bad-header', 'missing-port', 'duplicate-port', 'bad-port', 'missing-infohash', 'bad-infohash', 'duplicate-cookie', 'own-cookie',
  ]);

  test('random bytes never throw: a valid announce or a known reject reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
        const r = decodeAnnounce(bytes);
        if (r.ok) {
          assert.ok(r.announce.port >= 1 && r.announce.port <= 65535);
          assert.ok(r.announce.infoHashes.length > 0);
        } else {
          assert.ok(rejectReasons.has(r.reason), r.reason);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('mutations of a valid announce never throw', () => {
    const valid = ascii(BEP14_EXAMPLE);
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: valid.length }), (at, byte, cut) => {
        const m = Uint8Array.from(valid);
        m[at] = byte;
        const r = decodeAnnounce(m.subarray(0, cut));
        assert.ok(r.ok || rejectReasons.has(r.reason));
      }),
      { numRuns: 2000 },
    );
  });

  test('encode then decode is the identity', () => {
    const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65535 }),
        fc.uniqueArray(fc.uint8Array({ minLength: 20, maxLength: 20 }), { minLength: 1, maxLength: 20, selector: (h) => Buffer.from(h).toString('hex') }),
        fc.option(fc.string({ unit: tokenChar, minLength: 1, maxLength: 32 }), { nil: undefined }),
        (port, hashes, cookie) => {
          const bytes = encodeAnnounce({ host: LSD_HOST_V4, port, infoHashes: hashes, ...(cookie !== undefined ? { cookie } : {}) });
          assert.deepEqual(decodeAnnounce(bytes), {
            ok: true,
            announce: { port, infoHashes: hashes.map((h) => Buffer.from(h).toString('hex')), cookie },
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
