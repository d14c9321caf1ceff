import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeNodes, decodePeer, encodeNodes, encodePeer } from '../../src/dht/compact.js';
import { KrpcError } from '../../src/dht/errors.js';

describe('compact encodings', () => {
  it('encodes a peer as 4 address bytes and a big-endian port', () => {
    assert.deepEqual([...encodePeer({ host: '192.168.1.2', port: 6881 })], [192, 168, 1, 2, 0x1a, 0xe1]);
    assert.deepEqual(decodePeer(new Uint8Array([10, 0, 0, 1, 0xff, 0xff])), { host: '10.0.0.1', port: 65535 });
  });

  it('round-trips node lists', () => {
    const arb = fc.array(
      fc.record({
        id: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        host: fc.ipV4(),
        port: fc.integer({ min: 0, max: 65535 }),
      }),
      { maxLength: 16 },
    );
    fc.assert(
      fc.property(arb, (nodes) => {
        const bytes = encodeNodes(nodes);
        assert.equal(bytes.length, nodes.length * 26);
        assert.deepEqual(
          decodeNodes(bytes).map((n) => ({ id: [...n.id], host: n.host, port: n.port })),
          nodes.map((n) => ({ id: [...n.id], host: n.host, port: n.port })),
        );
      }),
    );
  });

  it('rejects wrong sizes and non-IPv4 hosts', () => {
    assert.throws(() => decodeNodes(new Uint8Array(27)), KrpcError);
    assert.throws(() => decodePeer(new Uint8Array(5)), KrpcError);
    assert.throws(() => encodePeer({ host: '::1', port: 1 }), KrpcError);
    assert.throws(() => encodePeer({ host: '256.0.0.1', port: 1 }), KrpcError);
    assert.throws(() => encodePeer({ host: '1.2.3.4', port: 70000 }), KrpcError);
    assert.throws(() => encodeNodes([{ id: new Uint8Array(19), host: '1.2.3.4', port: 1 }]), KrpcError);
  });
});
