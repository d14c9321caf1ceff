/**
 * One uTP connection (BEP 29), sans I/O: packets in through `receive`, packets out through
 * the `send` hook, time from the injected clock and the owner's periodic `tick`. The bytes
 * written, the packets sent and loss detection live in send-queue.ts, the packets received
 * ahead of a gap and our selective ACKs in reorder-buffer.ts, the RTT and congestion window
 * in congestion.ts, the codec in packet.ts.
 *
 * State transitions (nothing else is allowed):
 *   syn-sent  -> connected   the peer's ST_STATE answered our SYN (outgoing)
 *   syn-recv  -> connected   the first packet after the SYN arrived (incoming; until then half-open)
 *   connected -> closing     we queued our FIN; data still flows in until the peer's FIN
 *   any       -> closed      both FINs acknowledged, ST_RESET, timeout, or `destroy`
 *
 * Sequence and ACK numbers are 16-bit and wrap. Sent packets stay in the send queue until
 * acknowledged, cumulatively or by a selective ACK. One is resent at once when the queue finds
 * it lost (three packets sent after it acknowledged, and out for longer than reordering
 * explains), and the window halves once per window of data; when the RTO fires, everything
 * unacknowledged goes again, the RTO backs off and the window (only then) collapses to one
 * packet. Received packets ahead of a gap wait in a reorder buffer bounded by our advertised
 * window. Nothing a peer sends can make us allocate past these bounds: ACKs of data never
 * sent, sequence numbers outside the window and a second FIN are dropped, a huge advertised
 * window is capped by our send buffer and the congestion window.
 */
import { Ledbat, RttEstimator } from './congestion.js';
import { utpError, type UtpError } from './errors.js';
import {
  HEADER_BYTES,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  encodePacket,
  restamp,
  seqDistance,
  writeHeader,
  type PacketType,
  type UtpPacket,
} from './packet.js';
import { MAX_REORDER_PACKETS, ReorderBuffer } from './reorder-buffer.js';
import { SendQueue, WriteBuffer, type OutPacket } from './send-queue.js';

export type UtpState = 'syn-sent' | 'syn-recv' | 'connected' | 'closing' | 'closed';

/** Whole packet, header included: fits a 1500-byte Ethernet MTU under IPv6 and UDP headers. */
export const PACKET_BYTES = 1400;
const MAX_PAYLOAD = PACKET_BYTES - HEADER_BYTES;
/** Bytes we accept ahead of the reader (our advertised window, reorder buffer included). */
export const RECV_WINDOW = 1 << 20;
/** Bytes the writer may queue before `write` returns false. */
export const SEND_BUFFER = 1 << 20;
/**
 * Packets we keep unacknowledged at most. libtorrent holds only so many packets past a gap
 * (about its read buffer / 1100, at least 16) and drops the rest unacknowledged; with a
 * few hundred in flight a single loss stalled it for good in tests. 64 keeps loopback fast.
 */
const MAX_IN_FLIGHT_PACKETS = 64;
const MAX_CWND = 2 << 20;
const SYN_RETRY_MS = 1000;
/** SYNs sent before the connection attempt fails (libtorrent gives up after about 3 s as well). */
const SYN_ATTEMPTS = 3;
/** An incoming connection whose initiator sends nothing after its SYN for this long is dropped. */
const HALF_OPEN_MS = 6000;
/** Consecutive retransmission timeouts without progress before the connection is declared dead. */
const MAX_TIMEOUTS = 7;
/** A FIN we sent waits this long at most for its ACK before the connection is dropped. */
const LINGER_MS = 10_000;

export interface UtpHooks {
  /** One datagram to the peer. */
  send(packet: Buffer): void;
  onConnect(): void;
  /** In-order payload (a view into the datagram: keep it, it is not reused). */
  onData(payload: Uint8Array): void;
  /** The peer's FIN arrived and everything before it was delivered. */
  onEnd(): void;
  /** The send buffer has room again after `write` returned false. */
  onWritable(): void;
  onClose(error: UtpError | undefined): void;
  /** Bytes delivered through `onData` that the reader has not consumed yet (they shrink our window). */
  readBuffered(): number;
}

