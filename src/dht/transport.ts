/**
 * The KRPC transaction layer of a DHT node (libtorrent's rpc_manager): it owns the socket's
 * traffic. Every outgoing packet passes the address filter and a global rate limit (a bounded
 * queue absorbs bursts); every incoming query passes a per-IP rate limit before the node sees
 * it; an answer is taken only from the address that was asked, under a transaction id that is
 * pending. The node above it keeps the routing table, the lookups and its own id.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { ipFamily } from '../util/ip.js';
import { DhtError, KrpcError } from './errors.js';
import { KRPC_METHOD_UNKNOWN, KRPC_PROTOCOL_ERROR, MAX_KRPC_PACKET, type KrpcMessage, type KrpcQuery, type KrpcResponseBody, decodeKrpc, encodeKrpc } from './krpc.js';
import type { RandomBytes } from './node-id.js';
import { KeyedRateLimiter, type RateOptions, TokenBucket } from './rate-limit.js';
import type { DhtSocket } from './socket.js';

export interface DhtStats {
  received: number;
  sent: number;
  malformed: number;
  rateLimited: number;
  dropped: number;
}

/** An answer to one of our queries, with BEP 42's `ip` when the responder sent it. */
export interface KrpcAnswer {
  readonly body: KrpcResponseBody;
  readonly ip?: PeerAddress;
}

export interface TransportOptions {
  readonly socket: DhtSocket;
  readonly family: 4 | 6;
  readonly now: () => number;
  readonly random: RandomBytes;
  /** The address filter every packet in and out must pass. */
  readonly acceptable: (host: string, port: number) => boolean;
  readonly incomingRate: RateOptions;
  readonly outgoingRate: RateOptions;
  readonly queryTimeoutMs: number;
  /** A well-formed query that passed the per-IP limit. */
  readonly onQuery: (t: Uint8Array, query: KrpcQuery, host: string, port: number) => void;
}

interface Pending {
  readonly host: string;
  readonly port: number;
  readonly resolve: (answer: KrpcAnswer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const MAX_PENDING = 1024;
const MAX_SEND_QUEUE = 256;

export class KrpcTransport {
  private readonly incoming: KeyedRateLimiter;
  private readonly outgoing: TokenBucket;
  private readonly pending = new Map<string, Pending>();
  private readonly sendQueue: { bytes: Uint8Array; host: string; port: number }[] = [];
  private readonly counters: DhtStats = { received: 0, sent: 0, malformed: 0, rateLimited: 0, dropped: 0 };
  private drainTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: TransportOptions) {
    this.incoming = new KeyedRateLimiter(opts.incomingRate, opts.now);
    this.outgoing = new TokenBucket(opts.outgoingRate, opts.now);
    opts.socket.listen((msg, host, port) => this.onPacket(msg, host, port));
  }

  get port(): number {
    return this.opts.socket.port;
  }

  stats(): DhtStats {
    return { ...this.counters };
  }

  /** Sends one query and waits for its answer; rejects with `DhtError` (timeout, remote-error, not-sent, busy, closed). */
  query(host: string, port: number, query: KrpcQuery): Promise<KrpcAnswer> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new DhtError('closed', 'DHT node closed'));
      if (this.pending.size >= MAX_PENDING) return reject(new DhtError('busy', 'too many queries in flight'));
      let t = this.opts.random(4);
      for (let i = 0; i < 8 && this.pending.has(key(t)); i++) t = this.opts.random(4);
      const tk = key(t);
      if (this.pending.has(tk)) return reject(new DhtError('busy', 'no free transaction id'));
      const timer = setTimeout(() => {
        this.pending.delete(tk);
        reject(new DhtError('timeout', `no answer from ${host}:${port}`));
      }, this.opts.queryTimeoutMs);
      timer.unref();
      this.pending.set(tk, { host, port, resolve, reject, timer });
      if (!this.send({ type: 'query', t, query }, host, port)) {
        clearTimeout(timer);
        this.pending.delete(tk);
        reject(new DhtError('not-sent', `query to ${host}:${port} refused or rate-limited`));
      }
    });
  }

  /** Queues one message through the address filter and the outgoing rate limit. */
  send(msg: KrpcMessage, host: string, port: number): boolean {
    if (this.closed || !this.opts.acceptable(host, port)) return false;
    let bytes: Uint8Array;
    try {
      bytes = encodeKrpc(msg);
    } catch {
      // Only an answer echoing hostile input could fail to encode; dropping it is the answer.
      this.counters.dropped++;
      return false;
    }
    if (this.outgoing.take()) {
      this.transmit(bytes, host, port);
      return true;
    }
    if (this.sendQueue.length >= MAX_SEND_QUEUE) {
      this.counters.dropped++;
      return false;
    }
    this.sendQueue.push({ bytes, host, port });
    this.scheduleDrain();
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.drainTimer);
    this.sendQueue.length = 0;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DhtError('closed', 'DHT node closed'));
    }
    this.pending.clear();
    await this.opts.socket.close();
  }

  private transmit(bytes: Uint8Array, host: string, port: number): void {
    this.counters.sent++;
    this.opts.socket.send(bytes, port, host, (err) => {
      if (err) this.counters.dropped++;
    });
  }

  private scheduleDrain(): void {
    if (this.drainTimer !== undefined || this.closed) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      while (this.sendQueue.length > 0 && this.outgoing.take()) {
        const next = this.sendQueue.shift()!;
        this.transmit(next.bytes, next.host, next.port);
      }
      if (this.sendQueue.length > 0) this.scheduleDrain();
    }, Math.max(1, this.outgoing.waitMs()));
    this.drainTimer.unref();
  }

  private onPacket(packet: Buffer, host: string, port: number): void {
    if (this.closed) return;
    this.counters.received++;
    if (ipFamily(host) !== this.opts.family || !this.opts.acceptable(host, port) || packet.length > MAX_KRPC_PACKET) {
      this.counters.dropped++;
      return;
    }
    let msg: KrpcMessage;
    try {
      msg = decodeKrpc(packet);
    } catch (err) {
      this.counters.malformed++;
      if (err instanceof KrpcError && err.wasQuery && err.transactionId !== undefined && this.incoming.allow(host)) {
        const code = err.code === 'unknown-method' ? KRPC_METHOD_UNKNOWN : KRPC_PROTOCOL_ERROR;
        this.send({ type: 'error', t: err.transactionId, code, message: err.message }, host, port);
      }
      return;
    }
    if (msg.type === 'query') {
      if (!this.incoming.allow(host)) {
        this.counters.rateLimited++;
        return;
      }
      this.opts.onQuery(msg.t, msg.query, host, port);
      return;
    }
    const tk = key(msg.t);
    const p = this.pending.get(tk);
    // Only the address we asked may answer: a guessed transaction id from elsewhere is ignored.
    if (p === undefined || p.host !== host || p.port !== port) {
      this.counters.dropped++;
      return;
    }
    this.pending.delete(tk);
    clearTimeout(p.timer);
    if (msg.type === 'error') {
      p.reject(new DhtError('remote-error', `${host}:${port} answered error ${msg.code}: ${printable(msg.message)}`));
      return;
    }
    p.resolve({ body: msg.response, ...(msg.ip !== undefined ? { ip: msg.ip } : {}) });
  }
}

function key(t: Uint8Array): string {
  return Buffer.from(t).toString('latin1');
}

/** Remote text reaches logs and terminals: keep it short and free of control characters. */
function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, 200);
}
