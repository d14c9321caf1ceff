/**
 * The upload side of a swarm: each peer's queue of requests, served from whole pieces read
 * once into a small cache, at the pace the peer's socket drains; the BEP 6 allowed-fast set;
 * and the upload counters the choker and trackers read.
 */
import { allowedFastSet } from '../wire/index.js';
import type { Bitfield } from '../util/bitfield.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { BandwidthLimit } from './bandwidth.js';
import { BLOCK_SIZE } from './picker.js';
import { PieceCache } from './piece-cache.js';
import { RateMeter } from './rate.js';
import type { SwarmPeer } from './swarm-peer.js';

/** Blocks queued from one peer's requests before we refuse further ones (SAFETY.md: ≤ 2,000). */
const MAX_UPLOAD_QUEUE = 2000;
/** Bytes waiting in a socket before we stop sending to it until it drains. */
const UPLOAD_HIGH_WATER = 1 << 20;
/** BEP 6 suggests 10 allowed-fast pieces. */
const ALLOWED_FAST_COUNT = 10;
/** Bytes of distinct pieces a peer asked for that are read ahead of the one it is sent (at least one piece). */
const READ_AHEAD_BYTES = 4 << 20;
/**
 * Piece buffers kept for uploading, in bytes (at least two pieces, for large pieces): a
 * leecher served at full speed keeps its read-ahead and a piece or two in its socket busy.
 */
export const UPLOAD_CACHE_BYTES = 8 << 20;
/**
 * The piece buffers outlive the last peer by this long. A leecher that comes soon after finds
 * them instead of faulting in fresh memory (8 MiB: about 25 ms of CPU per leecher on a
 * machine whose page faults are slow, paid by every seeder it meets); a torrent nobody asks
 * for still gives them back.
 */
export const IDLE_TRIM_MS = 10_000;
/** Requests a choked peer may send before it is dropped (libtorrent disconnects after 300). */
export const MAX_CHOKED_REQUESTS = 300;
/** Requests that arrive this soon after a choke were in flight when it was sent: not counted. */
const CHOKE_GRACE_MS = 2000;

export interface UploadHost {
  readonly infoHash: Uint8Array;
  readonly pieceCount: number;
  readonly have: Bitfield;
  pieceSize(index: number): number;
  /** A whole verified piece from storage, read into `into` (a view of it is returned). */
  read(index: number, into: Buffer): Promise<Buffer>;
  onDiskError(err: unknown): void;
  /** The swarm's clock: upload rates, and waiting out the upload limit. */
  readonly clock: Clock;
  /** The upload limit (`--max-up`), if any. */
  readonly limit?: BandwidthLimit;
}

export class Uploader {
  uploaded = 0;
  readonly rate = new RateMeter({ windowMs: 5000, bucketMs: 250 });
  private readonly cache: PieceCache;
  /** Requests received so far: the idle trim checks that none came while it waited. */
  private requests = 0;
  private idleTrim: TimerHandle | undefined;

  constructor(private readonly host: UploadHost) {
    const largest = host.pieceSize(0);
    this.cache = new PieceCache((p, into) => host.read(p, into), Math.max(UPLOAD_CACHE_BYTES, 2 * largest), largest);
  }

  /** Bytes of piece buffers held for uploading. */
  get cachedBytes(): number {
    return this.cache.bytes;
  }

  clear(): void {
    this.idleTrim?.cancel();
    this.idleTrim = undefined;
    this.cache.clear();
  }

  /**
   * The peer is gone: its queue is dropped (the bytes its socket still held are released as
   * the socket lets them go). With nobody left to serve, the piece buffers go too, unless a
   * peer asks for blocks within `IDLE_TRIM_MS`.
   */
  onPeerGone(p: SwarmPeer, remaining: number): void {
    p.uploadQueue.length = 0;
    if (remaining === 0) this.trimWhenIdle();
  }

  private trimWhenIdle(): void {
    this.idleTrim?.cancel();
    const seen = this.requests;
    this.idleTrim = this.host.clock.setTimeout(() => {
      this.idleTrim = undefined;
      if (this.requests === seen) this.cache.trim();
    }, IDLE_TRIM_MS);
  }

  /** We choked the peer: requests for allowed-fast pieces survive (BEP 6); the rest are dropped. */
  onChoke(p: SwarmPeer): void {
    p.chokedAt = this.host.clock.now();
    const kept = p.uploadQueue.filter((r) => p.allowedFast.has(r.index));
    if (p.fast) for (const r of p.uploadQueue) if (!p.allowedFast.has(r.index)) p.conn.send({ type: 'reject', ...r });
    p.uploadQueue.length = 0;
    p.uploadQueue.push(...kept);
  }

