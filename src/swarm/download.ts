/**
 * The download path of one swarm: interest, requests and the blocks that answer them.
 *
 * Per block: socket chunk -> FrameReader view -> picker.onBlock -> one copy into the piece's
 * shared buffer -> (piece complete) piece-completion.ts, where storage hashes and writes it
 * off the event loop. Requests are refilled in batches and written with one socket write, up
 * to a depth sized by each peer's measured rate, with a slow-start ramp while it is unknown
 * and a cap near the end (request-queue.ts).
 *
 * A piece takes a buffer from the pool when its first block arrives, not when it is
 * requested: a peer answers in order, so of the several pieces queued with it only the one
 * it is sending needs memory, and a small pool serves many peers. When every buffer is
 * taken, the piece is spilled: its blocks are written to disk as they come and the piece is
 * hashed there (storage.verifyStored). Without that, a few peers' partial pieces hold the
 * whole pool and every other peer waits with nothing requested; with it, each peer keeps
 * its full pipeline whatever the pool size.
 */
import type { Bitfield } from '../util/bitfield.js';
import type { Clock } from '../util/clock.js';
import { BLOCK_SIZE, type Picker } from './picker.js';
import type { BlockRequest } from './picker-types.js';
import type { PieceCompletion } from './piece-completion.js';
import { RateMeter } from './rate.js';
import type { SwarmPeer } from './swarm-peer.js';
import type { SwarmStorage } from './swarm-types.js';
import { formatTrace, type PeerTrace } from './trace.js';

/** No new piece is spilled while the storage has this many bytes of spilled blocks to write. */
const SPILL_BACKLOG_BYTES = 8 << 20;
/** A peer that fills a piece within this many ms waits for a buffer rather than spill (see `mayStartPiece`). */
const FAST_FILL_MS = 50;
/** Piece buffers wanted besides those of the sending peers: pieces storage is hashing and writing. */
const STORAGE_BUFFERS = 4;
/**
 * Bytes of piece buffers wanted per sending peer (at least one buffer). A peer capped by a
 * token bucket does not send evenly: libtorrent's limiter hands out its quota every 500 ms,
 * and eight seeders capped at 8 MiB/s each sent 4 MiB within a few ms of each other, twice a
 * second. With a buffer per peer, 15-35 % of a 256 MiB download from them went to the spill
 * (written unverified, then read back to be hashed); with 4 MiB per peer almost none did, for
 * about a tenth less CPU. Twenty uncapped peers also took less CPU and time, for more peak
 * RSS: the pool then grows to its bound (`maxPoolBytes`). One peer, with pieces up to 1 MiB,
 * still gets the pool's base.
 */
const SENDER_BUFFER_BYTES = 4 << 20;

/** A peer we want blocks from and that lets us ask: it sends to us. */
const sendingToUs = (p: SwarmPeer): boolean => p.registered && !p.conn.peerChoking && p.conn.amInterested;

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
  refillAll(): void;
}

/** Where a started piece's blocks go. */
type Slot = Buffer | 'spilled' | 'waiting';

export class Download {
  /** Payload bytes of blocks we asked for, and of those nobody asked for (or asked twice). */
  downloaded = 0;
  wasted = 0;
  readonly rate = new RateMeter({ windowMs: 5000, bucketMs: 250 });
  /** The last second's rate, for the trace: how soon the download reaches full speed. */
  private readonly recent = new RateMeter({ windowMs: 1000, bucketMs: 250 });
  /** Sum of the sending peers' rates at the last tick (0: none measured), for each one's share. */
  private swarmRate = 0;
  /** When the first peer unchoked us (undefined: none yet). */
  private firstUnchokeAt: number | undefined;
  private readonly host: DownloadHost;
  /** Started pieces: their buffer, 'spilled' (blocks go to disk) or 'waiting' for their first block. */
  private readonly inflight = new Map<number, Slot>();
  /** Pieces in `inflight` that are 'waiting': they have first claim on the free buffers. */
  private waiting = 0;
  /** New pieces were held back because the spill backlog was full: refill everyone once it drains. */
  private starved = false;
  /** Peers not read from until the storage's write queue drains. */
  private readonly heldForStorage = new Set<SwarmPeer>();
  /** Piece buffers asked for per sending peer (`SENDER_BUFFER_BYTES`). */
  private readonly buffersPerSender: number;

