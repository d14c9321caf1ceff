/**
 * A BEP 5 DHT node on one UDP socket. It sends the queries that `Lookup` asks for, answers
 * other nodes through `answerQuery`, and keeps the routing table alive; its traffic passes
 * `KrpcTransport` (transport.ts), where the address filter and the rate limits sit, and
 * answers are bounded in size. So the node cannot be steered into flooding anyone, and
 * hostile packets only cost a decode.
 *
 * BEP 42: answers tell us our address as others see it (`onExternalAddress`), and once the
 * owner settles on an external address, `adoptExternalAddress` gives the node an id that
 * conforms to it and rejoins the network under that id, as libtorrent does when its external
 * address changes. Other nodes' ids are not checked against their addresses (nor does
 * libtorrent by default).
 */
import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DatagramChannel } from '../util/datagram.js';
import { ipFamily } from '../util/ip.js';
import type { PeerAddress } from '../metainfo/types.js';
import { NODE_ID_LENGTH, type NodeContact, isIpv4 } from './compact.js';
import { bep42NodeId, conformsToBep42 } from './bep42.js';
import { DhtError } from './errors.js';
import type { KrpcQuery, KrpcResponseBody } from './krpc.js';
import { Lookup, type LookupResult, type SeedContact } from './lookup.js';
import type { RandomBytes } from './node-id.js';
import { PeerStore } from './peer-store.js';
import type { RateOptions } from './rate-limit.js';
import { answerQuery } from './responder.js';
import { K, RoutingTable } from './routing-table.js';
import { loadState, saveState } from './state-file.js';
import { bindDhtSocket, sharedDhtSocket, type DhtSocket } from './socket.js';
import { TokenIssuer } from './token.js';
import { type DhtStats, type KrpcAnswer, KrpcTransport } from './transport.js';

export type { DhtStats } from './transport.js';

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
  /**
   * Told, for each answer that carries BEP 42's `ip`, our address as `voter` saw it (of this
   * node's family). Only a hint: any node may say anything.
   */
  readonly onExternalAddress?: (address: string, voter: string) => void;
}

export interface GetPeersOptions {
  readonly signal?: AbortSignal;
  /** Called once per newly found peer, as answers arrive. */
  readonly onPeer?: (peer: PeerAddress) => void;
  /** After the lookup, announce ourselves on this TCP port to the closest nodes. */
  readonly announcePort?: number;
}

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
  readonly family: 4 | 6;
  private ownId: Uint8Array;
  private readonly transport: KrpcTransport;
  private readonly now: () => number;
  private readonly random: RandomBytes;
  private readonly allow: (host: string) => boolean;
  private table: RoutingTable;
  private readonly tokens: TokenIssuer;
  private readonly peers: PeerStore;
  private readonly verifying = new Set<string>();
  private readonly lookups = new Set<() => void>();
  private seeds: SeedContact[] = [];
  private maintenance: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    socket: DhtSocket,
    id: Uint8Array,
    private readonly options: DhtNodeOptions,
    savedNodes: readonly NodeContact[],
  ) {
    this.family = familyOf(options);
    this.ownId = id;
    this.now = options.clock ?? Date.now;
    this.random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.allow = options.allowAddress ?? (() => true);
    this.table = new RoutingTable(id, { now: this.now });
    this.tokens = new TokenIssuer({ now: this.now, random: this.random });
    this.peers = new PeerStore({ now: this.now });
    this.transport = new KrpcTransport({
      socket,
      family: this.family,
      now: this.now,
      random: this.random,
      acceptable: (host, port) => this.acceptable(host, port),
      incomingRate: options.incomingRate ?? { perSecond: 20, burst: 50 },
      outgoingRate: options.outgoingRate ?? { perSecond: 250, burst: 250 },
      queryTimeoutMs: options.queryTimeoutMs ?? 2000,
      onQuery: (t, query, host, port) => this.onQuery(t, query, host, port),
    });
    this.seeds = savedNodes.filter((n) => this.acceptable(n.host, n.port));
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

  /** Our node id; it changes when `adoptExternalAddress` takes a BEP 42 one. */
  get id(): Uint8Array {
    return this.ownId;
  }

  get port(): number {
    return this.transport.port;
  }

  nodeCount(): number {
    return this.table.size();
  }

  stats(): DhtStats {
    return this.transport.stats();
  }

  /**
   * BEP 42: `address` is our external address (of this node's family). When our id does not
   * conform to it, take a fresh one that does, start a new routing table, and rejoin through
   * the nodes we knew (a lookup of the new id). Returns whether the id changed. Peers stored
   * for others and our tokens stay: neither depends on our id.
   */
  adoptExternalAddress(address: string): boolean {
    if (this.closed || ipFamily(address) !== this.family || conformsToBep42(this.ownId, address)) return false;
    const known: SeedContact[] = this.table.contacts().map((c) => ({ host: c.host, port: c.port }));
    this.ownId = bep42NodeId(address, this.random);
    this.table = new RoutingTable(this.ownId, { now: this.now });
    this.seeds = [...known, ...this.seeds].slice(0, 64);
    void this.lookup('find_node', this.ownId, {}).catch(() => undefined);
    return true;
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
    for (const finish of [...this.lookups]) finish();
    await this.transport.close();
  }

  /**
   * One query through the transport. An answer lets its sender into the table and may carry
   * our address as the sender saw it (BEP 42); a silence counts against the node we expected.
   */
  private async query(host: string, port: number, query: KrpcQuery, expectedId?: Uint8Array): Promise<KrpcResponseBody> {
    let answer: KrpcAnswer;
    try {
      answer = await this.transport.query(host, port, query);
    } catch (err) {
      if (expectedId !== undefined && err instanceof DhtError && err.code === 'timeout') this.table.noteFailure(expectedId);
      throw err;
    }
    const r = answer.body;
    this.learn({ id: r.id, host, port });
    if (answer.ip !== undefined && ipFamily(answer.ip.host) === this.family) {
      try {
        this.options.onExternalAddress?.(answer.ip.host, host);
      } catch {
        // an observer's failure is not the node's
      }
    }
    // The IPv6 network's contacts arrive in `nodes6`; the lookup reads one list, the node's own.
    return this.family === 6 ? { id: r.id, ...(r.nodes6 !== undefined ? { nodes: r.nodes6 } : {}), ...(r.values !== undefined ? { values: r.values } : {}), ...(r.token !== undefined ? { token: r.token } : {}) } : r;
  }

  private onQuery(t: Uint8Array, query: KrpcQuery, host: string, port: number): void {
    const answer = answerQuery({ ownId: this.id, table: this.table, tokens: this.tokens, peers: this.peers, family: this.family }, query, { host, port });
    // BEP 42: every answer tells the querier its address as we see it.
    if (answer.kind === 'response') this.transport.send({ type: 'response', t, response: answer.body, ip: { host, port } }, host, port);
    else this.transport.send({ type: 'error', t, code: answer.code, message: answer.message }, host, port);
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

function checkHash(infoHash: Uint8Array): void {
  if (infoHash.length !== NODE_ID_LENGTH) throw new DhtError('bad-info-hash', `info hash must be ${NODE_ID_LENGTH} bytes`);
}
