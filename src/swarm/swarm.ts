/**
 * The live swarm of one torrent: which peers we are connected to and what we exchange with
 * each. It glues the pure parts together — the picker decides what to request, the choker
 * whom to serve, the peer pool whom to dial — and owns the only timers of this layer (a
 * one-second tick and the ten-second rechoke).
 *
 * Download path, per block: socket chunk -> FrameReader view -> picker.onBlock -> one copy
 * into the piece's shared buffer -> (piece complete) storage.commitPiece, which hashes and
 * writes off the event loop. Requests are refilled in batches and written with one socket
 * write, up to a depth sized by each peer's measured rate (bandwidth-delay product).
 * When every piece buffer is taken, a new piece is spilled: its blocks are written to disk
 * as they come and the piece is hashed there (storage.verifyStored). Without that, a few
 * peers' partial pieces hold the whole pool and every other peer waits with nothing
 * requested; with it, each peer keeps its full pipeline whatever the pool size.
 *
 * The upload side lives in upload.ts, choking in choking.ts, the extension protocol in
 * extensions.ts and the per-peer state in swarm-peer.ts. The message dispatch and the download
 * path stay here together: they are one hot loop, and splitting them would put an indirection
 * on every block.
 */
import { isIPv4 } from 'node:net';
import type { PeerAddress } from '../metainfo/types.js';
import { Bitfield } from '../util/bitfield.js';
import { bytesEqual } from '../util/bytes.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { PeerConnection, type LocalIdentity, type PeerHandler } from '../peer/connection.js';
import { decodeHashMessage, encodeHashMessage, isHashMessageId, makeReserved, readCapabilities, type HashMessage, type IncomingMessage } from '../wire/index.js';
import { HashServer } from './hash-server.js';
import { Choking } from './choking.js';
import { BLOCK_SIZE, Picker } from './picker.js';
import { PeerPool, type PeerSource } from './peer-pool.js';
import { RateMeter, requestQueueDepth } from './rate.js';
import { throttleReads } from './bandwidth.js';
import { Extensions, type ExtensionHost } from './extensions.js';
import { Uploader } from './upload.js';
import { formatTrace, type PeerTrace } from './trace.js';
import { SmartBan } from './smart-ban.js';
import { admitIncoming, dialFilter, settleDuplicate } from './admission.js';
import { DEFAULT_MAX_PEERS_PER_IP, localAddresses } from './peer-limits.js';
import { SwarmPeer } from './swarm-peer.js';
import type { BlockSource, BlockSourceHost, SwarmOptions } from './swarm-types.js';
import type { BlockRequest } from './picker-types.js';

/** Keep-alive after this long without sending; under the two minutes peers wait before closing. */
export const KEEPALIVE_MS = 100_000;
/** A peer we have heard nothing from (not even a keep-alive) for two minutes is gone. */
export const IDLE_MS = 120_000;
/** Default ms without a block before a peer's outstanding requests go to other peers. */
export const REQUEST_TIMEOUT_MS = 20_000;
const RECHOKE_MS = 10_000;
/** No new piece is spilled while the storage has this many bytes of spilled blocks to write. */
const SPILL_BACKLOG_BYTES = 16 << 20;
/**
 * Requests kept with a peer whose rate is not measured yet: 1 MiB. A rate-capped seeder
 * (libtorrent hands out upload quota in 0.5 s rounds) then sends 2 MiB/s from the first
 * round, and the depth grows with the measured rate from there.
 */
const MIN_REQUEST_DEPTH = 64;

export class Swarm implements PeerHandler, ExtensionHost {
  readonly picker: Picker;
  readonly pool: PeerPool;
  readonly have: Bitfield;
  readonly peers = new Map<number, SwarmPeer>();
  downloaded = 0;
  wasted = 0;
  hashFailures = 0;
  readonly downRate = new RateMeter({ windowMs: 5000, bucketMs: 250 });

