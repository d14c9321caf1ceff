/**
 * The live swarm of one torrent: which peers we are connected to and what we exchange with
 * each. It glues the pure parts together — the picker decides what to request, the choker
 * whom to serve, the peer pool whom to dial — and owns the only timers of this layer (a
 * one-second tick and the ten-second rechoke).
 *
 * The download path (interest, requests, blocks into piece buffers) lives in download.ts,
 * the hash verdicts and bans in piece-completion.ts, the upload side in upload.ts, choking
 * in choking.ts, the extension protocol in extensions.ts and the per-peer state in
 * swarm-peer.ts. Here: connections, the message dispatch, timers and dialling. At about 500
 * lines it stays whole: most of the rest is one-line getters and setters of the session's
 * handle, and the message switch reads best beside the connection lifecycle it drives.
 */
import { isIPv4 } from 'node:net';
import type { PeerAddress } from '../metainfo/types.js';
import { Bitfield } from '../util/bitfield.js';
import { bytesEqual } from '../util/bytes.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { PeerConnection, type LocalIdentity, type PeerHandler } from '../peer/connection.js';
import { PexFlag, decodeHashMessage, encodeHashMessage, isHashMessageId, makeReserved, readCapabilities, type HashMessage, type IncomingMessage, type PexPeer } from '../wire/index.js';
import { HashServer } from './hash-server.js';
import { Choking } from './choking.js';
import { BLOCK_SIZE, Picker } from './picker.js';
import { PeerPool, type PeerSource } from './peer-pool.js';
import type { RateMeter } from './rate.js';
import { throttleReads } from './bandwidth.js';
import { Extensions, type ExtensionHost } from './extensions.js';
import { Uploader } from './upload.js';
import { Download } from './download.js';
import { PieceCompletion, sourceTag } from './piece-completion.js';
import { admitIncoming, dialFilter, settleDuplicate } from './admission.js';
import { DEFAULT_MAX_PEERS_PER_IP, localAddresses } from './peer-limits.js';
import { SwarmPeer } from './swarm-peer.js';
import { BlockSources } from './sources.js';
import type { BlockSource, BlockSourceHost, SwarmOptions } from './swarm-types.js';

/** Keep-alive after this long without sending; under the two minutes peers wait before closing. */
export const KEEPALIVE_MS = 100_000;
/** A peer we have heard nothing from (not even a keep-alive) for two minutes is gone. */
export const IDLE_MS = 120_000;
/** Default ms without a block before a peer's outstanding requests go to other peers. */
export const REQUEST_TIMEOUT_MS = 20_000;
const RECHOKE_MS = 10_000;

export class Swarm implements PeerHandler, ExtensionHost {
  readonly picker: Picker;
  readonly pool: PeerPool;
  readonly have: Bitfield;
  readonly peers = new Map<number, SwarmPeer>();

