/**
 * uTP over real UDP on 127.0.0.1: two endpoints exchange data through the Duplex with
 * backpressure; the shared socket hands DHT-looking and tracker-looking datagrams to their
 * own receivers; a packet for no connection is answered with ST_RESET; incoming SYNs past
 * the half-open cap are reset; and TCP raced against uTP keeps whichever connects.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { raceDialers } from '../../src/peer/race.js';
import { dialTcp } from '../../src/peer/transport.js';
import { UtpEndpoint } from '../../src/utp/endpoint.js';
import { decodePacket, encodePacket, ST_DATA, ST_RESET, ST_SYN } from '../../src/utp/packet.js';
import type { UtpStream } from '../../src/utp/stream.js';

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return once(stream, 'end').then(() => Buffer.concat(parts));
}

describe('uTP endpoint on loopback', () => {
  it('carries 4 MiB each way through the Duplex and ends with FIN', async () => {
    const accepted: UtpStream[] = [];
    const server = await UtpEndpoint.open(0, '127.0.0.1', { onAccept: (s) => accepted.push(s) });
    const client = await UtpEndpoint.open(0, '127.0.0.1', { onAccept: () => undefined });
    try {
      const up = Buffer.alloc(4 << 20, 7);
      const down = Buffer.alloc(4 << 20, 9);
      const received: Buffer[] = [];
      const stream = client.dial({ host: '127.0.0.1', port: server.port }, (chunk) => received.push(Buffer.from(chunk)));
      await once(stream, 'connect');
      stream.end(up);
      for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const incoming = accepted[0]!;
      const got = collect(incoming);
      incoming.end(down);
      assert.ok((await got).equals(up));
      await once(stream, 'close');
      assert.ok(Buffer.concat(received).equals(down));
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('shares its socket: DHT and tracker datagrams reach their own receivers, strays get ST_RESET', async () => {
    const ep = await UtpEndpoint.open(0, '127.0.0.1', { onAccept: () => undefined });
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    try {
      const dht: string[] = [];
      const other: string[] = [];
      ep.channel('dht').listen((m) => dht.push(m.toString()));
      ep.channel('other').listen((m) => other.push(m.toString('hex')));
      const replies: Buffer[] = [];
      probe.on('message', (m) => replies.push(m));
      probe.send(Buffer.from('d1:y1:qe'), ep.port, '127.0.0.1');
      probe.send(Buffer.from('0000000100000000', 'hex'), ep.port, '127.0.0.1');
      probe.send(encodePacket({ type: ST_DATA, connectionId: 77, timestamp: 1, timestampDiff: 0, wndSize: 0, seq: 5, ack: 6 }, Buffer.from('x')), ep.port, '127.0.0.1');
      for (let i = 0; i < 100 && (replies.length === 0 || dht.length === 0 || other.length === 0); i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(dht, ['d1:y1:qe']);
      assert.deepEqual(other, ['0000000100000000']);
      const reset = decodePacket(replies[0]!);
      assert.equal(reset.type, ST_RESET);
      assert.equal(reset.connectionId, 77);
    } finally {
      probe.close();
      await ep.close();
    }
  });

  it('resets SYNs past the half-open cap', async () => {
    const accepted: UtpStream[] = [];
    const ep = await UtpEndpoint.open(0, '127.0.0.1', { onAccept: (s) => accepted.push(s), maxHalfOpen: 2 });
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    try {
      const replies: Buffer[] = [];
      probe.on('message', (m) => replies.push(m));
      for (let id = 100; id < 105; id++) probe.send(encodePacket({ type: ST_SYN, connectionId: id, timestamp: 1, timestampDiff: 0, wndSize: 65536, seq: 1, ack: 0 }), ep.port, '127.0.0.1');
      for (let i = 0; i < 100 && replies.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(accepted.length, 2);
      assert.equal(replies.map((r) => decodePacket(r).type).filter((t) => t === ST_RESET).length, 3);
      for (const s of accepted) s.on('error', () => undefined);
    } finally {
      probe.close();
      await ep.close();
    }
  });

  it('races TCP against uTP: a TCP-only peer is reached over TCP at once', async () => {
    const ep = await UtpEndpoint.open(0, '127.0.0.1', { onAccept: () => undefined });
    const server = net.createServer((s) => s.end('tcp'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const got: Buffer[] = [];
      const stream = raceDialers([dialTcp, ep.dial])({ host: '127.0.0.1', port }, (c) => got.push(Buffer.from(c)));
      stream.on('error', () => undefined);
      await once(stream, 'connect');
      await once(stream, 'close');
      assert.equal(Buffer.concat(got).toString(), 'tcp');
    } finally {
      server.close();
      await ep.close();
    }
  });
});
