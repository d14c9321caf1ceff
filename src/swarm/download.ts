/**
 * The download path of one swarm: interest, requests and the blocks that answer them.
 *
 * Per block: socket chunk -> FrameReader view -> picker.onBlock -> one copy into the piece's
 * shared buffer -> (piece complete) piece-completion.ts, where storage hashes and writes it
 * off the event loop. Requests are refilled in batches and written with one socket write, up
 * to a depth sized by each peer's measured rate (bandwidth-delay product).
 * When every piece buffer is taken, a new piece is spilled: its blocks are written to disk
 * as they come and the piece is hashed there (storage.verifyStored). Without that, a few
 * peers' partial pieces hold the whole pool and every other peer waits with nothing
 * requested; with it, each peer keeps its full pipeline whatever the pool size.
 */
import type { Bitfield } from '../util/bitfield.js';
import type { Clock } from '../util/clock.js';
import { BLOCK_SIZE, type Picker } from './picker.js';
import type { BlockRequest } from './picker-types.js';
import type { PieceCompletion } from './piece-completion.js';
import { RateMeter, requestQueueDepth } from './rate.js';
import type { SwarmPeer } from './swarm-peer.js';
import type { SwarmStorage } from './swarm-types.js';
import { formatTrace, type PeerTrace } from './trace.js';

/** No new piece is spilled while the storage has this many bytes of spilled blocks to write. */
const SPILL_BACKLOG_BYTES = 16 << 20;
/**
 * Requests kept with a peer whose rate is not measured yet: 1 MiB. A rate-capped seeder
 * (libtorrent hands out upload quota in 0.5 s rounds) then sends 2 MiB/s from the first
 * round, and the depth grows with the measured rate from there.
 */
const MIN_REQUEST_DEPTH = 64;

/** What the download path needs from the swarm. */
export interface DownloadHost {
  readonly storage: SwarmStorage;
  readonly picker: Picker;
  readonly have: Bitfield;
  readonly peers: ReadonlyMap<number, SwarmPeer>;
  readonly clock: Clock;
  readonly completion: PieceCompletion;
  readonly blocksPerPiece: number;
  isStopped(): boolean;
}

export class Download {
  /** Payload bytes of blocks we asked for, and of those nobody asked for (or asked twice). */
  downloaded = 0;
  wasted = 0;
  readonly rate = new RateMeter({ windowMs: 5000, bucketMs: 250 });
  private readonly host: DownloadHost;
  /** Started pieces: their buffer, or null for a spilled piece (blocks go to disk). */
  private readonly inflight = new Map<number, Buffer | null>();

  constructor(host: DownloadHost) {
    this.host = host;
  }

  onPiece(p: SwarmPeer, index: number, begin: number, block: Uint8Array): void {
    const now = this.host.clock.now();
    const len = block.length;
    p.bytesDown += len;
    if (!this.acceptBlock(p.key, index, begin, block, p.ip)) {
      // A peer that keeps sending blocks nobody asked for is wasting our bandwidth.
      if (++p.unrequested > 2000) p.conn.close('too many unrequested blocks');
      return;
    }
    p.lastBlockAt = now;
    p.waitingSince = now;
    p.lastDataAt = now;
    p.snubbed = false;
    p.down.add(len, now);
    this.refill(p);
  }

  /**
   * A block from the peer or source `key`: into its piece's buffer (or spilled), and the
   * piece to the hash check once whole. `from` names the sender for blame (an IP, or a
   * source's tag). False when nobody asked it for the block.
   */
  acceptBlock(key: number, index: number, begin: number, block: Uint8Array, from: string): boolean {
    const { picker, storage, completion, peers } = this.host;
    const len = block.length;
    const r = picker.onBlock(key, index, begin, len);
    const buf = this.inflight.get(index);
    if (!r.accepted || buf === undefined) {
      this.wasted += len;
      return false;
    }
    if (buf !== null) buf.set(block, begin);
    else storage.writeBlock(index, begin, block);
    completion.blockReceived(index, begin, from);
    this.rate.add(len, this.host.clock.now());
    this.downloaded += len;
    for (const other of r.cancelFrom) peers.get(other)?.conn.send({ type: 'cancel', index, begin, length: len });
    if (r.pieceComplete) {
      this.inflight.delete(index);
      completion.finish(index, buf);
    }
    return true;
  }

  updateInterest(p: SwarmPeer): void {
    if (!p.registered) return;
    const want = !this.host.have.complete && this.host.picker.isInteresting(p.key);
    if (want !== p.conn.amInterested) {
      p.conn.amInterested = want;
      if (want) p.interestedAt = this.host.clock.now();
      p.conn.send({ type: want ? 'interested' : 'not-interested' });
    }
    if (want) this.refill(p);
  }

