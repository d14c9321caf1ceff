/**
 * BEP 14 Local Service Discovery: announce our torrents to the local network over UDP
 * multicast and report the neighbours that announce the same torrents.
 *
 * Never used for private torrents: BEP 27 allows their peers only from the tracker, so the
 * caller must not pass a private torrent's info hash to `announce` (as for DHT and PEX).
 *
 * The socket is an injected `LsdTransport`; the default one (IPv4 group only) is opened only
 * when `start` is given none, so tests run on an in-memory transport and send nothing.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { toHex } from '../util/bytes.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import {
  decodeAnnounce,
  encodeAnnounce,
  infoHashesPerDatagram,
  LSD_GROUP_V4,
  LSD_HOST_V4,
  LSD_PORT,
  LsdError,
} from './lsd-codec.js';

export { LsdError } from './lsd-codec.js';

/** Where a datagram came from: `rinfo` of a UDP socket. */
export interface LsdSender {
  readonly address: string;
  readonly port: number;
}

/** One multicast group, reduced to what LSD needs; tests provide an in-memory one. */
export interface LsdTransport {
  /** The Host header value for this group (BEP 14: `239.192.152.143:6771` or `[ff15::efc0:988f]:6771`). */
  readonly host: string;
  /** Send one datagram to the group. Failures are the transport's to absorb: LSD is best effort. */
  send(datagram: Uint8Array): void;
  /** Install the one receive handler. */
  onMessage(handler: (datagram: Uint8Array, from: LsdSender) => void): void;
  close(): Promise<void>;
}

export interface LocalDiscoveryOptions {
  /** Our BitTorrent listen port, announced to the neighbours. */
  readonly port: number;
  readonly onPeer: (infoHashHex: string, peer: { host: string; port: number }) => void;
  /** Injected in tests; by default a socket joined to 239.192.152.143:6771 is opened. */
  readonly socket?: LsdTransport;
  /** The announce schedule and the report limit (default the system clock, whose timers never hold the process). */
  readonly clock?: Clock;
  /** Default: 8 random bytes in hex. */
  readonly cookie?: string;
  /** Peers reported through `onPeer` in any 60 s window. Default 50. */
  readonly maxPeersPerMinute?: number;
}

/** BEP 14: "a client should send no more than 1 announce per minute". */
export const MIN_SEND_INTERVAL_MS = 60_000;
/** BEP 14: "it should send a LSD announce every 5 minutes". */
export const REANNOUNCE_INTERVAL_MS = 5 * 60_000;
const REPORT_WINDOW_MS = 60_000;
/** Bound on the (info hash, peer) pairs remembered to skip repeated reports. */
const MAX_RECENT_REPORTS = 1024;

/** The subset of `dgram.Socket` the default transport uses, so its set-up can be tested without a socket. */
export interface MulticastSocket {
  on(event: 'message', listener: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  bind(port: number, callback: () => void): unknown;
  addMembership(group: string): void;
  setMulticastTTL(ttl: number): unknown;
  setMulticastLoopback(flag: boolean): unknown;
  unref(): unknown;
  send(msg: Uint8Array, port: number, address: string): void;
  close(callback: () => void): unknown;
}

/**
 * The IPv4 group socket: bound to port 6771 with `reuseAddr` so other BitTorrent clients on
 * this host can listen too, TTL 1 so announces stay on the local link, and loopback on so
 * two clients on one host find each other (our own announces come back and are recognised
 * by their cookie).
 */
export async function openMulticastTransport(
  createSocket: () => MulticastSocket = () => dgram.createSocket({ type: 'udp4', reuseAddr: true }),
): Promise<LsdTransport> {
  const socket = createSocket();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(LSD_PORT, () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    socket.addMembership(LSD_GROUP_V4);
    socket.setMulticastTTL(1);
    socket.setMulticastLoopback(true);
  } catch (err) {
    await new Promise<void>((resolve) => socket.close(resolve));
    throw new LsdError('lsd-socket', `cannot join the LSD group ${LSD_HOST_V4}: ${(err as Error).message}`, { cause: err });
  }
  // Send errors (no multicast route, interface down) must not crash the process; LSD just finds nobody.
  socket.on('error', () => undefined);
  socket.unref();
  return {
    host: LSD_HOST_V4,
    send: (datagram) => socket.send(datagram, LSD_PORT, LSD_GROUP_V4),
    onMessage: (handler) => {
      socket.on('message', (msg, rinfo) => handler(msg, { address: rinfo.address, port: rinfo.port }));
    },
    close: () => new Promise<void>((resolve) => socket.close(resolve)),
  };
}

interface Tracked {
  readonly infoHash: Uint8Array;
  lastSent: number | undefined;
}

/**
 * Announces the torrents given to `announce` and reports, through `onPeer`, neighbours that
 * announce one of those same torrents (announces for other torrents are dropped unread).
 */
export class LocalDiscovery {
  /** Torrents we announce, by lower-case hex; only announces for these are reported. */
  private readonly tracked = new Map<string, Tracked>();
  private readonly recent = new Map<string, number>();
  /** Times of the last `maxPeersPerMinute` reports, as a ring: a sliding-window limit in O(1). */
  private readonly reportTimes: number[];
  private reportNext = 0;
  private lastSendAt: number | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;

