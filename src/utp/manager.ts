/**
 * Every uTP connection on one UDP socket: routes packets by (address, port, connection id),
 * opens outgoing connections, accepts incoming SYNs up to a cap on half-open ones, drives
 * the connections' timers with one shared tick, and sends the ACKs that receiving owes
 * once per batch of datagrams rather than once per packet.
 *
 * The socket itself is the owner's: packets come in through `receive` and leave through
 * the injected `send`, so the UDP port can be shared with the DHT and UDP trackers.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { UtpConnection, type UtpConnectionOptions } from './connection.js';
import { decodePacket, encodePacket, ST_RESET, ST_SYN, type UtpPacket } from './packet.js';
import { UtpStream } from './stream.js';

export type DatagramSend = (packet: Buffer, port: number, host: string) => void;

export interface UtpManagerOptions {
  /** Default: the system clock (with microsecond timestamps from the monotonic clock). */
  clock?: Clock;
  /** Incoming connections that have not yet sent anything after their SYN. Default 32. */
  maxHalfOpen?: number;
  /**
   * Of those, from one address. Default 8: a stranger's SYN flood fills its own share, not
   * the whole cap, and peers elsewhere still get in.
   */
  maxHalfOpenPerHost?: number;
  /** Connections in all. Default 500. */
  maxConnections?: number;
  /** Told of each accepted connection; absent, incoming SYNs are reset. */
  onAccept?: (stream: UtpStream) => void;
}

const TICK_MS = 100;

interface Entry {
  conn: UtpConnection;
  stream: UtpStream;
}

export class UtpManager {
  private readonly clock: Clock;
  private readonly connOpts: UtpConnectionOptions;
  private readonly conns = new Map<string, Entry>();
  private readonly dirty = new Set<UtpConnection>();
  private flushScheduled = false;
  private ticker: TimerHandle | undefined;
  private closed = false;
  /** Datagrams that were not uTP for any connection we know (answered with ST_RESET or ignored). */
  strays = 0;

  constructor(
    private readonly send: DatagramSend,
    private readonly opts: UtpManagerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    const micros = this.clock === systemClock ? () => Math.floor(performance.now() * 1000) : () => this.clock.now() * 1000;
    this.connOpts = { now: () => this.clock.now(), micros, random16: () => randomBytes(2).readUInt16BE(0) };
  }

  get size(): number {
    return this.conns.size;
  }

  /** Open a uTP connection; the stream emits 'connect', or 'error' with `connect-timeout`. */
  connect(host: string, port: number): UtpStream {
    const stream = new UtpStream(host, port);
    if (this.closed || this.conns.size >= (this.opts.maxConnections ?? 500)) {
      process.nextTick(() => stream.destroy(new Error('too many uTP connections')));
      return stream;
    }
    let recvId = 0;
    for (let i = 0; i < 100; i++) {
      recvId = this.connOpts.random16();
      if (!this.conns.has(key(host, port, recvId)) && !this.conns.has(key(host, port, (recvId + 1) & 0xffff))) break;
    }
    const k = key(host, port, recvId);
    const hooks = stream.hooks((p) => this.send(p, port, host), () => this.release(k, stream));
    const conn = UtpConnection.connect(hooks, this.connOpts, recvId);
    this.add(k, conn, stream);
    return stream;
  }

  /** A datagram the socket identified as uTP (see `isUtpPacket`). */
  receive(msg: Buffer, host: string, port: number): void {
    if (this.closed) return;
    let p: UtpPacket;
    try {
      p = decodePacket(msg);
    } catch {
      this.strays++;
      return;
    }
    if (p.type === ST_SYN) return this.onSyn(p, host, port);
    const entry = this.conns.get(key(host, port, p.connectionId));
    if (entry === undefined) {
      this.strays++;
      // Tell the sender the connection is gone (as libtorrent does), never in answer to a reset.
      if (p.type !== ST_RESET) this.reset(p, host, port);
      return;
    }
    entry.conn.receive(p);
    this.markDirty(entry.conn);
  }

  /** Reset every connection and stop the timers. */
  close(): void {
    this.closed = true;
    for (const e of [...this.conns.values()]) e.stream.destroy();
    for (const e of [...this.conns.values()]) e.conn.destroy();
    this.conns.clear();
    this.ticker?.cancel();
    this.ticker = undefined;
  }

  private onSyn(syn: UtpPacket, host: string, port: number): void {
    const k = key(host, port, (syn.connectionId + 1) & 0xffff);
    const existing = this.conns.get(k);
    if (existing !== undefined) return existing.conn.resendSynAck();
    const onAccept = this.opts.onAccept;
    if (
      onAccept === undefined ||
      this.conns.size >= (this.opts.maxConnections ?? 500) ||
      this.halfOpen() >= (this.opts.maxHalfOpen ?? 32) ||
      this.halfOpen(host) >= (this.opts.maxHalfOpenPerHost ?? 8)
    ) {
      this.strays++;
      return this.reset(syn, host, port);
    }
    const stream = new UtpStream(host, port);
    const hooks = stream.hooks((p) => this.send(p, port, host), () => this.release(k, stream));
    const conn = UtpConnection.accept(syn, hooks, this.connOpts);
    this.add(k, conn, stream);
    onAccept(stream);
  }

  private add(k: string, conn: UtpConnection, stream: UtpStream): void {
    stream.conn = conn;
    this.conns.set(k, { conn, stream });
    this.ticker ??= this.clock.setInterval(() => this.tick(), TICK_MS);
  }

  private release(k: string, stream: UtpStream): void {
    if (this.conns.get(k)?.stream === stream) this.conns.delete(k);
    if (this.conns.size === 0) {
      this.ticker?.cancel();
      this.ticker = undefined;
    }
  }

  /** Incoming connections still half-open, in all or from `host`. */
  private halfOpen(host?: string): number {
    let n = 0;
    for (const e of this.conns.values()) if (e.conn.state === 'syn-recv' && (host === undefined || e.stream.remoteAddress === host)) n++;
    return n;
  }

  private tick(): void {
    for (const e of [...this.conns.values()]) e.conn.tick();
  }

  /** The ACKs a batch of datagrams owes go out after the batch (one setImmediate per batch). */
  private markDirty(conn: UtpConnection): void {
    this.dirty.add(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const c of this.dirty) c.flush();
      this.dirty.clear();
    });
  }

  private reset(p: UtpPacket, host: string, port: number): void {
    this.send(encodePacket({ type: ST_RESET, connectionId: p.connectionId, timestamp: 0, timestampDiff: 0, wndSize: 0, seq: this.connOpts.random16(), ack: p.seq }), port, host);
  }
}

function key(host: string, port: number, id: number): string {
  return `${host}|${port}|${id}`;
}
