/**
 * A BEP 5 DHT node on one UDP socket: the only file of the DHT layer that does I/O. It sends
 * the queries that `Lookup` asks for, answers other nodes through `answerQuery`, and keeps
 * the routing table alive. Every outgoing packet passes `allowAddress` and a global rate
 * limit; every incoming query passes a per-IP rate limit; answers are bounded in size. So
 * the node cannot be steered into flooding anyone, and hostile packets only cost a decode.
 */
import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DatagramChannel } from '../util/datagram.js';
import { ipFamily } from '../util/ip.js';
import type { PeerAddress } from '../metainfo/types.js';
import { NODE_ID_LENGTH, type NodeContact, isIpv4 } from './compact.js';
import { DhtError, KrpcError } from './errors.js';
import {
  KRPC_METHOD_UNKNOWN,
  KRPC_PROTOCOL_ERROR,
  MAX_KRPC_PACKET,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcResponseBody,
  decodeKrpc,
  encodeKrpc,
} from './krpc.js';
import { Lookup, type LookupResult, type SeedContact } from './lookup.js';
import type { RandomBytes } from './node-id.js';
import { PeerStore } from './peer-store.js';
import { KeyedRateLimiter, type RateOptions, TokenBucket } from './rate-limit.js';
import { answerQuery } from './responder.js';
import { K, RoutingTable } from './routing-table.js';
import { loadState, saveState } from './state-file.js';
import { bindDhtSocket, sharedDhtSocket, type DhtSocket } from './socket.js';
import { TokenIssuer } from './token.js';

/** The public routers most clients bootstrap from. Never used unless passed explicitly. */
export const DEFAULT_BOOTSTRAP: readonly BootstrapAddress[] = [
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
];

export interface BootstrapAddress {
  readonly host: string;
  readonly port: number;
}

export interface DhtNodeOptions {
  /** UDP port; 0 or absent picks a free one. */
  readonly port?: number;
  /**
   * A socket the owner bound and demultiplexes (the DHT's share of it: datagrams that start
   * with 'd'); then `port` and `host` are not used and closing the node leaves it open.
   */
  readonly channel?: DatagramChannel;
  /** Address to bind, default '0.0.0.0', or '::' for family 6. */
  readonly host?: string;
  /**
   * 4: the BEP 5 DHT. 6: the IPv6 DHT of BEP 32, a separate network with its own routing table
   * and socket: nodes travel in `nodes6`, queries say `want: n6`. Default: the family of `host`, else 4.
   */
  readonly family?: 4 | 6;
  readonly nodeId?: Uint8Array;
  readonly bootstrap: readonly BootstrapAddress[];
  /** Every address we would send to must pass this; tests allow loopback only. */
  readonly allowAddress?: (host: string) => boolean;
  /** Milliseconds for node ages, token rotation, peer expiry and rate limits. */
  readonly clock?: () => number;
  readonly random?: RandomBytes;
  /** Where `save()` writes the routing table, and `start()` reads it back. */
  readonly stateFile?: string;
  readonly queryTimeoutMs?: number;
  readonly lookupTimeoutMs?: number;
  /** Incoming queries per source IP (default 20/s, burst 50). */
  readonly incomingRate?: RateOptions;
  /** Everything we send (default 250/s, burst 250). */
  readonly outgoingRate?: RateOptions;
  readonly maintenanceIntervalMs?: number;
}

export interface GetPeersOptions {
  readonly signal?: AbortSignal;
  /** Called once per newly found peer, as answers arrive. */
  readonly onPeer?: (peer: PeerAddress) => void;
  /** After the lookup, announce ourselves on this TCP port to the closest nodes. */
  readonly announcePort?: number;
}

export interface DhtStats {
  received: number;
  sent: number;
  malformed: number;
  rateLimited: number;
  dropped: number;
}

interface Pending {
  readonly host: string;
  readonly port: number;
  readonly expectedId: Uint8Array | undefined;
  readonly resolve: (body: KrpcResponseBody) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const MAX_PENDING = 1024;
const MAX_SEND_QUEUE = 256;
/** Unverified queriers pinged at once before they may enter the table. */
const MAX_VERIFYING = 16;
const MAX_REFRESH_PER_TICK = 3;
const MAX_PINGS_PER_TICK = 8;

/** Addresses no honest node has: unspecified, "this network", multicast and broadcast. */
function usable(host: string, port: number, family: 4 | 6): boolean {
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) return false;
  if (family === 6) {
    // Unicast only: not unspecified, multicast (ff00::/8) or IPv4-mapped (that is the IPv4 DHT's).
    return ipFamily(host) === 6 && host !== '::' && !/^ff/i.test(host) && !/^::ffff:/i.test(host);
  }
  if (!isIpv4(host)) return false;
  const first = Number(host.split('.')[0]);
  return first !== 0 && first < 224;
}