  private constructor(
    private readonly transport: LsdTransport,
    private readonly port: number,
    private readonly onPeer: LocalDiscoveryOptions['onPeer'],
    private readonly clock: Clock,
    readonly cookie: string,
    maxPeersPerMinute: number,
  ) {
    this.reportTimes = new Array<number>(maxPeersPerMinute).fill(Number.NEGATIVE_INFINITY);
    transport.onMessage((datagram, from) => this.receive(datagram, from));
  }

  static async start(opts: LocalDiscoveryOptions): Promise<LocalDiscovery> {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new LsdError('lsd-bad-port', `LSD needs our listen port (1–65535), got ${opts.port}`);
    const maxPeers = opts.maxPeersPerMinute ?? 50;
    if (!Number.isInteger(maxPeers) || maxPeers < 1) throw new LsdError('lsd-bad-limit', 'maxPeersPerMinute must be a positive integer');
    const cookie = opts.cookie ?? randomBytes(8).toString('hex');
    // Checks the cookie before any socket exists, rather than at the first announce.
    infoHashesPerDatagram({ host: LSD_HOST_V4, port: opts.port, cookie });
    const transport = opts.socket ?? (await openMulticastTransport());
    return new LocalDiscovery(transport, opts.port, opts.onPeer, opts.clock ?? systemClock, cookie, maxPeers);
  }

  /**
   * Announce these torrents now if the once-a-minute budget allows, else as soon as it does,
   * and again every 5 minutes until `withdraw`. A torrent already announced is not sent again
   * before its 5 minutes are up. Several due torrents share one datagram (BEP 14 multiple
   * Infohash headers); more than fit in 1400 bytes go round-robin, one datagram a minute.
   */
  announce(infoHashes: Uint8Array[]): void {
    if (this.closed) return;
    const bad = infoHashes.find((h) => h.length !== 20);
    if (bad !== undefined) throw new LsdError('lsd-bad-infohash', `an LSD info hash must be 20 bytes, got ${bad.length}`);
    for (const h of infoHashes) {
      const hex = toHex(h);
      if (!this.tracked.has(hex)) this.tracked.set(hex, { infoHash: Uint8Array.from(h), lastSent: undefined });
    }
    this.pump();
  }

  /** Stop announcing these torrents and reporting peers for them (a torrent stopped or removed). */
  withdraw(infoHashes: Uint8Array[]): void {
    for (const h of infoHashes) this.tracked.delete(toHex(h));
    this.pump();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.tracked.clear();
    await this.transport.close();
  }

  private pump(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.closed || this.tracked.size === 0) return;
    const now = this.clock.now();
    const budgetAt = this.lastSendAt === undefined ? now : this.lastSendAt + MIN_SEND_INTERVAL_MS;
    if (budgetAt <= now) this.sendDue(now);
    let next = Number.POSITIVE_INFINITY;
    for (const t of this.tracked.values()) next = Math.min(next, t.lastSent === undefined ? now : t.lastSent + REANNOUNCE_INTERVAL_MS);
    if (this.lastSendAt !== undefined) next = Math.max(next, this.lastSendAt + MIN_SEND_INTERVAL_MS);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, next - now));
  }

  private sendDue(now: number): void {
    const due = [...this.tracked.values()]
      .filter((t) => t.lastSent === undefined || now - t.lastSent >= REANNOUNCE_INTERVAL_MS)
      .sort((a, b) => (a.lastSent ?? Number.NEGATIVE_INFINITY) - (b.lastSent ?? Number.NEGATIVE_INFINITY));
    if (due.length === 0) return;
    const fields = { host: this.transport.host, port: this.port, cookie: this.cookie };
    const batch = due.slice(0, Math.max(1, infoHashesPerDatagram(fields)));
    this.transport.send(encodeAnnounce({ ...fields, infoHashes: batch.map((t) => t.infoHash) }));
    for (const t of batch) t.lastSent = now;
    this.lastSendAt = now;
  }

  private receive(datagram: Uint8Array, from: LsdSender): void {
    if (this.closed) return;
    const result = decodeAnnounce(datagram, { ownCookie: this.cookie });
    if (!result.ok) return;
    // BEP 14: the announcing client listens on the packet's source address, at the announced port.
    const peer = { host: from.address, port: result.announce.port };
    const now = this.clock.now();
    for (const hex of result.announce.infoHashes) {
      if (!this.tracked.has(hex)) continue;
      const key = `${hex} ${peer.host} ${peer.port}`;
      const seen = this.recent.get(key);
      // Copies within one re-announce period (several interfaces, replays) are reported once;
      // the next period's announce is reported again, so a peer the pool has dropped comes back.
      if (seen !== undefined && now - seen < REANNOUNCE_INTERVAL_MS) continue;
      if (!this.takeReport(now)) return;
      this.remember(key, now);
      this.onPeer(hex, { ...peer });
    }
  }

  private takeReport(now: number): boolean {
    if (now - this.reportTimes[this.reportNext]! < REPORT_WINDOW_MS) return false;
    this.reportTimes[this.reportNext] = now;
    this.reportNext = (this.reportNext + 1) % this.reportTimes.length;
    return true;
  }

  private remember(key: string, now: number): void {
    this.recent.delete(key);
    if (this.recent.size >= MAX_RECENT_REPORTS) {
      // Insertion order is report order: drop the oldest. Forgetting early only allows a repeat report.
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.recent.set(key, now);
  }
}
