/**
 * The client: one peer id and one listening socket shared by every torrent. Incoming
 * connections are routed by the info hash in their handshake to the torrent that holds it.
 */
import net from 'node:net';
import { PeerConnection, type LocalIdentity, type PeerHandler } from '../peer/connection.js';
import { toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { generatePeerId } from '../util/peer-id.js';

export interface Routable {
  readonly identity: LocalIdentity;
  readonly handler: PeerHandler;
  readonly maxBitfield: number;
}

export interface ClientOptions {
  /** Listen port; 0 picks a free one. Default: the first free of 6881–6889, else any. */
  port?: number;
  /** Listen address; default all interfaces (IPv6 and IPv4 where available). */
  host?: string;
  peerId?: Uint8Array;
  /** Times incoming handshakes and stamps their traffic (default the system clock). */
  clock?: Clock;
}

export class Client {
  readonly peerId: Uint8Array;
  private server: net.Server | undefined;
  private readonly routes = new Map<string, Routable>();
  private readonly pending = new Set<PeerConnection>();
  port = 0;

  constructor(private readonly opts: ClientOptions = {}) {
    this.peerId = opts.peerId ?? generatePeerId();
  }

  async listen(): Promise<number> {
    const ports = this.opts.port !== undefined ? [this.opts.port] : [6881, 6882, 6883, 6884, 6885, 6886, 6887, 6888, 6889, 0];
    const hosts = this.opts.host !== undefined ? [this.opts.host] : ['::', '0.0.0.0'];
    let lastError: unknown;
    for (const host of hosts) {
      for (const port of ports) {
        try {
          this.port = await this.tryListen(host, port);
          return this.port;
        } catch (err) {
          lastError = err;
        }
      }
    }
    throw lastError instanceof Error ? lastError : new Error('cannot listen');
  }

  register(infoHash: Uint8Array, route: Routable): void {
    this.routes.set(toHex(infoHash), route);
  }

  unregister(infoHash: Uint8Array): void {
    this.routes.delete(toHex(infoHash));
  }

  async close(): Promise<void> {
    for (const c of this.pending) c.close('client closing');
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private tryListen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.onSocket(socket));
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onError);
      server.listen({ host, port, ipv6Only: false }, () => {
        server.off('error', onError);
        server.on('error', () => undefined);
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  private onSocket(socket: net.Socket): void {
    socket.on('error', () => undefined);
    const conn = PeerConnection.accept(socket, (infoHash) => {
      this.pending.delete(conn);
      return this.routes.get(toHex(infoHash));
    }, undefined, this.opts.clock);
    this.pending.add(conn);
    socket.once('close', () => this.pending.delete(conn));
  }
}
