/**
 * The client: one peer id and one listening socket shared by every torrent. Incoming
 * connections are routed by the info hash in their handshake to the torrent that holds it,
 * or, for an encrypted (MSE) handshake, by its obfuscated info hash, HASH('req2', info hash).
 *
 * With uTP on, the UDP port of the same number carries uTP connections both ways, and an
 * outgoing connection races uTP against TCP and keeps the one that connects first. The DHT
 * and the UDP trackers share that socket (`datagramChannel`), as libtorrent's do.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { EncryptionReport, req2Hash, type EncryptionPolicy, type MismatchNote } from '../mse/index.js';
import { PeerConnection, type EncryptionOptions, type LocalIdentity, type PeerHandler } from '../peer/connection.js';
import { raceDialers } from '../peer/race.js';
import { dialTcp, type Dialer, type Transport } from '../peer/transport.js';
import type { PeerAddress } from '../metainfo/types.js';
import { UtpEndpoint } from '../utp/index.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import type { DatagramChannel } from '../util/datagram.js';
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
  /** uTP (BEP 29) on the UDP port of the listen port's number, in and out; default true. */
  utp?: boolean;
}


export class Client implements Transport {
  readonly peerId: Uint8Array;
  private server: net.Server | undefined;
  private readonly routes = new Map<string, Routable>();
  /** HASH('req2', info hash) in hex -> info hash in hex, for incoming MSE handshakes. */
  private readonly byReq2 = new Map<string, string>();
  /** The policy and the tally of mismatches, shared by every torrent's connections. */
  readonly encryption: EncryptionOptions;
  private readonly pending = new Set<PeerConnection>();
  private utp: UtpEndpoint | undefined;
  private raced: Dialer | undefined;
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
          await this.listenUtp(host);
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

  /** TCP raced against uTP where uTP listens (IPv4 peers; TCP kept when both connect); TCP alone otherwise. */
  dialer(address: PeerAddress): Dialer {
    return this.raced !== undefined && net.isIPv4(address.host) ? this.raced : dialTcp;
  }

  /** Whether uTP is listening (it may be off, or its UDP port taken). */
  get utpPort(): number | undefined {
    return this.utp?.port;
  }

  /**
   * The DHT's or the UDP trackers' share of the listen port's UDP socket, which uTP owns;
   * undefined while uTP does not listen.
   */
  datagramChannel(kind: 'dht' | 'other'): DatagramChannel | undefined {
    return this.utp?.channel(kind);
  }

  async close(): Promise<void> {
    for (const c of this.pending) c.close('client closing');
    this.raced = undefined;
    await this.utp?.close();
    this.utp = undefined;
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Best effort: without its UDP port (taken, or an IPv6-only host) the client speaks TCP only. */
  private async listenUtp(tcpHost: string): Promise<void> {
    if (this.opts.utp === false) return;
    const host = tcpHost === '::' || tcpHost === '0.0.0.0' ? '0.0.0.0' : net.isIPv4(tcpHost) ? tcpHost : undefined;
    if (host === undefined) return;
    this.utp = await UtpEndpoint.open(this.port, host, {
      onAccept: (stream) => this.onSocket(stream),
      ...(this.opts.clock !== undefined ? { clock: this.opts.clock } : {}),
    }).catch(() => undefined);
    if (this.utp !== undefined) this.raced = raceDialers([dialTcp, this.utp.dial], this.opts.clock);
  }

  private tryListen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.onSocket(socket));
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onError);
      // Node itself binds '::' (dual-stack, IPv4 where IPv6 is missing) when given no host;
      // given '::', it first runs the host through its IPv6 expression, ~10 ms to compile.
      server.listen(host === '::' ? { port } : { host, port, ipv6Only: false }, () => {
        server.off('error', onError);
        server.on('error', () => undefined);
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  private onSocket(socket: Duplex & { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined }): void {
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
