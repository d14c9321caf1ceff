/**
 * BEP 42 at the node: answers carry the querier's address (`ip`) both ways, and a node told
 * its external address takes a conforming id and rejoins through the nodes it knew, asking
 * for its new id. A raw socket on loopback plays the known node, so every packet is seen.
 */
import assert from 'node:assert/strict';
import { type Socket, createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { conformsToBep42 } from '../../src/dht/bep42.js';
import { decodeKrpc, encodeKrpc, type KrpcMessage } from '../../src/dht/krpc.js';
import { DhtNode } from '../../src/dht/node.js';

const OTHER_ID = new Uint8Array(20).fill(0x77);

/** A node that answers every find_node with no nodes and, as BEP 42 asks, the querier's address in `ip`, here `claim`. */
async function fakeNode(claim: string): Promise<{ socket: Socket; port: number; queries: KrpcMessage[] }> {
  const socket = createSocket('udp4');
  const queries: KrpcMessage[] = [];
  socket.on('message', (m, rinfo) => {
    const msg = decodeKrpc(m);
    queries.push(msg);
    if (msg.type !== 'query') return;
    socket.send(encodeKrpc({ type: 'response', t: msg.t, response: { id: OTHER_ID, nodes: [] }, ip: { host: claim, port: rinfo.port } }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, queries };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('BEP 42 at the DHT node', () => {
  const open: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of open) await close();
  });

  it("reports the `ip` of answers as votes, adopts a conforming id for its external address and looks the new id up through the nodes it knew", async () => {
    const fake = await fakeNode('203.0.113.7');
    open.push(() => new Promise<void>((resolve) => fake.socket.close(() => resolve())));
    const votes: string[] = [];
    const node = await DhtNode.start({
      host: '127.0.0.1',
      bootstrap: [{ host: '127.0.0.1', port: fake.port }],
      allowAddress: (h) => h === '127.0.0.1',
      queryTimeoutMs: 400,
      onExternalAddress: (address, voter) => votes.push(`${address} from ${voter}`),
    });
    open.push(() => node.close());
    await node.bootstrap();
    assert.deepEqual(votes, ['203.0.113.7 from 127.0.0.1']);
    assert.equal(node.nodeCount(), 1);

    const oldId = node.id;
    assert.equal(node.adoptExternalAddress('127.0.0.1'), false, 'loopback is exempt: any id will do');
    assert.equal(node.adoptExternalAddress('2001:db8::1'), false, 'an IPv6 address is not the IPv4 node’s');
    assert.equal(node.id, oldId);
    assert.equal(node.adoptExternalAddress('203.0.113.7'), true);
    assert.ok(conformsToBep42(node.id, '203.0.113.7'));
    assert.notDeepEqual(node.id, oldId);
    assert.equal(node.adoptExternalAddress('203.0.113.7'), false, 'already conforms: nothing to do');

    // The rejoin: a find_node for the new id, under the new id, to the node it knew.
    await waitFor('the rejoin lookup', () => fake.queries.some((q) => q.type === 'query' && q.query.method === 'find_node' && Buffer.from(q.query.target).equals(node.id)));
    const rejoin = fake.queries.at(-1)!;
    assert.ok(rejoin.type === 'query' && Buffer.from(rejoin.query.id).equals(node.id));
    await waitFor('the known node back in the new table', () => node.nodeCount() === 1);
  });

  it('the IPv6 node (BEP 32) takes an id for its IPv6 address, by the IPv6 mask, and ignores an IPv4 one', async () => {
    const node = await DhtNode.start({ host: '::1', family: 6, bootstrap: [], allowAddress: (h) => h === '::1' });
    open.push(() => node.close());
    assert.equal(node.adoptExternalAddress('203.0.113.7'), false);
    assert.equal(node.adoptExternalAddress('::1'), false, 'loopback is exempt');
    assert.equal(node.adoptExternalAddress('2001:db8:1234:5678::9'), true);
    assert.ok(conformsToBep42(node.id, '2001:db8:1234:5678::9'));
    assert.ok(conformsToBep42(node.id, '2001:db8:1234:5678::abcd'), 'only the first 64 bits count');
    assert.equal(node.adoptExternalAddress('2001:db8:1234:5678::abcd'), false, 'same /64: the id still fits');
  });

  it('answers a query with the querier’s address in `ip`', async () => {
    const node = await DhtNode.start({ host: '127.0.0.1', bootstrap: [], allowAddress: (h) => h === '127.0.0.1' });
    open.push(() => node.close());
    const socket = createSocket('udp4');
    open.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const answers: KrpcMessage[] = [];
    socket.on('message', (m) => answers.push(decodeKrpc(m)));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.send(encodeKrpc({ type: 'query', t: Buffer.from('aa'), query: { method: 'ping', id: OTHER_ID } }), node.port, '127.0.0.1');
    // The node also pings us back (a querier must answer before it enters the table).
    await waitFor('the answer', () => answers.some((m) => m.type === 'response'));
    const a = answers.find((m) => m.type === 'response');
    assert.ok(a?.type === 'response');
    assert.deepEqual(a.ip, { host: '127.0.0.1', port: socket.address().port });
  });
});
