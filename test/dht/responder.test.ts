import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KRPC_PROTOCOL_ERROR, encodeKrpc } from '../../src/dht/krpc.js';
import { PeerStore } from '../../src/dht/peer-store.js';
import { MAX_VALUES, answerQuery } from '../../src/dht/responder.js';
import { RoutingTable } from '../../src/dht/routing-table.js';
import { TokenIssuer } from '../../src/dht/token.js';

function state() {
  const now = (): number => 0;
  const ownId = new Uint8Array(20).fill(7);
  const table = new RoutingTable(ownId, { now });
  for (let i = 1; i <= 40; i++) table.noteResponse({ id: new Uint8Array(20).fill(i * 5), host: '127.0.0.1', port: 2000 + i });
  return { ownId, table, tokens: new TokenIssuer({ now, random: (n) => new Uint8Array(n).fill(3) }), peers: new PeerStore({ now }) };
}

const FROM = { host: '127.0.0.1', port: 4000 };
const ID = new Uint8Array(20).fill(1);
const HASH = new Uint8Array(20).fill(200);

describe('answerQuery', () => {
  it('answers ping with our id and find_node with at most 8 nodes', () => {
    const s = state();
    assert.deepEqual(answerQuery(s, { method: 'ping', id: ID }, FROM), { kind: 'response', body: { id: s.ownId } });
    const a = answerQuery(s, { method: 'find_node', id: ID, target: HASH }, FROM);
    assert.ok(a.kind === 'response' && a.body.nodes!.length === 8);
  });

  it('get_peers gives a token that announce_peer then accepts, storing the source address', () => {
    const s = state();
    const gp = answerQuery(s, { method: 'get_peers', id: ID, infoHash: HASH }, FROM);
    assert.ok(gp.kind === 'response' && gp.body.token !== undefined && gp.body.values === undefined);
    const token = gp.body.token;
    const bad = answerQuery(s, { method: 'announce_peer', id: ID, infoHash: HASH, port: 6881, token: new Uint8Array(20), impliedPort: false }, FROM);
    assert.deepEqual(bad, { kind: 'error', code: KRPC_PROTOCOL_ERROR, message: 'bad token' });
    const other = answerQuery(s, { method: 'announce_peer', id: ID, infoHash: HASH, port: 6881, token, impliedPort: false }, { host: '127.0.0.2', port: 4000 });
    assert.equal(other.kind, 'error');
    const ok = answerQuery(s, { method: 'announce_peer', id: ID, infoHash: HASH, port: 6881, token, impliedPort: false }, FROM);
    assert.equal(ok.kind, 'response');
    const implied = answerQuery(s, { method: 'announce_peer', id: ID, infoHash: HASH, port: undefined, token, impliedPort: true }, FROM);
    assert.equal(implied.kind, 'response');
    const again = answerQuery(s, { method: 'get_peers', id: ID, infoHash: HASH }, FROM);
    assert.ok(again.kind === 'response');
    assert.deepEqual(again.body.values, [
      { host: '127.0.0.1', port: 4000 },
      { host: '127.0.0.1', port: 6881 },
    ]);
  });

  it('bounds get_peers answers so they always fit one datagram', () => {
    const s = state();
    for (let p = 1; p <= 500; p++) s.peers.add(HASH, { host: '10.1.2.3', port: p });
    const a = answerQuery(s, { method: 'get_peers', id: ID, infoHash: HASH }, FROM);
    assert.ok(a.kind === 'response');
    assert.equal(a.body.values!.length, MAX_VALUES);
    const bytes = encodeKrpc({ type: 'response', t: new Uint8Array(32), response: a.body });
    assert.ok(bytes.length < 1000, `answer is ${bytes.length} bytes`);
  });
});
