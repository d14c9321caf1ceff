/**
 * The BEP 15 client: the socket edge around `udp-codec.ts`. One socket per address family
 * serves every UDP tracker this client talks to (for IPv4, optionally the listen port's
 * socket, shared with uTP and the DHT); replies are routed by transaction id and accepted
 * only from the address the request went to.
 *
 * Each exchange follows BEP 15: get a connection id (cached per tracker for 60 s), send the
 * request, and when nothing comes back within `base · 2^n` retransmit with n + 1, up to
 * n = `maxRetries`. BEP 15 uses base 15 s and n ≤ 8; both are injectable so tests run in ms.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { toHex } from '../util/bytes.js';
import type { DatagramChannel } from '../util/datagram.js';
import { systemClock, type Clock } from '../util/clock.js';
import { TrackerError } from './errors.js';
import { clampInterval, dedupePeers, normalizeIp, type PeerFamily } from './peers.js';
import type { AnnounceParams, AnnounceResult, ScrapeResult } from './types.js';
import {
  MAX_SCRAPE_HASHES,
  decodeAnnounceResponse,
  decodeConnectResponse,
  decodeScrapeResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
  peekResponse,
} from './udp-codec.js';

/** BEP 15: "A client can use a connection ID until one minute after it has received it." */
const CONNECTION_ID_TTL_MS = 60_000;

export interface UdpClientOptions {
  /** First timeout; BEP 15 says 15 s. */
  readonly baseTimeoutMs?: number;
  /** Highest n in base · 2^n; BEP 15 says 8. */
  readonly maxRetries?: number;
  /** Times retransmissions and connection-id expiry (default the system clock). */
  readonly clock?: Clock;
  /** Source of transaction ids and the announce key. */
  readonly randomU32?: () => number;
  /**
   * IPv4 exchanges go through this socket, which the owner binds and demultiplexes (its
   * datagrams that are neither uTP nor the DHT's); closing the client leaves it open.
   */
  readonly channel?: DatagramChannel;
}

/** Where an exchange sends its request. */
interface Sender {
  send(msg: Uint8Array, port: number, host: string, callback: (err: Error | null) => void): void;
}

interface Target {
  readonly address: string;
  readonly port: number;
  readonly family: PeerFamily;
}

interface Pending {
  readonly target: Target;
  /** A packet from the target with this transaction id; a malformed one is ignored. */
  readonly offer: (packet: Buffer) => void;
  readonly fail: (err: TrackerError) => void;
}

export class UdpTrackerClient {
  private readonly baseTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly clock: Clock;
  private readonly randomU32: () => number;
  private readonly key: number;
  private readonly sockets = new Map<PeerFamily, Socket>();
  private readonly channel: DatagramChannel | undefined;
  private stopListening: (() => void) | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly connections = new Map<string, { id: bigint; at: number }>();
  private closed = false;

  constructor(opts: UdpClientOptions = {}) {
    this.baseTimeoutMs = opts.baseTimeoutMs ?? 15_000;
    this.maxRetries = opts.maxRetries ?? 8;
    this.clock = opts.clock ?? systemClock;
    this.randomU32 = opts.randomU32 ?? (() => randomBytes(4).readUInt32BE(0));
    this.key = this.randomU32();
    this.channel = opts.channel;
  }

  async announce(url: string, params: AnnounceParams): Promise<AnnounceResult> {
    const target = await resolveUdpUrl(url);
    const res = await this.exchange(target, params.signal, (connectionId, transactionId) => ({
      packet: encodeAnnounceRequest({
        connectionId,
        transactionId,
        infoHash: params.infoHash,
        peerId: params.peerId,
        downloaded: params.downloaded,
        left: params.left,
        uploaded: params.uploaded,
        ...(params.event === undefined ? {} : { event: params.event }),
        key: params.key ?? this.key,
        numWant: params.numWant ?? -1,
        port: params.port,
      }),
      decode: (reply: Buffer) => decodeAnnounceResponse(reply, transactionId, target.family),
    }));
    return {
      interval: clampInterval(res.interval),
      peers: dedupePeers(res.peers),
      complete: res.seeders,
      incomplete: res.leechers,
    };
  }

  async scrape(url: string, infoHashes: readonly Uint8Array[], signal?: AbortSignal): Promise<ScrapeResult> {
    const target = await resolveUdpUrl(url);
    const out: ScrapeResult = new Map();
    for (let i = 0; i < infoHashes.length; i += MAX_SCRAPE_HASHES) {
      const batch = infoHashes.slice(i, i + MAX_SCRAPE_HASHES);
      const entries = await this.exchange(target, signal, (connectionId, transactionId) => ({
        packet: encodeScrapeRequest(connectionId, transactionId, batch),
        decode: (reply: Buffer) => decodeScrapeResponse(reply, transactionId, batch.length),
      }));
      batch.forEach((h, j) => out.set(toHex(h), entries[j]!));
    }
    return out;
  }

