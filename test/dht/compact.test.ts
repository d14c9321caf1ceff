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

  it('BEP 32: an IPv6 peer is 16 address bytes and a port (18), a node6 38 bytes', () => {
    const peer6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1a, 0xe1];
    assert.deepEqual([...encodePeer({ host: '2001:db8::1', port: 6881 })], peer6);
    assert.deepEqual(decodePeer(Uint8Array.from(peer6)), { host: '2001:db8::1', port: 6881 });
    const id = new Uint8Array(20).fill(0xab);
    const node6 = encodeNodes([{ id, host: '::1', port: 6881 }], 6);
    assert.deepEqual([...node6], [...id, ...new Array<number>(15).fill(0), 1, 0x1a, 0xe1]);
    assert.throws(() => encodeNodes([{ id, host: '1.2.3.4', port: 1 }], 6), KrpcError);
    assert.throws(() => encodeNodes([{ id, host: '::1', port: 1 }], 4), KrpcError);
    assert.throws(() => decodeNodes(new Uint8Array(39), 6), KrpcError);
  });

  it('round-trips nodes6 lists; random bytes decode or throw KrpcError', () => {
    const arb = fc.array(fc.record({ id: fc.uint8Array({ minLength: 20, maxLength: 20 }), host: fc.ipV6(), port: fc.integer({ min: 0, max: 65535 }) }), { maxLength: 16 });
    fc.assert(
      fc.property(arb, (nodes) => {
        const bytes = encodeNodes(nodes, 6);
        assert.equal(bytes.length, nodes.length * 38);
        const back = decodeNodes(bytes, 6);
        assert.deepEqual([...encodeNodes(back, 6)], [...bytes]);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        for (const f of [4, 6] as const) {
          try {
            decodeNodes(bytes, f);
          } catch (err) {
            if (!(err instanceof KrpcError)) throw err;
          }
        }
        try {
          decodePeer(bytes);
        } catch (err) {
          if (!(err instanceof KrpcError)) throw err;
        }
      }),
    );
  });

  it('rejects wrong sizes and hosts that are not IP literals', () => {
    assert.throws(() => decodeNodes(new Uint8Array(27)), KrpcError);
    assert.throws(() => decodePeer(new Uint8Array(5)), KrpcError);
    assert.throws(() => encodePeer({ host: 'example.com', port: 1 }), KrpcError);
    assert.throws(() => encodePeer({ host: '256.0.0.1', port: 1 }), KrpcError);
    assert.throws(() => encodePeer({ host: '1.2.3.4', port: 70000 }), KrpcError);
    assert.throws(() => encodeNodes([{ id: new Uint8Array(19), host: '1.2.3.4', port: 1 }]), KrpcError);
  });
});
