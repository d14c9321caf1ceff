/**
 * The iterative lookup of BEP 5 ("Overview" and "get_peers"): query the known nodes closest
 * to a target, learn closer ones from their answers, and repeat until the K closest nodes
 * seen have all answered. Sans-I/O: the caller asks `next()` whom to query, sends the
 * queries, and feeds back `onResponse`/`onFailure`; timeouts are the caller's to detect.
 */
import type { PeerAddress } from '../metainfo/types.js';
import type { NodeContact } from './compact.js';
import { K } from './routing-table.js';
import { idToBigInt } from './node-id.js';
import type { KrpcResponseBody } from './krpc.js';

/** BEP 5 leaves α open; Kademlia's 3 parallel queries is the usual choice. */
export const ALPHA = 3;
export const DEFAULT_MAX_QUERIES = 64;
/** Bound on remembered candidates and peers, so hostile answers cannot grow a lookup. */
const MAX_CANDIDATES = 256;
const MAX_PEERS = 1000;

/** A node to start from; bootstrap routers have no known id yet. */
export interface SeedContact {
  readonly id?: Uint8Array;
  readonly host: string;
  readonly port: number;
}

export interface LookupQuery {
  /** `host:port`, the key to report the outcome under. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
}

export interface LookupOptions {
  readonly target: Uint8Array;
  readonly seeds: readonly SeedContact[];
  /** Our own id: never a candidate. */
  readonly selfId?: Uint8Array;
  readonly k?: number;
  readonly alpha?: number;
  readonly maxQueries?: number;
  /** Filter for addresses learned from answers (the node's `allowAddress` and sanity checks). */
  readonly accept?: (contact: NodeContact) => boolean;
}

type State = 'new' | 'in-flight' | 'responded' | 'failed';

interface Candidate {
  readonly key: string;
  readonly host: string;
  readonly port: number;
  id: bigint | undefined;
  contact: NodeContact | undefined;
  state: State;
  token: Uint8Array | undefined;
}

/** A responder among the K closest, with the token it gave (for announce_peer). */
export interface LookupResult {
  readonly contact: NodeContact;
  readonly token: Uint8Array | undefined;
}

export class Lookup {
  private readonly target: bigint;
  private readonly self: bigint | undefined;
  private readonly k: number;
  private readonly alpha: number;
  private readonly maxQueries: number;
  private readonly accept: (contact: NodeContact) => boolean;
  private readonly candidates = new Map<string, Candidate>();
  private readonly ids = new Set<bigint>();
  private readonly peerKeys = new Set<string>();
  private readonly found: PeerAddress[] = [];
  private sent = 0;
  private inFlight = 0;

  constructor(options: LookupOptions) {
    this.target = idToBigInt(options.target);
    this.self = options.selfId === undefined ? undefined : idToBigInt(options.selfId);
    this.k = options.k ?? K;
    this.alpha = options.alpha ?? ALPHA;
    this.maxQueries = options.maxQueries ?? DEFAULT_MAX_QUERIES;
    this.accept = options.accept ?? (() => true);
    for (const seed of options.seeds) this.add(seed);
  }

  get queriesSent(): number {
    return this.sent;
  }

  /** The queries to send now; each is marked in flight. Empty when waiting or done. */
  next(): LookupQuery[] {
    const out: LookupQuery[] = [];
    if (this.done) return out;
    for (const c of this.closestLive()) {
      if (this.inFlight >= this.alpha || this.sent >= this.maxQueries) break;
      if (c.state !== 'new') continue;
      c.state = 'in-flight';
      this.inFlight++;
      this.sent++;
      out.push({ key: c.key, host: c.host, port: c.port });
    }
    return out;
  }

  /** Feeds the answer from `key`; returns the peers in it that were new to this lookup. */
  onResponse(key: string, body: KrpcResponseBody): PeerAddress[] {
    const c = this.candidates.get(key);
    if (c === undefined || c.state !== 'in-flight') return [];
    this.inFlight--;
    const id = idToBigInt(body.id);
    if (id === this.self || (c.id !== id && this.ids.has(id))) {
      // A node claiming our id, or one already seen elsewhere, cannot be trusted as distinct.
      c.state = 'failed';
      return [];
    }
    if (c.id !== undefined) this.ids.delete(c.id);
    c.id = id;
    this.ids.add(id);
    c.contact = { id: body.id, host: c.host, port: c.port };
    c.state = 'responded';
    c.token = body.token;
    for (const node of body.nodes ?? []) this.add(node);
    const fresh: PeerAddress[] = [];
    for (const peer of body.values ?? []) {
      const pk = `${peer.host}:${peer.port}`;
      if (peer.port === 0 || this.peerKeys.has(pk) || this.found.length >= MAX_PEERS) continue;
      this.peerKeys.add(pk);
      this.found.push(peer);
      fresh.push(peer);
    }
    return fresh;
  }

  onFailure(key: string): void {
    const c = this.candidates.get(key);
    if (c === undefined || c.state !== 'in-flight') return;
    this.inFlight--;
    c.state = 'failed';
  }

  /**
   * Finished when the K closest live candidates have all answered, or when nothing is in
   * flight and nothing more may be sent (no candidates left, or the query budget is spent).
   */
  get done(): boolean {
    const closest = this.closestLive();
    if (closest.length > 0 && closest.every((c) => c.state === 'responded')) return true;
    if (this.inFlight > 0) return false;
    return this.sent >= this.maxQueries || !closest.some((c) => c.state === 'new');
  }

  peers(): PeerAddress[] {
    return [...this.found];
  }

  /** The K closest nodes that answered, closest first. */
  results(): LookupResult[] {
    return this.sorted()
      .filter((c) => c.state === 'responded' && c.contact !== undefined)
      .slice(0, this.k)
      .map((c) => ({ contact: c.contact!, token: c.token }));
  }

  private add(seed: SeedContact): void {
    const key = `${seed.host}:${seed.port}`;
    if (this.candidates.has(key)) return;
    let id: bigint | undefined;
    if (seed.id !== undefined) {
      id = idToBigInt(seed.id);
      if (id === this.self || this.ids.has(id)) return;
      if (!this.accept({ id: seed.id, host: seed.host, port: seed.port })) return;
    }
    if (this.candidates.size >= MAX_CANDIDATES && !this.evictFarthestFor(id)) return;
    if (id !== undefined) this.ids.add(id);
    this.candidates.set(key, { key, host: seed.host, port: seed.port, id, contact: undefined, state: 'new', token: undefined });
  }

  /** Makes room for a candidate at `id` by dropping the farthest unqueried one, if it is farther. */
  private evictFarthestFor(id: bigint | undefined): boolean {
    const sorted = this.sorted();
    for (let i = sorted.length - 1; i >= 0; i--) {
      const c = sorted[i]!;
      if (c.state !== 'new') continue;
      if (id !== undefined && c.id !== undefined && (c.id ^ this.target) <= (id ^ this.target)) return false;
      this.candidates.delete(c.key);
      if (c.id !== undefined) this.ids.delete(c.id);
      return true;
    }
    return false;
  }

  /** Candidates by distance; those without a known id (bootstrap routers) come first. */
  private sorted(): Candidate[] {
    const rank = (c: Candidate): bigint => (c.id === undefined ? -1n : c.id ^ this.target);
    return [...this.candidates.values()].sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      return ra < rb ? -1 : ra > rb ? 1 : 0;
    });
  }

  private closestLive(): Candidate[] {
    return this.sorted()
      .filter((c) => c.state !== 'failed')
      .slice(0, this.k);
  }
}
