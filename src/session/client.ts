/**
 * The client: one peer id and one listening socket shared by every torrent. Incoming
 * connections are routed by the info hash in their handshake to the torrent that holds it,
 * or, for an encrypted (MSE) handshake, by its obfuscated info hash, HASH('req2', info hash).
 */
import net from 'node:net';
import { EncryptionReport, req2Hash, type EncryptionPolicy, type MismatchNote } from '../mse/index.js';
import { PeerConnection, type EncryptionOptions, type LocalIdentity, type PeerHandler } from '../peer/connection.js';
import { fromHex, toHex } from '../util/bytes.js';
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
  /** MSE/PE policy for every connection, in and out; default 'prefer'. */
  encryption?: EncryptionPolicy;
  /** Told of each peer whose encryption policy did not meet ours (for `--verbose`). */
  onEncryptionMismatch?: (note: MismatchNote) => void;
  /** Asked for each incoming connection: false refuses it (a connection limit is reached). */
  accept?: () => boolean;
}

export class Client {
  readonly peerId: Uint8Array;
  private server: net.Server | undefined;
  private readonly routes = new Map<string, Routable>();
  /** HASH('req2', info hash) in hex -> info hash in hex, for incoming MSE handshakes. */
  private readonly byReq2 = new Map<string, string>();
  /** The policy and the tally of mismatches, shared by every torrent's connections. */
  readonly encryption: EncryptionOptions;
  private readonly pending = new Set<PeerConnection>();
  port = 0;

  constructor(private readonly opts: ClientOptions = {}) {
    this.peerId = opts.peerId ?? generatePeerId();
    this.encryption = { policy: opts.encryption ?? 'prefer', report: new EncryptionReport(opts.onEncryptionMismatch) };
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
    this.byReq2.set(toHex(req2Hash(infoHash)), toHex(infoHash));
  }

  unregister(infoHash: Uint8Array): void {
    this.routes.delete(toHex(infoHash));
    this.byReq2.delete(toHex(req2Hash(infoHash)));
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
    if (this.opts.accept?.() === false) {
      socket.destroy();
      return;
    }
    const raw = socket.remoteAddress ?? '?';
    // A dual-stack listener reports IPv4 peers as IPv4-mapped IPv6 addresses.
    const address = { host: raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw, port: socket.remotePort ?? 0 };
    const findInfoHash = (req2: Uint8Array): Uint8Array | undefined => {
      const hex = this.byReq2.get(toHex(req2));
      return hex === undefined ? undefined : fromHex(hex);
    };
    const conn = PeerConnection.accept(
      socket,
      address,
      (infoHash) => {
        this.pending.delete(conn);
        return this.routes.get(toHex(infoHash));
      },
      { encryption: { ...this.encryption, findInfoHash }, ...(this.opts.clock !== undefined ? { clock: this.opts.clock } : {}) },
    );
    this.pending.add(conn);
    socket.once('close', () => this.pending.delete(conn));
  }
}
