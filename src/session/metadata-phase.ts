/**
 * The first phase of a magnet link (BEP 9): the torrent's connections before its metadata is
 * known. Peers are dialled from the torrent's peer pool (the one the swarm uses afterwards),
 * every connection speaks the BEP 10 extended handshake, and peers that offer ut_metadata
 * with a `metadata_size` are asked for the 16 KiB pieces of the info dictionary, several
 * peers at once and, when a peer is slow to answer, the same piece from another peer in
 * parallel (a silent peer never holds the fetch up for its request timeout).
 *
 * When the metadata is verified, nothing is closed: `handOver` gives every connection, with
 * the messages that matter later (the peer's bitfield, haves, extended handshake), to the
 * swarm, which carries on over the same sockets. One connection per peer for the whole
 * download; incoming peers accepted now are kept too.
 *
 * Trust: the size comes from the first peer that announces one (bounded by the 32 MiB limit
 * of the codec); peers announcing another size get no requests. No byte is used before the
 * assembly hashes to the link's info hashes (SHA-1 for `urn:btih:`, SHA-256 for `urn:btmh:`).
 * When it does not, and one peer sent every piece, that peer is banned (in the shared pool:
 * never redialled); when several did, the culprit is unknown, so the fetch switches to one
 * peer at a time, where each failure names exactly one liar.
 *
 * A v2-only torrent (BEP 52) cannot verify a piece without its file's piece layer, which is not
 * in the info dictionary: after the metadata, the same connections fetch the missing layers by
 * hash request (layer-fetch.ts), each run proved against its file's pieces root; a peer whose
 * hashes do not prove is banned. Only then is the metadata reported, with the layers in it.
 *
 *   fetching -> layers (v2-only, layers missing) -> holding -> done
 */
import type { Metainfo, PeerAddress } from '../metainfo/types.js';
import { PeerConnection, type PeerHandler } from '../peer/connection.js';
import { CLIENT_NAME, LOCAL_METADATA_ID, LOCAL_PEX_ID, PEX_MIN_GAP_MS } from '../swarm/extensions.js';
import type { PeerSource } from '../swarm/peer-pool.js';
import { bytesEqual } from '../util/bytes.js';
import type { TimerHandle } from '../util/clock.js';
import { TesseraError } from '../util/errors.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  EXTENDED_HANDSHAKE_ID,
  isHashMessageId,
  metadataPieceCount,
  readCapabilities,
  UT_METADATA,
  UT_PEX,
  type IncomingMessage,
} from '../wire/index.js';
import { LayerStage, onHashMessage } from './layer-stage.js';
import { MAX_BITFIELD_BYTES, type FetchPeer, type HeldConnection, type MetadataPhaseOptions, type MetadataProgress } from './metadata-types.js';
import { metainfoFromInfoBytes } from './torrent-file.js';

export { MAX_BITFIELD_BYTES, type HeldConnection, type MetadataPhaseEvents, type MetadataPhaseOptions, type MetadataProgress } from './metadata-types.js';

/** Requests in flight per peer: enough to keep a link busy, few enough to spread pieces. */
const PER_PEER_REQUESTS = 4;
/** A piece is asked of at most this many peers at once (a slow or silent peer is one of them). */
const MAX_ASKED_PER_PIECE = 3;
/** A peer that lets this many requests time out is dropped. */
const MAX_TIMEOUTS = 3;
/** A piece a peer rejected or let time out goes to other peers first, for this long. */
const REFUSED_BACKOFF_MS = 5_000;
/** Messages kept per peer for the swarm; a peer sending more haves than this before the handover is dropped. */
const MAX_REPLAY = 4096;
const KEEPALIVE_MS = 100_000;
const IDLE_MS = 180_000;