export interface UtpConnectionStats {
  inFlight: number;
  cwnd: number;
  peerWindow: number;
  rto: number;
  reorderBytes: number;
  pendingBytes: number;
  unacked: number;
  /** Times the congestion window was halved for a loss. */
  halvings: number;
  /** Retransmission timeouts that collapsed the window to one packet. */
  timeouts: number;
  /** Retransmissions that turned out needless (the first copy had arrived). */
  spurious: number;
}

export interface UtpConnectionOptions {
  /** Milliseconds (timeouts, RTT). */
  now: () => number;
  /** Microseconds for the packet timestamps; any origin, wraps at 2^32. */
  micros: () => number;
  /** A random 16-bit number (connection ids, initial sequence numbers). */
  random16: () => number;
}

export class UtpConnection {
  state: UtpState;
  /** The id on packets we receive; the mux routes by it. */
  readonly recvId: number;
  readonly sendId: number;
  private seqNr: number;
  private ackNr = 0;
  /**
   * Sent, unacknowledged packets. New data goes out only while its `outstanding` bytes stay
   * within the peer's window (libtorrent drops, and never acknowledges, packets past it, the
   * missing one included).
   */
  private readonly sendq: SendQueue;
  private readonly pending = new WriteBuffer();
  private writeBlocked = false;
  private finQueued = false;
  private finSent = false;
  /** Close once our FIN is acknowledged, without waiting for the peer's (the stream was destroyed). */
  private closeOnFinAck = false;
  /** `end` was called while half-open after accepting: send the FIN once connected. */
  private endWhenConnected = false;
  private readonly reorder = new ReorderBuffer();
  private eofSeq: number | undefined;
  private ended = false;
  private peerWnd = PACKET_BYTES;
  private replyMicro = 0;
  /** Halve the window at most once per window of data: not again until this seq is acked. */
  private recoverySeq: number | undefined;
  private ackDue = false;
  private timeouts = 0;
  private deadline: number;
  private synAttempts = 0;
  private lingerUntil: number | undefined;
  private readonly rtt = new RttEstimator();
  private readonly cc = new Ledbat(PACKET_BYTES, MAX_CWND, 4 * PACKET_BYTES);
  private readonly hooks: UtpHooks;
  private readonly opts: UtpConnectionOptions;

  private constructor(hooks: UtpHooks, opts: UtpConnectionOptions, state: UtpState, recvId: number, sendId: number, seq: number) {
    this.hooks = hooks;
    this.opts = opts;
    this.state = state;
    this.recvId = recvId & 0xffff;
    this.sendId = sendId & 0xffff;
    this.seqNr = seq & 0xffff;
    this.sendq = new SendQueue(this.seqNr, this.rtt);
    this.deadline = opts.now() + SYN_RETRY_MS;
  }

  /** Open a connection: sends the SYN. `recvId` must be unused on this socket for this peer. */
  static connect(hooks: UtpHooks, opts: UtpConnectionOptions, recvId: number): UtpConnection {
    const c = new UtpConnection(hooks, opts, 'syn-sent', recvId, recvId + 1, opts.random16());
    c.sendSyn();
    return c;
  }

  /** Answer a SYN: the connection id on our packets is the SYN's, we receive on id + 1. */
  static accept(syn: UtpPacket, hooks: UtpHooks, opts: UtpConnectionOptions): UtpConnection {
    const c = new UtpConnection(hooks, opts, 'syn-recv', syn.connectionId + 1, syn.connectionId, opts.random16());
    c.ackNr = syn.seq;
    c.notePeer(syn);
    c.sendState();
    c.deadline = opts.now() + HALF_OPEN_MS;
    return c;
  }

  /** The ST_STATE we answered the SYN with, again: our answer was lost and the peer resent its SYN. */
  resendSynAck(): void {
    if (this.state === 'syn-recv') this.sendState();
  }

  get halfOpen(): boolean {
    return this.state === 'syn-sent' || this.state === 'syn-recv';
  }

  /** Counters for tests and traces. */
  stats(): UtpConnectionStats {
    const q = this.sendq;
    return {
      inFlight: q.inFlight,
      cwnd: Math.round(this.cc.cwnd),
      peerWindow: this.peerWnd,
      rto: this.rtt.rto,
      reorderBytes: this.reorder.bytes,
      pendingBytes: this.pending.bytes,
      unacked: q.count,
      halvings: this.cc.halvings,
      timeouts: this.cc.collapses,
      spurious: q.spurious,
    };
  }