  private readonly opts: SwarmOptions;
  private readonly identity: LocalIdentity;
  private readonly byConn = new Map<PeerConnection, SwarmPeer>();
  /** Started pieces: their buffer, or null for a spilled piece (blocks go to disk). */
  private readonly inflight = new Map<number, Buffer | null>();
  /** The IP that sent each received block of the pieces in flight (for smart ban). */
  private readonly blockFrom = new Map<number, string[]>();
  private readonly smartBan = new SmartBan(BLOCK_SIZE);
  /** Sources of blocks that are not peer connections (web seeds), by picker key. */
  private readonly sources = new Map<number, BlockSource>();
  readonly upload: Uploader;
  private readonly choking: Choking;
  private readonly extensions: Extensions;
  private readonly hashServer: HashServer | undefined;
  private nextKey = 1;
  /** Outgoing connections not yet past the handshake. */
  private readonly halfOpen = new Set<PeerConnection>();
  private readonly clock: Clock;
  private tickTimer: TimerHandle | undefined;
  private chokeTimer: TimerHandle | undefined;
  private stopped = false;
  private completeFired = false;
  private readonly blocksPerPiece: number;
  private readonly lastPieceSize: number;

  constructor(opts: SwarmOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.have = opts.have;
    this.pool = opts.pool ?? new PeerPool();
    this.picker = new Picker({ pieceCount: opts.pieceCount, pieceLength: opts.pieceLength, totalLength: opts.totalLength, have: opts.have });
    this.hashServer = opts.v2 === undefined ? undefined : new HashServer(opts.v2.files, opts.pieceLength);
    this.identity = { infoHash: opts.infoHash, peerId: opts.peerId, reserved: makeReserved({ extensionProtocol: true, fast: true, v2: opts.v2 !== undefined }) };
    this.lastPieceSize = opts.totalLength - (opts.pieceCount - 1) * opts.pieceLength;
    this.upload = new Uploader({
      infoHash: opts.infoHash,
      pieceCount: opts.pieceCount,
      have: opts.have,
      pieceSize: (p) => this.pieceSize(p),
      read: (p) => opts.storage.readBlock(p, 0, this.pieceSize(p)),
      onDiskError: (err) => this.opts.events?.onDiskError?.(err),
      clock: this.clock,
      ...(opts.upLimit !== undefined ? { limit: opts.upLimit } : {}),
    });
    this.choking = new Choking(this.peers, this.upload, () => this.have.complete);
    this.extensions = new Extensions(this, { pex: opts.pex ?? true, infoBytes: opts.infoBytes, listenPort: opts.listenPort, now: () => this.clock.now() });
    this.blocksPerPiece = Math.ceil(opts.pieceLength / BLOCK_SIZE);
    // Trackers and PEX list us too: never dial our own listening socket.
    if (opts.listenPort !== undefined) this.pool.setListening(opts.listenPort, localAddresses());
    opts.storage.onPoolAvailable(() => this.refillAll());
  }

  /** Pieces to fetch before any other, most urgent first (streaming; see `Picker.setUrgent`). */
  setUrgent(pieces: readonly number[]): void {
    this.picker.setUrgent(pieces);
    this.refillAll();
  }

  /** `--sequential`: new pieces in index order. */
  setSequential(on: boolean): void {
    this.picker.setSequential(on);
  }

  /**
   * One level per piece (piece-priority.ts), or undefined for all normal. Takes effect at
   * once: interest is re-evaluated for every peer, and completion may come or go.
   */
  setPiecePriorities(levels: Uint8Array | undefined): void {
    this.picker.setPriorities(levels);
    if (!this.picker.done && this.completeFired) {
      this.completeFired = false;
      this.opts.events?.onIncomplete?.();
    }
    for (const p of this.peers.values()) this.updateInterest(p);
    if (this.picker.done && !this.stopped && this.tickTimer !== undefined) this.fireComplete();
  }

  /** Every wanted piece is verified (every piece, without priorities). */
  get finished(): boolean {
    return this.picker.done;
  }

  get uploaded(): number {
    return this.upload.uploaded;
  }

  get upRate(): RateMeter {
    return this.upload.rate;
  }

  get complete(): boolean {
    return this.have.complete;
  }