export class MetadataPhase implements PeerHandler {
  private readonly peers = new Map<PeerConnection, FetchPeer>();
  private size: number | undefined;
  private pieces: (Uint8Array | undefined)[] = [];
  private senders: (FetchPeer | undefined)[] = [];
  /** Piece → how many peers it is asked of now. */
  private asked: number[] = [];
  private solo: FetchPeer | undefined;
  private soloMode = false;
  /** Clock ms of the last sign of progress: a peer offering the metadata, or a piece of it. */
  lastProgressAt: number;
  private timer: TimerHandle | undefined;
  /** 'fetching' -> ['layers' ->] 'holding' (metadata verified, connections kept) -> 'done' (handed over or closed). */
  private phase: 'fetching' | 'layers' | 'holding' | 'done' = 'fetching';
  /** A v2-only torrent's piece layers being fetched, after its info dictionary verified. */
  private layers: LayerStage | undefined;

  constructor(private readonly opts: MetadataPhaseOptions) {
    this.lastProgressAt = opts.clock.now();
  }

  start(): void {
    this.timer = this.opts.clock.setInterval(() => this.tick(), 500);
    this.dial();
  }

  get connectedCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.conn.isActive) n++;
    return n;
  }

  progress(): MetadataProgress {
    let connected = 0;
    let serving = 0;
    for (const p of this.peers.values()) {
      if (!p.conn.isActive) continue;
      connected++;
      if (p.metadataId !== undefined && p.size === this.size) serving++;
    }
    return { connected, serving, piecesDone: this.pieces.filter((x) => x !== undefined).length, pieceCount: this.size === undefined ? undefined : this.pieces.length };
  }

  /** Add candidates to the shared pool; returns how many were new. */
  addPeers(addresses: Iterable<PeerAddress>, source: PeerSource): number {
    let added = 0;
    for (const a of addresses) {
      if (!this.opts.pool.add(a, source)) continue;
      added++;
      this.opts.events.onPeerFound(a, source);
    }
    if (added > 0) {
      this.dial();
      this.opts.events.onProgress();
    }
    return added;
  }

  /** Give every connection to the next owner; the phase is over. */
  handOver(): HeldConnection[] {
    const out: HeldConnection[] = [];
    for (const p of this.peers.values()) out.push({ conn: p.conn, replay: p.replay });
    this.peers.clear();
    this.finish();
    return out;
  }

  /** Close every connection (stop, pause or error before the handover). */
  close(reason: string): void {
    const held = [...this.peers.values()];
    this.finish();
    for (const p of held) p.conn.close(reason);
  }

  private finish(): void {
    this.phase = 'done';
    this.timer?.cancel();
    this.timer = undefined;
  }

  private dial(): void {
    if (this.phase === 'done') return;
    const room = this.opts.maxConnections - this.peers.size;
    for (const address of this.opts.pool.take(room, this.opts.clock.now())) {
      const conn = PeerConnection.connect(address, this.opts.identity, this, {
        maxBitfield: MAX_BITFIELD_BYTES,
        clock: this.opts.clock,
        ...(this.opts.encryption !== undefined ? { encryption: this.opts.encryption } : {}),
        ...(this.opts.transport !== undefined ? { dial: this.opts.transport.dialer(address) } : {}),
        ...(this.opts.timeouts !== undefined ? { timeouts: this.opts.timeouts } : {}),
      });
      this.track(conn);
    }
  }

  private track(conn: PeerConnection): FetchPeer {
    const p: FetchPeer = { conn, metadataId: undefined, size: undefined, outstanding: new Map(), refused: new Map(), timeouts: 0, lastPex: 0, soloTried: false, replay: [] };
    this.peers.set(conn, p);
    return p;
  }

  // ---- PeerHandler ----

  onHandshake(conn: PeerConnection, peerId: Uint8Array, reserved: Uint8Array): boolean {
    if (bytesEqual(peerId, this.opts.identity.peerId)) {
      this.opts.pool.addSelf(conn.address);
      return false;
    }
    if (this.phase === 'done') return false;
    if (!this.peers.has(conn)) {
      if (this.peers.size >= this.opts.maxConnections + 10) return false;
      this.track(conn);
      this.opts.pool.markConnected(conn.address);
      this.opts.events.onIncoming(conn.address);
    }
    const caps = readCapabilities(reserved);
    if (caps.extensionProtocol) {
      const m = new Map([
        [UT_METADATA, LOCAL_METADATA_ID],
        [UT_PEX, LOCAL_PEX_ID],
      ]);
      const payload = encodeExtendedHandshake({ m, v: CLIENT_NAME, ...(this.opts.listenPort > 0 ? { p: this.opts.listenPort } : {}) });
      conn.send({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload });
    }
    // BEP 6: with the fast extension on both sides, say at once that we have nothing yet.
    if (caps.fast && readCapabilities(this.opts.identity.reserved).fast) conn.send({ type: 'have-none' });
    this.opts.events.onPeerConnected(conn.address, conn.outgoing);
    this.opts.events.onProgress();
    return true;
  }

  onMessage(conn: PeerConnection, msg: IncomingMessage): void {
    const p = this.peers.get(conn);
    if (p === undefined) return;
    switch (msg.type) {
      case 'extended':
        if (msg.id === EXTENDED_HANDSHAKE_ID) {
          this.keep(p, { type: 'extended', id: msg.id, payload: Uint8Array.from(msg.payload) });
          this.onExtendedHandshake(p, msg.payload);
        } else if (msg.id === LOCAL_METADATA_ID) this.onMetadata(p, msg.payload);
        else if (msg.id === LOCAL_PEX_ID) this.onPex(p, msg.payload);
        return;
      case 'bitfield':
        return this.keep(p, { type: 'bitfield', bytes: Uint8Array.from(msg.bytes) });
      case 'have':
      case 'have-all':
      case 'have-none':
        return this.keep(p, msg);
      case 'choke':
        conn.peerChoking = true;
        return;
      case 'unchoke':
        conn.peerChoking = false;
        return;
      case 'interested':
        conn.peerInterested = true;
        return;
      case 'not-interested':
        conn.peerInterested = false;
        return;
      case 'unknown':
        if (isHashMessageId(msg.id)) onHashMessage(this.phase === 'layers' ? this.layers : undefined, p, msg.id, msg.payload, this.opts.clock.now());
        return;
      default:
        // Requests, pieces and the rest mean nothing before we have the metadata.
        return;
    }
  }

  onClose(conn: PeerConnection, reason: string): void {
    const p = this.peers.get(conn);
    if (p === undefined) return;
    this.peers.delete(conn);
    for (const piece of p.outstanding.keys()) this.unask(piece);
    this.layers?.dropPeer(p);
    const pool = this.opts.pool;
    if (!pool.isBanned(conn.address)) pool.disconnected(conn.address, p.metadataId !== undefined && reason !== 'handshake refused', this.opts.clock.now());
    if (conn.remotePeerId !== undefined && reason !== 'handshake refused') this.opts.events.onPeerDisconnected(conn.address, reason);
    if (this.phase === 'done') return;
    if (this.solo === p) this.nextSolo();
    this.dial();
    this.schedule();
    this.opts.events.onProgress();
  }

  private keep(p: FetchPeer, msg: IncomingMessage): void {
    if (p.replay.length >= MAX_REPLAY) return p.conn.close('too many messages before the metadata arrived');
    p.replay.push(msg);
  }

  // ---- extension messages ----

  private onExtendedHandshake(p: FetchPeer, payload: Uint8Array): void {
    let h;
    try {
      h = decodeExtendedHandshake(payload);
    } catch (err) {
      // Includes a metadata_size above the 32 MiB limit (SAFETY.md): never allocate for it.
      p.conn.close(`bad extended handshake: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const metaId = h.m.get(UT_METADATA);
    if (metaId === undefined || metaId === 0 || h.metadataSize === undefined) {
      p.metadataId = undefined;
      this.opts.events.onProgress();
      return;
    }
    p.metadataId = metaId;
    p.size = h.metadataSize;
    if (this.phase !== 'fetching') return;
    this.lastProgressAt = this.opts.clock.now();
    if (this.size === undefined) this.adoptSize(h.metadataSize);
    this.schedule();
    this.opts.events.onProgress();
  }

  private adoptSize(size: number): void {
    const count = metadataPieceCount(size);
    this.size = size;
    this.pieces = new Array<Uint8Array | undefined>(count).fill(undefined);
    this.senders = new Array<FetchPeer | undefined>(count).fill(undefined);
    this.asked = new Array<number>(count).fill(0);
    for (const p of this.peers.values()) p.outstanding.clear();
  }

  private unask(piece: number): void {
    if (piece < this.asked.length && this.asked[piece]! > 0) this.asked[piece]!--;
  }

  private onMetadata(p: FetchPeer, payload: Uint8Array): void {
    let msg;
    try {
      msg = decodeUtMetadata(payload, p.size);
    } catch (err) {
      p.conn.close(`bad ut_metadata message: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (msg.type === 'request') {
      // BEP 9: a peer without the metadata answers every request with a reject.
      if (p.metadataId !== undefined) p.conn.send({ type: 'extended', id: p.metadataId, payload: encodeUtMetadata({ type: 'reject', piece: msg.piece }) });
      return;
    }
    if (this.phase !== 'fetching' || msg.type === 'unknown' || !p.outstanding.has(msg.piece)) return;
    p.outstanding.delete(msg.piece);
    this.unask(msg.piece);
    if (msg.type === 'reject') {
      p.refused.set(msg.piece, this.opts.clock.now() + REFUSED_BACKOFF_MS);
      if (this.solo === p) this.nextSolo();
    } else if (p.size === this.size && this.pieces[msg.piece] === undefined) {
      // The framer hands out views of its receive buffer: keep a copy.
      this.pieces[msg.piece] = Uint8Array.from(msg.data);
      this.senders[msg.piece] = p;
      this.lastProgressAt = this.opts.clock.now();
      if (this.pieces.every((x) => x !== undefined)) return this.verify();
    }
    this.schedule();
    this.opts.events.onProgress();
  }

  private onPex(p: FetchPeer, payload: Uint8Array): void {
    const now = this.opts.clock.now();
    if (now - p.lastPex < PEX_MIN_GAP_MS) return;
    p.lastPex = now;
    try {
      this.addPeers(
        decodeUtPex(payload).added.map((a) => ({ host: a.host, port: a.port })),
        'pex',
      );
    } catch (err) {
      p.conn.close(`bad ut_pex message: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---- requests ----

  private schedule(): void {
    if (this.phase === 'layers') return this.layers?.ask(this.peers.values(), this.opts.clock.now());
    if (this.phase !== 'fetching' || this.size === undefined) return;
    if (this.soloMode) {
      if (this.solo === undefined) this.nextSolo();
      if (this.solo !== undefined) this.fill(this.solo, 1);
      return;
    }
    // First every missing piece from one peer, then the slow ones from a second and third.
    for (let round = 1; round <= MAX_ASKED_PER_PIECE; round++) for (const p of this.peers.values()) this.fill(p, round);
  }

  /** Ask `p` for missing pieces that fewer than `maxAsked` peers are asked for already. */
  private fill(p: FetchPeer, maxAsked: number): void {
    if (p.metadataId === undefined || p.size !== this.size || !p.conn.isActive) return;
    const now = this.opts.clock.now();
    const soon = (this.opts.requestTimeoutMs ?? 10_000) * 0.3;
    for (let piece = 0; piece < this.pieces.length && p.outstanding.size < PER_PEER_REQUESTS; piece++) {
      if (this.pieces[piece] !== undefined || p.outstanding.has(piece) || this.asked[piece]! >= maxAsked) continue;
      // A second ask only once the first has waited a while: a prompt peer is not doubled.
      if (maxAsked > 1 && this.asked[piece]! > 0 && !this.waitedLong(piece, now - soon)) continue;
      // The solo peer must send everything, so its earlier refusals do not exempt it.
      if (!this.soloMode && (p.refused.get(piece) ?? 0) > now) continue;
      this.asked[piece]!++;
      p.outstanding.set(piece, now);
      p.conn.send({ type: 'extended', id: p.metadataId, payload: encodeUtMetadata({ type: 'request', piece }) });
    }
  }

  /** True when every peer asked for `piece` was asked before `before`. */
  private waitedLong(piece: number, before: number): boolean {
    for (const q of this.peers.values()) {
      const at = q.outstanding.get(piece);
      if (at !== undefined && at > before) return false;
    }
    return true;
  }

  /** Solo mode: drop what the previous solo peer sent and hand everything to the next candidate. */
  private nextSolo(): void {
    if (this.solo !== undefined) this.solo.soloTried = true;
    this.solo = undefined;
    if (this.size !== undefined) this.adoptSize(this.size);
    for (const p of this.peers.values()) {
      if (!p.soloTried && p.metadataId !== undefined && p.size === this.size && p.conn.isActive) {
        this.solo = p;
        break;
      }
    }
  }

  private verify(): void {
    const info = Buffer.concat(this.pieces as Uint8Array[]);
    const magnet = this.opts.magnet;
    let result;
    try {
      result = metainfoFromInfoBytes(info, magnet.trackers, { v1: magnet.infoHash, v2: magnet.infoHashV2 });
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'hash-mismatch') return this.hashFailed();
      return this.unusable(err);
    }
    for (const p of this.peers.values()) p.outstanding.clear();
    this.layers = LayerStage.for(result.meta, info, magnet.trackers, { v1: magnet.infoHash, v2: magnet.infoHashV2 }, {
      onComplete: (whole) => this.holdWith(whole),
      onFatal: (err) => this.unusable(err),
      onLiar: (p, reason) => this.ban(p, reason),
      onProgress: () => {
        this.lastProgressAt = this.opts.clock.now();
        this.schedule();
        this.opts.events.onProgress();
      },
    });
    if (this.layers === undefined) return this.holdWith(result);
    this.phase = 'layers';
    this.schedule();
    this.opts.events.onProgress();
  }

  private holdWith(result: { meta: Metainfo; torrentBytes: Buffer }): void {
    this.phase = 'holding';
    this.layers = undefined;
    this.opts.events.onMetadata(result);
  }

  private unusable(err: unknown): void {
    this.close('unusable metadata');
    this.opts.events.onFatal(err);
  }

  /** Never redialled (the pool is shared with the swarm), and closed now. */
  private ban(p: FetchPeer, reason: string): void {
    this.opts.pool.ban(p.conn.address);
    this.opts.events.onPeerBanned(p.conn.address, reason);
    p.conn.close(`banned: ${reason}`);
  }

  private hashFailed(): void {
    const senders = new Set(this.senders);
    if (senders.size === 1) {
      this.ban(this.senders[0]!, 'sent metadata that does not match the info hash');
    } else {
      this.soloMode = true;
    }
    // The size itself may have been the lie: start over from whichever peers remain.
    this.size = undefined;
    this.solo = undefined;
    for (const p of this.peers.values()) {
      if (p.conn.isActive && p.metadataId !== undefined && p.size !== undefined) {
        this.adoptSize(p.size);
        break;
      }
    }
    this.schedule();
    this.opts.events.onProgress();
  }

  private tick(): void {
    const now = this.opts.clock.now();
    const timeout = this.opts.requestTimeoutMs ?? 10_000;
    for (const p of [...this.peers.values()]) {
      const conn = p.conn;
      if (conn.isActive && now - conn.lastReceived > IDLE_MS) {
        conn.close('idle');
        continue;
      }
      if (conn.isActive && now - conn.lastSent > KEEPALIVE_MS) conn.send({ type: 'keep-alive' });
      if (this.phase !== 'fetching') continue;
      for (const [piece, at] of p.outstanding) {
        if (now - at < timeout) continue;
        p.outstanding.delete(piece);
        this.unask(piece);
        p.refused.set(piece, now + REFUSED_BACKOFF_MS);
        if (++p.timeouts >= MAX_TIMEOUTS) p.conn.close('ut_metadata requests timed out');
        else if (this.solo === p) this.nextSolo();
      }
    }
    if (this.phase === 'layers') {
      this.layers?.expire(now, timeout, MAX_TIMEOUTS);
      this.dial();
      this.schedule();
    }
    if (this.phase !== 'fetching') return;
    // Every candidate had its turn as the solo source: start another round, at tick pace.
    if (this.soloMode && this.solo === undefined) for (const p of this.peers.values()) p.soloTried = false;
    this.dial();
    this.schedule();
  }
}