  constructor(host: DownloadHost) {
    this.host = host;
    this.buffersPerSender = Math.max(1, Math.floor(SENDER_BUFFER_BYTES / (host.blocksPerPiece * BLOCK_SIZE)));
    host.storage.onWriteQueueDrained(() => this.releaseReads());
  }

  onPiece(p: SwarmPeer, index: number, begin: number, block: Uint8Array): void {
    const now = this.host.clock.now();
    const len = block.length;
    p.bytesDown += len;
    const accepted = this.acceptBlock(p.key, index, begin, block, p.ip);
    // Storage is behind: stop reading this peer, so TCP slows it down, until the writes catch up.
    if (this.host.storage.writeQueueFull && !this.heldForStorage.has(p)) {
      this.heldForStorage.add(p);
      p.conn.pause('storage');
    }
    if (!accepted) {
      // A peer that keeps sending blocks nobody asked for is wasting our bandwidth.
      if (++p.unrequested > 2000) p.conn.close('too many unrequested blocks');
      return;
    }
    p.lastBlockAt = now;
    p.waitingSince = now;
    p.lastDataAt = now;
    p.snubbed = false;
    p.down.add(len, now);
    p.downNow.add(len, now);
    p.queue.onBlock();
    this.refill(p);
  }

  /** The peer unchoked us: ask it for blocks. */
  onUnchoke(p: SwarmPeer): void {
    this.firstUnchokeAt ??= this.host.clock.now();
    p.queue.restart();
    this.updateBufferDemand();
    this.refill(p);
  }

  /**
   * Once a second: each sending peer's rate ends or continues its slow start, and the sum of
   * their rates gives each its share near the end (request-queue.ts).
   */
  tick(now: number): void {
    let sum = 0;
    for (const p of this.host.peers.values()) {
      if (!sendingToUs(p)) continue;
      const rate = p.down.rate(now);
      sum += rate;
      if (this.host.picker.outstanding(p.key) > 0) p.queue.onTick(rate, p.maxOutstanding);
    }
    this.swarmRate = sum;
    this.updateBufferDemand();
  }

  /**
   * Each peer sending to us fills a piece at a time, and a capped one a burst of them, so the
   * pool is asked for `buffersPerSender` per such peer and a few for storage: with a pool
   * sized for one peer, twenty peers' pieces spilled to disk from the first second.
   */
  private updateBufferDemand(): void {
    let sending = 0;
    for (const p of this.host.peers.values()) if (sendingToUs(p)) sending++;
    this.host.storage.setBufferDemand(sending * this.buffersPerSender + STORAGE_BUFFERS);
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
    let slot = this.inflight.get(index);
    if (!r.accepted || slot === undefined) {
      this.wasted += len;
      return false;
    }
    if (slot === 'waiting') {
      slot = storage.acquirePieceBuffer(index) ?? 'spilled';
      this.inflight.set(index, slot);
      this.waiting--;
    }
    if (slot === 'spilled') storage.writeBlock(index, begin, block);
    else slot.set(block, begin);
    completion.blockReceived(index, begin, from);
    const now = this.host.clock.now();
    this.rate.add(len, now);
    this.recent.add(len, now);
    this.downloaded += len;
    for (const other of r.cancelFrom) peers.get(other)?.conn.send({ type: 'cancel', index, begin, length: len });
    if (r.pieceComplete) {
      this.inflight.delete(index);
      completion.finish(index, slot === 'spilled' ? null : slot);
    }
    if (this.starved && storage.spillBacklog < SPILL_BACKLOG_BYTES) {
      this.starved = false;
      this.host.refillAll();
    }
    return true;
  }

  private releaseReads(): void {
    for (const p of this.heldForStorage) if (p.conn.state !== 'closed') p.conn.resume('storage');
    this.heldForStorage.clear();
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
    const depth = this.requestDepth(p, p.down.rate(now));
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
   * Whether a new piece may be started for `key`: a buffer is free for it (none of the pieces
   * already asked for will need it), or it may be spilled.
   *
   * Spilling pays when the peers' partial pieces hold the pool: a few slow peers must not keep
   * every other one waiting. It does not pay a fast peer while storage holds buffers (pieces
   * waiting to be hashed and written): one comes back within a few ms, sooner than the peer's
   * next piece would have filled, while a spilled piece adds to the disk's work (written
   * unverified, then read back to be hashed). With one fast seeder that is every piece once the
   * pool runs dry, and the spill fed itself. So a new piece is spilled while the blocks waiting
   * to be written are under their bound, and either the peer is slow (`FAST_FILL_MS`; a source
   * that is not a peer counts as slow) or every buffer is held by a piece being filled.
   */
  private mayStartPiece(key: number): boolean {
    const { storage, completion, peers, clock, blocksPerPiece } = this.host;
    const free = storage.freeBuffers;
    if (free > this.waiting) return true;
    if (storage.spillBacklog >= SPILL_BACKLOG_BYTES) return false;
    if (free === 0 && completion.committing === 0) return true;
    const p = peers.get(key);
    return p === undefined || p.downNow.rate(clock.now()) * FAST_FILL_MS < blocksPerPiece * BLOCK_SIZE * 1000;
  }

