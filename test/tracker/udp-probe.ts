/**
 * A raw UDP client for tests of the built-in tracker: it sends one packet at a time from a
 * chosen local address and returns the reply that follows, if one comes within a bounded
 * wait. Playing a hostile or spoofing client needs exactly this. Not a test file.
 */
import { createSocket, type Socket } from 'node:dgram';

export class UdpProbe {
  private readonly replies: Buffer[] = [];
  private wake: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (m) => {
      this.replies.push(m);
      this.wake?.();
    });
  }

  /** Bound to `host` (any 127.0.0.0/8 address works on Linux), on a free port. */
  static async open(host = '127.0.0.1'): Promise<UdpProbe> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.bind(0, host, r));
    return new UdpProbe(socket);
  }

  /** Sends `packet` and resolves with the next reply, or undefined after `waitMs`. */
  async ask(packet: Buffer, port: number, host = '127.0.0.1', waitMs = 2000): Promise<Buffer | undefined> {
    const n = this.replies.length;
    this.socket.send(packet, port, host);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, waitMs);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
    return this.replies[n];
  }

  close(): void {
    this.socket.close();
  }
}
