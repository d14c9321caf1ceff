/**
 * uTP on a listen port: the shared UDP socket (`UdpMux`), the connections on it
 * (`UtpManager`), and a dialer with the peer layer's shape, so a peer connection opens a
 * uTP stream as it opens a TCP socket.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../util/clock.js';
import type { DatagramChannel } from '../util/datagram.js';
import { UtpManager } from './manager.js';
import { UdpMux } from './mux.js';
import type { UtpStream } from './stream.js';

export interface UtpEndpointOptions {
  clock?: Clock;
  /** Each incoming uTP connection (the owner may destroy it to refuse it). */
  onAccept: (stream: UtpStream) => void;
  maxHalfOpen?: number;
}

export class UtpEndpoint {
  private constructor(
    private readonly mux: UdpMux,
    private readonly manager: UtpManager,
  ) {}

  /** Bind UDP `port` (the TCP listen port, by convention) on an IPv4 `host`. */
  static async open(port: number, host: string, opts: UtpEndpointOptions): Promise<UtpEndpoint> {
    const mux = await UdpMux.bind(port, host);
    const manager = new UtpManager((p, to, addr) => mux.send(p, to, addr), {
      onAccept: opts.onAccept,
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
      ...(opts.maxHalfOpen !== undefined ? { maxHalfOpen: opts.maxHalfOpen } : {}),
    });
    mux.channel('utp').listen((msg, from, fromPort) => manager.receive(msg, from, fromPort));
    return new UtpEndpoint(mux, manager);
  }

  get port(): number {
    return this.mux.port;
  }

  /** The shared socket, as the DHT or the UDP trackers see it. */
  channel(kind: 'dht' | 'other'): DatagramChannel {
    return this.mux.channel(kind);
  }

  /** Open a uTP stream; reads go to `onData` (fresh chunks, never reused). */
  readonly dial = (address: { host: string; port: number }, onData: (chunk: Buffer, transient: boolean) => void): Duplex => {
    const stream = this.manager.connect(address.host, address.port);
    stream.on('data', (chunk: Buffer) => onData(chunk, false));
    return stream;
  };

  async close(): Promise<void> {
    this.manager.close();
    await this.mux.close();
  }
}
