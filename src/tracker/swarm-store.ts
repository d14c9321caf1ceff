/**
 * The built-in tracker's memory: swarms keyed by info hash, peers keyed by address. Pure
 * state with an injected clock; every size is capped so a flood of announces cannot grow
 * it without bound, and a peer that stops announcing expires after its TTL.
 */
import type { PeerAddress } from '../metainfo/types.js';
import type { AnnounceEvent, ScrapeEntry } from './types.js';

export interface StoredPeer extends PeerAddress {
  readonly peerId: Uint8Array;
  readonly left: number;
  readonly expires: number;
}

interface Swarm {
  readonly peers: Map<string, StoredPeer>;
  downloaded: number;
}

export interface SwarmStoreOptions {
  readonly peerTtlMs: number;
  readonly maxSwarms: number;
  readonly maxPeersPerSwarm: number;
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
      swarm = { peers: new Map(), downloaded: 0 };
      this.swarms.set(a.infoHashHex, swarm);
    }
    const key = `${a.host}|${a.port}`;
    if (a.event === 'stopped') {
      swarm.peers.delete(key);
    } else {
      if (a.event === 'completed') swarm.downloaded++;
      const known = swarm.peers.has(key);
      if (known || swarm.peers.size < this.opts.maxPeersPerSwarm) {
        swarm.peers.set(key, { host: a.host, port: a.port, peerId: a.peerId, left: a.left, expires: now + this.opts.peerTtlMs });
      }
    }
    const live = this.livePeers(a.infoHashHex, swarm, now);
    const others = live.filter((p) => !(p.host === a.host && p.port === a.port));
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

  private livePeers(hex: string, swarm: Swarm, now: number): StoredPeer[] {
    const live: StoredPeer[] = [];
    for (const [key, p] of swarm.peers) {
      if (p.expires <= now) swarm.peers.delete(key);
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

function countPeers(peers: readonly StoredPeer[]): { complete: number; incomplete: number } {
  let complete = 0;
  for (const p of peers) if (p.left === 0) complete++;
  return { complete, incomplete: peers.length - complete };
}
