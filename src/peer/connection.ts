/**
 * One peer connection: the socket edge of the wire protocol. The handshake steps (plaintext,
 * MSE, the plaintext retry) share the socket and its buffers; the codecs are in src/wire and
 * src/mse, the sending half (counting, encryption, batching writes) in writer.ts.
 *
 * State transitions (nothing else is allowed):
 *   connecting  -> handshaking   the stream connected (outgoing); incoming streams start here
 *   handshaking -> active        both handshakes exchanged and the info hash matched
 *   handshaking -> connecting    'prefer' only: the peer dropped our MSE handshake, redial in plaintext
 *   any         -> closed        error, timeout, protocol violation or a local close
 *
 * While handshaking, an MSE/PE exchange (src/mse) may come first: outgoing when the policy
 * is not 'off'; incoming when the first bytes are not a plaintext BitTorrent handshake. Once
 * RC4 is agreed, every byte in is decrypted (in place, or by OpenSSL into a new buffer) and
 * every byte out is encrypted.
 * The stream is any Duplex (transport.ts): TCP, uTP, or a race of both.
 *
 * The connection owns the four choke/interest flags and the framing; it reports decoded
 * messages to its owner (the swarm) through the narrow `PeerHandler` interface and never
 * reaches into the torrent. It bounds what may wait for the peer: past `MAX_UNSENT_BYTES` we
 * stop reading (and decoding) what it sends, since every request it makes asks for an
 * answer, until it has read; a peer that does not read within `outputStallMs`, or lets twice
 * the bound pile up, is dropped.
 */
import type { Duplex } from 'node:stream';
import type { PeerAddress } from '../metainfo/types.js';
import {
  acceptOf,
  MseError,
  MseInitiator,
  MseResponder,
  provideOf,
  type EncryptionMismatch,
  type EncryptionPolicy,
  type EncryptionReport,
  type MseStep,
  type StreamCipher,
} from '../mse/index.js';
import { bytesEqual } from '../util/bytes.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import {
  FrameReader,
  HANDSHAKE_HEAD_LENGTH,
  PEER_ID_LENGTH,
  decodeHandshakeHead,
  encodeHandshake,
  encodeMessage,
  isHandshakePrefix,
  type IncomingMessage,
  type Message,
} from '../wire/index.js';
import { dialTcp, readAccepted, type Dialer } from './transport.js';
import { PeerWriter } from './writer.js';
import { DEFAULT_TIMEOUTS, type ConnectionTimeouts, type ConnectOptions, type IncomingEncryption, type LocalIdentity } from './options.js';

export { DEFAULT_TIMEOUTS, type ConnectionTimeouts, type ConnectOptions, type EncryptionOptions, type IncomingEncryption, type LocalIdentity } from './options.js';

export type PeerState = 'connecting' | 'handshaking' | 'active' | 'closed';

/** Why reading from a peer is paused: the download limit, or storage that has not caught up. */
export type ReadHold = 'limit' | 'storage';

export interface PeerHandler {
  /** The remote handshake arrived; return false to refuse it (e.g. our own peer id). */
  onHandshake(conn: PeerConnection, peerId: Uint8Array, reserved: Uint8Array): boolean;
  onMessage(conn: PeerConnection, msg: IncomingMessage): void;
  onClose(conn: PeerConnection, reason: string): void;
}

/**
 * Unsent bytes past which we stop reading from a peer: the upload pipeline (upload.ts sends
 * while less than 1 MiB waits, so a piece or two more) plus 1 MiB for everything else.
 */
export const MAX_UNSENT_BYTES = 2 << 20;
const OUTPUT_STALL_MS = 30_000;

