/**
 * A scripted peer for tests: one TCP connection speaking the BEP 3 handshake and framing
 * through the project's wire codecs, with every message kept (payloads copied out of the
 * framer's buffer) so a test can wait for what the code under test sends and answer by hand.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import {
  decodeHandshakeHead,
  encodeHandshake,
  encodeMessage,
  FrameReader,
  HANDSHAKE_HEAD_LENGTH,
  PEER_ID_LENGTH,
  type IncomingMessage,
  type Message,
} from '../../src/wire/index.js';

export interface WirePeerOptions {
  readonly infoHash: Uint8Array;
  readonly reserved: Uint8Array;
  readonly peerId?: Uint8Array;
  /** Source address of `connect`, or the address `listen` binds (a 127.0.0.0/8 address; default 127.0.0.1). */
  readonly localAddress?: string;
  /** Called for each message as it arrives (after it is recorded). */
  readonly onMessage?: (peer: WirePeer, msg: IncomingMessage) => void;
}

function copy(msg: IncomingMessage): IncomingMessage {
  switch (msg.type) {
    case 'extended':
      return { ...msg, payload: Uint8Array.from(msg.payload) };
    case 'bitfield':
      return { ...msg, bytes: Uint8Array.from(msg.bytes) };
    case 'piece':
      return { ...msg, block: Uint8Array.from(msg.block) };
    case 'unknown':
      return { ...msg, payload: Uint8Array.from(msg.payload) };
    default:
      return msg;
  }
}

export class WirePeer {
  readonly received: IncomingMessage[] = [];
  remoteReserved: Uint8Array | undefined;
  remotePeerId: Uint8Array | undefined;
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader({ maxBitfield: 1 << 18 });
  private handshakeSent = false;
  private headSeen = false;
  private readonly waiters = new Set<() => void>();
  private isClosed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: WirePeerOptions,
    outgoing: boolean,
  ) {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (outgoing) socket.once('connect', () => this.sendHandshake());
  }

  /** Dial 127.0.0.1:`port` and send our handshake. */
  static connect(port: number, opts: WirePeerOptions): WirePeer {
    return new WirePeer(net.connect({ host: '127.0.0.1', port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) }), opts, true);
  }

  /** Accept connections on 127.0.0.1 (or `localAddress`); each becomes a WirePeer that answers the handshake. */
  static async listen(opts: WirePeerOptions, onPeer: (peer: WirePeer) => void): Promise<{ port: number; close: () => Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      onPeer(new WirePeer(socket, opts, false));
    });
    await new Promise<void>((resolve) => server.listen({ host: opts.localAddress ?? '127.0.0.1', port: 0 }, resolve));
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return {
      port,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  send(msg: Message): void {
    this.write(encodeMessage(msg));
  }

  /** Whole frames the codec has no `Message` for (BEP 52 hash messages). */
  write(frame: Uint8Array): void {
    if (!this.isClosed) this.socket.write(frame);
  }

  close(): void {
    this.socket.destroy();
  }

  /** The first recorded message matching `pred` (now or later); rejects after `timeoutMs` or on close. */
  waitFor<T extends IncomingMessage>(pred: (m: IncomingMessage) => m is T, timeoutMs: number, what: string): Promise<T>;
  waitFor(pred: (m: IncomingMessage) => boolean, timeoutMs: number, what: string): Promise<IncomingMessage>;
  waitFor(pred: (m: IncomingMessage) => boolean, timeoutMs: number, what: string): Promise<IncomingMessage> {
    return this.until(() => this.received.find(pred), timeoutMs, what);
  }

  /** Resolves once the remote handshake (with its peer id) has arrived. */
  handshaken(timeoutMs: number): Promise<Uint8Array> {
    return this.until(() => this.remotePeerId, timeoutMs, 'remote handshake');
  }

  private until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = probe();
        if (found !== undefined) return done(() => resolve(found));
        if (this.isClosed) return done(() => reject(new Error(`connection closed before ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private sendHandshake(): void {
    if (this.handshakeSent) return;
    this.handshakeSent = true;
    this.socket.write(encodeHandshake({ reserved: this.opts.reserved, infoHash: this.opts.infoHash, peerId: this.opts.peerId ?? randomBytes(20) }));
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    try {
      if (this.remotePeerId === undefined) {
        if (!this.headSeen) {
          const head = this.reader.readRaw(HANDSHAKE_HEAD_LENGTH);
          if (head === undefined) return;
          this.remoteReserved = Uint8Array.from(decodeHandshakeHead(head).reserved);
          this.headSeen = true;
          this.sendHandshake();
        }
        const id = this.reader.readRaw(PEER_ID_LENGTH);
        if (id === undefined) return;
        this.remotePeerId = Uint8Array.from(id);
      }
      for (let msg = this.reader.next(); msg !== undefined; msg = this.reader.next()) {
        const kept = copy(msg);
        this.received.push(kept);
        this.opts.onMessage?.(this, kept);
      }
    } catch {
      this.socket.destroy();
    }
    this.wake();
  }
}
