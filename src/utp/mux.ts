/**
 * One UDP socket per listen port, shared as libtorrent shares it: uTP, the DHT and UDP
 * tracker replies arrive on the same port and are told apart by their first byte.
 *
 *   - uTP: version 1 in the low nibble of byte 0 and a type 0–4 in the high one;
 *   - DHT: a bencoded dictionary, so 'd';
 *   - UDP tracker replies: a 32-bit action 0–3, so byte 0 is 0; the tracker client matches
 *     them by transaction id and drops the rest.
 *
 * The three tests do not overlap ('d' is 0x64, whose low nibble is 4).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { DatagramChannel } from '../util/datagram.js';
import { isUtpPacket } from './packet.js';

/** Socket buffers large enough for a few windows of uTP at loopback speed (the kernel caps them). */
const SOCKET_BUFFER_BYTES = 4 << 20;
const DHT_FIRST_BYTE = 0x64;

type Receiver = (msg: Buffer, host: string, port: number) => void;

export class UdpMux {
  private utp: Receiver | undefined;
  private dht: Receiver | undefined;
  private readonly others = new Set<Receiver>();
  private closed = false;
  /** Datagrams nobody claimed, and send errors. */
  dropped = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg, rinfo) => this.route(msg, rinfo.address, rinfo.port));
    // ICMP errors and the like surface here; each protocol has its own timeouts.
    socket.on('error', () => void this.dropped++);
  }

  /** Bind an IPv4 UDP socket (the DHT and trackers here are IPv4). */
  static bind(port: number, host = '0.0.0.0'): Promise<UdpMux> {
    const socket = createSocket({ type: 'udp4' });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        try {
          socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
          socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
        } catch {
          // Best effort: the defaults still work, with more loss at high rates.
        }
        resolve(new UdpMux(socket));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(msg: Uint8Array, port: number, host: string, callback?: (err: Error | null) => void): void {
    if (this.closed) return callback?.(new Error('socket closed'));
    this.socket.send(msg, port, host, (err) => {
      if (err) this.dropped++;
      callback?.(err ?? null);
    });
  }

  /** The channel each protocol sees: sending, and its own share of what arrives. */
  channel(kind: 'utp' | 'dht' | 'other'): DatagramChannel {
    return {
      port: this.port,
      send: (msg, port, host, cb) => this.send(msg, port, host, cb),
      listen: (onMessage) => {
        if (kind === 'utp') this.utp = onMessage;
        else if (kind === 'dht') this.dht = onMessage;
        else this.others.add(onMessage);
        return () => {
          if (kind === 'utp' && this.utp === onMessage) this.utp = undefined;
          else if (kind === 'dht' && this.dht === onMessage) this.dht = undefined;
          else this.others.delete(onMessage);
        };
      },
    };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private route(msg: Buffer, host: string, port: number): void {
    if (msg.length === 0) return void this.dropped++;
    const to = msg[0] === DHT_FIRST_BYTE ? this.dht : isUtpPacket(msg) ? this.utp : undefined;
    if (to !== undefined) return to(msg, host, port);
    if (this.others.size === 0) return void this.dropped++;
    for (const r of this.others) r(msg, host, port);
  }
}
