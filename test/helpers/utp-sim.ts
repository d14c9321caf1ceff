/**
 * Two sans-I/O uTP connections joined by a simulated link on a fake clock: a fixed delay
 * plus jitter (which reorders), seeded loss, and a hook to tamper with packets in flight.
 */
import { UtpConnection, type UtpHooks } from '../../src/utp/connection.js';
import type { UtpError } from '../../src/utp/errors.js';
import { decodePacket, ST_SYN } from '../../src/utp/packet.js';
import { FakeClock } from './fake-clock.js';
import { seeded } from './random.js';

export interface LinkOptions {
  delayMs?: number;
  jitterMs?: number;
  loss?: number;
  seed?: number;
  /** Return undefined to drop, or other bytes to deliver instead. */
  tamper?: (packet: Buffer, from: 'a' | 'b') => Buffer | undefined;
  /** Milliseconds this packet is held on top of the delay and jitter (it may be overtaken). */
  extraDelay?: (packet: Buffer, from: 'a' | 'b') => number;
}

export interface Side {
  conn: UtpConnection | undefined;
  received: Buffer[];
  /** Bytes in `received`. */
  bytes: number;
  connected: boolean;
  ended: boolean;
  closed: UtpError | undefined | 'no';
  writable: number;
  /** Bytes the reader holds back (shrinks the advertised window). */
  unread: number;
  sent: number;
}

export class UtpSim {
  readonly clock = new FakeClock();
  readonly a: Side = UtpSim.side();
  readonly b: Side = UtpSim.side();
  private readonly queue: { at: number; to: 'a' | 'b'; bytes: Buffer }[] = [];
  private readonly rand: () => number;

  constructor(private readonly link: LinkOptions = {}) {
    this.rand = seeded(link.seed ?? 1);
  }

  private static side(): Side {
    return { conn: undefined, received: [], bytes: 0, connected: false, ended: false, closed: 'no', writable: 0, unread: 0, sent: 0 };
  }

  hooks(name: 'a' | 'b'): UtpHooks {
    const s = this[name];
    return {
      send: (packet) => {
        s.sent++;
        this.transmit(Buffer.from(packet), name === 'a' ? 'b' : 'a', name);
      },
      onConnect: () => void (s.connected = true),
      onData: (payload) => {
        s.received.push(Buffer.from(payload));
        s.bytes += payload.length;
      },
      onEnd: () => void (s.ended = true),
      onWritable: () => void s.writable++,
      onClose: (err) => void (s.closed = err),
      readBuffered: () => s.unread,
    };
  }

  opts(): { now: () => number; micros: () => number; random16: () => number } {
    return { now: () => this.clock.now(), micros: () => (this.clock.now() * 1000) >>> 0, random16: () => Math.floor(this.rand() * 0x10000) };
  }

  /** A connects to B (B accepts the first SYN it sees). */
  connect(recvId = 1000, random16?: () => number): void {
    this.a.conn = UtpConnection.connect(this.hooks('a'), { ...this.opts(), ...(random16 !== undefined ? { random16 } : {}) }, recvId);
  }

  /** Put bytes straight into a side's inbox (a forged or hostile packet). */
  inject(to: 'a' | 'b', bytes: Buffer): void {
    this.deliver(to, bytes);
  }

  private transmit(bytes: Buffer, to: 'a' | 'b', from: 'a' | 'b'): void {
    const tampered = this.link.tamper === undefined ? bytes : this.link.tamper(bytes, from);
    if (tampered === undefined) return;
    if (this.link.loss !== undefined && this.rand() < this.link.loss) return;
    const delay = (this.link.delayMs ?? 1) + (this.link.jitterMs ?? 0) * this.rand() + (this.link.extraDelay?.(tampered, from) ?? 0);
    this.queue.push({ at: this.clock.now() + delay, to, bytes: tampered });
  }

  private deliver(to: 'a' | 'b', bytes: Buffer): void {
    const side = this[to];
    const p = decodePacket(bytes);
    if (side.conn === undefined) {
      if (to === 'b' && p.type === ST_SYN) side.conn = UtpConnection.accept(p, this.hooks('b'), this.opts());
      return;
    }
    side.conn.receive(p);
  }

  /** Run the link for `ms` of simulated time, 1 ms per step, ticking both sides every 20 ms. */
  run(ms: number, until?: () => boolean): void {
    for (let t = 0; t < ms; t++) {
      this.clock.advance(1);
      const now = this.clock.now();
      const due = this.queue.some((q) => q.at <= now) ? this.queue.filter((q) => q.at <= now) : [];
      if (due.length > 0) {
        this.queue.splice(0, this.queue.length, ...this.queue.filter((q) => q.at > now));
        due.sort((x, y) => x.at - y.at);
        for (const q of due) this.deliver(q.to, q.bytes);
      }
      this.a.conn?.flush();
      this.b.conn?.flush();
      if (t % 20 === 0) {
        this.a.conn?.tick();
        this.b.conn?.tick();
      }
      if (until?.()) return;
    }
  }
}

export function concat(side: Side): Buffer {
  return Buffer.concat(side.received);
}
