import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KrpcError } from '../../src/dht/errors.js';
import { MAX_KRPC_PACKET, type KrpcMessage, decodeKrpc, encodeKrpc } from '../../src/dht/krpc.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const ID_A = b('abcdefghij0123456789');
const ID_M = b('mnopqrstuvwxyz123456');

/** BEP 5's own examples, byte for byte. */
const BEP5 = {
  ping: 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
  pingResponse: 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
  error: 'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
  findNode: 'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
  findNodeResponse: 'd1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re',
  getPeers: 'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
  getPeersValues: 'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
  getPeersNodes: 'd1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re',
  announce:
    'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
  announceResponse: 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
};

function roundTrip(text: string): KrpcMessage {
  const msg = decodeKrpc(b(text));
  assert.equal(Buffer.from(encodeKrpc(msg)).toString('latin1'), text);
  return msg;
}

function rejects(text: string | Uint8Array, code: string): KrpcError {
  const bytes = typeof text === 'string' ? b(text) : text;
  let caught: unknown;
  try {
    decodeKrpc(bytes);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KrpcError, `expected KrpcError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe('BEP 5 example messages', () => {
  it('ping query and response', () => {
    const q = roundTrip(BEP5.ping);
    assert.deepEqual(q, { type: 'query', t: new Uint8Array(b('aa')), query: { method: 'ping', id: new Uint8Array(ID_A) } });
    const r = roundTrip(BEP5.pingResponse);
    assert.equal(r.type, 'response');
    assert.ok(r.type === 'response' && Buffer.from(r.response.id).equals(ID_M));
  });

  it('generic error', () => {
    const e = roundTrip(BEP5.error);
    assert.deepEqual(e, { type: 'error', t: new Uint8Array(b('aa')), code: 201, message: 'A Generic Error Ocurred' });
  });

  it('find_node query', () => {
    const q = roundTrip(BEP5.findNode);
    assert.ok(q.type === 'query' && q.query.method === 'find_node');
    assert.ok(Buffer.from(q.query.target).equals(ID_M));
  });

  it('get_peers query and the response with values', () => {
    const q = roundTrip(BEP5.getPeers);
    assert.ok(q.type === 'query' && q.query.method === 'get_peers' && Buffer.from(q.query.infoHash).equals(ID_M));
    const r = roundTrip(BEP5.getPeersValues);
    assert.ok(r.type === 'response');
    assert.deepEqual(r.response.values, [
      { host: '97.120.106.101', port: 0x2e75 },
      { host: '105.100.104.116', port: 0x6e6d },
    ]);
    assert.ok(Buffer.from(r.response.token!).equals(b('aoeusnth')));
  });

  it('announce_peer query with implied_port, and its response', () => {
    const q = roundTrip(BEP5.announce);
    assert.deepEqual(q.type === 'query' ? q.query : undefined, {
      method: 'announce_peer',
      id: new Uint8Array(ID_A),
      infoHash: new Uint8Array(ID_M),
      port: 6881,
      token: new Uint8Array(b('aoeusnth')),
      impliedPort: true,
    });
    roundTrip(BEP5.announceResponse);
  });

  it('rejects the placeholder "def456..." nodes strings: 9 bytes is not a multiple of 26', () => {
    rejects(BEP5.findNodeResponse, 'bad-nodes');
    rejects(BEP5.getPeersNodes, 'bad-nodes');
  });
});

describe('KRPC encoding', () => {
  it('round-trips a find_node response with real compact nodes', () => {
    const nodes = [
      { id: new Uint8Array(20).fill(1), host: '127.0.0.1', port: 6881 },
      { id: new Uint8Array(20).fill(2), host: '10.0.0.255', port: 65535 },
    ];
    const msg: KrpcMessage = { type: 'response', t: new Uint8Array([1, 2]), response: { id: new Uint8Array(ID_A), nodes } };
    const bytes = encodeKrpc(msg);
    assert.ok(Buffer.from(bytes).includes(b('5:nodes52:')));
    assert.deepEqual(decodeKrpc(bytes), msg);
  });

  it('writes announce_peer without implied_port when it is not set', () => {
    const msg: KrpcMessage = {
      type: 'query',
      t: new Uint8Array(b('xy')),
      query: { method: 'announce_peer', id: new Uint8Array(ID_A), infoHash: new Uint8Array(ID_M), port: 51413, token: new Uint8Array([9]), impliedPort: false },
    };
    const text = Buffer.from(encodeKrpc(msg)).toString('latin1');
    assert.ok(!text.includes('implied_port'));
    assert.deepEqual(decodeKrpc(b(text)), msg);
  });

  it('keeps the optional client version "v" and ignores unknown keys', () => {
    const text = 'd1:ad2:id20:abcdefghij01234567894:wantl2:n4ee1:q4:ping1:t2:aa1:v4:TS011:y1:qe';
    const msg = decodeKrpc(b(text));
    assert.ok(msg.version !== undefined && Buffer.from(msg.version).equals(b('TS01')));
  });

  it("BEP 42's `ip` of a response: the querier's compact address, read and written at the top level; a malformed one is ignored", () => {
    const text = 'd2:ip6:\x7f\x00\x00\x01\x1a\xe11:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re';
    const msg = decodeKrpc(b(text));
    assert.ok(msg.type === 'response');
    assert.deepEqual(msg.ip, { host: '127.0.0.1', port: 6881 });
    assert.equal(Buffer.from(encodeKrpc(msg)).toString('latin1'), text);
    const six = encodeKrpc({ type: 'response', t: b('aa'), response: { id: ID_M }, ip: { host: '2001:db8::7', port: 443 } });
    const back = decodeKrpc(six);
    assert.ok(back.type === 'response');
    assert.deepEqual(back.ip, { host: '2001:db8::7', port: 443 });
    const odd = decodeKrpc(b('d2:ip5:abcde1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'));
    assert.ok(odd.type === 'response' && odd.ip === undefined);
  });

  it('refuses to encode a message larger than one datagram', () => {
    const values = Array.from({ length: 200 }, (_, i) => ({ host: '10.0.0.1', port: i + 1 }));
    assert.throws(() => encodeKrpc({ type: 'response', t: b('aa'), response: { id: ID_A, values } }), (e: unknown) => e instanceof KrpcError && e.code === 'too-large');
  });

  it('decoded values do not alias the receive buffer', () => {
    const buf = b(BEP5.ping);
    const msg = decodeKrpc(buf);
    buf.fill(0x30);
    assert.ok(msg.type === 'query' && Buffer.from(msg.query.id).equals(ID_A));
  });
});

describe('hostile packets', () => {
  it('oversized input is refused before decoding', () => {
    rejects(new Uint8Array(MAX_KRPC_PACKET + 1), 'too-large');
  });

  it('truncated packets, at every cut of a valid one', () => {
    for (let cut = 0; cut < BEP5.announce.length; cut++) rejects(BEP5.announce.slice(0, cut), 'bad-bencode');
  });

  it('non-canonical bencode and trailing bytes', () => {
    rejects('d1:ti01e1:y1:qe', 'bad-bencode');
    rejects('d1:y1:q1:t2:aae', 'bad-bencode');
    rejects(`${BEP5.ping}x`, 'bad-bencode');
  });

  it('deep nesting is cut off', () => {
    rejects(`d1:ad1:xllllllllllleeeeeeeeeee2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe`, 'bad-bencode');
  });

  it('root that is not a dictionary', () => {
    rejects('li1ee', 'not-a-dict');
    rejects('4:ping', 'not-a-dict');
  });

  it('missing, empty, oversized or non-string transaction ids', () => {
    rejects('d1:y1:qe', 'bad-transaction-id');
    rejects('d1:t0:1:y1:qe', 'bad-transaction-id');
    rejects('d1:ti1e1:y1:qe', 'bad-transaction-id');
    rejects(`d1:t33:${'x'.repeat(33)}1:y1:qe`, 'bad-transaction-id');
  });

  it('unknown or missing "y"', () => {
    rejects('d1:t2:aa1:y1:ze', 'bad-message-type');
    rejects('d1:t2:aae', 'bad-message-type');
    rejects('d1:t2:aa1:yi1ee', 'bad-message-type');
  });

  it('unknown query method keeps the transaction id so the node can answer 204', () => {
    const err = rejects('d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:zz1:y1:qe', 'unknown-method');
    assert.ok(err.wasQuery);
    assert.ok(err.transactionId !== undefined && Buffer.from(err.transactionId).equals(b('zz')));
  });

  it('query fields of the wrong type or size', () => {
    rejects('d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe', 'bad-field');
    rejects('d1:ad2:idi5ee1:q4:ping1:t2:aa1:y1:qe', 'bad-field');
    rejects('d1:ai1e1:q4:ping1:t2:aa1:y1:qe', 'bad-field');
    rejects('d1:q4:ping1:t2:aa1:y1:qe', 'bad-field');
    rejects('d1:ad2:id20:abcdefghij0123456789e1:qi1e1:t2:aa1:y1:qe', 'bad-field');
    rejects('d1:ad2:id20:abcdefghij01234567896:target4:abcde1:q9:find_node1:t2:aa1:y1:qe', 'bad-field');
    rejects('d1:ad2:id20:abcdefghij0123456789e1:q9:get_peers1:t2:aa1:y1:qe', 'bad-field');
  });

  it('announce_peer with a bad port, token or implied_port', () => {
    const base = (args: string): string => `d1:ad2:id20:abcdefghij0123456789${args}e1:q13:announce_peer1:t2:aa1:y1:qe`;
    const hash = '9:info_hash20:mnopqrstuvwxyz123456';
    rejects(base(`${hash}4:porti70000e5:token1:x`), 'bad-field');
    rejects(base(`${hash}4:porti-1e5:token1:x`), 'bad-field');
    rejects(base(`${hash}4:port2:995:token1:x`), 'bad-field');
    rejects(base(`${hash}5:token1:x`), 'bad-field');
    rejects(base(`${hash}4:porti0e5:token1:x`), 'bad-field');
    rejects(base(`${hash}4:porti1e5:token0:`), 'bad-field');
    rejects(base(`${hash}4:porti1e`), 'bad-field');
    rejects(base(`12:implied_porti2e${hash}4:porti1e5:token1:x`), 'bad-field');
    // implied_port without a port is usable: the source port stands in.
    const ok = decodeKrpc(b(base(`12:implied_porti1e${hash}5:token1:x`)));
    assert.ok(ok.type === 'query' && ok.query.method === 'announce_peer' && ok.query.port === undefined && ok.query.impliedPort);
  });

  it('response bodies of the wrong shape', () => {
    rejects('d1:ri1e1:t2:aa1:y1:re', 'bad-field');
    rejects('d1:rde1:t2:aa1:y1:re', 'bad-field');
    rejects('d1:rd2:id20:abcdefghij01234567895:nodesi1ee1:t2:aa1:y1:re', 'bad-nodes');
    rejects('d1:rd2:id20:abcdefghij01234567896:values6:axje.ue1:t2:aa1:y1:re', 'bad-values');
    rejects('d1:rd2:id20:abcdefghij01234567896:valuesli1eee1:t2:aa1:y1:re', 'bad-values');
    rejects('d1:rd2:id20:abcdefghij01234567896:valuesl5:axje.ee1:t2:aa1:y1:re', 'bad-peer');
    rejects('d1:rd2:id20:abcdefghij01234567895:tokeni1ee1:t2:aa1:y1:re', 'bad-field');
  });

  it('error messages of the wrong shape', () => {
    rejects('d1:ei201e1:t2:aa1:y1:ee', 'bad-error');
    rejects('d1:eli201ee1:t2:aa1:y1:ee', 'bad-error');
    rejects('d1:el3:abc3:abce1:t2:aa1:y1:ee', 'bad-error');
    rejects('d1:eli201ei1ee1:t2:aa1:y1:ee', 'bad-error');
  });

  it('random bytes only ever throw KrpcError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
        try {
          decodeKrpc(bytes);
        } catch (err) {
          if (!(err instanceof KrpcError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('mutations of valid packets only ever throw KrpcError', () => {
    const seeds = Object.values(BEP5).map((s) => b(s));
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (seed, edits) => {
        const bytes = Buffer.from(seed);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        try {
          const msg = decodeKrpc(bytes);
          // Whatever decodes must re-encode to a packet that decodes to the same message.
          assert.deepEqual(decodeKrpc(encodeKrpc(msg)), msg);
        } catch (err) {
          if (!(err instanceof KrpcError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('BEP 32 (IPv6 DHT) in KRPC', () => {
  it("BEP 32's find_node with want n4 and n6 round-trips", () => {
    const text = 'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n42:n6ee1:q9:find_node1:t2:aa1:y1:qe';
    const msg = roundTrip(text);
    assert.equal(msg.type, 'query');
    assert.deepEqual(msg.type === 'query' && msg.query.method === 'find_node' ? msg.query.want : undefined, ['n4', 'n6']);
  });

  it('a response with nodes6 and 18-byte values round-trips; unknown want entries are skipped', () => {
    const node6 = Buffer.concat([ID_M, Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x1a, 0xe1])]);
    const peer6 = Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x1a, 0xe2]);
    const text = `d1:rd2:id20:${ID_A.toString('latin1')}6:nodes638:${node6.toString('latin1')}5:token2:tk6:valuesl18:${peer6.toString('latin1')}ee1:t2:aa1:y1:re`;
    const msg = roundTrip(text);
    assert.ok(msg.type === 'response');
    assert.deepEqual(msg.response.nodes6?.map((n) => `${n.host} ${n.port}`), ['2001:db8::2 6881']);
    assert.deepEqual(msg.response.values, [{ host: '2001:db8::3', port: 6882 }]);
    const odd = decodeKrpc(b('d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n52:n6i1eee1:q9:find_node1:t2:aa1:y1:qe'));
    assert.deepEqual(odd.type === 'query' && odd.query.method === 'find_node' ? odd.query.want : undefined, ['n6']);
  });

  it('rejects nodes6 of a length that is not a multiple of 38', () => {
    rejects(`d1:rd2:id20:${ID_A.toString('latin1')}6:nodes637:${'x'.repeat(37)}e1:t2:aa1:y1:re`, 'bad-nodes');
  });
});
