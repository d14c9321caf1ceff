import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_TIMEOUTS, MAX_UNSENT_BYTES, PeerConnection, type PeerHandler } from '../../src/peer/connection.js';
import { encodeHandshake, encodeMessage, makeReserved, type IncomingMessage } from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

const infoHash = Buffer.alloc(20, 0xab);
const ours = { infoHash, peerId: Buffer.alloc(20, 1), reserved: makeReserved({ extensionProtocol: true }) };
const theirId = Buffer.alloc(20, 2);

interface Recorded {
  handshakes: number;
  messages: IncomingMessage[];
  closed: Promise<string>;
  handler: PeerHandler;
}

function recorder(accept = true): Recorded {
  let resolve!: (r: string) => void;
  const closed = new Promise<string>((r) => (resolve = r));
  const rec: Recorded = {
    handshakes: 0,
    messages: [],
    closed,
    handler: {
      onHandshake: () => {
        rec.handshakes++;
        return accept;
      },
      onMessage: (_c, m) => rec.messages.push(m),
      onClose: (_c, reason) => resolve(reason),
    },
  };
  return rec;
}

/** A scripted remote peer: answers the handshake with `reply`, then writes `after`. */
async function remote(reply: Buffer, after: Buffer[]): Promise<{ port: number; server: net.Server; received: Promise<Buffer> }> {
  let gotAll!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (gotAll = r));
  const server = net.createServer((s) => {
    const chunks: Buffer[] = [];
    s.on('error', () => undefined);
    s.on('data', (c) => {
      chunks.push(c);
      if (Buffer.concat(chunks).length >= 68 && chunks.length === 1) {
        s.write(reply);
        for (const a of after) s.write(a);
      }
    });
    s.on('close', () => gotAll(Buffer.concat(chunks)));
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, server, received };
}