  get connectedCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.conn.isActive) n++;
    return n;
  }

  get localIdentity(): LocalIdentity {
    return this.identity;
  }

  get maxBitfieldBytes(): number {
    return Math.ceil(this.opts.pieceCount / 8);
  }

  start(): void {
    this.tickTimer = this.clock.setInterval(() => this.tick(), 1000);
    this.chokeTimer = this.clock.setInterval(() => this.choking.rechoke(this.clock.now()), RECHOKE_MS);
    if (this.picker.done) this.fireComplete();
    this.dial();
  }

  stop(): void {
    this.stopped = true;
    this.tickTimer?.cancel();
    this.chokeTimer?.cancel();
    for (const p of [...this.peers.values()]) p.conn.close('stopping');
    for (const s of new Set(this.sources.values())) s.stop();
    this.upload.clear();
  }

  /**
   * Adds a source of blocks that is not a peer connection (a web seed, see src/webseed).
   * It asks for blocks through the host it is given and is filled on every refill and tick.
   */
  addSource(make: (host: BlockSourceHost) => BlockSource): BlockSource {
    const keys: number[] = [];
    const host: BlockSourceHost = {
      newKey: () => {
        keys.push(this.nextKey);
        return this.nextKey++;
      },
      attach: (key, has) => void this.picker.addPeer(key, has),
      detach: (key) => {
        this.picker.removePeer(key);
        this.refillAll();
      },
      pick: (key, max) => (this.stopped || this.have.complete ? [] : this.takeBlocks(key, max, true)),
      deliver: (key, piece, begin, data) => void this.acceptBlock(key, piece, begin, data, sourceTag(key)),
      release: (key, blocks) => {
        this.picker.release(key, blocks);
        this.refillAll();
      },
    };
    const source = make(host);
    for (const k of keys) this.sources.set(k, source);
    if (this.tickTimer !== undefined) source.fill();
    return source;
  }

  /** Bytes received from sources that are not peers (web seeds). */
  get sourceBytes(): number {
    let n = 0;
    for (const s of new Set(this.sources.values())) n += s.bytes;
    return n;
  }

  addPeers(addresses: Iterable<PeerAddress>, source: PeerSource): number {
    let added = 0;
    for (const a of addresses) if (this.pool.add(a, source)) added++;
    if (added > 0) this.dial();
    return added;
  }

  // ---- PeerHandler ----

  onHandshake(conn: PeerConnection, peerId: Uint8Array, reserved: Uint8Array): boolean {
    if (bytesEqual(peerId, this.opts.peerId)) {
      this.pool.addSelf(conn.address);
      return false;
    }
    this.halfOpen.delete(conn);
    if (this.stopped) return false;
    const slots = (this.opts.maxConnections ?? 60) + 10;
    if (!conn.outgoing && (this.pool.isBanned(conn.address) || !admitIncoming(this.peers, conn, { maxPerIp: this.maxPerIp, slots }))) return false;
    if (!settleDuplicate(this.peers, conn, peerId, this.opts.peerId)) return false;
    this.welcome(this.byConn.get(conn) ?? this.register(conn), reserved, true);
    return true;
  }

  /**
   * Carry on with a connection that another owner opened (a magnet's metadata phase): the
   * handshakes are done, so we announce our pieces with `have`s (a bitfield may only be the
   * first message), then replay what the peer told that owner (its bitfield, haves, extended
   * handshake). Connections still dialling finish their handshake here as usual.
   */
  adopt(conn: PeerConnection, replay: readonly IncomingMessage[]): void {
    conn.setHandler(this);
    if (conn.state === 'closed') return;
    if (!conn.isActive) {
      this.halfOpen.add(conn);
      this.register(conn);
      return;
    }
    this.welcome(this.register(conn), conn.remoteReserved ?? new Uint8Array(8), false);
    for (const msg of replay) if (conn.isActive) this.onMessage(conn, msg);
  }

  private welcome(p: SwarmPeer, reserved: Uint8Array, fresh: boolean): void {
    const conn = p.conn;
    const caps = readCapabilities(reserved);
    p.fast = caps.fast;
    if (caps.extensionProtocol) this.extensions.sendHandshake(p);
    if (!fresh) {
      if (this.have.count > 0) conn.batch(() => { for (let i = 0; i < this.opts.pieceCount; i++) if (this.have.has(i)) conn.send({ type: 'have', index: i }); });
    } else if (p.fast && this.have.complete) conn.send({ type: 'have-all' });
    else if (p.fast && this.have.count === 0) conn.send({ type: 'have-none' });
    else if (this.have.count > 0) conn.send({ type: 'bitfield', bytes: this.have.bytes });
    if (p.fast && isIPv4(conn.address.host)) this.upload.grantAllowedFast(p);
    this.picker.addPeer(p.key, p.has);
    p.registered = true;
    // An adopted connection was reported by its first owner already.
    if (fresh) this.opts.events?.onPeerConnected?.(conn.address, conn.outgoing);
  }

  onMessage(conn: PeerConnection, msg: IncomingMessage): void {
    const p = this.byConn.get(conn);
    if (p === undefined) return;
    switch (msg.type) {
      case 'piece':
        this.onPiece(p, msg.index, msg.begin, msg.block);
        if (this.opts.downLimit !== undefined) throttleReads(p, msg.block.length, this.opts.downLimit, this.clock, () => !this.stopped);
        return;
      case 'request':
        this.upload.onRequest(p, msg.index, msg.begin, msg.length);
        return;
      case 'have':
        if (msg.index >= this.opts.pieceCount) return conn.close('have for a piece past the end');
        if (!p.has.has(msg.index)) {
          p.has.set(msg.index);
          if (this.picker.peerHave(p.key, msg.index)) this.updateInterest(p);
        }
        return;
      case 'bitfield':
        return this.onBitfield(p, msg.bytes);
      case 'have-all':
        if (!p.fast) return conn.close('have-all without the fast extension');
        p.has.setAll();
        this.picker.peerHaveAll(p.key);
        this.updateInterest(p);
        this.closeIfBothSeeds(p);
        return;
      case 'have-none':
        if (!p.fast) return conn.close('have-none without the fast extension');
        return;
      case 'choke':
        conn.peerChoking = true;
        // Without BEP 6 a choke discards every pending request; with it the peer rejects
        // them one by one, but releasing now costs at most a duplicate block.
        this.picker.releaseAll(p.key);
        return;
      case 'unchoke':
        conn.peerChoking = false;
        this.refill(p);
        return;
      case 'interested':
        conn.peerInterested = true;
        this.choking.maybeUnchoke(p);
        return;
      case 'not-interested':
        conn.peerInterested = false;
        return;
      case 'cancel':
        this.upload.onCancel(p, msg.index, msg.begin, msg.length);
        return;
      case 'reject':
        if (!p.fast) return conn.close('reject without the fast extension');
        this.picker.release(p.key, [{ piece: msg.index, begin: msg.begin, length: msg.length }]);
        this.refill(p);
        return;
      case 'extended':
        this.extensions.onMessage(p, msg.id, msg.payload);
        return;
      case 'keep-alive':
      case 'port':
      case 'suggest':
      case 'allowed-fast':
        return;
      case 'unknown':
        if (isHashMessageId(msg.id)) this.onHashMessage(conn, msg.id, msg.payload);
        return;
    }
  }

  /** BEP 52: answer hash requests from the piece layers; a malformed hash message closes the peer. */
  private onHashMessage(conn: PeerConnection, id: number, payload: Uint8Array): void {
    let msg: HashMessage;
    try {
      msg = decodeHashMessage(id, payload);
    } catch (err) {
      conn.close(err instanceof Error ? err.message : String(err));
      return;
    }
    if (msg.type !== 'hash-request') return;
    const hashes = this.hashServer?.answer(msg);
    conn.write(encodeHashMessage(hashes === undefined ? { ...msg, type: 'hash-reject' } : { ...msg, type: 'hashes', hashes }));
  }

  onClose(conn: PeerConnection, reason: string): void {
    this.halfOpen.delete(conn);
    const p = this.byConn.get(conn);
    if (p === undefined) return;
    this.byConn.delete(conn);
    this.peers.delete(p.key);
    if (p.registered) this.picker.removePeer(p.key);
    this.extensions.forget(p);
    if (p.registered) this.opts.events?.onPeerDisconnected?.(conn.address, reason);
    if (!this.pool.isBanned(conn.address)) this.pool.disconnected(conn.address, p.registered && reason !== 'handshake refused', this.clock.now());
    if (!this.stopped) {
      this.refillAll();
      this.dial();
    }
  }

  private get maxPerIp(): number {
    return this.opts.maxPeersPerIp ?? DEFAULT_MAX_PEERS_PER_IP;
  }

  // ---- ExtensionHost (BEP 10 users call back into the swarm through this) ----

  get pieceCount(): number {
    return this.opts.pieceCount;
  }

  setPeerRequestLimit(p: SwarmPeer, reqq: number): void {
    p.maxOutstanding = Math.max(2, Math.min(reqq, 2000));
  }

  addPexPeers(addresses: PeerAddress[]): void {
    this.addPeers(addresses, 'pex');
  }

  connectedAddresses(): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (const p of this.peers.values()) {
      if (!p.registered) continue;
      if (p.conn.outgoing) out.push(p.conn.address);
      else if (p.listenPort !== undefined) out.push({ host: p.conn.address.host, port: p.listenPort });
    }
    return out;
  }

  // ---- download ----

  private onBitfield(p: SwarmPeer, bytes: Uint8Array): void {
    if (!Bitfield.sparesClear(this.opts.pieceCount, bytes)) return p.conn.close('invalid bitfield');
    const fresh = new Bitfield(this.opts.pieceCount, bytes);
    this.picker.removePeer(p.key);
    p.has = fresh;
    this.picker.addPeer(p.key, fresh);
    this.updateInterest(p);
    this.closeIfBothSeeds(p);
  }

  /** Two seeds have nothing to trade. */
  private closeIfBothSeeds(p: SwarmPeer): void {
    if (this.have.complete && p.has.complete) p.conn.close('both seeds');
  }

  private onPiece(p: SwarmPeer, index: number, begin: number, block: Uint8Array): void {
    const now = this.clock.now();
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
  private acceptBlock(key: number, index: number, begin: number, block: Uint8Array, from: string): boolean {
    const len = block.length;
    const r = this.picker.onBlock(key, index, begin, len);
    const buf = this.inflight.get(index);
    if (!r.accepted || buf === undefined) {
      this.wasted += len;
      return false;
    }
    if (buf !== null) buf.set(block, begin);
    else this.opts.storage.writeBlock(index, begin, block);
    let senders = this.blockFrom.get(index);
    if (senders === undefined) this.blockFrom.set(index, (senders = []));
    senders[begin / BLOCK_SIZE] = from;
    this.downRate.add(len, this.clock.now());
    this.downloaded += len;
    for (const other of r.cancelFrom) {
      const o = this.peers.get(other);
      o?.conn.send({ type: 'cancel', index, begin, length: len });
    }
    if (r.pieceComplete) this.finishPiece(index, buf);
    return true;
  }

  private finishPiece(index: number, buf: Buffer | null): void {
    this.inflight.delete(index);
    const from = this.blockFrom.get(index) ?? [];
    this.blockFrom.delete(index);
    // The data may have to be compared later: a piece from several peers may fail, and a piece
    // that failed before may now name the liar. Storage takes the buffer, so keep a copy; a
    // spilled piece is read back, before its blocks can be fetched again.
    const keep = new Set(from).size > 1 || this.smartBan.tracks(index);
    const copy = keep && buf !== null ? Buffer.from(buf) : undefined;
    const storage = this.opts.storage;
    (buf !== null ? storage.commitPiece(index, buf) : storage.verifyStored(index)).then(
      async (result) => {
        const data = copy ?? (keep ? await storage.readBlock(index, 0, this.pieceSize(index)).catch(() => undefined) : undefined);
        if (result === 'ok') {
          if (data !== undefined) for (const ip of this.smartBan.verified(index, data)) this.banIp(ip, `sent a block of piece ${index} that differs from the verified one`);
          this.pieceVerified(index);
        } else {
          this.pieceFailed(index, from, data);
        }
      },
      (err: unknown) => this.opts.events?.onDiskError?.(err),
    );
  }

  private pieceVerified(index: number): void {
    if (this.stopped) return;
    const bored = this.picker.pieceVerified(index);
    this.have.set(index);
    this.opts.events?.onPieceVerified?.(index);
    // A peer that has the piece already learns nothing from a `have` (BEP 3 lets us skip it).
    for (const p of this.peers.values()) {
      if (p.registered && !p.has.has(index)) p.conn.send({ type: 'have', index });
    }
    for (const key of bored) {
      const p = this.peers.get(key);
      if (p !== undefined) this.updateInterest(p);
    }
    if (this.picker.done) this.fireComplete();
  }

  /**
   * A peer that sent every block of a bad piece lied. When several did, which one is learnt
   * once the piece verifies (smart-ban.ts); the picker fetches the retry from one peer only.
   */
  private pieceFailed(index: number, from: readonly string[], data: Buffer | undefined): void {
    if (this.stopped) return;
    this.hashFailures++;
    this.picker.pieceFailed(index);
    this.opts.events?.onPieceFailed?.(index);
    const senders = new Set(from);
    if (senders.size === 1) this.banIp([...senders][0]!, `sent data that failed the hash check of piece ${index}`);
    else if (data !== undefined) this.smartBan.failed(index, from, data);
    this.refillAll();
  }

  /** Bans are by IP: every connection from it is closed and it is never dialled or accepted again. */
  private banIp(ip: string, reason: string): void {
    const source = sourceKey(ip);
    if (source !== undefined) return this.sources.get(source)?.blame(source, reason);
    if (this.pool.isBanned({ host: ip, port: 0 })) return;
    const conns = [...this.peers.values()].filter((p) => p.ip === ip).map((p) => p.conn);
    this.pool.ban({ host: ip, port: 0 });
    this.opts.events?.onPeerBanned?.(conns[0]?.address ?? { host: ip, port: 0 }, reason);
    for (const c of conns) c.close(`banned: ${reason}`);
  }

  private fireComplete(): void {
    if (this.completeFired) return;
    this.completeFired = true;
    for (const p of this.peers.values()) this.updateInterest(p);
    this.opts.events?.onComplete?.();
  }

  private updateInterest(p: SwarmPeer): void {
    if (!p.registered) return;
    const want = !this.have.complete && this.picker.isInteresting(p.key);
    if (want !== p.conn.amInterested) {
      p.conn.amInterested = want;
      if (want) p.interestedAt = this.clock.now();
      p.conn.send({ type: want ? 'interested' : 'not-interested' });
    }
    if (want) this.refill(p);
  }

  /**
   * A started piece that no connected peer has cannot be finished until one comes; with large
   * pieces two such pieces held the whole pool and the download waited forever. When the pool
   * is empty, such a piece gives its buffer up: what arrived is spilled to disk, and whoever
   * has the piece later finishes it there.
   */
  private spillStranded(): void {
    const storage = this.opts.storage;
    if (storage.freeBuffers > 0) return;
    for (const [index, buf] of this.inflight) {
      if (buf === null || this.picker.availability(index) > 0) continue;
      for (let b = 0, begin = 0; begin < buf.length; b++, begin += BLOCK_SIZE) {
        if (this.picker.blockState(index, b) === 'received') storage.writeBlock(index, begin, buf.subarray(begin, Math.min(buf.length, begin + BLOCK_SIZE)));
      }
      this.inflight.set(index, null);
      storage.releasePieceBuffer(buf);
    }
  }

  private refillAll(): void {
    for (const p of this.peers.values()) this.refill(p);
    if (!this.stopped) for (const s of new Set(this.sources.values())) s.fill();
  }

  /** Top up this peer's outstanding requests to its bandwidth-delay product. */
  private refill(p: SwarmPeer): void {
    const conn = p.conn;
    if (!p.registered || conn.peerChoking || !conn.amInterested || this.stopped) return;
    const now = this.clock.now();
    // A snubbed peer gets one request at a time until it proves itself again.
    const depth = p.snubbed ? 1 : this.requestDepth(p, p.down.rate(now));
    const outstanding = this.picker.outstanding(p.key);
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
  private takeBlocks(key: number, room: number, runs: boolean): BlockRequest[] {
    const spill = this.opts.storage.spillBacklog < SPILL_BACKLOG_BYTES;
    const out: BlockRequest[] = [];
    let near: number | undefined;
    // One piece's worth per pick, so a new piece is started only when there is room for it.
    while (out.length < room) {
      const newPieces = spill || this.opts.storage.freeBuffers > 0;
      const reqs = this.picker.pick(key, Math.min(room - out.length, this.blocksPerPiece), runs && near !== undefined ? { newPieces, near } : { newPieces });
      if (reqs.length === 0) break;
      let refused = -1;
      for (const r of reqs) {
        if (r.piece === refused) continue;
        if (!this.inflight.has(r.piece)) {
          const buf = this.opts.storage.acquirePieceBuffer(r.piece) ?? (spill ? null : undefined);
          if (buf === undefined) {
            refused = r.piece;
            this.picker.release(key, reqs.filter((x) => x.piece === refused));
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

  private requestDepth(p: SwarmPeer, rate: number): number {
    return Math.min(p.maxOutstanding, requestQueueDepth(rate, { min: MIN_REQUEST_DEPTH }));
  }

  private pieceSize(index: number): number {
    return index === this.opts.pieceCount - 1 ? this.lastPieceSize : this.opts.pieceLength;
  }

  // ---- timers and dialing ----

  private tick(): void {
    const now = this.clock.now();
    const timeout = this.opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    for (const p of this.peers.values()) {
      const conn = p.conn;
      if (!conn.isActive) continue;
      if (now - conn.lastReceived > IDLE_MS) {
        conn.close('idle');
        continue;
      }
      if (now - conn.lastSent > KEEPALIVE_MS) conn.send({ type: 'keep-alive' });
      if (p.registered) p.snubbed = this.choking.isSnubbed(p, now);
      if (this.picker.outstanding(p.key) > 0 && now - p.waitingSince > timeout) {
        // Its requests go to others; it may still deliver later (endgame duplicates).
        this.picker.releaseAll(p.key);
        p.waitingSince = now;
      }
    }
    this.extensions.tick(now);
    this.spillStranded();
    if (this.opts.events?.onTrace !== undefined) this.opts.events.onTrace(this.traceLine(now));
    this.refillAll();
    this.dial();
  }

  private traceLine(now: number): string {
    let spilled = 0;
    for (const b of this.inflight.values()) if (b === null) spilled++;
    const peers: PeerTrace[] = [];
    for (const p of this.peers.values()) {
      if (!p.registered) continue;
      const rate = p.down.rate(now);
      peers.push({ port: p.conn.address.port, rate, outstanding: this.picker.outstanding(p.key), depth: this.requestDepth(p, rate), choked: p.conn.peerChoking });
    }
    return formatTrace({ rate: this.downRate.rate(now), freeBuffers: this.opts.storage.freeBuffers, pieces: this.inflight.size, spilled, backlog: this.opts.storage.spillBacklog, peers });
  }

  private dial(): void {
    if (this.stopped) return;
    const max = this.opts.maxConnections ?? 60;
    const maxHalfOpen = this.opts.maxHalfOpen ?? 16;
    const n = Math.min(max - this.peers.size, maxHalfOpen - this.halfOpen.size);
    for (const address of this.pool.take(n, this.clock.now(), dialFilter(this.peers, this.maxPerIp))) {
      const conn = PeerConnection.connect(address, this.identity, this, {
        maxBitfield: this.maxBitfieldBytes,
        clock: this.clock,
        ...(this.opts.encryption !== undefined ? { encryption: this.opts.encryption } : {}),
        ...(this.opts.transport !== undefined ? { dial: this.opts.transport.dialer(address) } : {}),
      });
      this.halfOpen.add(conn);
      this.register(conn);
    }
  }

  private register(conn: PeerConnection): SwarmPeer {
    const p = new SwarmPeer(this.nextKey++, conn, this.opts.pieceCount, this.clock.now());
    this.peers.set(p.key, p);
    this.byConn.set(conn, p);
    if (!conn.outgoing) this.pool.markConnected(conn.address);
    return p;
  }
}

/** How blocks from a source that is not a peer are tagged for blame (an IP never looks so). */
function sourceTag(key: number): string {
  return `source:${key}`;
}

function sourceKey(tag: string): number | undefined {
  return tag.startsWith('source:') ? Number(tag.slice(7)) : undefined;
}
