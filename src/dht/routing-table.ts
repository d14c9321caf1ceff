/**
 * The routing table of BEP 5 ("Routing Table"): buckets of at most K nodes covering the id
 * space, where only the bucket holding our own id may split, so the table knows many nodes
 * near us and few far away. Pure: time comes from an injected clock and pings are requested
 * from the caller through return values, never sent from here.
 *
 * Node states (BEP 5): a node is good if it responded to us within 15 minutes, or queried us
 * within 15 minutes after having responded once; questionable after 15 minutes of silence;
 * bad after failing to respond to MAX_FAILURES queries in a row. Nodes enter the table only
 * by responding to one of our queries, so every entry has responded at least once.
 */
import type { NodeContact } from './compact.js';
import { ID_SPACE, type RandomBytes, idToBigInt, randomIdInRange } from './node-id.js';

export const K = 8;
export const QUESTIONABLE_AFTER_MS = 15 * 60 * 1000;
/** BEP 5 recommends trying a silent node once more before discarding it. */
export const MAX_FAILURES = 2;

export type NodeStatus = 'good' | 'questionable' | 'bad';

export interface RoutingEntry {
  readonly contact: NodeContact;
  lastResponse: number;
  lastQuery: number;
  failures: number;
}

interface Bucket {
  readonly lo: bigint;
  readonly hi: bigint;
  /** Least recently seen first, as BEP 5's replacement policy reads them. */
  entries: RoutingEntry[];
  lastChanged: number;
  /** A node waiting for a questionable entry to fail its ping. */
  pending: NodeContact | undefined;
}

export type InsertResult =
  | { readonly kind: 'added' }
  | { readonly kind: 'updated' }
  | { readonly kind: 'replaced'; readonly removed: NodeContact }
  /** The bucket is full but holds a questionable node: ping it; the newcomer waits as pending. */
  | { readonly kind: 'ping'; readonly questionable: NodeContact }
  /** The bucket is full of good nodes: BEP 5 says the newcomer is discarded. */
  | { readonly kind: 'discarded' }
  /** Our own id, or a known id answering from another address (a possible hijack). */
  | { readonly kind: 'rejected' };

export interface RoutingTableOptions {
  /** Milliseconds, monotonic enough for ages of minutes. */
  readonly now: () => number;
  readonly k?: number;
}

function sameAddress(a: NodeContact, b: NodeContact): boolean {
  return a.host === b.host && a.port === b.port;
}

export class RoutingTable {
  readonly ownId: Uint8Array;
  private readonly own: bigint;
  private readonly now: () => number;
  private readonly k: number;
  /** Sorted by range, together covering [0, 2^160). */
  private readonly buckets: Bucket[];

  constructor(ownId: Uint8Array, options: RoutingTableOptions) {
    this.ownId = new Uint8Array(ownId);
    this.own = idToBigInt(ownId);
    this.now = options.now;
    this.k = options.k ?? K;
    this.buckets = [{ lo: 0n, hi: ID_SPACE, entries: [], lastChanged: this.now(), pending: undefined }];
  }

  status(entry: RoutingEntry): NodeStatus {
    const now = this.now();
    if (entry.failures >= MAX_FAILURES) return 'bad';
    if (now - entry.lastResponse < QUESTIONABLE_AFTER_MS) return 'good';
    if (now - entry.lastQuery < QUESTIONABLE_AFTER_MS) return 'good';
    return 'questionable';
  }

  /** Records that `contact` answered one of our queries, inserting it when there is room. */
  noteResponse(contact: NodeContact): InsertResult {
    const id = idToBigInt(contact.id);
    if (id === this.own) return { kind: 'rejected' };
    const now = this.now();
    // Each split halves the bucket holding our id, so 160 rounds always suffice.
    for (let round = 0; round <= 160; round++) {
      const bucket = this.bucketFor(id);
      const existing = bucket.entries.findIndex((e) => idToBigInt(e.contact.id) === id);
      if (existing >= 0) {
        const entry = bucket.entries[existing]!;
        if (!sameAddress(entry.contact, contact)) return { kind: 'rejected' };
        entry.lastResponse = now;
        entry.failures = 0;
        bucket.entries.splice(existing, 1);
        bucket.entries.push(entry);
        bucket.lastChanged = now;
        return { kind: 'updated' };
      }
      if (bucket.entries.length < this.k) {
        bucket.entries.push({ contact: copyContact(contact), lastResponse: now, lastQuery: -Infinity, failures: 0 });
        bucket.lastChanged = now;
        if (bucket.pending !== undefined && idToBigInt(bucket.pending.id) === id) bucket.pending = undefined;
        return { kind: 'added' };
      }
      if (bucket.lo <= this.own && this.own < bucket.hi && bucket.hi - bucket.lo > 1n) {
        this.split(bucket);
        continue;
      }
      const bad = bucket.entries.findIndex((e) => this.status(e) === 'bad');
      if (bad >= 0) {
        const [removed] = bucket.entries.splice(bad, 1);
        bucket.entries.push({ contact: copyContact(contact), lastResponse: now, lastQuery: -Infinity, failures: 0 });
        bucket.lastChanged = now;
        return { kind: 'replaced', removed: removed!.contact };
      }
      const questionable = bucket.entries.find((e) => this.status(e) === 'questionable');
      if (questionable !== undefined) {
        bucket.pending = copyContact(contact);
        return { kind: 'ping', questionable: questionable.contact };
      }
      return { kind: 'discarded' };
    }
    return { kind: 'discarded' };
  }