describe('PeerConnection', () => {
  test('handshakes, then decodes messages split across writes', async () => {
    const reply = encodeHandshake({ reserved: makeReserved({}), infoHash, peerId: theirId });
    const { port, server, received } = await remote(reply, [Buffer.from([0, 0, 0, 5, 4, 0, 0]), Buffer.from([0, 7, 0, 0, 0, 1, 1])]);
    const rec = recorder();
    const conn = PeerConnection.connect({ host: '127.0.0.1', port }, ours, rec.handler, { maxBitfield: 4 });
    for (let i = 0; i < 100 && rec.messages.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rec.handshakes, 1);
    assert.equal(conn.state, 'active');
    assert.deepEqual(rec.messages, [{ type: 'have', index: 7 }, { type: 'unchoke' }]);
    assert.deepEqual(conn.remotePeerId, Uint8Array.from(theirId));
    conn.close('done');
    assert.equal(await rec.closed, 'done');
    const sent = await received;
    assert.deepEqual(sent.subarray(0, 68), encodeHandshake({ ...ours }));
    server.close();
  });

  test('a peer answering for another torrent is dropped', async () => {
    const reply = encodeHandshake({ reserved: makeReserved({}), infoHash: Buffer.alloc(20, 0xcd), peerId: theirId });
    const { port, server } = await remote(reply, []);
    const rec = recorder();
    PeerConnection.connect({ host: '127.0.0.1', port }, ours, rec.handler, { maxBitfield: 4 });
    assert.equal(await rec.closed, 'peer answered for another torrent');
    assert.equal(rec.handshakes, 0);
    server.close();
  });

  test('an oversized frame closes the connection before it is buffered', async () => {
    const reply = encodeHandshake({ reserved: makeReserved({}), infoHash, peerId: theirId });
    const huge = Buffer.from([0x7f, 0xff, 0xff, 0xff, 7]);
    const { port, server } = await remote(reply, [huge]);
    const rec = recorder();
    PeerConnection.connect({ host: '127.0.0.1', port }, ours, rec.handler, { maxBitfield: 4 });
    assert.match(await rec.closed, /^protocol error: .*exceeds/);
    server.close();
  });

  test('a refused handshake (e.g. our own peer id) closes', async () => {
    const reply = encodeHandshake({ reserved: makeReserved({}), infoHash, peerId: theirId });
    const { port, server } = await remote(reply, []);
    const rec = recorder(false);
    PeerConnection.connect({ host: '127.0.0.1', port }, ours, rec.handler, { maxBitfield: 4 });
    assert.equal(await rec.closed, 'handshake refused');
    server.close();
  });

  test('a silent remote: the handshake times out on the clock, not before (outgoing and incoming)', async () => {
    const clock = new FakeClock();
    const silent = net.createServer((s) => s.on('error', () => undefined));
    silent.on('error', () => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const rec = recorder();
    const out = PeerConnection.connect({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port }, ours, rec.handler, { maxBitfield: 4, clock });
    for (let i = 0; i < 500 && out.state === 'connecting'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(out.state, 'handshaking');

    let incoming: PeerConnection | undefined;
    const listener = net.createServer((s) => {
      s.on('error', () => undefined);
      incoming = PeerConnection.accept(s, { host: '127.0.0.1', port: s.remotePort ?? 0 }, () => ({ identity: ours, handler: recorder().handler, maxBitfield: 4 }), { clock });
    });
    listener.on('error', () => undefined);
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const dialer = net.connect({ host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port });
    dialer.on('error', () => undefined);
    const dialerClosed = new Promise((r) => dialer.once('close', r));
    for (let i = 0; i < 500 && incoming === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(incoming?.state, 'handshaking');

    clock.advance(DEFAULT_TIMEOUTS.handshakeMs - 1);
    assert.equal(out.state, 'handshaking');
    assert.equal(incoming.state, 'handshaking');
    clock.advance(1);
    assert.equal(await rec.closed, 'handshake timeout');
    // Not yet routed to a torrent, the incoming connection has no handler to tell: it just closes.
    assert.equal(incoming.closeReason, 'handshake timeout');
    await dialerClosed;
    silent.close();
    listener.close();
  });

  test('a peer that sends and never reads: we stop reading at the output bound, resume when it reads, drop it when it never does', async () => {
    const clock = new FakeClock();
    const answer = Buffer.alloc(64 * 1024);
    let handled = 0;
    let maxUnsent = 0;
    let resolveConn!: (c: PeerConnection) => void;
    const accepted = new Promise<PeerConnection>((r) => (resolveConn = r));
    const rec = recorder();
    // Every message it sends asks for a 64 KiB answer (as a request or a ut_metadata request would).
    const handler: PeerHandler = {
      ...rec.handler,
      onMessage: (c) => {
        handled++;
        c.write(answer);
        maxUnsent = Math.max(maxUnsent, c.writableLength);
      },
    };
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      resolveConn(PeerConnection.accept(socket, { host: '127.0.0.1', port: socket.remotePort ?? 0 }, () => ({ identity: ours, handler, maxBitfield: 4 }), { clock }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    client.on('error', () => undefined);
    client.pause();
    await new Promise<void>((r) => client.once('connect', () => r()));
    const conn = await accepted;
    const FLOOD = 2000;
    const until = async (probe: () => boolean, what: string): Promise<void> => {
      for (let i = 0; i < 1000 && !probe(); i++) await sleep(10);
      assert.ok(probe(), what);
    };

    // A handshake, then FLOOD keep-alives (four zero bytes each).
    client.write(encodeHandshake({ reserved: makeReserved({}), infoHash, peerId: theirId }));
    client.write(Buffer.alloc(4 * FLOOD));
    await until(() => conn.inputPaused, 'reading stops once answers pile up');
    const handledWhilePaused = handled;
    await sleep(200);
    assert.equal(handled, handledWhilePaused, 'no message is decoded while paused');
    assert.ok(handled < FLOOD, `only part of the ${FLOOD} requests were answered (${handled})`);
    assert.ok(maxUnsent <= MAX_UNSENT_BYTES + answer.length, `unsent output stays bounded (${maxUnsent} bytes)`);

    client.resume();
    await until(() => handled === FLOOD, 'once the peer reads, the rest is answered');
    assert.equal(conn.state, 'active');
    assert.equal(conn.inputPaused, false);

    client.pause();
    client.write(Buffer.alloc(4 * FLOOD));
    await until(() => conn.inputPaused, 'paused again');
    clock.advance(29_000);
    assert.equal(conn.state, 'active', 'a slow reader gets time');
    clock.advance(1_000);
    assert.equal(await rec.closed, 'peer does not read what it asked for');
    client.destroy();
    server.close();
  });
});

describe('PeerConnection writes', () => {
  test('messages sent in one tick leave in one socket write', async () => {
    const writes: Buffer[][] = [];
    const stream = new Duplex({
      read: () => undefined,
      writev: (chunks, cb) => {
        writes.push(chunks.map((c) => Buffer.from(c.chunk as Uint8Array)));
        cb();
      },
    });
    const rec = recorder();
    const conn = PeerConnection.accept(stream, { host: '127.0.0.1', port: 6881 }, () => ({ identity: ours, handler: rec.handler, maxBitfield: 4 }));
    stream.push(encodeHandshake({ reserved: makeReserved({}), infoHash, peerId: theirId }));
    for (let i = 0; i < 100 && conn.state !== 'active'; i++) await sleep(1);
    assert.equal(conn.state, 'active');
    await new Promise((r) => setImmediate(r));
    const before = writes.length;
    const cancels = [0, 1, 2, 3, 4].map((i) => ({ type: 'cancel' as const, index: 7, begin: i * 16384, length: 16384 }));
    for (const c of cancels) conn.send(c);
    conn.send({ type: 'have', index: 3 });
    assert.equal(writes.length, before, 'nothing leaves before the tick ends');
    await new Promise((r) => setImmediate(r));
    assert.equal(writes.length, before + 1, 'one write for the six messages');
    assert.deepEqual(Buffer.concat(writes.at(-1)!), Buffer.concat([...cancels.map((c) => encodeMessage(c)), encodeMessage({ type: 'have', index: 3 })]));
    assert.equal(conn.bytesSent, 68 + 5 * 17 + 9);
    conn.close('done');
  });

  test('a block sent to a connection that is gone is released at once', () => {
    const stream = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
    const conn = PeerConnection.accept(stream, { host: '127.0.0.1', port: 6881 }, () => undefined);
    conn.close('done');
    let released = 0;
    assert.equal(conn.sendPiece(0, 0, Buffer.alloc(16), () => released++), false);
    assert.equal(released, 1);
  });
});