/** Enough bytes to tell a plaintext handshake ("\x13BitTorrent protocol") from MSE's Ya. */
const SNIFF_BYTES = 20;

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
  /** Wall-clock ms of the last byte received, for idle checks. */
  lastReceived: number;
  bytesReceived = 0;
  closeReason: string | undefined;

  /** How the connection was finally made, once known: plaintext, or MSE with RC4 or plaintext. */
  encryption: 'plaintext' | 'mse-rc4' | 'mse-plaintext' | undefined;

  private stream: Duplex | undefined;
  private readonly reader: FrameReader;
  private handler: PeerHandler | undefined;
  private identity: LocalIdentity | undefined;
  private handshakeSent = false;
  private headSeen = false;
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;
  private timeouts: ConnectionTimeouts = DEFAULT_TIMEOUTS;
  private policy: EncryptionPolicy = 'off';
  private report: EncryptionReport | undefined;
  private dialer: Dialer = dialTcp;
  /** The MSE exchange under way, if any. */
  private mse: MseInitiator | MseResponder | undefined;
  /** Incoming only: the first bytes, until they tell plaintext from MSE. */
  private sniffed: Buffer | undefined;
  private incoming: IncomingEncryption | undefined;
  /** The info hash an incoming MSE handshake was for; the BitTorrent handshake must match. */
  private mseInfoHash: Uint8Array | undefined;
  private decrypt: StreamCipher | undefined;
  /** Everything we send, counted and batched (writer.ts). */
  private readonly out: PeerWriter;
  private redialed = false;
  /** Reading stopped because too much output waits for the peer (see the header). */
  private outputBlocked = false;
  /** Why `pause` stopped reading: a download limit in debt, storage behind with its writes. */
  private readonly readHolds = new Set<ReadHold>();
  private stallTimer: TimerHandle | undefined;

  private constructor(address: PeerAddress, outgoing: boolean, maxBitfield: number, clock: Clock) {
    this.address = address;
    this.outgoing = outgoing;
    this.clock = clock;
    this.state = outgoing ? 'connecting' : 'handshaking';
    // The swarm copies every block into its piece buffer at once (see onData).
    this.reader = new FrameReader({ maxBitfield }, { reuseBlockBuffer: true });
    this.lastReceived = clock.now();
    this.out = new PeerWriter(clock, (stream) => {
      if (stream.writableLength > MAX_UNSENT_BYTES) this.outputFull();
    });
  }

  /** Bytes handed to the stream, and when the last ones were (keep-alive checks). */
  get bytesSent(): number {
    return this.out.bytesSent;
  }
  get lastSent(): number {
    return this.out.lastSent;
  }

  private attach(stream: Duplex): void {
    this.stream = stream;
    this.out.use(stream);
    const mine = (): boolean => this.stream === stream;
    stream.on('error', (err) => mine() && this.lost(`socket error: ${err.message}`));
    stream.on('close', () => mine() && this.lost('connection closed by peer'));
    stream.on('end', () => mine() && this.lost('connection ended by peer'));
  }

  /** Dial a peer; the handshake (MSE first, unless the policy is 'off') goes out once connected. */
  static connect(address: PeerAddress, identity: LocalIdentity, handler: PeerHandler, opts: ConnectOptions): PeerConnection {
    const conn = new PeerConnection(address, true, opts.maxBitfield, opts.clock ?? systemClock);
    conn.identity = identity;
    conn.handler = handler;
    conn.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    conn.policy = opts.encryption?.policy ?? 'off';
    conn.report = opts.encryption?.report;
    if (opts.dial !== undefined) conn.dialer = opts.dial;
    conn.open(conn.policy !== 'off');
    return conn;
  }

  private open(mse: boolean): void {
    const stream = this.dialer(this.address, (chunk, transient) => {
      if (this.stream === stream) this.onData(chunk, transient);
    });
    this.attach(stream);
    this.arm(this.timeouts.connectMs, 'connect timeout');
    stream.once('connect', () => {
      if (this.stream !== stream || this.state !== 'connecting') return;
      this.state = 'handshaking';
      this.arm(this.timeouts.handshakeMs, 'handshake timeout');
      if (!mse) {
        this.encryption = 'plaintext';
        return this.sendHandshake();
      }
      const initiator = new MseInitiator({ infoHash: this.identity!.infoHash, provide: provideOf(this.policy) });
      this.mse = initiator;
      this.out.writeClear(initiator.start());
    });
  }

  /**
   * Take an accepted socket. `route` is called with the info hash of the peer's handshake
   * and returns who handles it (or undefined to refuse the torrent).
   */
  static accept(
    stream: Duplex,
    address: PeerAddress,
    route: (infoHash: Uint8Array) => { identity: LocalIdentity; handler: PeerHandler; maxBitfield: number } | undefined,
    opts: { timeouts?: ConnectionTimeouts; clock?: Clock; encryption?: IncomingEncryption } = {},
  ): PeerConnection {
    const conn = new PeerConnection(address, false, 2 ** 18, opts.clock ?? systemClock);
    conn.route = route;
    conn.incoming = opts.encryption;
    conn.policy = opts.encryption?.policy ?? 'off';
    conn.report = opts.encryption?.report;
    conn.sniffed = Buffer.alloc(0);
    conn.attach(stream);
    readAccepted(stream, (chunk, transient) => conn.onData(chunk, transient));
    conn.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    conn.arm(conn.timeouts.handshakeMs, 'handshake timeout');
    return conn;
  }

  private route: ((infoHash: Uint8Array) => { identity: LocalIdentity; handler: PeerHandler; maxBitfield: number } | undefined) | undefined;

  /** Hand the connection to another owner (the swarm taking over from a magnet's metadata phase). */
  setHandler(handler: PeerHandler): void {
    this.handler = handler;
  }

  get isActive(): boolean {
    return this.state === 'active';
  }

  /** Send a message; returns false once the socket's buffer is full (the caller may pause). */
  send(msg: Message): boolean {
    return this.write(encodeMessage(msg));
  }

  /** Send pre-encoded bytes; what is sent in one tick leaves in one socket write at its end. */
  write(bytes: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    return this.out.write(bytes);
  }

  /** A piece message, header + block; `done` runs once the socket has let go of the block. */
  sendPiece(index: number, begin: number, block: Uint8Array, done?: () => void): boolean {
    if (this.state === 'closed') {
      done?.();
      return false;
    }
    return this.out.sendPiece(index, begin, block, done);
  }

  /** Run `fn` with the socket corked, so everything it sends leaves in one write. */
  batch(fn: () => void): void {
    this.out.batch(fn);
  }

  get writableLength(): number {
    return this.out.writableLength;
  }

  onDrain(cb: () => void): void {
    this.stream!.once('drain', cb);
  }

  /**
   * Stop reading the stream (TCP then slows the sender) until `resume` with the same reason;
   * independent of the output bound and of the other reason.
   */
  pause(reason: ReadHold = 'limit'): void {
    this.readHolds.add(reason);
    this.stream!.pause();
  }

  resume(reason: ReadHold = 'limit'): void {
    this.readHolds.delete(reason);
    if (this.readHolds.size === 0 && !this.outputBlocked) this.stream!.resume();
  }

  /** Whether `pause` holds reading for `reason`. */
  readHeld(reason: ReadHold): boolean {
    return this.readHolds.has(reason);
  }

  /** Whether reading is stopped until the peer reads what waits for it. */
  get inputPaused(): boolean {
    return this.outputBlocked;
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.timer?.cancel();
    this.stallTimer?.cancel();
    this.stream?.destroy();
    this.handler?.onClose(this, reason);
  }

  /**
   * The stream failed, timed out or broke the protocol before we closed it. An outgoing MSE
   * handshake the peer dropped is redialled in plaintext under 'prefer'; a peer that drops
   * the handshake our policy insists on is reported as a policy mismatch.
   */
  private lost(reason: string): void {
    if (this.state === 'closed') return;
    const silent = this.state === 'handshaking' && this.bytesReceived === 0;
    if (this.outgoing && this.mse !== undefined) {
      if (this.policy === 'prefer' && !this.redialed) return this.redialPlaintext();
      if (silent) this.note('refuses-encryption');
      return this.close(`encrypted handshake failed: ${reason}`);
    }
    if (this.outgoing && silent && this.policy === 'off' && this.handshakeSent) this.note('requires-encryption');
    this.close(reason);
  }

  private redialPlaintext(): void {
    this.redialed = true;
    this.mse = undefined;
    const old = this.stream;
    this.stream = undefined;
    this.out.use(undefined);
    old?.destroy();
    this.bytesReceived = 0;
    this.state = 'connecting';
    this.open(false);
  }

  private note(kind: EncryptionMismatch): void {
    this.report?.note(`${this.address.host}:${this.address.port}`, kind);
  }

  private arm(ms: number, reason: string): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.lost(reason), ms);
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
    try {
      if (this.decrypt !== undefined) {
        // The clear bytes are `chunk` itself, decrypted in place, or a new buffer (OpenSSL's
        // RC4), which no later read reuses.
        const clear = this.decrypt.processOwned(chunk);
        if (clear !== chunk) transient = false;
        this.reader.push(clear);
      } else if (this.sniffed !== undefined || this.mse !== undefined) {
        const clear = this.preamble(chunk);
        if (clear === undefined || this.state === 'closed') return;
        this.reader.push(clear);
      } else {
        this.reader.push(chunk);
      }
    } catch (err) {
      return this.failed(err);
    }
    this.decode(transient);
  }

  /**
   * Hand every complete message to the handler, unless reading is stopped for the output
   * bound (the rest waits in the reader until the peer has read).
   */
  private decode(transient: boolean): void {
    try {
      if (this.state === 'handshaking') this.readHandshake();
      while (this.state === 'active' && !this.outputBlocked) {
        const msg = this.reader.next();
        if (msg === undefined) break;
        this.handler!.onMessage(this, msg);
      }
      if (transient && this.state !== 'closed') this.reader.detach();
    } catch (err) {
      this.failed(err);
    }
  }

  private failed(err: unknown): void {
    if (err instanceof MseError) return this.lost(`encryption handshake: ${err.message}`);
    this.close(`protocol error: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** Output passed the bound: stop reading until it drains, and drop a peer that never reads. */
  private outputFull(): void {
    const stream = this.stream;
    if (this.state === 'closed' || stream === undefined) return;
    if (stream.writableLength > 2 * MAX_UNSENT_BYTES) {
      // Not from inside the caller's send loop: the owner's bookkeeping runs on close.
      queueMicrotask(() => this.close('peer does not read what it asked for'));
      return;
    }
    if (this.outputBlocked) return;
    this.outputBlocked = true;
    stream.pause();
    this.stallTimer = this.clock.setTimeout(() => this.close('peer does not read what it asked for'), this.timeouts.outputStallMs ?? OUTPUT_STALL_MS);
    stream.once('drain', () => {
      if (this.state === 'closed' || this.stream !== stream) return;
      this.stallTimer?.cancel();
      this.stallTimer = undefined;
      this.outputBlocked = false;
      if (this.readHolds.size === 0) stream.resume();
      this.decode(false);
    });
  }

  /**
   * Bytes before the BitTorrent handshake: the sniffing of an incoming stream and the MSE
   * exchange. Returns the clear bytes that follow them, or undefined while it goes on.
   */
  private preamble(chunk: Buffer): Uint8Array | undefined {
    if (this.sniffed !== undefined) {
      const head = Buffer.concat([this.sniffed, chunk]);
      const plaintext = isHandshakePrefix(head);
      if (plaintext && head.length < SNIFF_BYTES) {
        this.sniffed = head;
        return undefined;
      }
      this.sniffed = undefined;
      if (plaintext) {
        if (this.policy !== 'require') {
          this.encryption = 'plaintext';
          return head;
        }
        this.note('refuses-encryption');
        this.close('plaintext handshake refused: encryption is required');
        return undefined;
      }
      const accept = acceptOf(this.policy);
      if (accept === 0 || this.incoming === undefined) {
        this.note('requires-encryption');
        this.close('encrypted handshake refused: encryption is off');
        return undefined;
      }
      const incoming = this.incoming;
      this.mse = new MseResponder({ accept, lookup: (req2) => incoming.findInfoHash(req2) });
      return this.advance(this.mse.receive(head));
    }
    return this.advance(this.mse!.receive(chunk));
  }

  private advance(step: MseStep): Uint8Array | undefined {
    for (const bytes of step.send) this.out.writeClear(bytes);
    const done = step.done;
    if (done === undefined) return undefined;
    this.mse = undefined;
    this.out.encrypt = done.encrypt;
    this.decrypt = done.decrypt;
    this.encryption = done.method === 'rc4' ? 'mse-rc4' : 'mse-plaintext';
    if (this.outgoing) this.sendHandshake();
    else this.mseInfoHash = done.infoHash;
    return done.payload;
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
        const routed = this.mseInfoHash === undefined || bytesEqual(infoHash, this.mseInfoHash) ? this.route?.(infoHash) : undefined;
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