  /**
   * Up to `room` blocks for `key`, new pieces while `mayStartPiece`. `runs`: new pieces
   * follow each other (a web seed's ranged requests).
   */
  takeBlocks(key: number, room: number, runs: boolean): BlockRequest[] {
    const { picker, blocksPerPiece } = this.host;
    const out: BlockRequest[] = [];
    let near: number | undefined;
    // One piece's worth per pick, so a new piece is started only when there is room for it.
    while (out.length < room) {
      const newPieces = this.mayStartPiece(key);
      // Held back by the backlog: refill when it drains (a buffer coming back refills anyway).
      if (!newPieces && this.host.storage.spillBacklog >= SPILL_BACKLOG_BYTES) this.starved = true;
      const opts = { newPieces, holderWait: this.holderWait };
      const reqs = picker.pick(key, Math.min(room - out.length, blocksPerPiece), runs && near !== undefined ? { ...opts, near } : opts);
      if (reqs.length === 0) break;
      for (const r of reqs) {
        if (!this.inflight.has(r.piece)) {
          this.inflight.set(r.piece, 'waiting');
          this.waiting++;
        }
        out.push(r);
        near = r.piece + 1;
      }
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
      if (typeof buf === 'string' || picker.availability(index) > 0) continue;
      for (let b = 0, begin = 0; begin < buf.length; b++, begin += BLOCK_SIZE) {
        if (picker.blockState(index, b) === 'received') storage.writeBlock(index, begin, buf.subarray(begin, Math.min(buf.length, begin + BLOCK_SIZE)));
      }
      this.inflight.set(index, 'spilled');
      storage.releasePieceBuffer(buf);
    }
  }

  /** One line of the `--verbose` trace (trace.ts). */
  traceLine(now: number): string {
    const { storage, picker, completion } = this.host;
    let spilled = 0;
    let filling = 0;
    for (const b of this.inflight.values()) {
      if (b === 'spilled') spilled++;
      else if (b !== 'waiting') filling++;
    }
    const peers: PeerTrace[] = [];
    for (const p of this.host.peers.values()) {
      if (!p.registered) continue;
      const rate = p.down.rate(now);
      peers.push({ port: p.conn.address.port, rate, outstanding: picker.outstanding(p.key), depth: this.requestDepth(p, rate), choked: p.conn.peerChoking, slowStart: p.queue.slowStart });
    }
    const since = this.firstUnchokeAt === undefined ? {} : { sinceUnchokeMs: now - this.firstUnchokeAt, lastSecond: this.recent.rate(now) };
    return formatTrace({ ...since, rate: this.rate.rate(now), freeBuffers: storage.freeBuffers, filling, committing: completion.committing, pieces: this.inflight.size, spilled, backlog: storage.spillBacklog, wasted: this.wasted, endgame: picker.endgame, peers });
  }

  private requestDepth(p: SwarmPeer, rate: number): number {
    const { picker } = this.host;
    const share = this.swarmRate > 0 ? Math.min(1, rate / this.swarmRate) : undefined;
    return p.queue.depth({ rate, maxOutstanding: p.maxOutstanding, snubbed: p.snubbed, endgame: picker.endgame, blocksLeft: picker.blocksLeft, share });
  }

  /**
   * Ms until the peer has sent all we asked of it, at its current rate (endgame's order). A
   * source that is not a peer (a web seed) has no such rate: its blocks are always worth
   * asking of a peer too.
   */
  private readonly holderWait = (key: number): number => {
    const p = this.host.peers.get(key);
    if (p === undefined) return Number.MAX_SAFE_INTEGER;
    const now = this.host.clock.now();
    return (this.host.picker.outstanding(key) * BLOCK_SIZE * 1000) / Math.max(BLOCK_SIZE, p.down.rate(now));
  };
}
