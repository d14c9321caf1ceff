import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeHandshake,
  decodeHandshakeHead,
  decodePeerId,
  DHT_BIT,
  encodeHandshake,
  EXTENSION_PROTOCOL_BIT,
  FAST_EXTENSION_BIT,
  HANDSHAKE_HEAD_LENGTH,
  HANDSHAKE_LENGTH,
  hasReservedBit,
  isHandshakePrefix,
  makeReserved,
  readCapabilities,
  WireError,
} from '../../src/wire/index.js';

const INFO_HASH = Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex');
const PEER_ID = Buffer.from('-TS0001-abcdefghijkl', 'latin1');
// BEP 3: 19, "BitTorrent protocol", 8 reserved bytes (BEP 10 byte 5 0x10; BEP 6 byte 7 0x04; BEP 5 byte 7 0x01), hash, id.
const VECTOR =
  '13' +
  '426974546f7272656e742070726f746f636f6c' +
  '0000000000100005' +
  '0102030405060708090a0b0c0d0e0f1011121314' +
  '2d5453303030312d6162636465666768696a6b6c';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

describe('handshake (BEP 3)', () => {
  it('encodes the 68-byte vector', () => {
    const reserved = makeReserved({ extensionProtocol: true, fast: true, dht: true });
    const bytes = encodeHandshake({ reserved, infoHash: INFO_HASH, peerId: PEER_ID });
    assert.equal(bytes.length, HANDSHAKE_LENGTH);
    assert.equal(bytes.toString('hex'), VECTOR);
  });

  it('decodes the vector into views', () => {
    const buf = Buffer.from(VECTOR, 'hex');
    const h = decodeHandshake(buf);
    assert.deepEqual(Buffer.from(h.infoHash), INFO_HASH);
    assert.deepEqual(Buffer.from(h.peerId), PEER_ID);
    assert.deepEqual(readCapabilities(h.reserved), { extensionProtocol: true, fast: true, dht: true, v2: false });
    assert.equal(h.infoHash.buffer, buf.buffer);
  });

  it('decodes in two steps: the 48-byte head, then the peer id', () => {
    const buf = Buffer.from(VECTOR, 'hex');
    const head = decodeHandshakeHead(buf.subarray(0, HANDSHAKE_HEAD_LENGTH));
    assert.deepEqual(Buffer.from(head.infoHash), INFO_HASH);
    assert.equal(hasReservedBit(head.reserved, EXTENSION_PROTOCOL_BIT), true);
    assert.deepEqual(Buffer.from(decodePeerId(buf.subarray(HANDSHAKE_HEAD_LENGTH))), PEER_ID);
  });

  it('places each capability bit where its BEP says', () => {
    assert.equal(Buffer.from(makeReserved({ extensionProtocol: true })).toString('hex'), '0000000000100000');
    assert.equal(Buffer.from(makeReserved({ fast: true })).toString('hex'), '0000000000000004');
    assert.equal(Buffer.from(makeReserved({ dht: true })).toString('hex'), '0000000000000001');
    // BEP 52: the v2 upgrade bit is byte 7, 0x10.
    assert.equal(Buffer.from(makeReserved({ v2: true })).toString('hex'), '0000000000000010');
    assert.equal(readCapabilities(makeReserved({ v2: true })).v2, true);
    assert.equal(Buffer.from(makeReserved({})).toString('hex'), '0000000000000000');
    const none = new Uint8Array(8);
    for (const bit of [EXTENSION_PROTOCOL_BIT, FAST_EXTENSION_BIT, DHT_BIT]) assert.equal(hasReservedBit(none, bit), false);
  });

  it('rejects a wrong protocol string with a typed error', () => {
    const wrongLen = Buffer.from(VECTOR, 'hex');
    wrongLen[0] = 18;
    rejects(() => decodeHandshakeHead(wrongLen), 'bad-handshake');
    const wrongText = Buffer.from(VECTOR, 'hex');
    wrongText[19] = 0x43; // "BitTorrent protocoC"
    rejects(() => decodeHandshake(wrongText), 'bad-handshake');
  });

  it('refuses short input and wrong field sizes', () => {
    rejects(() => decodeHandshakeHead(Buffer.alloc(47)), 'invalid-argument');
    rejects(() => decodeHandshake(Buffer.from(VECTOR, 'hex').subarray(0, 67)), 'invalid-argument');
    rejects(() => decodePeerId(Buffer.alloc(19)), 'invalid-argument');
    rejects(() => encodeHandshake({ reserved: new Uint8Array(8), infoHash: Buffer.alloc(19), peerId: PEER_ID }), 'invalid-argument');
    rejects(() => encodeHandshake({ reserved: new Uint8Array(7), infoHash: INFO_HASH, peerId: PEER_ID }), 'invalid-argument');
  });

  it('recognises a foreign stream from its first differing byte', () => {
    const buf = Buffer.from(VECTOR, 'hex');
    for (let n = 0; n <= buf.length; n++) assert.equal(isHandshakePrefix(buf.subarray(0, n)), true, `prefix ${n}`);
    assert.equal(isHandshakePrefix(Buffer.from([0x14])), false);
    const late = Buffer.from(buf);
    late[19] = 0x78;
    assert.equal(isHandshakePrefix(late.subarray(0, 19)), true);
    assert.equal(isHandshakePrefix(late.subarray(0, 20)), false);
  });
});