  private readonly opts: SwarmOptions;
  private readonly identity: LocalIdentity;
  private readonly byConn = new Map<PeerConnection, SwarmPeer>();
  private readonly download: Download;
  private readonly completion: PieceCompletion;
  /** Sources of blocks that are not peer connections (web seeds). */
  private readonly sources = new BlockSources();
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
      read: (p, into) => opts.storage.readBlock(p, 0, this.pieceSize(p), into),
      onDiskError: (err) => this.opts.events?.onDiskError?.(err),
      clock: this.clock,
      ...(opts.upLimit !== undefined ? { limit: opts.upLimit } : {}),
    });
    this.choking = new Choking(this.peers, this.upload, () => this.have.complete);
    this.extensions = new Extensions(this, { pex: opts.pex ?? true, infoBytes: opts.infoBytes, listenPort: opts.listenPort, now: () => this.clock.now(), onYourIp: opts.events?.onYourIp });
    const host = { storage: opts.storage, picker: this.picker, have: this.have, peers: this.peers, isStopped: () => this.stopped, refillAll: () => this.refillAll() };
    this.completion = new PieceCompletion({
      ...host,
      pool: this.pool,
      events: opts.events,
      pieceSize: (i) => this.pieceSize(i),
      blameSource: (key, reason) => this.sources.blame(key, reason),
      updateInterest: (p) => this.download.updateInterest(p),
      checkComplete: () => {
        if (this.picker.done) this.fireComplete();
      },
      ...(opts.v2 === undefined ? {} : { v2: { files: opts.v2.files, pieceLength: opts.pieceLength } }),
    });
    this.download = new Download({ ...host, clock: this.clock, completion: this.completion, blocksPerPiece: Math.ceil(opts.pieceLength / BLOCK_SIZE) });
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
      this.extensions.announceUploadOnly();
      // Seeds were let go when the selection was done: dial them now, not after their back-off.
      this.pool.retryNow(this.clock.now());
      this.opts.events?.onIncomplete?.();
    }
    for (const p of this.peers.values()) this.download.updateInterest(p);
    if (this.picker.done && !this.stopped && this.tickTimer !== undefined) this.fireComplete();
  }

  /** Every wanted piece is verified (every piece, without priorities). */
  get finished(): boolean {
    return this.picker.done;
  }

  /** Payload bytes of blocks we asked for. */
  get downloaded(): number {
    return this.download.downloaded;
  }

  /** Payload bytes received that nobody asked for, or that another peer sent first. */
  get wasted(): number {
    return this.download.wasted;
  }

  get hashFailures(): number {
    return this.completion.hashFailures;
  }

  get downRate(): RateMeter {
    return this.download.rate;
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
    this.sources.stop();
    this.upload.clear();
  }

  /**
   * Adds a source of blocks that is not a peer connection (a web seed, see src/webseed).
   * It asks for blocks through the host it is given and is filled on every refill and tick;
   * one added once the swarm has stopped is stopped at once.
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
      pick: (key, max) => (this.stopped || this.have.complete ? [] : this.download.takeBlocks(key, max, true)),
      deliver: (key, piece, begin, data) => void this.download.acceptBlock(key, piece, begin, data, sourceTag(key)),
      release: (key, blocks) => {
        this.picker.release(key, blocks);
        this.refillAll();
      },
    };
    const source = make(host);
    this.sources.add(source, keys);
    if (!this.stopped && this.tickTimer !== undefined) source.fill();
    return source;
  }

  /** Bytes received from sources that are not peers (web seeds). */
  get sourceBytes(): number {
    return this.sources.bytes;
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
    const dialled = this.halfOpen.delete(conn);
    if (this.stopped) return false;
    const slots = (this.opts.maxConnections ?? 60) + 10;
    if (!conn.outgoing && (this.pool.isBanned(conn.address) || !admitIncoming(this.peers, conn, { maxPerIp: this.maxPerIp, slots }))) return false;
    if (!settleDuplicate(this.peers, conn, peerId, this.opts.peerId)) return false;
    this.welcome(this.byConn.get(conn) ?? this.register(conn), reserved, true);
    // The dial slot it held is free: the next candidate is dialled now, not at the next tick,
    // so a swarm of more peers than `maxHalfOpen` is connected within round trips, not seconds.
    // A dial that fails leaves its slot to the tick, which keeps dead candidates from being
    // tried faster than `maxHalfOpen` a second.
    if (dialled) this.dial();
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
        this.download.onPiece(p, msg.index, msg.begin, msg.block);
        if (this.opts.downLimit !== undefined) throttleReads(p, msg.block.length, this.opts.downLimit, this.clock, () => !this.stopped);
        return;
      case 'request':
        this.upload.onRequest(p, msg.index, msg.begin, msg.length);
        return;
      case 'have':
        if (msg.index >= this.opts.pieceCount) return conn.close('have for a piece past the end');
        if (!p.has.has(msg.index)) {
          p.has.set(msg.index);
          if (this.picker.peerHave(p.key, msg.index)) this.download.updateInterest(p);
        }
        return;
      case 'bitfield':
        return this.onBitfield(p, msg.bytes);
      case 'have-all':
        if (!p.fast) return conn.close('have-all without the fast extension');
        p.has.setAll();
        this.picker.peerHaveAll(p.key);
        this.download.updateInterest(p);
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
        this.download.onUnchoke(p);
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
        this.download.refill(p);
        return;
      case 'extended':
        this.extensions.onMessage(p, msg.id, msg.payload);
        this.closeIfBothSeeds(p);
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

  /** BEP 52: answer hash requests from the piece layers (answers to ours go to completion); a malformed one closes the peer. */
  private onHashMessage(conn: PeerConnection, id: number, payload: Uint8Array): void {
    let msg: HashMessage;
    try {
      msg = decodeHashMessage(id, payload);
    } catch (err) {
      conn.close(err instanceof Error ? err.message : String(err));
      return;
    }
    if (msg.type !== 'hash-request') return this.completion.onHashAnswer(this.byConn.get(conn), msg);
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
    this.upload.onPeerGone(p, this.peers.size);
    if (p.registered) this.opts.events?.onPeerDisconnected?.(conn.address, reason);
    if (!this.pool.isBanned(conn.address)) this.pool.disconnected(conn.address, p.registered && reason !== 'handshake refused', this.clock.now());
    const listening = p.listeningAddress;
    if (p.registered && listening !== undefined) this.pool.setSeed(listening, p.seedLike);
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

  addPexPeers(peers: readonly PexPeer[]): void {
    let added = 0;
    for (const a of peers) if (this.pool.add({ host: a.host, port: a.port }, 'pex', (a.flags & PexFlag.seed) !== 0)) added++;
    if (added > 0) this.dial();
  }

  connectedPeers(): PexPeer[] {
    return [...this.peers.values()].flatMap((p) => p.pexEntry ?? []);
  }

  private onBitfield(p: SwarmPeer, bytes: Uint8Array): void {
    if (!Bitfield.sparesClear(this.opts.pieceCount, bytes)) return p.conn.close('invalid bitfield');
    const fresh = new Bitfield(this.opts.pieceCount, bytes);
    this.picker.removePeer(p.key);
    p.has = fresh;
    this.picker.addPeer(p.key, fresh);
    this.download.updateInterest(p);
    this.closeIfBothSeeds(p);
  }

  /** Two peers that want nothing (seeds, or done with their selection: BEP 21) have nothing to trade. */
  private closeIfBothSeeds(p: SwarmPeer): void {
    if (this.picker.done && p.seedLike) p.conn.close('both seeds');
  }

  private fireComplete(): void {
    if (this.completeFired) return;
    this.completeFired = true;
    for (const p of [...this.peers.values()]) {
      this.download.updateInterest(p);
      this.closeIfBothSeeds(p);
    }
    this.extensions.announceUploadOnly();
    this.opts.events?.onComplete?.();
  }

  private refillAll(): void {
    for (const p of this.peers.values()) this.download.refill(p);
    if (!this.stopped) this.sources.fill();
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
      this.download.expireRequests(p, now, timeout);
    }
    this.extensions.tick(now);
    this.download.spillStranded();
    this.download.tick(now);
    if (this.opts.events?.onTrace !== undefined) this.opts.events.onTrace(this.download.traceLine(now));
    this.refillAll();
    this.dial();
  }

  private dial(): void {
    if (this.stopped) return;
    const max = this.opts.maxConnections ?? 60;
    const maxHalfOpen = this.opts.maxHalfOpen ?? 16;
    const n = Math.min(max - this.peers.size, maxHalfOpen - this.halfOpen.size);
    for (const address of this.pool.take(n, this.clock.now(), dialFilter(this.peers, this.maxPerIp), this.picker.done)) {
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
