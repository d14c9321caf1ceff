/**
 * One peer connection: the socket edge of the wire protocol.
 *
 * State transitions (nothing else is allowed):
 *   connecting  -> handshaking   TCP connected (outgoing); incoming sockets start here
 *   handshaking -> active        both handshakes exchanged and the info hash matched
 *   any         -> closed        error, timeout, protocol violation or a local close
 *
 * The connection owns the four choke/interest flags and the framing; it reports decoded
 * messages to its owner (the swarm) through the narrow `PeerHandler` interface and never
 * reaches into the torrent. Every byte it sends goes through `send`, which keeps the
 * counters the choker and the trackers need.
 */
import net from 'node:net';
import type { PeerAddress } from '../metainfo/types.js';
import { bytesEqual } from '../util/bytes.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import {
  FrameReader,
  HANDSHAKE_HEAD_LENGTH,
  PEER_ID_LENGTH,
  decodeHandshakeHead,
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  type IncomingMessage,
  type Message,
} from '../wire/index.js';

export type PeerState = 'connecting' | 'handshaking' | 'active' | 'closed';

export interface PeerHandler {
  /** The remote handshake arrived; return false to refuse it (e.g. our own peer id). */
  onHandshake(conn: PeerConnection, peerId: Uint8Array, reserved: Uint8Array): boolean;
  onMessage(conn: PeerConnection, msg: IncomingMessage): void;
  onClose(conn: PeerConnection, reason: string): void;
}

export interface ConnectionTimeouts {
  connectMs: number;
  handshakeMs: number;
}

/** Per outgoing connection: several frames per read at loopback speeds. */
const READ_BUFFER_BYTES = 256 * 1024;

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { connectMs: 15_000, handshakeMs: 10_000 };

export interface LocalIdentity {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  reserved: Uint8Array;
}

export class PeerConnection {
  state: PeerState;
  readonly address: PeerAddress;
  readonly outgoing: boolean;
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  remotePeerId: Uint8Array | undefined;
  remoteReserved: Uint8Array | undefined;
  /** Wall-clock ms of the last byte received and sent, for idle and keep-alive checks. */
  lastReceived: number;
  lastSent: number;
  bytesReceived = 0;
  bytesSent = 0;
  closeReason: string | undefined;

  private readonly socket: net.Socket;
  private readonly reader: FrameReader;
  private handler: PeerHandler | undefined;
  private identity: LocalIdentity | undefined;
  private handshakeSent = false;
  private headSeen = false;
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;

