/**
 * A scriptable BEP 15 tracker for unit tests: it records every packet it receives (with
 * the time and the sender) and answers through a handler the test supplies. Not a test file.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface Received {
  readonly packet: Buffer;
  readonly from: RemoteInfo;
  readonly at: number;
}

export type Handler = (packet: Buffer, from: RemoteInfo, send: (reply: Buffer, port?: number) => void) => void;

export class FakeUdpTracker {
  readonly received: Received[] = [];
  handler: Handler = () => undefined;
  private constructor(
    private readonly socket: Socket,
    readonly host: string,
  ) {}

  static async start(host = '127.0.0.1'): Promise<FakeUdpTracker> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    const t = new FakeUdpTracker(socket, host);
    socket.on('message', (packet, from) => {
      t.received.push({ packet, from, at: performance.now() });
      t.handler(packet, from, (reply, port) => socket.send(reply, port ?? from.port, from.address));
    });
    return t;
  }

  get port(): number {
    return this.socket.address().port;
  }

  get url(): string {
    return `udp://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}/announce`;
  }

  /** Send from this tracker's socket to anyone (to test replies from an unexpected source). */
  sendTo(packet: Buffer, port: number, address: string): void {
    this.socket.send(packet, port, address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
