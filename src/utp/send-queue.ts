/**
 * The sending half of a uTP connection's bookkeeping (BEP 29): the bytes written and not yet
 * packetized (`WriteBuffer`), the packets sent and not yet acknowledged (`SendQueue`), what
 * cumulative and selective ACKs take off them, and which of them are lost. Pure: time comes
 * in as arguments, packets go out through the caller.
 *
 * Loss is decided as libtorrent and BEP 29 decide it, with a time guard taken from RACK
 * (RFC 8985) so that reordering is not mistaken for loss. A packet is lost when
 *   - at least three packets sent after it have been acknowledged (selectively, or three
 *     duplicate ACKs for the oldest one), and
 *   - it has been out for longer than the smoothed RTT plus a reordering window: four RTT
 *     deviations, or a quarter of the least RTT times a multiplier, at most one RTT. A packet
 *     merely overtaken inside the path's jitter is acknowledged before then. The multiplier
 *     grows each time a retransmission proves needless (its ACK came back sooner than any
 *     round trip could, so the original had arrived) and shrinks again after 16 losses
 *     without one;
 * or when the retransmission timer fires (`markAllLost`). A packet sent again counts "sent
 * after" from its latest transmission, so a retransmission is not declared lost at once by
 * the same ACKs that condemned the original.
 */
import type { RttEstimator } from './congestion.js';
import { seqDistance } from './packet.js';

export interface OutPacket {
  buf: Buffer;
  /** Payload bytes (0 for a FIN). */
  size: number;
  /** Time of the latest transmission. */
  sentAt: number;
  /** Position of the latest transmission in the order of all transmissions. */
  order: number;
  transmissions: number;
  acked: boolean;
  /** Lost, waiting to go out again (not in flight). */
  resend: boolean;
}

export interface AckResult {
  /** Bytes newly acknowledged, cumulatively or selectively. */
  acked: number;
  /** Packets the cumulative ACK took off the queue. */
  advanced: number;
}

/** Packets acknowledged after a hole before it may count as lost (BEP 29, libtorrent). */
export const DUP_ACK_THRESHOLD = 3;
/** Losses without a needless retransmission before the reordering window narrows a step (RFC 8985's reo_wnd_persist). */
const REORDER_PERSIST = 16;

export class SendQueue {
  private readonly out: OutPacket[] = [];
  private head = 0;
  /** The sequence number of `out[head]`, the oldest unacknowledged packet. */
  seq: number;
  /** Bytes sent and neither acknowledged nor given up as lost. */
  inFlight = 0;
  /**
   * Bytes of every packet not yet cumulatively acknowledged, selectively acknowledged ones
   * included: they sit in the peer's reorder buffer, which its advertised window covers.
   */
  outstanding = 0;
  private dupAcks = 0;
  /** Selectively acknowledged packets still on the queue (behind a hole). */
  private sacked = 0;
  private transmissions = 0;
  private minRtt = Infinity;
  private reorderMult = 1;
  private reorderPersist = REORDER_PERSIST;
  /** Retransmissions found needless, for tests and traces. */
  spurious = 0;

  /**
   * `onRtt` hears the round-trip time of every packet acknowledged that was sent only once
   * (Karn: the ACK of a retransmission is ambiguous). One sample per packet, as libtorrent
   * takes them: with only the newest per ACK, ACKs overtaken on the way back (which carry no
   * news) would leave out the slow samples and the variance would look smaller than it is.
   */
  constructor(
    seq: number,
    private readonly rtt: RttEstimator,
  ) {
    this.seq = seq & 0xffff;
  }

  /** Packets not yet cumulatively acknowledged. */
  get count(): number {
    return this.out.length - this.head;
  }

  /** Start over at `seq` (the SYN took the one before). */
  restart(seq: number): void {
    this.seq = seq & 0xffff;
  }

  /** A new packet, about to be transmitted for the first time. */
  push(buf: Buffer, size: number): OutPacket {
    const pkt: OutPacket = { buf, size, sentAt: 0, order: 0, transmissions: 0, acked: false, resend: false };
    this.out.push(pkt);
    this.inFlight += buf.length;
    this.outstanding += buf.length;
    return pkt;
  }

  /** Record a transmission of `pkt` at `now` (the caller sends the bytes). */
  sent(pkt: OutPacket, now: number): void {
    if (pkt.resend) {
      pkt.resend = false;
      this.inFlight += pkt.buf.length;
    }
    pkt.sentAt = now;
    pkt.order = ++this.transmissions;
    pkt.transmissions++;
  }

  /** Whether `ack` lies within what we sent: false for an ACK of data never sent. */
  acceptable(ack: number): boolean {
    const d = seqDistance((this.seq - 1) & 0xffff, ack);
    return d <= this.count || d >= 0x8000;
  }