export class DhtNode {
  readonly id: Uint8Array;
  readonly family: 4 | 6;
  private readonly socket: DhtSocket;
  private readonly now: () => number;
  private readonly random: RandomBytes;
  private readonly allow: (host: string) => boolean;
  private readonly table: RoutingTable;
  private readonly tokens: TokenIssuer;
  private readonly peers: PeerStore;
  private readonly incoming: KeyedRateLimiter;
  private readonly outgoing: TokenBucket;
  private readonly pending = new Map<string, Pending>();
  private readonly sendQueue: { bytes: Uint8Array; host: string; port: number }[] = [];
  private readonly verifying = new Set<string>();
  private readonly lookups = new Set<() => void>();
  private readonly counters: DhtStats = { received: 0, sent: 0, malformed: 0, rateLimited: 0, dropped: 0 };
  private seeds: SeedContact[] = [];
  private drainTimer: NodeJS.Timeout | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    socket: DhtSocket,
    id: Uint8Array,
    private readonly options: DhtNodeOptions,
    savedNodes: readonly NodeContact[],
  ) {
    this.socket = socket;
    this.family = familyOf(options);
    this.id = id;
    this.now = options.clock ?? Date.now;
    this.random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.allow = options.allowAddress ?? (() => true);
    this.table = new RoutingTable(id, { now: this.now });
    this.tokens = new TokenIssuer({ now: this.now, random: this.random });
    this.peers = new PeerStore({ now: this.now });
    this.incoming = new KeyedRateLimiter(options.incomingRate ?? { perSecond: 20, burst: 50 }, this.now);
    this.outgoing = new TokenBucket(options.outgoingRate ?? { perSecond: 250, burst: 250 }, this.now);
    this.seeds = savedNodes.filter((n) => this.acceptable(n.host, n.port));
    socket.listen((msg, host, port) => this.onPacket(msg, host, port));
    const interval = options.maintenanceIntervalMs ?? 60_000;
    this.maintenance = setInterval(() => this.maintain(), interval);
    this.maintenance.unref();
  }

  /** Binds the socket and loads the saved routing table, if any. */
  static async start(options: DhtNodeOptions): Promise<DhtNode> {
    const saved = options.stateFile === undefined ? undefined : await loadState(options.stateFile);
    const random: RandomBytes = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    const id = options.nodeId ?? saved?.id ?? random(NODE_ID_LENGTH);
    if (id.length !== NODE_ID_LENGTH) throw new DhtError('bad-node-id', `node id must be ${NODE_ID_LENGTH} bytes`);
    const family = familyOf(options);
    const socket = options.channel !== undefined ? sharedDhtSocket(options.channel) : await bindDhtSocket(family, options.port ?? 0, options.host ?? (family === 6 ? '::' : '0.0.0.0'));
    return new DhtNode(socket, new Uint8Array(id), options, saved?.nodes ?? []);
  }

  get port(): number {
    return this.socket.port;
  }

  nodeCount(): number {
    return this.table.size();
  }

  stats(): DhtStats {
    return { ...this.counters };
  }

  /** Resolves the bootstrap hosts and looks up our own id to fill the table (BEP 5). */
  async bootstrap(options: { signal?: AbortSignal } = {}): Promise<void> {
    const resolved: SeedContact[] = [];
    for (const b of this.options.bootstrap) {
      const host = isIP(b.host) === this.family ? b.host : isIP(b.host) !== 0 ? undefined : await this.resolve(b.host);
      if (host !== undefined && this.acceptable(host, b.port)) resolved.push({ host, port: b.port });
    }
    this.seeds = [...this.seeds, ...resolved].slice(0, 64);
    await this.lookup('find_node', this.id, options);
  }

  /** Finds peers for `infoHash`; with `announcePort`, announces us to the closest nodes after. */
  async getPeers(infoHash: Uint8Array, options: GetPeersOptions = {}): Promise<PeerAddress[]> {
    checkHash(infoHash);
    const lookup = await this.lookup('get_peers', infoHash, options);
    if (options.announcePort !== undefined) await this.announceTo(lookup.results(), infoHash, options.announcePort, false);
    return lookup.peers();
  }

  /** Announces us as a peer on TCP `port`; resolves to the number of nodes that accepted. */
  async announce(infoHash: Uint8Array, port: number, options: { signal?: AbortSignal; impliedPort?: boolean } = {}): Promise<number> {
    checkHash(infoHash);
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new DhtError('bad-port', `port out of range: ${port}`);
    const lookup = await this.lookup('get_peers', infoHash, options);
    return this.announceTo(lookup.results(), infoHash, port, options.impliedPort ?? false);
  }

  async save(): Promise<void> {
    if (this.options.stateFile === undefined) throw new DhtError('no-state-file', 'no stateFile was configured');
    await saveState(this.options.stateFile, { id: this.id, nodes: this.table.contacts() });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.maintenance);
    clearTimeout(this.drainTimer);
    this.sendQueue.length = 0;
    for (const finish of [...this.lookups]) finish();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DhtError('closed', 'DHT node closed'));
    }
    this.pending.clear();
    await this.socket.close();
  }

  /** Sends one query and waits for its answer (or a timeout, error reply, or close). */
  private query(host: string, port: number, query: KrpcQuery, expectedId?: Uint8Array): Promise<KrpcResponseBody> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new DhtError('closed', 'DHT node closed'));
      if (this.pending.size >= MAX_PENDING) return reject(new DhtError('busy', 'too many queries in flight'));
      let t = this.random(4);
      for (let i = 0; i < 8 && this.pending.has(key(t)); i++) t = this.random(4);
      const tk = key(t);
      if (this.pending.has(tk)) return reject(new DhtError('busy', 'no free transaction id'));
      const timer = setTimeout(() => {
        this.pending.delete(tk);
        if (expectedId !== undefined) this.table.noteFailure(expectedId);
        reject(new DhtError('timeout', `no answer from ${host}:${port}`));
      }, this.options.queryTimeoutMs ?? 2000);
      timer.unref();
      this.pending.set(tk, { host, port, expectedId, resolve, reject, timer });
      if (!this.send({ type: 'query', t, query }, host, port)) {
        clearTimeout(timer);
        this.pending.delete(tk);
        reject(new DhtError('not-sent', `query to ${host}:${port} refused or rate-limited`));
      }
    });
  }

  /** Queues one message through the address filter and the outgoing rate limit. */
  private send(msg: KrpcMessage, host: string, port: number): boolean {
    if (this.closed || !this.acceptable(host, port)) return false;
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

  private transmit(bytes: Uint8Array, host: string, port: number): void {
    this.counters.sent++;
    this.socket.send(bytes, port, host, (err) => {
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
    if (ipFamily(host) !== this.family || !this.acceptable(host, port) || packet.length > MAX_KRPC_PACKET) {
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
      this.onQuery(msg.t, msg.query, host, port);
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
    this.learn({ id: msg.response.id, host, port });
    // The IPv6 network's contacts arrive in `nodes6`; the lookup reads one list, the node's own.
    const r = msg.response;
    p.resolve(this.family === 6 ? { id: r.id, ...(r.nodes6 !== undefined ? { nodes: r.nodes6 } : {}), ...(r.values !== undefined ? { values: r.values } : {}), ...(r.token !== undefined ? { token: r.token } : {}) } : r);
  }

  private onQuery(t: Uint8Array, query: KrpcQuery, host: string, port: number): void {
    if (!this.incoming.allow(host)) {
      this.counters.rateLimited++;
      return;
    }
    const answer = answerQuery({ ownId: this.id, table: this.table, tokens: this.tokens, peers: this.peers, family: this.family }, query, { host, port });
    if (answer.kind === 'response') this.send({ type: 'response', t, response: answer.body }, host, port);
    else this.send({ type: 'error', t, code: answer.code, message: answer.message }, host, port);
    this.table.noteQuery(query.id);
    // A querier is unverified; BEP 5 admits nodes that answer us, so ping it first.
    if (this.table.wouldAccept(query.id)) void this.verify({ id: query.id, host, port }, 1);
  }

  /** A node answered us: it may enter the table, which may ask us to ping a questionable one. */
  private learn(contact: NodeContact): void {
    const result = this.table.noteResponse(contact);
    if (result.kind === 'ping') void this.verify(result.questionable, 2);
  }

  /** Pings `contact` up to `attempts` times; answers are learned, silences counted as failures. */
  private async verify(contact: NodeContact, attempts: number): Promise<void> {
    const k = `${contact.host}:${contact.port}`;
    if (this.verifying.has(k) || this.verifying.size >= MAX_VERIFYING) return;
    this.verifying.add(k);
    try {
      for (let i = 0; i < attempts && !this.closed; i++) {
        try {
          await this.query(contact.host, contact.port, { method: 'ping', id: this.id }, contact.id);
          return;
        } catch {
          // The timeout already counted the failure in the table; try again or give up.
        }
      }
    } finally {
      this.verifying.delete(k);
    }
  }

  private lookup(kind: 'find_node' | 'get_peers', target: Uint8Array, options: GetPeersOptions): Promise<Lookup> {
    const known: SeedContact[] = this.table.closest(target, K * 2);
    const seeds = known.length >= K ? known : [...known, ...this.seeds];
    const lookup = new Lookup({ target, seeds, selfId: this.id, accept: (c) => this.acceptable(c.host, c.port) });
    const want = this.family === 6 ? { want: ['n6' as const] } : {};
    const message: KrpcQuery = kind === 'find_node' ? { method: 'find_node', id: this.id, target, ...want } : { method: 'get_peers', id: this.id, infoHash: target, ...want };
    return new Promise<Lookup>((resolve, reject) => {
      let finished = false;
      let failure: unknown;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        options.signal?.removeEventListener('abort', finish);
        this.lookups.delete(finish);
        if (failure === undefined) resolve(lookup);
        else reject(failure);
      };
      const pump = (): void => {
        if (finished) return;
        for (const q of lookup.next()) {
          const expected = known.find((c) => c.host === q.host && c.port === q.port)?.id;
          this.query(q.host, q.port, message, expected).then(
            (body) => {
              if (finished) return;
              for (const peer of lookup.onResponse(q.key, body)) {
                try {
                  options.onPeer?.(peer);
                } catch (err) {
                  failure = err;
                  finish();
                  return;
                }
              }
              pump();
            },
            () => {
              if (finished) return;
              lookup.onFailure(q.key);
              pump();
            },
          );
        }
        if (this.closed || lookup.done) finish();
      };
      const deadline = setTimeout(finish, this.options.lookupTimeoutMs ?? 30_000);
      deadline.unref();
      this.lookups.add(finish);
      if (options.signal?.aborted) return finish();
      options.signal?.addEventListener('abort', finish, { once: true });
      pump();
    });
  }

  private async announceTo(results: readonly LookupResult[], infoHash: Uint8Array, port: number, impliedPort: boolean): Promise<number> {
    const attempts = results
      .filter((r) => r.token !== undefined)
      .map((r) =>
        this.query(r.contact.host, r.contact.port, { method: 'announce_peer', id: this.id, infoHash, port, token: r.token!, impliedPort }, r.contact.id).then(
          () => 1,
          () => 0,
        ),
      );
    const done = await Promise.all(attempts);
    return done.reduce<number>((a, b) => a + b, 0);
  }

  /** Periodic upkeep (BEP 5): refresh stale buckets, re-ping questionable nodes, expire peers. */
  private maintain(): void {
    if (this.closed) return;
    for (const target of this.table.refreshTargets(this.random).slice(0, MAX_REFRESH_PER_TICK)) {
      void this.lookup('find_node', target, {});
    }
    for (const node of this.table.questionable(MAX_PINGS_PER_TICK)) void this.verify(node, 2);
    this.peers.prune();
  }

  private async resolve(host: string): Promise<string | undefined> {
    try {
      return (await dnsLookup(host, { family: this.family })).address;
    } catch {
      return undefined;
    }
  }

  private acceptable(host: string, port: number): boolean {
    return usable(host, port, this.family) && this.allow(host);
  }
}

function familyOf(options: DhtNodeOptions): 4 | 6 {
  return options.family ?? (options.host !== undefined && ipFamily(options.host) === 6 ? 6 : 4);
}

function key(t: Uint8Array): string {
  return Buffer.from(t).toString('latin1');
}

function checkHash(infoHash: Uint8Array): void {
  if (infoHash.length !== NODE_ID_LENGTH) throw new DhtError('bad-info-hash', `info hash must be ${NODE_ID_LENGTH} bytes`);
}

/** Remote text reaches logs and terminals: keep it short and free of control characters. */
function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, 200);
}