  /** Records that a known node queried us, which keeps it good (BEP 5). */
  noteQuery(id: Uint8Array): void {
    const entry = this.find(id);
    if (entry !== undefined) entry.lastQuery = this.now();
  }

  /**
   * Records a query to `id` that went unanswered. When that makes it bad and a pending
   * newcomer waits in its bucket, the newcomer takes its place and is returned.
   */
  noteFailure(id: Uint8Array): NodeContact | undefined {
    const key = idToBigInt(id);
    const bucket = this.bucketFor(key);
    const index = bucket.entries.findIndex((e) => idToBigInt(e.contact.id) === key);
    if (index < 0) return undefined;
    const entry = bucket.entries[index]!;
    entry.failures++;
    if (this.status(entry) !== 'bad' || bucket.pending === undefined) return undefined;
    const pending = bucket.pending;
    bucket.pending = undefined;
    bucket.entries.splice(index, 1);
    bucket.entries.push({ contact: pending, lastResponse: this.now(), lastQuery: -Infinity, failures: 0 });
    bucket.lastChanged = this.now();
    return pending;
  }

  /** Whether a response from this unknown id could enter the table (worth a verifying ping). */
  wouldAccept(id: Uint8Array): boolean {
    const key = idToBigInt(id);
    if (key === this.own || this.find(id) !== undefined) return false;
    const bucket = this.bucketFor(key);
    if (bucket.entries.length < this.k) return true;
    if (bucket.lo <= this.own && this.own < bucket.hi) return true;
    return bucket.entries.some((e) => this.status(e) !== 'good');
  }

  get(id: Uint8Array): RoutingEntry | undefined {
    return this.find(id);
  }

  remove(id: Uint8Array): boolean {
    const key = idToBigInt(id);
    const bucket = this.bucketFor(key);
    const index = bucket.entries.findIndex((e) => idToBigInt(e.contact.id) === key);
    if (index < 0) return false;
    bucket.entries.splice(index, 1);
    return true;
  }

  /** The `n` non-bad nodes closest to `target` by XOR distance, closest first. */
  closest(target: Uint8Array, n: number): NodeContact[] {
    const t = idToBigInt(target);
    const all: { d: bigint; c: NodeContact }[] = [];
    for (const bucket of this.buckets) {
      for (const e of bucket.entries) {
        if (this.status(e) !== 'bad') all.push({ d: idToBigInt(e.contact.id) ^ t, c: e.contact });
      }
    }
    all.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
    return all.slice(0, n).map((x) => x.c);
  }

  /** Questionable nodes, least recently seen first, to be pinged by the maintenance loop. */
  questionable(limit: number): NodeContact[] {
    const out: NodeContact[] = [];
    for (const bucket of this.buckets) {
      for (const e of bucket.entries) {
        if (out.length < limit && this.status(e) === 'questionable') out.push(e.contact);
      }
    }
    return out;
  }

  /**
   * Random targets in every bucket unchanged for 15 minutes: BEP 5 refreshes such a bucket
   * with a find_node for an id in its range. The bucket counts as changed from now on so a
   * silent network is not searched again on every tick.
   */
  refreshTargets(random: RandomBytes): Uint8Array[] {
    const now = this.now();
    const out: Uint8Array[] = [];
    for (const bucket of this.buckets) {
      if (now - bucket.lastChanged >= QUESTIONABLE_AFTER_MS) {
        out.push(randomIdInRange(bucket.lo, bucket.hi, random));
        bucket.lastChanged = now;
      }
    }
    return out;
  }

  size(): number {
    return this.buckets.reduce((n, b) => n + b.entries.length, 0);
  }

  bucketCount(): number {
    return this.buckets.length;
  }

  contacts(): NodeContact[] {
    return this.buckets.flatMap((b) => b.entries.map((e) => e.contact));
  }

  private find(id: Uint8Array): RoutingEntry | undefined {
    const key = idToBigInt(id);
    return this.bucketFor(key).entries.find((e) => idToBigInt(e.contact.id) === key);
  }

  private bucketFor(id: bigint): Bucket {
    const bucket = this.buckets.find((b) => b.lo <= id && id < b.hi);
    // The buckets partition [0, 2^160) and ids are 160-bit, so a bucket always matches.
    return bucket ?? this.buckets[this.buckets.length - 1]!;
  }

  private split(bucket: Bucket): void {
    const mid = (bucket.lo + bucket.hi) / 2n;
    const low: Bucket = { lo: bucket.lo, hi: mid, entries: [], lastChanged: bucket.lastChanged, pending: undefined };
    const high: Bucket = { lo: mid, hi: bucket.hi, entries: [], lastChanged: bucket.lastChanged, pending: undefined };
    for (const e of bucket.entries) (idToBigInt(e.contact.id) < mid ? low : high).entries.push(e);
    this.buckets.splice(this.buckets.indexOf(bucket), 1, low, high);
  }
}

function copyContact(c: NodeContact): NodeContact {
  return { id: new Uint8Array(c.id), host: c.host, port: c.port };
}
