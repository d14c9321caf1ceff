import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeExtendedHandshake, encodeExtendedHandshake, MAX_METADATA_SIZE, WireError, type ExtendedHandshake } from '../../src/wire/index.js';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// After BEP 10's example ({m: {...}, p: 6881, v: "µTorrent 1.2"}), with the BEP 9 and 21 keys; keys in byte order.
const EXAMPLE = Buffer.concat([
  b('d1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei31235e1:pi6881e4:reqqi500e11:upload_onlyi1e1:v13:'),
  Buffer.from('µTorrent 1.2', 'utf8'),
  b('6:yourip4:'),
  Buffer.from([127, 0, 0, 1]),
  b('e'),
]);

const EXAMPLE_VALUE: ExtendedHandshake = {
  m: new Map([
    ['ut_metadata', 2],
    ['ut_pex', 1],
  ]),
  metadataSize: 31235,
  p: 6881,
  reqq: 500,
  uploadOnly: true,
  v: 'µTorrent 1.2',
  yourip: '127.0.0.1',
};

describe('extended handshake (BEP 10)', () => {
  it('encodes to canonical bencode', () => {
    assert.equal(encodeExtendedHandshake(EXAMPLE_VALUE).toString('latin1'), EXAMPLE.toString('latin1'));
  });

  it('decodes the example', () => {
    assert.deepEqual(decodeExtendedHandshake(EXAMPLE), EXAMPLE_VALUE);
  });

  it('round-trips IPv6 addresses and a disabled extension (id 0)', () => {
    const h: ExtendedHandshake = { m: new Map([['ut_pex', 0]]), yourip: '2001:db8::1', ipv4: '10.0.0.1', ipv6: 'fe80::2' };
    assert.deepEqual(decodeExtendedHandshake(encodeExtendedHandshake(h)), h);
  });

  it('treats a missing m as no extensions and ignores unknown keys', () => {
    assert.deepEqual(decodeExtendedHandshake(b('d1:xli1eee')), { m: new Map() });
  });

  it('drops malformed hints instead of failing', () => {
    const odd = b('d1:pi0e4:reqqi0e1:vi5e6:yourip5:abcdee');
    assert.deepEqual(decodeExtendedHandshake(odd), { m: new Map() });
    assert.deepEqual(decodeExtendedHandshake(b('d1:pi65536e4:reqqi65536ee')), { m: new Map() });
    const longName = Buffer.concat([b('d1:v300:'), Buffer.alloc(300, 0x41), b('e')]);
    assert.deepEqual(decodeExtendedHandshake(longName), { m: new Map() });
  });

  it('rejects a bad m or metadata_size', () => {
    rejects(() => decodeExtendedHandshake(b('d1:mli1eee')), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b('d1:md6:ut_pexi256eee')), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b('d1:md6:ut_pexi-1eee')), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b('d1:md6:ut_pex1:xee')), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b('d13:metadata_sizei0ee')), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b(`d13:metadata_sizei${MAX_METADATA_SIZE + 1}ee`)), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b('d13:metadata_size2:12e')), 'bad-extended-handshake');
    assert.equal(decodeExtendedHandshake(b(`d13:metadata_sizei${MAX_METADATA_SIZE}ee`)).metadataSize, MAX_METADATA_SIZE);
  });

  it('decodes with strict bencode and wraps its errors', () => {
    rejects(() => decodeExtendedHandshake(b('li1ee')), 'bad-extended-handshake');
    rejects(() => decodeExtendedHandshake(b('d1:pi1e1:ai1ee')), 'bad-extended-handshake'); // unsorted keys
    rejects(() => decodeExtendedHandshake(b('d1:pi01ee')), 'bad-extended-handshake'); // leading zero
    rejects(() => decodeExtendedHandshake(b('de0:')), 'bad-extended-handshake'); // trailing bytes
    rejects(() => decodeExtendedHandshake(b('d1:md')), 'bad-extended-handshake');
  });

  it('refuses to encode out-of-range values', () => {
    rejects(() => encodeExtendedHandshake({ m: new Map([['x', 256]]) }), 'invalid-argument');
    rejects(() => encodeExtendedHandshake({ m: new Map([['', 1]]) }), 'invalid-argument');
    rejects(() => encodeExtendedHandshake({ m: new Map(), metadataSize: 0 }), 'invalid-argument');
    rejects(() => encodeExtendedHandshake({ m: new Map(), p: 0 }), 'invalid-argument');
    rejects(() => encodeExtendedHandshake({ m: new Map(), ipv4: '::1' }), 'invalid-argument');
  });
});