  private constructor(socket: net.Socket, address: PeerAddress, outgoing: boolean, maxBitfield: number, clock: Clock) {
    this.socket = socket;
    this.address = address;
    this.outgoing = outgoing;
    this.clock = clock;
    this.state = outgoing ? 'connecting' : 'handshaking';
    this.reader = new FrameReader({ maxBitfield });
    this.lastReceived = clock.now();
    this.lastSent = this.lastReceived;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk, false));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed by peer'));
    socket.on('end', () => this.close('connection ended by peer'));
  }

  /** Dial a peer; the handshake is sent as soon as TCP connects. */
  static connect(address: PeerAddress, identity: LocalIdentity, handler: PeerHandler, opts: { timeouts?: ConnectionTimeouts; maxBitfield: number; clock?: Clock }): PeerConnection {
    const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    // Outgoing connections (the download path) read into one reused buffer instead of a
    // fresh allocation per read: blocks are copied out into piece buffers anyway, and the
    // reader keeps a private copy of any partial frame (`detach`).
    let conn: PeerConnection | undefined;
    const socket = net.connect({
      host: address.host,
      port: address.port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array): boolean => {
          conn?.onData(Buffer.from(buf.buffer, buf.byteOffset, n), true);
          return true;
        },
      },
    });
    conn = new PeerConnection(socket, address, true, opts.maxBitfield, opts.clock ?? systemClock);
    conn.identity = identity;
    conn.handler = handler;
    conn.arm(timeouts.connectMs, 'connect timeout');
    socket.once('connect', () => {
      if (conn.state !== 'connecting') return;
      conn.state = 'handshaking';
      conn.arm(timeouts.handshakeMs, 'handshake timeout');
      conn.sendHandshake();
    });
    return conn;
  }

  /**
   * Take an accepted socket. `route` is called with the info hash of the peer's handshake
   * and returns who handles it (or undefined to refuse the torrent).
   */
  static accept(
    socket: net.Socket,
    route: (infoHash: Uint8Array) => { identity: LocalIdentity; handler: PeerHandler; maxBitfield: number } | undefined,
    timeouts: ConnectionTimeouts = DEFAULT_TIMEOUTS,
    clock: Clock = systemClock,
  ): PeerConnection {
    const raw = socket.remoteAddress ?? '?';
    // A dual-stack listener reports IPv4 peers as IPv4-mapped IPv6 addresses.
    const address = { host: raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw, port: socket.remotePort ?? 0 };
    const conn = new PeerConnection(socket, address, false, 2 ** 18, clock);
    conn.route = route;
    conn.arm(timeouts.handshakeMs, 'handshake timeout');
    return conn;
  }

  private route: ((infoHash: Uint8Array) => { identity: LocalIdentity; handler: PeerHandler; maxBitfield: number } | undefined) | undefined;

  get isActive(): boolean {
    return this.state === 'active';
  }

  /** Send a message; returns false once the socket's buffer is full (the caller may pause). */
  send(msg: Message): boolean {
    return this.write(encodeMessage(msg));
  }

  /** Send pre-encoded bytes (e.g. a batch of requests built at once). */
  write(bytes: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    this.bytesSent += bytes.length;
    this.lastSent = this.clock.now();
    return this.socket.write(bytes);
  }

  /** A piece message written as header + block, without concatenating the block. */
  sendPiece(index: number, begin: number, block: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    this.socket.cork();
    this.write(encodePieceHeader(index, begin, block.length));
    const ok = this.write(block);
    this.socket.uncork();
    return ok;
  }

  /** Run `fn` with the socket corked, so everything it sends leaves in one write. */
  batch(fn: () => void): void {
    this.socket.cork();
    try {
      fn();
    } finally {
      this.socket.uncork();
    }
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  onDrain(cb: () => void): void {
    this.socket.once('drain', cb);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.timer?.cancel();
    this.socket.destroy();
    this.handler?.onClose(this, reason);
  }

  private arm(ms: number, reason: string): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.close(reason), ms);
  }

  private sendHandshake(): void {
    const id = this.identity!;
    this.handshakeSent = true;
    this.write(encodeHandshake({ reserved: id.reserved, infoHash: id.infoHash, peerId: id.peerId }));
  }

  /**
   * Decode what arrived. Messages (and their payload views) are handed to the handler
   * synchronously; when `transient`, `chunk` is reused by the next read, so the handler
   * must copy what it keeps (it does: blocks go into piece buffers, bitfields are copied).
   */
  private onData(chunk: Buffer, transient: boolean): void {
    this.bytesReceived += chunk.length;
    this.lastReceived = this.clock.now();
    this.reader.push(chunk);
    try {
      if (this.state === 'handshaking') this.readHandshake();
      while (this.state === 'active') {
        const msg = this.reader.next();
        if (msg === undefined) break;
        this.handler!.onMessage(this, msg);
      }
      if (transient && this.state !== 'closed') this.reader.detach();
    } catch (err) {
      this.close(`protocol error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Consume the handshake; true once it is complete and the connection is active. */
  private readHandshake(): boolean {
    if (!this.headSeen) {
      const head = this.reader.readRaw(HANDSHAKE_HEAD_LENGTH);
      if (head === undefined) return false;
      const { infoHash, reserved } = decodeHandshakeHead(head);
      if (this.outgoing) {
        if (!bytesEqual(infoHash, this.identity!.infoHash)) {
          this.close('peer answered for another torrent');
          return false;
        }
      } else {
        const routed = this.route?.(infoHash);
        if (routed === undefined) {
          this.close('unknown torrent');
          return false;
        }
        this.identity = routed.identity;
        this.handler = routed.handler;
        this.reader.setMaxBitfield(routed.maxBitfield);
      }
      this.remoteReserved = Uint8Array.from(reserved);
      this.headSeen = true;
      if (!this.handshakeSent) this.sendHandshake();
    }
    const peerId = this.reader.readRaw(PEER_ID_LENGTH);
    if (peerId === undefined) return false;
    this.remotePeerId = Uint8Array.from(peerId);
    this.timer?.cancel();
    this.timer = undefined;
    this.state = 'active';
    if (!this.handler!.onHandshake(this, this.remotePeerId, this.remoteReserved!)) {
      this.close('handshake refused');
      return false;
    }
    return true;
  }
}