  /** Bytes written and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.pending.bytes + this.sendq.inFlight;
  }

  /** Queue bytes to send (kept by reference, not copied); false once the send buffer is full. */
  write(chunk: Uint8Array): boolean {
    if (this.state === 'closed' || this.finQueued) return false;
    this.pending.push(chunk);
    this.trySend();
    const ok = this.pending.bytes < SEND_BUFFER;
    if (!ok) this.writeBlocked = true;
    return ok;
  }

  /**
   * Send the FIN once everything written has gone out. The connection closes when both sides
   * are done, or with `discardInput` as soon as the peer acknowledges our FIN.
   */
  end(discardInput = false): void {
    if (this.state === 'closed') return;
    if (discardInput) this.closeOnFinAck = true;
    if (this.finQueued) return this.closeIfDone();
    if (this.state === 'syn-sent') return this.destroy();
    // Accepted, and the initiator has not spoken since its SYN: the FIN follows once it has.
    if (this.state === 'syn-recv') return void (this.endWhenConnected = true);
    this.finQueued = true;
    this.state = 'closing';
    this.lingerUntil = this.opts.now() + LINGER_MS;
    this.trySend();
  }

  /** Drop the connection at once, telling the peer with ST_RESET. */
  destroy(error?: UtpError): void {
    if (this.state === 'closed') return;
    if (this.state !== 'syn-sent') this.sendControl(ST_RESET);
    this.finish(error);
  }

  /** The reader consumed buffered data: if our window had nearly closed, tell the peer it reopened. */
  readConsumed(): void {
    if (this.state === 'closed') return;
    if (this.window() >= RECV_WINDOW / 2 && this.lastAdvertised < PACKET_BYTES * 4) this.ackDue = true;
  }

  /** Send the ACK that receiving owes (called once per batch of incoming datagrams). */
  flush(): void {
    if (this.ackDue && this.state !== 'closed' && this.state !== 'syn-sent') this.sendState();
  }

  /** Timeouts; the owner calls this a few times per second. */
  tick(): void {
    const now = this.opts.now();
    if (this.state === 'closed') return;
    if (this.lingerUntil !== undefined && now >= this.lingerUntil) return this.finish(undefined);
    // Loss detection is also a matter of time: a hole may become a loss between ACKs.
    if (this.state === 'connected' || this.state === 'closing') this.resendLost(now);
    if (now < this.deadline) return;
    if (this.state === 'syn-sent') {
      if (this.synAttempts >= SYN_ATTEMPTS) return this.finish(utpError('connect-timeout', 'no answer to the uTP SYN'));
      return this.sendSyn();
    }
    if (this.state === 'syn-recv') return this.finish(utpError('connect-timeout', 'the uTP peer went silent after its SYN'));
    this.onTimeout(now);
  }

  /** A packet the mux routed to us (its connection id is our `recvId`). */
  receive(p: UtpPacket): void {
    if (this.state === 'closed') return;
    if (p.type === ST_RESET) return this.finish(utpError('reset', 'the peer reset the uTP connection'));
    if (p.type === ST_SYN) {
      this.resendSynAck();
      return;
    }
    if (this.state === 'syn-sent') {
      if (p.type !== ST_STATE) return;
      // The acceptor's ST_STATE carries the seq_nr of its first data packet to come.
      this.ackNr = (p.seq - 1) & 0xffff;
      this.state = 'connected';
      this.timeouts = 0;
      this.notePeer(p);
      this.hooks.onConnect();
      this.trySend();
      return;
    }
    if (!this.ackAcceptable(p)) return;
    this.notePeer(p);
    this.processAck(p);
    if (this.state === 'syn-recv') {
      this.state = 'connected';
      this.hooks.onConnect();
      if (this.endWhenConnected) this.end();
    }
    if (p.type === ST_DATA || p.type === ST_FIN) this.receiveData(p);
    // trySend and closeIfDone do nothing if a hook closed the connection meanwhile.
    this.trySend();
    this.closeIfDone();
  }