  /**
   * A cumulative ACK of `ack` and everything before it, with the selective ACK `sack`
   * (bit i acknowledges ack + 2 + i). `duplicate` says the packet was a bare ST_STATE: if it
   * acknowledges nothing new, it counts as a duplicate ACK of the oldest packet.
   */
  ack(ack: number, sack: Uint8Array | undefined, duplicate: boolean, now: number): AckResult {
    const count = this.count;
    const d = seqDistance((this.seq - 1) & 0xffff, ack);
    const result: AckResult = { acked: 0, advanced: 0 };
    if (d > count) return result;
    for (let i = 0; i < d; i++) {
      const pkt = this.out[this.head]!;
      this.out[this.head++] = undefined as unknown as OutPacket;
      this.outstanding -= pkt.buf.length;
      if (pkt.acked) this.sacked--;
      else this.acknowledge(pkt, now, result);
    }
    result.advanced = d;
    this.seq = (this.seq + d) & 0xffff;
    if (this.head > 1024 && this.head * 2 > this.out.length) {
      this.out.splice(0, this.head);
      this.head = 0;
    }
    if (sack !== undefined) {
      for (let i = 0; i < sack.length * 8; i++) {
        if ((sack[i >> 3]! & (1 << (i & 7))) === 0) continue;
        const idx = seqDistance(this.seq, (ack + 2 + i) & 0xffff);
        if (idx >= this.count) break;
        const pkt = this.out[this.head + idx]!;
        if (pkt.acked) continue;
        this.acknowledge(pkt, now, result);
        this.sacked++;
      }
    }
    if (d > 0) this.dupAcks = 0;
    else if (count > 0 && duplicate && sack === undefined) this.dupAcks++;
    return result;
  }

  private acknowledge(pkt: OutPacket, now: number, result: AckResult): void {
    pkt.acked = true;
    result.acked += pkt.buf.length;
    if (!pkt.resend) this.inFlight -= pkt.buf.length;
    pkt.resend = false;
    const ms = now - pkt.sentAt;
    if (pkt.transmissions === 1) {
      this.rtt.sample(ms);
      this.minRtt = Math.min(this.minRtt, ms);
    } else if (ms < this.minRtt) {
      // Acknowledged sooner than any round trip since it went again: the first copy arrived.
      this.spurious++;
      this.reorderMult = Math.min(this.reorderMult + 1, 4 * DUP_ACK_THRESHOLD);
      this.reorderPersist = REORDER_PERSIST;
    }
  }

  /**
   * The packets lost by now (see the header), taken out of flight; the caller sends each
   * again at once (`sent` puts it back in flight).
   */
  detectLoss(now: number): OutPacket[] {
    const lost: OutPacket[] = [];
    // Nothing acknowledged past a hole: nothing can be lost but by the timer (the common case).
    if (this.sacked + this.dupAcks < DUP_ACK_THRESHOLD) return lost;
    const lossDelay = this.lossDelay();
    let ackedAfter = 0;
    for (let idx = this.count - 1; idx >= 0; idx--) {
      const pkt = this.out[this.head + idx]!;
      if (pkt.acked) {
        ackedAfter++;
        continue;
      }
      if (pkt.resend || now - pkt.sentAt < lossDelay) continue;
      const evidence = pkt.transmissions === 1 ? ackedAfter + (idx === 0 ? this.dupAcks : 0) : this.ackedSentAfter(pkt);
      if (evidence < DUP_ACK_THRESHOLD) continue;
      pkt.resend = true;
      this.inFlight -= pkt.buf.length;
      lost.push(pkt);
    }
    if (lost.length > 0) {
      this.dupAcks = 0;
      if (--this.reorderPersist <= 0) {
        this.reorderMult = Math.max(1, this.reorderMult - 1);
        this.reorderPersist = REORDER_PERSIST;
      }
    }
    return lost.reverse();
  }

  /** How long a packet may go unacknowledged, while later ones are acknowledged, before it counts as lost. */
  lossDelay(): number {
    const r = this.rtt;
    if (!r.sampled) return r.rto;
    return r.rtt + Math.min(r.rtt, Math.max(4 * r.rttVar, (this.reorderMult * this.minRtt) / 4));
  }

  /** Acknowledged packets whose latest transmission came after `pkt`'s. */
  private ackedSentAfter(pkt: OutPacket): number {
    let n = 0;
    for (let i = this.head; i < this.out.length; i++) {
      const p = this.out[i]!;
      if (p.acked && p.order > pkt.order) n++;
    }
    return n;
  }

  /** The retransmission timer fired: every unacknowledged packet waits to be sent again. */
  markAllLost(): void {
    for (let i = this.head; i < this.out.length; i++) {
      const pkt = this.out[i]!;
      if (!pkt.acked && !pkt.resend) {
        pkt.resend = true;
        this.inFlight -= pkt.buf.length;
      }
    }
    this.dupAcks = 0;
  }

  /** The packets waiting to be sent again after a timeout, oldest first. */
  *resends(): Generator<OutPacket> {
    for (let i = this.head; i < this.out.length; i++) {
      const pkt = this.out[i]!;
      if (pkt.resend) yield pkt;
    }
  }

  clear(): void {
    this.out.length = 0;
    this.head = 0;
    this.inFlight = 0;
    this.outstanding = 0;
    this.dupAcks = 0;
    this.sacked = 0;
  }
}

/** Bytes written and not yet packetized, kept by reference (the caller bounds them). */
export class WriteBuffer {
  private readonly chunks: Uint8Array[] = [];
  private offset = 0;
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Move the next `into.length - at` bytes into `into` from `at` on (the one copy they get). */
  take(into: Buffer, at: number): void {
    while (at < into.length) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length - this.offset, into.length - at);
      into.set(chunk.subarray(this.offset, this.offset + n), at);
      at += n;
      this.offset += n;
      this.bytes -= n;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
  }

  clear(): void {
    this.chunks.length = 0;
    this.offset = 0;
    this.bytes = 0;
  }
}
