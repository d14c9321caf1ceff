/**
 * The peers we know of for one torrent and whether to dial them: deduplicated by
 * `host:port`, bounded in size (SAFETY.md: 3,000), with exponential back-off for peers that
 * fail and a ban list, by IP, for peers that sent bad data. Addresses no peer can have and our
 * own listening sockets are never taken in (peer-limits.ts). Peers seen to have every piece
 * are not dialled while we want none (we have every piece, or every selected one): two seeds
 * have nothing to trade, and redialling every seed a tracker lists, each time the back-off
 * ends, would cost both sides a handshake (with MSE, a Diffie-Hellman exchange) every 15 s for
 * nothing, as libtorrent's connect-candidate rule also avoids. Pure: time is passed in.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { SelfAddresses, ipKey, isUsablePeerAddress } from './peer-limits.js';

export type PeerSource = 'tracker' | 'dht' | 'pex' | 'lsd' | 'manual' | 'incoming';

interface Candidate {
  readonly address: PeerAddress;
  readonly source: PeerSource;
  failures: number;
  /** Earliest ms at which we may dial again. */
  notBefore: number;
  connected: boolean;
  /**
   * A seed to us: it had every piece or wanted none (BEP 21 `upload_only`) when last seen on
   * a connection, or, before any, PEX said it has every piece. A seed of ours has nothing to
   * trade with it.
   */
  seed: boolean;
}

export interface PeerPoolOptions {
  maxPeers?: number;
  /** First retry delay after a failure; doubles per failure. */
  retryBaseMs?: number;
  /** Failures after which a peer is forgotten. */
  maxFailures?: number;
}

/** Banned IPs remembered per torrent. */
const MAX_BANNED = 10_000;

export function peerKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export class PeerPool {
  private readonly candidates = new Map<string, Candidate>();
  private readonly banned = new Set<string>();
  private readonly maxPeers: number;
  private readonly retryBaseMs: number;
  private readonly maxFailures: number;
  private readonly self = new Set<string>();
  private readonly listening = new SelfAddresses();

  constructor(opts: PeerPoolOptions = {}) {
    this.maxPeers = opts.maxPeers ?? 3000;
    this.retryBaseMs = opts.retryBaseMs ?? 15_000;
    this.maxFailures = opts.maxFailures ?? 5;
  }

  get size(): number {
    return this.candidates.size;
  }

  get bannedCount(): number {
    return this.banned.size;
  }

  /** Addresses that are ourselves (our listen port on local addresses): never dialled. */
  addSelf(a: PeerAddress): void {
    const key = peerKey(a);
    this.self.add(key);
    this.candidates.delete(key);
  }

  /**
   * Our listen port and this host's addresses: any of them (or any loopback address) with
   * that port is ourselves. Candidates that match are forgotten.
   */
  setListening(port: number, localHosts: Iterable<string>): void {
    this.listening.set(port, localHosts);
    for (const [key, c] of this.candidates) if (this.listening.has(c.address)) this.candidates.delete(key);
  }

  /** Whether `address` is one of our own listening sockets (as far as we know). */
  isSelf(address: PeerAddress): boolean {
    return this.listening.has(address) || this.self.has(peerKey(address));
  }

  /** Returns true when the address is new. `seed`: a peer told us it has every piece (PEX). */
  add(address: PeerAddress, source: PeerSource, seed = false): boolean {
    if (!isUsablePeerAddress(address) || this.isBanned(address) || this.isSelf(address)) return false;
    const key = peerKey(address);
    const known = this.candidates.get(key);
    if (known !== undefined) {
      if (seed) known.seed = true;
      return false;
    }
    if (this.candidates.size >= this.maxPeers) return false;
    this.candidates.set(key, { address, source, failures: 0, notBefore: 0, connected: false, seed });
    return true;
  }

  /** Bans are by IP: a banned peer cannot come back from another port. */
  isBanned(address: PeerAddress): boolean {
    return this.banned.has(ipKey(address.host));
  }

  ban(address: PeerAddress): void {
    const ip = ipKey(address.host);
    this.banned.add(ip);
    // Bounded like everything a stranger can grow: the oldest ban goes first.
    if (this.banned.size > MAX_BANNED) this.banned.delete(this.banned.values().next().value!);
    for (const [key, c] of this.candidates) if (ipKey(c.address.host) === ip) this.candidates.delete(key);
  }

  /**
   * Up to `n` peers to dial now (those `accept` agrees to), marked as connected; known seeds
   * are skipped when `weAreSeed` (we want no piece).
   */
  take(n: number, now: number, accept: (a: PeerAddress) => boolean = () => true, weAreSeed = false): PeerAddress[] {
    const out: PeerAddress[] = [];
    if (n <= 0) return out;
    for (const c of this.candidates.values()) {
      if (!c.connected && c.notBefore <= now && !(weAreSeed && c.seed) && accept(c.address)) {
        c.connected = true;
        out.push(c.address);
        if (out.length >= n) break;
      }
    }
    return out;
  }

  /** An incoming connection from a peer: remember it as connected. */
  markConnected(address: PeerAddress): void {
    const c = this.candidates.get(peerKey(address));
    if (c !== undefined) c.connected = true;
  }

  /** What a connection showed of the peer at `address` (its listening address): a seed or not. */
  setSeed(address: PeerAddress, seed: boolean): void {
    const c = this.candidates.get(peerKey(address));
    if (c !== undefined) c.seed = seed;
  }

  /** A connection ended. `useful` resets the failure count (it completed a handshake). */
  disconnected(address: PeerAddress, useful: boolean, now: number): void {
    const key = peerKey(address);
    const c = this.candidates.get(key);
    if (c === undefined) return;
    c.connected = false;
    if (useful) {
      c.failures = 0;
      c.notBefore = now + this.retryBaseMs;
      return;
    }
    c.failures++;
    if (c.failures >= this.maxFailures) {
      this.candidates.delete(key);
      return;
    }
    c.notBefore = now + this.retryBaseMs * 2 ** (c.failures - 1);
  }

  /**
   * Lift every back-off: a torrent resumed after a pause, or one that wants pieces again after
   * its selection was done; its peers were closed by us (or as seeds), not by failure.
   */
  retryNow(now: number): void {
    for (const c of this.candidates.values()) if (c.notBefore > now) c.notBefore = now;
  }
}