  private notePeer(p: UtpPacket): void {
    this.replyMicro = (this.opts.micros() - p.timestamp) >>> 0;
    this.peerWnd = p.wndSize;
    if (p.timestampDiff !== 0) this.cc.delaySample(p.timestampDiff, this.opts.now());
  }

  /**
   * False drops the packet: it acknowledges data we never sent. An ACK behind our oldest
   * unacknowledged packet (reordered, old) carries no news but its data is still good.
   */
  private ackAcceptable(p: UtpPacket): boolean {
    return this.sendq.acceptable(p.ack);
  }

  /** Cumulative and selective ACK, then whatever they show lost goes again. */
  private processAck(p: UtpPacket): void {
    const now = this.opts.now();
    const before = this.sendq.inFlight;
    const r = this.sendq.ack(p.ack, p.sack, p.type === ST_STATE, now);
    if (this.recoverySeq !== undefined && seqDistance(this.sendq.seq, this.recoverySeq) >= 0x8000) this.recoverySeq = undefined;
    if (r.advanced > 0) {
      this.timeouts = 0;
      this.deadline = now + this.rtt.rto;
    }
    if (r.acked > 0) this.cc.onAck(r.acked, before);
    this.resendLost(now);
  }

  /** Fast retransmit of every packet the send queue finds lost; the window halves once per window of data. */
  private resendLost(now: number): void {
    const lost = this.sendq.detectLoss(now);
    if (lost.length === 0) return;
    if (this.recoverySeq === undefined) {
      this.cc.onLoss();
      this.recoverySeq = (this.seqNr - 1) & 0xffff;
    }
    // At once, whatever the window (as libtorrent does): the hole holds up everything behind it.
    for (const pkt of lost) this.transmit(pkt);
  }

  private onTimeout(now: number): void {
    const count = this.sendq.count;
    if (count === 0 && this.pending.bytes === 0 && !this.finQueued) {
      this.deadline = now + this.rtt.rto;
      return;
    }
    if (++this.timeouts > MAX_TIMEOUTS) return this.finish(utpError('timeout', 'uTP peer stopped acknowledging'));
    this.rtt.backOff();
    this.deadline = now + this.rtt.rto;
    if (count === 0) {
      // Nothing in flight, so nothing was lost: probe a closed window (one packet may go even
      // though the peer advertised none) and keep the congestion window.
      if (this.peerWnd < PACKET_BYTES) this.peerWnd = PACKET_BYTES;
      this.trySend();
      return;
    }
    this.cc.onTimeout();
    this.sendq.markAllLost();
    // What was sent before the timeout was lost with it: no further halving for those.
    this.recoverySeq = (this.seqNr - 1) & 0xffff;
    this.trySend();
  }

  /** Resend lost packets, then new data, as far as the windows allow. */
  private trySend(): void {
    if (this.state !== 'connected' && this.state !== 'closing') return;
    const now = this.opts.now();
    const window = Math.min(this.cc.cwnd, this.peerWnd);
    const q = this.sendq;
    for (const pkt of q.resends()) {
      if (q.inFlight > 0 && q.inFlight + pkt.buf.length > window) return;
      this.transmit(pkt);
    }
    while (this.pending.bytes > 0) {
      const size = Math.min(MAX_PAYLOAD, this.pending.bytes);
      // Nagle: a short packet waits while others are in flight; more bytes may join it.
      if (size < MAX_PAYLOAD && q.count > 0 && !this.finQueued) break;
      if (q.inFlight > 0 && q.inFlight + size + HEADER_BYTES > window) break;
      if (q.outstanding > 0 && q.outstanding + size + HEADER_BYTES > this.peerWnd) break;
      if (q.inFlight === 0 && this.peerWnd === 0) break;
      if (q.count >= MAX_IN_FLIGHT_PACKETS) break;
      this.sendNew(ST_DATA, size, now);
    }
    if (this.finQueued && this.pending.bytes === 0 && !this.finSent && q.count < MAX_REORDER_PACKETS) {
      this.finSent = true;
      this.sendNew(ST_FIN, 0, now);
    }
    if (this.writeBlocked && this.pending.bytes < SEND_BUFFER) {
      this.writeBlocked = false;
      this.hooks.onWritable();
    }
  }