  /** We unchoked the peer: what it asked while choked is forgiven. */
  onUnchoke(p: SwarmPeer): void {
    p.chokedRequests = 0;
  }

  onRequest(p: SwarmPeer, index: number, begin: number, length: number): void {
    this.requests++;
    const conn = p.conn;
    // SAFETY.md: blocks above 16 KiB are refused; a far larger ask is hostile, not a mistake.
    if (length > BLOCK_SIZE * 8) return conn.close('request for an oversized block');
    const valid = index < this.host.pieceCount && length > 0 && length <= BLOCK_SIZE && begin + length <= this.host.pieceSize(index) && this.host.have.has(index);
    const allowed = !conn.amChoking || p.allowedFast.has(index);
    if (!allowed && this.host.clock.now() - p.chokedAt >= CHOKE_GRACE_MS && ++p.chokedRequests > MAX_CHOKED_REQUESTS) {
      return conn.close('too many requests while choked');
    }
    if (!valid || !allowed || p.uploadQueue.length >= MAX_UPLOAD_QUEUE) {
      // BEP 6: with the fast extension every request we will not serve is rejected explicitly.
      if (p.fast) conn.send({ type: 'reject', index, begin, length });
      return;
    }
    p.uploadQueue.push({ index, begin, length });
    this.serve(p);
  }

  /**
   * BEP 6 allowed-fast set: pieces this peer may request even while choked, so a new peer
   * gets something to trade at once. Computed from its address, so it cannot be farmed by
   * reconnecting; only pieces we have are announced.
   */
  grantAllowedFast(p: SwarmPeer): void {
    for (const index of allowedFastSet(p.conn.address.host, this.host.infoHash, this.host.pieceCount, ALLOWED_FAST_COUNT)) {
      p.allowedFast.add(index);
      if (this.host.have.has(index)) p.conn.send({ type: 'allowed-fast', index });
    }
  }

  onCancel(p: SwarmPeer, index: number, begin: number, length: number): void {
    const q = p.uploadQueue;
    const i = q.findIndex((r) => r.index === index && r.begin === begin && r.length === length);
    if (i >= 0) q.splice(i, 1);
  }

  /**
   * Start reading the next distinct pieces the peer asked for, so reads overlap sends: after
   * every batch, not only when a piece is missing, so the disk keeps ahead of the socket.
   */
  private readAhead(p: SwarmPeer): void {
    let ahead = 0;
    let last = -1;
    for (const r of p.uploadQueue) {
      if (r.index === last) continue;
      last = r.index;
      if (this.cache.peek(r.index) === undefined) void this.cache.get(r.index).catch(() => undefined);
      ahead += this.host.pieceSize(r.index);
      if (ahead >= READ_AHEAD_BYTES) break;
    }
  }

  /**
   * Send queued blocks while the socket keeps up, as many as are cached in one corked write
   * (one syscall for many blocks); a piece not yet cached is read first, a full socket is
   * waited out.
   */
  private serve(p: SwarmPeer): void {
    if (p.serving) return;
    p.serving = true;
    const step = (): void => {
      const conn = p.conn;
      let loading = false;
      let limited = 0;
      conn.batch(() => {
        let sent = 0;
        while (p.uploadQueue.length > 0 && conn.state === 'active' && conn.writableLength <= UPLOAD_HIGH_WATER) {
          limited = this.host.limit?.delayMs() ?? 0;
          if (limited > 0) break;
          const r = p.uploadQueue[0]!;
          const data = this.cache.peek(r.index);
          if (data === undefined) {
            loading = true;
            this.cache.get(r.index).then(step, (err: unknown) => {
              p.serving = false;
              this.host.onDiskError(err);
            });
            this.readAhead(p);
            break;
          }
          p.uploadQueue.shift();
          conn.sendPiece(r.index, r.begin, data.subarray(r.begin, r.begin + r.length), this.cache.pin(r.index));
          this.host.limit?.consume(r.length);
          sent += r.length;
        }
        if (sent > 0) {
          const now = this.host.clock.now();
          p.bytesUp += sent;
          p.lastDataAt = now;
          p.up.add(sent, now);
          this.rate.add(sent, now);
          this.uploaded += sent;
        }
      });
      if (loading) return;
      if (p.uploadQueue.length > 0) this.readAhead(p);
      if (limited > 0 && p.uploadQueue.length > 0 && conn.state === 'active') this.host.clock.setTimeout(step, limited);
      else if (p.uploadQueue.length > 0 && conn.state === 'active') conn.onDrain(step);
      else p.serving = false;
    };
    step();
  }
}
