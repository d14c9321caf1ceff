/**
 * Which peer addresses are worth a connection, and how many connections one IP may hold.
 *
 * - Unusable addresses are never dialled: the unspecified address, broadcast, multicast and
 *   reserved (240/4) IPv4, and port 0. Our own listening sockets are recognised by port: any
 *   loopback address or any address of this host with our port reaches ourselves.
 * - Addresses are compared by IP in one canonical text form (an IPv4-mapped IPv6 address is
 *   its IPv4 address), so a ban or a per-IP count cannot be dodged by spelling.
 *
 * Pure, except `localAddresses`, which asks the operating system once per call.
 */
import { networkInterfaces } from 'node:os';
import type { PeerAddress } from '../metainfo/types.js';
import { formatIp, ipFamily, parseIp } from '../util/ip.js';

/** Connections one IP may hold by default (libtorrent allows one; a NAT may hide a few peers). */
export const DEFAULT_MAX_PEERS_PER_IP = 3;

/** The canonical text of an IP literal (mapped IPv4 unwrapped, IPv6 compressed); other hosts unchanged. */
export function ipKey(host: string): string {
  const bytes = parseIp(host);
  if (bytes === undefined) return host.toLowerCase();
  if (bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return formatIp(bytes.subarray(12))!;
  }
  return formatIp(bytes)!;
}

export function isLoopback(host: string): boolean {
  const key = ipKey(host);
  return ipFamily(key) === 4 ? key.startsWith('127.') : key === '::1';
}

/** False for addresses no peer can have: unspecified, broadcast, multicast, reserved, port 0. */
export function isUsablePeerAddress(a: PeerAddress): boolean {
  if (!Number.isInteger(a.port) || a.port <= 0 || a.port > 65535) return false;
  const bytes = parseIp(ipKey(a.host));
  if (bytes === undefined) return a.host.length > 0;
  if (bytes.length === 4) {
    const first = bytes[0]!;
    // 0/8 "this network", 224/4 multicast, 240/4 reserved (255.255.255.255 included).
    return first !== 0 && first < 224;
  }
  if (bytes[0] === 0xff) return false;
  return !bytes.every((b) => b === 0);
}

/** The IP addresses of this host's interfaces, canonical (see `ipKey`). */
export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) out.add(ipKey(i.address.split('%')[0]!));
  }
  return out;
}

/**
 * Our own listening sockets: any loopback address or any address of this host, with our
 * listen port. The set of local addresses is given, so this stays pure.
 */
export class SelfAddresses {
  private port = 0;
  private hosts = new Set<string>();

  set(port: number, hosts: Iterable<string>): void {
    this.port = port;
    this.hosts = new Set([...hosts].map(ipKey));
  }

  has(a: PeerAddress): boolean {
    return this.port > 0 && a.port === this.port && (isLoopback(a.host) || this.hosts.has(ipKey(a.host)));
  }
}

/**
 * Two connections with the same peer id: whether the newer one is kept (and the older closed).
 * Both made by the same side: the first stays. One each way: the connection initiated by the
 * side with the greater peer id stays (libtorrent's rule), so both ends close the same one.
 */
export function keepNewerDuplicate(olderOutgoing: boolean, newerOutgoing: boolean, ourId: Uint8Array, theirId: Uint8Array): boolean {
  if (olderOutgoing === newerOutgoing) return false;
  const weAreGreater = Buffer.compare(ourId, theirId) > 0;
  return newerOutgoing === weAreGreater;
}

/** What the turnover needs to know about a connected peer. */
export interface TurnoverPeer {
  readonly key: number;
  /** We want its pieces and it lets us request them. */
  readonly downloading: boolean;
  /** It wants our pieces and we let it request them. */
  readonly uploading: boolean;
  /** Either side wants something from the other. */
  readonly interested: boolean;
  /** Ms of the last piece data either way, or of the connection when none moved. */
  readonly lastActive: number;
}

/**
 * The peer to close to make room for a new one, or undefined when every peer is useful.
 * Peers we exchange data with stay; among the rest, those with no interest either way go
 * first, then the longest inactive (libtorrent's peer turnover closes the least useful too).
 */
export function leastUseful(peers: Iterable<TurnoverPeer>): number | undefined {
  let best: TurnoverPeer | undefined;
  for (const p of peers) {
    if (p.downloading || p.uploading) continue;
    if (best === undefined || Number(p.interested) < Number(best.interested) || (p.interested === best.interested && p.lastActive < best.lastActive)) best = p;
  }
  return best?.key;
}

/**
 * A token bucket: `capacity` tokens, refilled at `perMs` ms a token. Time is passed in.
 * Bounds how often we answer a peer's cheap request with an expensive reply.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) / this.perMs);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
