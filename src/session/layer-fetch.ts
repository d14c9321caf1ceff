/**
 * Piece layers from peers (BEP 52): a v2 torrent known only by its info dictionary (a magnet, or
 * a .torrent without `piece layers`) has each file's pieces root but not the hashes of its
 * pieces. They are asked for with hash requests, in runs of 512 at the piece layer, each with
 * the uncle hashes that prove the run up to the file's root, so every run is checked on
 * arrival against a root we already trust: a wrong answer names its sender.
 *
 * Bounds: at most `MAX_REQUESTS_PER_PEER` requests in flight per peer, one peer per run at a
 * time, 512 hashes per request (libtorrent's own unit); an answer must match a request in
 * flight exactly, so nothing a peer sends unasked is stored. The layers themselves are sized
 * by the verified info dictionary (pieces ≤ 2^21), never by a peer. Pure: no I/O, no clock.
 */
import { HASH_SIZE, LEAF_SIZE, log2, nextPow2, rootFromProof, uncleCount } from '../metainfo/merkle.js';
import type { V2Meta } from '../metainfo/types.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import type { HashRequest } from '../wire/index.js';

export const HASHES_PER_REQUEST = 512;
export const MAX_REQUESTS_PER_PEER = 4;
/** A run a peer rejected or let time out goes to other peers first, for this long. */
const REFUSED_BACKOFF_MS = 5_000;

interface Run<K> {
  readonly file: number;
  readonly request: HashRequest;
  done: boolean;
  asked: { readonly peer: K; readonly at: number } | undefined;
  /** Peer → ms until which it is not asked for this run again. */
  readonly refused: Map<K, number>;
}

interface Target {
  readonly root: Uint8Array;
  readonly pieceCount: number;
  readonly layer: Buffer;
}

export type HashesVerdict = 'stored' | 'unrequested' | 'bad-proof';

/** The files of `v2` that span several pieces and have no piece layer yet. */
export function missingLayers(v2: V2Meta, pieceLength: number): { root: Uint8Array; pieceCount: number }[] {
  return v2.files.filter((f) => f.length > pieceLength && f.layer === undefined).map((f) => ({ root: f.root, pieceCount: f.pieceCount }));
}

export class LayerFetch<K> {
  private readonly targets: Target[];
  private readonly runs: Run<K>[] = [];
  private readonly height: number;
  private remaining: number;

  constructor(files: readonly { root: Uint8Array; pieceCount: number }[], pieceLength: number) {
    this.height = log2(pieceLength / LEAF_SIZE);
    this.targets = files.map((f) => ({ root: f.root, pieceCount: f.pieceCount, layer: Buffer.alloc(f.pieceCount * HASH_SIZE) }));
    for (const [file, t] of this.targets.entries()) {
      // The padded piece layer is `width` wide; asking for all of it needs log2(width) - 1 proof
      // layers (none are uncles), a run of 512 of it needs the same number (the rest are uncles).
      const width = nextPow2(t.pieceCount);
      const length = Math.min(HASHES_PER_REQUEST, width);
      for (let index = 0; index < t.pieceCount; index += length) {
        const request = { piecesRoot: t.root, baseLayer: this.height, index, length, proofLayers: log2(width) - 1 };
        this.runs.push({ file, request, done: false, asked: undefined, refused: new Map() });
      }
    }
    this.remaining = this.runs.length;
  }

  get complete(): boolean {
    return this.remaining === 0;
  }

  /** Runs done and in all, for progress. */
  progress(): { done: number; total: number } {
    return { done: this.runs.length - this.remaining, total: this.runs.length };
  }

  /** The requests to send `peer` now; each is in flight from then on. */
  requestsFor(peer: K, now: number): HashRequest[] {
    let inFlight = 0;
    for (const r of this.runs) if (r.asked?.peer === peer) inFlight++;
    const out: HashRequest[] = [];
    for (const r of this.runs) {
      if (inFlight >= MAX_REQUESTS_PER_PEER) break;
      if (r.done || r.asked !== undefined || (r.refused.get(peer) ?? 0) > now) continue;
      r.asked = { peer, at: now };
      inFlight++;
      out.push(r.request);
    }
    return out;
  }

  /** A `hashes` answer from `peer`: stored when it answers our request and proves to the root. */
  onHashes(peer: K, msg: HashRequest & { readonly hashes: Uint8Array }): HashesVerdict {
    const run = this.find(peer, msg);
    if (run === undefined) return 'unrequested';
    const { index, length } = run.request;
    const base = msg.hashes.subarray(0, length * HASH_SIZE);
    const uncles = msg.hashes.subarray(length * HASH_SIZE);
    const target = this.targets[run.file]!;
    run.asked = undefined;
    if (uncles.length !== uncleCount(length, run.request.proofLayers) * HASH_SIZE) return 'bad-proof';
    if (!bytesEqual(rootFromProof(base, index, this.height, uncles), target.root)) return 'bad-proof';
    const real = Math.min(length, target.pieceCount - index);
    target.layer.set(base.subarray(0, real * HASH_SIZE), index * HASH_SIZE);
    run.done = true;
    this.remaining--;
    return 'stored';
  }

  /** A `hash reject` from `peer`: the run goes to someone else. */
  onReject(peer: K, req: HashRequest, now: number): void {
    const run = this.find(peer, req);
    if (run === undefined) return;
    run.asked = undefined;
    run.refused.set(peer, now + REFUSED_BACKOFF_MS);
  }

  /** The peer is gone: its runs are free again. */
  dropPeer(peer: K): void {
    for (const r of this.runs) {
      if (r.asked?.peer === peer) r.asked = undefined;
      r.refused.delete(peer);
    }
  }

  /** Requests older than `timeoutMs` are freed; returns each late peer once per late request. */
  expire(now: number, timeoutMs: number): K[] {
    const late: K[] = [];
    for (const r of this.runs) {
      if (r.asked === undefined || now - r.asked.at < timeoutMs) continue;
      late.push(r.asked.peer);
      r.refused.set(r.asked.peer, now + REFUSED_BACKOFF_MS);
      r.asked = undefined;
    }
    return late;
  }

  /** The fetched layers by pieces root (hex); complete once `complete` is true. */
  layers(): Map<string, Buffer> {
    return new Map(this.targets.map((t) => [toHex(t.root), t.layer]));
  }

  private find(peer: K, req: HashRequest): Run<K> | undefined {
    return this.runs.find(
      (r) =>
        r.asked?.peer === peer &&
        r.request.index === req.index &&
        r.request.length === req.length &&
        r.request.baseLayer === req.baseLayer &&
        r.request.proofLayers === req.proofLayers &&
        bytesEqual(r.request.piecesRoot, req.piecesRoot),
    );
  }
}