  /** Top up this peer's outstanding requests to its bandwidth-delay product. */
  refill(p: SwarmPeer): void {
    const conn = p.conn;
    if (!p.registered || conn.peerChoking || !conn.amInterested || this.host.isStopped()) return;
    const now = this.host.clock.now();
    // A snubbed peer gets one request at a time until it proves itself again.
    const depth = p.snubbed ? 1 : this.requestDepth(p, p.down.rate(now));
    const outstanding = this.host.picker.outstanding(p.key);
    const room = depth - outstanding;
    // Batch: wait until a quarter of the pipeline has drained, so each write carries several requests.
    if (room <= 0 || (outstanding > 0 && room < Math.max(1, depth >> 2))) return;
    const reqs = this.takeBlocks(p.key, room, false);
    const n = reqs.length;
    if (n === 0) return;
    const out = Buffer.allocUnsafe(n * 17);
    for (let i = 0; i < n; i++) {
      const r = reqs[i]!;
      const o = i * 17;
      out.writeUInt32BE(13, o);
      out[o + 4] = 6;
      out.writeUInt32BE(r.piece, o + 5);
      out.writeUInt32BE(r.begin, o + 9);
      out.writeUInt32BE(r.length, o + 13);
    }
    p.lastRequestAt = now;
    if (outstanding === 0) p.waitingSince = now;
    conn.write(out);
  }

  /**
   * Up to `room` blocks for `key`, each piece with a buffer (or spilled) before it is asked
   * for. `runs`: new pieces follow each other (a web seed's ranged requests).
   */
  takeBlocks(key: number, room: number, runs: boolean): BlockRequest[] {
    const { picker, storage, blocksPerPiece } = this.host;
    const spill = storage.spillBacklog < SPILL_BACKLOG_BYTES;
    const out: BlockRequest[] = [];
    let near: number | undefined;
    // One piece's worth per pick, so a new piece is started only when there is room for it.
    while (out.length < room) {
      const newPieces = spill || storage.freeBuffers > 0;
      const reqs = picker.pick(key, Math.min(room - out.length, blocksPerPiece), runs && near !== undefined ? { newPieces, near } : { newPieces });
      if (reqs.length === 0) break;
      let refused = -1;
      for (const r of reqs) {
        if (r.piece === refused) continue;
        if (!this.inflight.has(r.piece)) {
          const buf = storage.acquirePieceBuffer(r.piece) ?? (spill ? null : undefined);
          if (buf === undefined) {
            refused = r.piece;
            picker.release(key, reqs.filter((x) => x.piece === refused));
            continue;
          }
          this.inflight.set(r.piece, buf);
        }
        out.push(r);
        near = r.piece + 1;
      }
      if (refused >= 0) break;
    }
    return out;
  }

  /** A peer that sent no block for `timeoutMs` loses its requests to others; it may still deliver them later (endgame duplicates). */
  expireRequests(p: SwarmPeer, now: number, timeoutMs: number): void {
    if (this.host.picker.outstanding(p.key) > 0 && now - p.waitingSince > timeoutMs) {
      this.host.picker.releaseAll(p.key);
      p.waitingSince = now;
    }
  }

  /**
   * A started piece that no connected peer has cannot be finished until one comes; with large
   * pieces two such pieces held the whole pool and the download waited forever. When the pool
   * is empty, such a piece gives its buffer up: what arrived is spilled to disk, and whoever
   * has the piece later finishes it there.
   */
  spillStranded(): void {
    const { storage, picker } = this.host;
    if (storage.freeBuffers > 0) return;
    for (const [index, buf] of this.inflight) {
      if (buf === null || picker.availability(index) > 0) continue;
      for (let b = 0, begin = 0; begin < buf.length; b++, begin += BLOCK_SIZE) {
        if (picker.blockState(index, b) === 'received') storage.writeBlock(index, begin, buf.subarray(begin, Math.min(buf.length, begin + BLOCK_SIZE)));
      }
      this.inflight.set(index, null);
      storage.releasePieceBuffer(buf);
    }
  }

  /** One line of the `--verbose` trace (trace.ts). */
  traceLine(now: number): string {
    const { storage, picker } = this.host;
    let spilled = 0;
    for (const b of this.inflight.values()) if (b === null) spilled++;
    const peers: PeerTrace[] = [];
    for (const p of this.host.peers.values()) {
      if (!p.registered) continue;
      const rate = p.down.rate(now);
      peers.push({ port: p.conn.address.port, rate, outstanding: picker.outstanding(p.key), depth: this.requestDepth(p, rate), choked: p.conn.peerChoking });
    }
    return formatTrace({ rate: this.rate.rate(now), freeBuffers: storage.freeBuffers, pieces: this.inflight.size, spilled, backlog: storage.spillBacklog, peers });
  }

  private requestDepth(p: SwarmPeer, rate: number): number {
    return Math.min(p.maxOutstanding, requestQueueDepth(rate, { min: MIN_REQUEST_DEPTH }));
  }
}
