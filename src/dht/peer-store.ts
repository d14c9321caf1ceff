/**
 * Peers announced to us with announce_peer (BEP 5), served back in get_peers `values`.
 * Bounded three ways so announcers cannot exhaust memory: peers per info hash (the oldest is
 * evicted), info hashes in total (new ones are refused while full), and a 30-minute expiry
 * (announcers re-announce well within that, as BEP 5 clients do).
 */
import type { PeerAddress } from '../metainfo/types.js';

export const PEER_TTL_MS = 30 * 60 * 1000;

export interface PeerStoreOptions {
  readonly now: () => number;
  readonly maxPeersPerHash?: number;
  readonly maxInfoHashes?: number;
  readonly ttlMs?: number;
}

export class PeerStore {
  private readonly now: () => number;
  private readonly maxPeersPerHash: number;
  private readonly maxInfoHashes: number;
  private readonly ttlMs: number;
  /** info hash (latin1 of the 20 bytes) → `host:port` → peer and expiry, oldest first. */
  private readonly hashes = new Map<string, Map<string, { peer: PeerAddress; expires: number }>>();

  constructor(options: PeerStoreOptions) {
    this.now = options.now;
    this.maxPeersPerHash = options.maxPeersPerHash ?? 200;
    this.maxInfoHashes = options.maxInfoHashes ?? 2000;
    this.ttlMs = options.ttlMs ?? PEER_TTL_MS;
  }

  /** Stores or refreshes a peer; false when refused because the store is full. */
  add(infoHash: Uint8Array, peer: PeerAddress): boolean {
    const key = Buffer.from(infoHash).toString('latin1');
    let peers = this.hashes.get(key);
    if (peers === undefined) {
      if (this.hashes.size >= this.maxInfoHashes) this.prune();
      if (this.hashes.size >= this.maxInfoHashes) return false;
      peers = new Map();
      this.hashes.set(key, peers);
    }
    const peerKey = `${peer.host}:${peer.port}`;
    peers.delete(peerKey);
    if (peers.size >= this.maxPeersPerHash) {
      const oldest = peers.keys().next();
      if (!oldest.done) peers.delete(oldest.value);
    }
    peers.set(peerKey, { peer: { host: peer.host, port: peer.port }, expires: this.now() + this.ttlMs });
    return true;
  }

  /** Up to `max` unexpired peers, most recently announced first. */
  get(infoHash: Uint8Array, max: number): PeerAddress[] {
    const key = Buffer.from(infoHash).toString('latin1');
    const peers = this.hashes.get(key);
    if (peers === undefined) return [];
    const now = this.now();
    const out: PeerAddress[] = [];
    for (const [peerKey, entry] of [...peers].reverse()) {
      if (entry.expires <= now) {
        peers.delete(peerKey);
      } else if (out.length < max) {
        out.push(entry.peer);
      }
    }
    if (peers.size === 0) this.hashes.delete(key);
    return out;
  }

  /** Drops every expired peer and every info hash left empty. */
  prune(): void {
    const now = this.now();
    for (const [key, peers] of this.hashes) {
      for (const [peerKey, entry] of peers) if (entry.expires <= now) peers.delete(peerKey);
      if (peers.size === 0) this.hashes.delete(key);
    }
  }

  infoHashCount(): number {
    return this.hashes.size;
  }
}
