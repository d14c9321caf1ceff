import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeUtPex, encodeUtPex, MAX_PEX_PEERS, PexFlag, WireError, type PexMessage } from '../../src/wire/index.js';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const h = (hex: string): Buffer => Buffer.from(hex, 'hex');

const MESSAGE: PexMessage = {
  added: [
    { host: '1.2.3.4', port: 6881, flags: PexFlag.seed | PexFlag.reachable },
    { host: '2001:db8::1', port: 51413, flags: PexFlag.encryption },
  ],
  dropped: [{ host: '5.6.7.8', port: 80 }],
};

// BEP 11 keys in byte order ("added.f" < "added6" since '.' < '6'), compact entries written by hand.
const WIRE = Buffer.concat([
  b('d5:added6:'), h('010203041ae1'),
  b('7:added.f1:'), h('12'),
  b('6:added618:'), h('20010db8000000000000000000000001c8d5'),
  b('8:added6.f1:'), h('01'),
  b('7:dropped6:'), h('050607080050'),
  b('8:dropped60:e'),
]);

/** `n` distinct compact IPv4 entries 10.0.x.y:1000. */
function compact4(n: number): Buffer {
  const out = Buffer.alloc(n * 6);
  for (let i = 0; i < n; i++) {
    out.set([10, 0, i >> 8, i & 0xff], i * 6);
    out.writeUInt16BE(1000, i * 6 + 4);
  }
  return out;
}

function dict(entries: [string, Buffer][]): Buffer {
  const parts = entries.map(([k, v]) => Buffer.concat([b(`${k.length}:${k}${v.length}:`), v]));
  return Buffer.concat([b('d'), ...parts, b('e')]);
}

describe('ut_pex (BEP 11)', () => {
  it('encodes IPv4 and IPv6 lists with flags to the exact bytes', () => {
    assert.equal(encodeUtPex(MESSAGE).toString('hex'), WIRE.toString('hex'));
  });

  it('decodes them back', () => {
    assert.deepEqual(decodeUtPex(WIRE), { ...MESSAGE, truncated: false });
  });

  it('decodes a message with only some keys', () => {
    const only = dict([['dropped', h('7f0000011ae1')]]);
    assert.deepEqual(decodeUtPex(only), { added: [], dropped: [{ host: '127.0.0.1', port: 6881 }], truncated: false });
  });

  it(`keeps the first ${MAX_PEX_PEERS} added and dropped peers and flags truncation`, () => {
    const msg = decodeUtPex(dict([['added', compact4(60)], ['dropped', compact4(51)]]));
    assert.equal(msg.added.length, MAX_PEX_PEERS);
    assert.equal(msg.dropped.length, MAX_PEX_PEERS);
    assert.equal(msg.added[49]!.host, '10.0.0.49');
    assert.equal(msg.truncated, true);
    const exact = decodeUtPex(dict([['added', compact4(50)]]));
    assert.equal(exact.added.length, 50);
    assert.equal(exact.truncated, false);
  });

  it('counts both families toward the bound', () => {
    const six = Buffer.alloc(18 * 10);
    for (let i = 0; i < 10; i++) six.writeUInt16BE(7000 + i, i * 18 + 16);
    const msg = decodeUtPex(dict([['added', compact4(45)], ['added6', six]]));
    assert.equal(msg.added.length, 50);
    assert.equal(msg.added[49]!.host, '::');
    assert.equal(msg.truncated, true);
  });

  it('drops port-0 entries without shifting the flags of the others', () => {
    const added = Buffer.concat([h('0a0000010000'), h('0a0000021ae1')]);
    const msg = decodeUtPex(dict([['added', added], ['added.f', h('0102')]]));
    assert.deepEqual(msg.added, [{ host: '10.0.0.2', port: 6881, flags: 2 }]);
  });

  it('ignores a flags string whose length does not match its list', () => {
    const msg = decodeUtPex(dict([['added', h('0a0000021ae1')], ['added.f', h('0102')]]));
    assert.deepEqual(msg.added, [{ host: '10.0.0.2', port: 6881, flags: 0 }]);
  });

  it('rejects lists that are not whole entries, wrong types and non-dicts', () => {
    rejects(() => decodeUtPex(dict([['added', h('0a00000200')]])), 'bad-ut-pex');
    rejects(() => decodeUtPex(dict([['added6', Buffer.alloc(17)]])), 'bad-ut-pex');
    rejects(() => decodeUtPex(b('d5:addedi1ee')), 'bad-ut-pex');
    rejects(() => decodeUtPex(b('le')), 'bad-ut-pex');
    rejects(() => decodeUtPex(b('d5:added')), 'bad-ut-pex');
  });

  it(`refuses to send more than ${MAX_PEX_PEERS} peers or bad entries`, () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ host: `10.0.0.${i}`, port: 1, flags: 0 }));
    rejects(() => encodeUtPex({ added: many, dropped: [] }), 'invalid-argument');
    rejects(() => encodeUtPex({ added: [], dropped: many }), 'invalid-argument');
    rejects(() => encodeUtPex({ added: [{ host: 'example.com', port: 1, flags: 0 }], dropped: [] }), 'invalid-argument');
    rejects(() => encodeUtPex({ added: [{ host: '1.2.3.4', port: 1, flags: 256 }], dropped: [] }), 'invalid-argument');
  });
});
