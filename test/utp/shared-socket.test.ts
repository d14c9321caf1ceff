/**
 * One UDP socket for uTP, the DHT and the UDP tracker client, told apart by content (uTP's
 * version and type nibbles, the DHT's bencoded 'd', tracker replies by transaction id). On
 * 127.0.0.1, with a stranger firing thousands of hostile datagrams of every class at the port
 * meanwhile (its SYNs among them): a DHT node elsewhere bootstraps from ours, a uTP stream
 * carries data both ways, and a UDP tracker answers an announce, all through the one socket;
 * nothing crashes.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { DhtNode } from '../../src/dht/index.js';
import { startTrackerServer, UdpTrackerClient, type TrackerServer } from '../../src/tracker/index.js';
import { UtpEndpoint } from '../../src/utp/endpoint.js';
import type { UtpStream } from '../../src/utp/stream.js';
import { seeded } from '../helpers/random.js';

const loopback = (h: string): boolean => h.startsWith('127.');

/** Datagrams a stranger might send: empty, 'd' + junk, uTP-looking junk, tracker-looking junk, anything, huge. */
function hostileDatagrams(count: number, seed: number): Buffer[] {
  const r = seeded(seed);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.floor(r() * 200);
    switch (i % 6) {
      case 0:
        out.push(Buffer.alloc(0));
        break;
      case 1:
        out.push(Buffer.concat([Buffer.from('d'), bytes(size)]));
        break;
      case 2: {
        // A uTP header (version 1, any type 0-4) for connection ids that may or may not exist.
        const p = bytes(20 + size);
        p[0] = (Math.floor(r() * 5) << 4) | 1;
        out.push(p);
        break;
      }
      case 3:
        // A tracker reply (action 0-3) with a transaction id nobody waits for.
        out.push(Buffer.concat([Buffer.from([0, 0, 0, Math.floor(r() * 4)]), bytes(4 + size)]));
        break;
      case 4:
        out.push(bytes(1 + size));
        break;
      default:
        out.push(i % 60 === 5 ? bytes(60_000) : bytes(size));
    }
  }
  return out;
}

describe('one UDP socket for uTP, the DHT and UDP trackers', { timeout: 60_000 }, () => {
  let ep: UtpEndpoint;
  let peer: UtpEndpoint;
  let dht: DhtNode;
  let trackers: UdpTrackerClient;
  let tracker: TrackerServer;
  let stranger: Socket;
  const accepted: UtpStream[] = [];

  before(async () => {
    // The stranger's SYNs open (half-open) connections too: only the peer's is kept.
    ep = await UtpEndpoint.open(0, '127.0.0.1', {
      onAccept: (s) => {
        s.on('error', () => undefined);
        if (s.remotePort === peer.port) accepted.push(s);
      },
    });
    peer = await UtpEndpoint.open(0, '127.0.0.1', { onAccept: () => undefined });
    dht = await DhtNode.start({ channel: ep.channel('dht'), bootstrap: [], allowAddress: loopback });
    trackers = new UdpTrackerClient({ channel: ep.channel('other'), baseTimeoutMs: 500, maxRetries: 3 });
    tracker = await startTrackerServer();
    stranger = createSocket('udp4');
    stranger.on('error', () => undefined);
    // From another loopback address: its SYNs fill its own share of the half-open cap only.
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.2', () => r()));
  });

  after(async () => {
    stranger.close();
    trackers.close();
    await dht.close();
    await tracker.close();
    await peer.close();
    await ep.close();
  });

  it('serves all three under a flood of hostile datagrams', async () => {
    assert.equal(dht.port, ep.port, 'the DHT node has no socket of its own');
    let flooding = true;
    const flood = (async () => {
      const datagrams = hostileDatagrams(3000, 42);
      for (let i = 0; flooding && i < datagrams.length; i++) {
        stranger.send(datagrams[i]!, ep.port, '127.0.0.1');
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      // DHT: a node with a socket of its own bootstraps from ours and learns it.
      const other = await DhtNode.start({ host: '127.0.0.1', bootstrap: [{ host: '127.0.0.1', port: ep.port }], allowAddress: loopback, queryTimeoutMs: 1000 });
      try {
        await other.bootstrap();
        assert.ok(other.nodeCount() >= 1, 'the other node added ours to its table');
        assert.ok(dht.stats().received >= 1);
      } finally {
        await other.close();
      }

      // uTP: 256 KiB each way.
      const up = Buffer.alloc(256 * 1024, 3);
      const down = Buffer.alloc(256 * 1024, 4);
      const received: Buffer[] = [];
      const stream = peer.dial({ host: '127.0.0.1', port: ep.port }, (chunk) => received.push(Buffer.from(chunk)));
      await once(stream, 'connect'); // rejects on 'error'
      const closed = once(stream, 'close');
      stream.end(up);
      for (let i = 0; i < 200 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const incoming = accepted[0]!;
      const parts: Buffer[] = [];
      incoming.on('data', (c: Buffer) => parts.push(c));
      incoming.end(down);
      await once(incoming, 'end');
      assert.ok(Buffer.concat(parts).equals(up));
      await closed;
      assert.ok(Buffer.concat(received).equals(down));

      // UDP tracker: an announce and its reply through the shared socket.
      const res = await trackers.announce(tracker.udpUrl, {
        infoHash: new Uint8Array(20).fill(9),
        peerId: new Uint8Array(20).fill(1),
        port: ep.port,
        uploaded: 0,
        downloaded: 0,
        left: 100,
        event: 'started',
      });
      assert.equal(res.incomplete, 1, 'the tracker counted us');
    } finally {
      flooding = false;
      await flood;
    }
  });
});