  /** Fails every exchange in flight and closes the sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending.values()]) p.fail(new TrackerError('tracker-aborted', 'udp tracker client closed'));
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    this.stopListening?.();
    this.stopListening = undefined;
    this.connections.clear();
  }

  /** Connect when needed, then one request, retransmitting on the BEP 15 schedule. */
  private async exchange<T>(
    target: Target,
    signal: AbortSignal | undefined,
    build: (connectionId: bigint, transactionId: number) => { packet: Buffer; decode: (reply: Buffer) => T },
  ): Promise<T> {
    const cacheKey = `${target.address}|${target.port}`;
    let malformed: TrackerError | undefined;
    for (let n = 0; n <= this.maxRetries; n++) {
      const timeoutMs = this.baseTimeoutMs * 2 ** n;
      const cached = this.connections.get(cacheKey);
      let connectionId: bigint;
      if (cached !== undefined && this.clock.now() - cached.at < CONNECTION_ID_TTL_MS) {
        connectionId = cached.id;
      } else {
        this.connections.delete(cacheKey);
        const txId = this.newTransactionId();
        const connected = await this.roundTrip(target, txId, encodeConnectRequest(txId), (reply) => decodeConnectResponse(reply, txId), timeoutMs, signal);
        if (!('value' in connected)) {
          malformed = connected.malformed ?? malformed;
          continue;
        }
        connectionId = connected.value;
        this.connections.set(cacheKey, { id: connectionId, at: this.clock.now() });
      }
      const txId = this.newTransactionId();
      const req = build(connectionId, txId);
      const reply = await this.roundTrip(target, txId, req.packet, req.decode, timeoutMs, signal);
      if ('value' in reply) return reply.value;
      malformed = reply.malformed ?? malformed;
    }
    // A tracker that only ever sent garbage is reported as such, not as silent.
    if (malformed !== undefined) throw malformed;
    throw new TrackerError('tracker-timeout', `udp tracker ${target.address}:${target.port} did not answer after ${this.maxRetries + 1} tries`);
  }

  /**
   * Send once and wait for a reply with that transaction id that `decode` accepts. A reply
   * `decode` finds malformed ('tracker-protocol') is ignored and the wait goes on: anyone who
   * sees or guesses the transaction id could send one, and the tracker's valid reply may still
   * come. Any other error (the tracker's BEP 15 error) ends the wait. On timeout, the result
   * carries the last malformed reply's error, if any.
   */
  private roundTrip<T>(
    target: Target,
    txId: number,
    packet: Buffer,
    decode: (reply: Buffer) => T,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ value: T } | { malformed?: TrackerError }> {
    if (this.closed) return Promise.reject(new TrackerError('tracker-aborted', 'udp tracker client is closed'));
    if (signal?.aborted === true) return Promise.reject(new TrackerError('tracker-aborted', 'announce aborted'));
    const socket = this.sender(target.family);
    return new Promise<{ value: T } | { malformed?: TrackerError }>((resolve, reject) => {
      let malformed: TrackerError | undefined;
      const finish = (): void => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(txId);
      };
      const fail = (err: TrackerError): void => {
        finish();
        reject(err);
      };
      const onAbort = (): void => fail(new TrackerError('tracker-aborted', 'announce aborted'));
      const timer = this.clock.setTimeout(() => {
        finish();
        resolve(malformed === undefined ? {} : { malformed });
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(txId, {
        target,
        offer: (reply) => {
          let value: T;
          try {
            value = decode(reply);
          } catch (err) {
            if (!(err instanceof TrackerError) || err.code === 'tracker-protocol') {
              malformed = err instanceof TrackerError ? err : new TrackerError('tracker-protocol', 'udp tracker: undecodable reply', { cause: err });
              return;
            }
            fail(err);
            return;
          }
          finish();
          resolve({ value });
        },
        fail,
      });
      socket.send(packet, target.port, target.address, (err) => {
        if (err === null || !this.pending.has(txId)) return;
        fail(new TrackerError('tracker-network', `udp send to ${target.address}:${target.port} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  private sender(family: PeerFamily): Sender {
    if (family === 4 && this.channel !== undefined) {
      this.stopListening ??= this.channel.listen((msg, address, port) => this.onMessage(msg, address, port));
      return this.channel;
    }
    let s = this.sockets.get(family);
    if (s !== undefined) return s;
    s = createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
    // ICMP unreachable and the like surface here; the exchange then times out and retries.
    s.on('error', () => undefined);
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
    this.sockets.set(family, s);
    return s;
  }

  private onMessage(msg: Buffer, address: string, port: number): void {
    if (msg.length < 8) return;
    const { transactionId } = peekResponse(msg);
    const p = this.pending.get(transactionId);
    // A reply we no longer wait for (late, after a retransmission) or from another host: dropped.
    if (p === undefined || p.target.port !== port || normalizeIp(p.target.address) !== normalizeIp(address)) return;
    p.offer(msg);
  }

  private newTransactionId(): number {
    for (;;) {
      const id = this.randomU32() >>> 0;
      if (!this.pending.has(id)) return id;
    }
  }
}

/** `udp://host:port[/path]` → the address to send to. */
export async function resolveUdpUrl(url: string): Promise<Target> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TrackerError('tracker-bad-url', `not a URL: ${url}`);
  }
  if (u.protocol !== 'udp:') throw new TrackerError('tracker-bad-url', `not a udp:// tracker: ${url}`);
  const port = Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TrackerError('tracker-bad-url', `udp tracker without a port: ${url}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const literal = isIP(host);
  if (literal === 4 || literal === 6) return { address: host, port, family: literal };
  try {
    const r = await lookup(host);
    return { address: r.address, port, family: r.family === 6 ? 6 : 4 };
  } catch (err) {
    throw new TrackerError('tracker-network', `cannot resolve ${host}`, { cause: err });
  }
}
