/**
 * The built-in tracker's memory: swarms keyed by info hash, peers keyed by address. Pure
 * state with an injected clock; every size is capped so a flood of announces cannot grow
 * it without bound, and a peer that stops announcing expires after its TTL.
 *
 * Per-source quotas keep one stranger from filling the memory that others share: a source
 * (an IPv4 address, or an IPv6 /64, which one host usually holds whole) may hold at most
 * `maxPortsPerSource` peers in one swarm and `maxPeersPerSource` in all swarms together, so
 * it can neither fill a swarm with thousands of ports nor the table with its own torrents.
 * An announce past a quota is answered as usual but not stored. A seed's announce is answered
 * with leechers only.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { parseIp } from '../util/ip.js';
import type { AnnounceEvent, ScrapeEntry } from './types.js';

export interface StoredPeer extends PeerAddress {
  readonly peerId: Uint8Array;
  readonly left: number;
  readonly expires: number;
}

interface Swarm {
  readonly peers: Map<string, StoredPeer>;
  /** Peers per source in this swarm. */
  readonly sources: Map<string, number>;
  downloaded: number;
}

export interface SwarmStoreOptions {
  readonly peerTtlMs: number;
  readonly maxSwarms: number;
  readonly maxPeersPerSwarm: number;
  /** Peers one source may hold in one swarm. */
  readonly maxPortsPerSource: number;
  /** Peers one source may hold in all swarms together (so also the swarms it keeps alive). */
  readonly maxPeersPerSource: number;
  readonly now: () => number;
  /** Uniform in [0, 1): which peers a large swarm hands out. */
  readonly random?: () => number;
}

export interface AnnounceInput {
  readonly infoHashHex: string;
  readonly host: string;
  readonly port: number;
  readonly peerId: Uint8Array;
  readonly left: number;
  readonly event?: AnnounceEvent;
  readonly numWant: number;
}

export type AnnounceAnswer =
  | { readonly ok: true; readonly peers: StoredPeer[]; readonly complete: number; readonly incomplete: number }
  | { readonly ok: false; readonly reason: string };

export class SwarmStore {
  private readonly swarms = new Map<string, Swarm>();
  /** Peers per source in all swarms. */
  private readonly sources = new Map<string, number>();
  private readonly opts: SwarmStoreOptions;

  constructor(opts: SwarmStoreOptions) {
    this.opts = opts;
  }

  get swarmCount(): number {
    return this.swarms.size;
  }

  announce(a: AnnounceInput): AnnounceAnswer {
    const now = this.opts.now();
    let swarm = this.swarms.get(a.infoHashHex);
    if (swarm === undefined) {
      if (a.event === 'stopped') return { ok: true, peers: [], complete: 0, incomplete: 0 };
      if (this.swarms.size >= this.opts.maxSwarms) this.sweep();
      if (this.swarms.size >= this.opts.maxSwarms) return { ok: false, reason: 'tracker is full, try again later' };
      swarm = { peers: new Map(), sources: new Map(), downloaded: 0 };
      this.swarms.set(a.infoHashHex, swarm);
    }
    const key = `${a.host}|${a.port}`;
    if (a.event === 'stopped') {
      this.remove(swarm, key);
    } else {
      if (a.event === 'completed') swarm.downloaded++;
      const peer = { host: a.host, port: a.port, peerId: a.peerId, left: a.left, expires: now + this.opts.peerTtlMs };
      if (swarm.peers.has(key)) swarm.peers.set(key, peer);
      else if (this.admits(swarm, a.host)) this.add(swarm, key, peer);
    }
    const live = this.livePeers(a.infoHashHex, swarm, now);
    // A seed is handed only leechers: two seeds have nothing to trade, and each would dial the other for nothing.
    const others = live.filter((p) => !(p.host === a.host && p.port === a.port) && !(a.left === 0 && p.left === 0));
    const counts = countPeers(live);
    return { ok: true, peers: this.pick(others, a.numWant), ...counts };
  }

  scrape(infoHashHex: string): ScrapeEntry {
    const swarm = this.swarms.get(infoHashHex);
    if (swarm === undefined) return { complete: 0, downloaded: 0, incomplete: 0 };
    return { ...countPeers(this.livePeers(infoHashHex, swarm, this.opts.now())), downloaded: swarm.downloaded };
  }

  /** Drop expired peers and empty swarms. */
  sweep(): void {
    const now = this.opts.now();
    for (const [hex, swarm] of this.swarms) this.livePeers(hex, swarm, now);
  }

  /** Peers held by the source of `host` in all swarms (for tests and monitoring). */
  peersOfSource(host: string): number {
    return this.sources.get(sourceOf(host)) ?? 0;
  }

  private admits(swarm: Swarm, host: string): boolean {
    const source = sourceOf(host);
    return (
      swarm.peers.size < this.opts.maxPeersPerSwarm &&
      (swarm.sources.get(source) ?? 0) < this.opts.maxPortsPerSource &&
      (this.sources.get(source) ?? 0) < this.opts.maxPeersPerSource
    );
  }

  private add(swarm: Swarm, key: string, peer: StoredPeer): void {
    const source = sourceOf(peer.host);
    swarm.peers.set(key, peer);
    swarm.sources.set(source, (swarm.sources.get(source) ?? 0) + 1);
    this.sources.set(source, (this.sources.get(source) ?? 0) + 1);
  }

  private remove(swarm: Swarm, key: string): void {
    const peer = swarm.peers.get(key);
    if (peer === undefined) return;
    swarm.peers.delete(key);
    const source = sourceOf(peer.host);
    decrement(swarm.sources, source);
    decrement(this.sources, source);
  }

  private livePeers(hex: string, swarm: Swarm, now: number): StoredPeer[] {
    const live: StoredPeer[] = [];
    for (const [key, p] of swarm.peers) {
      if (p.expires <= now) this.remove(swarm, key);
      else live.push(p);
    }
    if (swarm.peers.size === 0) this.swarms.delete(hex);
    return live;
  }

  /** A random sample of `n` peers (partial Fisher–Yates), so every peer gets handed out. */
  private pick(peers: StoredPeer[], n: number): StoredPeer[] {
    if (peers.length <= n) return peers;
    const random = this.opts.random ?? Math.random;
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(random() * (peers.length - i));
      [peers[i], peers[j]] = [peers[j]!, peers[i]!];
    }
    return peers.slice(0, n);
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/** The quota key of an address: an IPv4 address itself, the /64 prefix of an IPv6 one. */
export function sourceOf(host: string): string {
  const bytes = parseIp(host);
  return bytes?.length === 16 ? `${bytes.subarray(0, 8).toString('hex')}/64` : host;
}

function countPeers(peers: readonly StoredPeer[]): { complete: number; incomplete: number } {
  let complete = 0;
  for (const p of peers) if (p.left === 0) complete++;
  return { complete, incomplete: peers.length - complete };
}