  /** Packetize `size` pending bytes (one copy, into the packet) and send it. */
  private sendNew(type: PacketType, size: number, now: number): void {
    const buf = Buffer.allocUnsafe(HEADER_BYTES + size);
    writeHeader(buf, this.header(type, this.seqNr));
    this.pending.take(buf, HEADER_BYTES);
    if (this.sendq.count === 0) this.deadline = now + this.rtt.rto;
    const pkt = this.sendq.push(buf, size);
    this.seqNr = (this.seqNr + 1) & 0xffff;
    this.transmit(pkt);
  }

  private transmit(pkt: OutPacket): void {
    this.sendq.sent(pkt, this.opts.now());
    restamp(pkt.buf, this.opts.micros(), this.replyMicro, this.window(), this.ackNr);
    this.ackDue = false;
    this.lastAdvertised = this.window();
    this.hooks.send(pkt.buf);
  }

  private lastAdvertised = RECV_WINDOW;

  private receiveData(p: UtpPacket): void {
    this.ackDue = true;
    const d = seqDistance(this.ackNr, p.seq);
    // Old (already delivered), beyond the window, or past the FIN: nothing to keep, the ACK says where we are.
    if (d === 0 || d > MAX_REORDER_PACKETS) return;
    if (this.eofSeq !== undefined && seqDistance(p.seq, this.eofSeq) >= 0x8000) return;
    if (p.type === ST_FIN) {
      if (this.eofSeq !== undefined && this.eofSeq !== p.seq) return;
      this.eofSeq = p.seq;
    }
    if (d > 1) return this.reorder.hold(p.seq, p.payload, this.window());
    this.deliver(p.seq, p.payload);
    for (;;) {
      const next = (this.ackNr + 1) & 0xffff;
      const payload = this.reorder.take(next);
      if (payload === undefined) break;
      this.deliver(next, payload);
      if (this.state === 'closed') return;
    }
  }

  private deliver(seq: number, payload: Uint8Array): void {
    this.ackNr = seq;
    if (seq === this.eofSeq) {
      this.reorder.clear();
      if (!this.ended) {
        this.ended = true;
        this.hooks.onEnd();
      }
      return;
    }
    if (payload.length > 0) this.hooks.onData(payload);
  }

  /** Our FIN acknowledged and the peer's received (or no longer wanted): done. */
  private closeIfDone(): void {
    if (this.state !== 'closing' || !this.finSent || this.sendq.count > 0) return;
    if (!this.ended && !this.closeOnFinAck) return;
    if (this.ackDue) this.sendState();
    this.finish(undefined);
  }

  /** Our advertised receive window: what the reader and the reorder buffer leave free. */
  private window(): number {
    return Math.max(0, RECV_WINDOW - this.hooks.readBuffered() - this.reorder.bytes);
  }

  private header(type: PacketType, seq: number): { type: PacketType; connectionId: number; timestamp: number; timestampDiff: number; wndSize: number; seq: number; ack: number } {
    return { type, connectionId: this.sendId, timestamp: this.opts.micros(), timestampDiff: this.replyMicro, wndSize: this.window(), seq, ack: this.ackNr };
  }

  private sendSyn(): void {
    this.synAttempts++;
    this.deadline = this.opts.now() + SYN_RETRY_MS;
    // A SYN carries our receive id; everything after carries the send id.
    const h = this.header(ST_SYN, this.seqNr);
    this.hooks.send(encodePacket({ ...h, connectionId: this.recvId, timestampDiff: 0 }));
    if (this.synAttempts === 1) {
      this.seqNr = (this.seqNr + 1) & 0xffff;
      this.sendq.restart(this.seqNr);
    }
  }

  private sendState(): void {
    this.sendControl(ST_STATE);
  }

  private sendControl(type: typeof ST_STATE | typeof ST_RESET): void {
    this.ackDue = false;
    this.lastAdvertised = this.window();
    this.hooks.send(encodePacket(this.header(type, this.seqNr), undefined, type === ST_STATE ? this.reorder.sackMask(this.ackNr) : undefined));
  }

  private finish(error: UtpError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.sendq.clear();
    this.pending.clear();
    this.reorder.clear();
    this.hooks.onClose(error);
  }
}
