/**
 * Metadata exchange (BEP 9): turn a magnet link into a verified torrent by fetching the info
 * dictionary from peers in 16 KiB pieces.
 *
 * Peers come from the magnet's `x.pe` entries and caller-supplied peers ('manual'), the
 * magnet's trackers, a DHT lookup (BEP 5) and PEX (BEP 11) from the peers we reach. Each
 * connection speaks the BEP 10 extended handshake; peers that offer ut_metadata and a
 * `metadata_size` get requests, several peers at once.
 *
 * Trust: the size comes from the first peer that announces one (bounded by the 32 MiB limit
 * of the codec); peers announcing another size get no requests. No byte is used before the
 * SHA-1 of the whole assembly equals the info hash. When it does not, and one peer sent every
 * piece, that peer is banned; when several did, the culprit is unknown, so the fetch switches
 * to one peer at a time, where each failure names exactly one liar.
 *
 * Length (~550 lines): discovery loops, connection handling and piece bookkeeping share one
 * owner of the fetch's state; splitting them would spread that state over several objects.
 */
import type { MagnetLink, Metainfo, PeerAddress } from '../metainfo/types.js';
import { PeerConnection, type ConnectionTimeouts, type LocalIdentity, type PeerHandler } from '../peer/connection.js';
import { CLIENT_NAME, LOCAL_METADATA_ID, LOCAL_PEX_ID, PEX_MIN_GAP_MS } from '../swarm/extensions.js';
import { PeerPool, type PeerSource } from '../swarm/peer-pool.js';
import { MAX_ANNOUNCE_S, MIN_ANNOUNCE_S, TrackerSet } from '../tracker/index.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { TesseraError } from '../util/errors.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  EXTENDED_HANDSHAKE_ID,
  makeReserved,
  metadataPieceCount,
  readCapabilities,
  UT_METADATA,
  UT_PEX,
  type IncomingMessage,
} from '../wire/index.js';
import type { Client } from './client.js';
import { metainfoFromInfoBytes } from './torrent-file.js';

export class MetadataFetchError extends TesseraError {}

/** What the fetcher needs from a DHT node (DhtNode fits). */
export interface PeerLookup {
  getPeers(infoHash: Uint8Array, options: { onPeer?: (peer: PeerAddress) => void; signal?: AbortSignal }): Promise<PeerAddress[]>;
}

export type FoundCounts = Record<PeerSource, number>;

export interface MetadataProgress {
  readonly found: Readonly<FoundCounts>;
  readonly connected: number;
  /** Connected peers that offer ut_metadata with the size we use. */
  readonly serving: number;
  readonly piecesDone: number;
  /** Undefined until a peer has told us the metadata size. */
  readonly pieceCount: number | undefined;
}

export interface MetadataFetchEvents {
  onPeer?(address: PeerAddress, source: PeerSource): void;
  onProgress?(progress: MetadataProgress): void;
  onPeerBanned?(address: PeerAddress, reason: string): void;
  onTrackerError?(message: string): void;
}

export interface MetadataFetchOptions {
  /** Peers to dial besides the magnet's `x.pe` entries. */
  peers?: readonly PeerAddress[];
  /** Announce to the magnet's trackers (default true). */
  trackers?: boolean;
  dht?: PeerLookup;
  signal?: AbortSignal;
  /** Give up when no peer offering the metadata has been connected for this long (default 120 s). */
  idleTimeoutMs?: number;
  /** Ms before an unanswered piece request goes to another peer (default 10 s). */
  requestTimeoutMs?: number;
  maxConnections?: number;
  /** Ms between DHT lookups while the metadata is missing (default 20 s). */
  dhtIntervalMs?: number;
  timeouts?: ConnectionTimeouts;
  events?: MetadataFetchEvents;
}

export interface FetchedMetadata {
  readonly meta: Metainfo;
  /** A .torrent file holding the received info dictionary verbatim and the magnet's trackers. */
  readonly torrentBytes: Buffer;
  /** Every peer found while fetching, for the download to dial. */
  readonly peers: readonly { readonly address: PeerAddress; readonly source: PeerSource }[];
  readonly found: Readonly<FoundCounts>;
}

/** Requests in flight per peer: enough to keep a link busy, few enough to spread pieces. */
const PER_PEER_REQUESTS = 4;
/** A peer that lets this many requests time out is dropped. */
const MAX_TIMEOUTS = 3;
/** A piece a peer rejected or let time out goes to other peers first, for this long. */
const REFUSED_BACKOFF_MS = 5_000;
/** The size is unknown before the metadata arrives; trackers need some `left` > 0 (a leecher). */
const UNKNOWN_LEFT = 2 ** 31 - 1;
/** PieceCount limit (BEP 3 v1, SAFETY.md) divided by 8: the largest bitfield a peer may send. */
const MAX_BITFIELD_BYTES = 2 ** 18;

interface FetchPeer {
  readonly conn: PeerConnection;
  /** The id the peer receives ut_metadata on; undefined when it does not offer it. */
  metadataId: number | undefined;
  pexId: number | undefined;
  size: number | undefined;
  readonly outstanding: Map<number, number>;
  /** Piece → ms until which this peer is not asked for it again (parallel mode). */
  readonly refused: Map<number, number>;
  timeouts: number;
  lastPex: number;
  /** Tried as the only source once (after a hash failure). */
  soloTried: boolean;
}

export function fetchMetadata(magnet: MagnetLink, client: Client, opts: MetadataFetchOptions = {}): Promise<FetchedMetadata> {
  if (magnet.infoHash === undefined) {
    return Promise.reject(new MetadataFetchError('no-btih', 'this magnet link has no v1 (urn:btih:) info hash; v2-only magnets are not supported'));
  }
  return new MetadataFetcher(magnet, magnet.infoHash, client, opts).run();
}

class MetadataFetcher implements PeerHandler {
  private readonly identity: LocalIdentity;
  private readonly pool = new PeerPool({ retryBaseMs: 5_000 });
  private readonly peers = new Map<PeerConnection, FetchPeer>();
  private readonly found: FoundCounts = { tracker: 0, dht: 0, pex: 0, lsd: 0, manual: 0, incoming: 0 };
  private readonly known: { address: PeerAddress; source: PeerSource }[] = [];
  private readonly abort = new AbortController();
  private size: number | undefined;
  private pieces: (Uint8Array | undefined)[] = [];
  private senders: (FetchPeer | undefined)[] = [];
  private readonly requested = new Map<number, FetchPeer>();
  /** After a hash failure with several senders: the one peer currently asked for everything. */
  private solo: FetchPeer | undefined;
  private soloMode = false;
  /** Last time a peer offered the metadata or sent a piece of it. */
  private lastProgressAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private resolve!: (r: FetchedMetadata) => void;
  private reject!: (e: unknown) => void;

  constructor(
    private readonly magnet: MagnetLink,
    private readonly infoHash: Uint8Array,
    private readonly client: Client,
    private readonly opts: MetadataFetchOptions,
  ) {
    this.identity = { infoHash, peerId: client.peerId, reserved: makeReserved({ extensionProtocol: true }) };
  }

  run(): Promise<FetchedMetadata> {
    const done = new Promise<FetchedMetadata>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const signal = this.opts.signal;
    if (signal?.aborted === true) {
      this.fail(new MetadataFetchError('aborted', 'interrupted while fetching metadata'));
      return done;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.client.register(this.infoHash, { identity: this.identity, handler: this, maxBitfield: MAX_BITFIELD_BYTES });
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
    this.addPeers([...this.magnet.peers, ...(this.opts.peers ?? [])], 'manual');
    if (this.opts.trackers !== false && this.magnet.trackers.length > 0) void this.trackerLoop();
    if (this.opts.dht !== undefined) void this.dhtLoop(this.opts.dht);
    return done;
  }

  // ---- discovery ----

  private addPeers(addresses: Iterable<PeerAddress>, source: PeerSource): void {
    let added = false;
    for (const a of addresses) {
      if (!this.pool.add(a, source)) continue;
      added = true;
      this.found[source]++;
      this.known.push({ address: a, source });
      this.opts.events?.onPeer?.(a, source);
    }
    if (added) {
      this.dial();
      this.progress();
    }
  }

  private async trackerLoop(): Promise<void> {
    const set = new TrackerSet(this.magnet.trackers.map((t) => [t]), { timeoutMs: 15_000, udpBaseTimeoutMs: 5000, udpMaxRetries: 2 });
    let event: 'started' | undefined = 'started';
    while (!this.finished) {
      const outcomes = await set.announceAll({
        infoHash: this.infoHash,
        peerId: this.client.peerId,
        port: this.client.port,
        uploaded: 0,
        downloaded: 0,
        left: UNKNOWN_LEFT,
        numWant: 200,
        signal: this.abort.signal,
        ...(event !== undefined ? { event } : {}),
      });
      event = undefined;
      let interval = MAX_ANNOUNCE_S;
      for (const o of outcomes) {
        if ('result' in o) {
          this.addPeers(o.result.peers, 'tracker');
          interval = Math.min(interval, Math.max(MIN_ANNOUNCE_S, o.result.interval, o.result.minInterval ?? 0));
        } else if (!this.finished) {
          this.opts.events?.onTrackerError?.(`${o.url}: ${o.error.message}`);
          interval = Math.min(interval, MIN_ANNOUNCE_S);
        }
      }
      await this.sleep(interval * 1000);
    }
  }

  private async dhtLoop(dht: PeerLookup): Promise<void> {
    while (!this.finished) {
      try {
        await dht.getPeers(this.infoHash, { onPeer: (p) => this.addPeers([p], 'dht'), signal: this.abort.signal });
      } catch {
        // A failed lookup (closed node, no reachable nodes) is retried on the next round.
      }
      await this.sleep(this.opts.dhtIntervalMs ?? 20_000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.finished) return resolve();
      const t = setTimeout(done, ms);
      t.unref();
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  private dial(): void {
    if (this.finished) return;
    const room = (this.opts.maxConnections ?? 30) - this.peers.size;
    for (const address of this.pool.take(room, Date.now())) {
      const conn = PeerConnection.connect(address, this.identity, this, {
        maxBitfield: MAX_BITFIELD_BYTES,
        encryption: this.client.encryption,
        ...(this.opts.timeouts !== undefined ? { timeouts: this.opts.timeouts } : {}),
      });
      this.track(conn);
    }
  }

  private track(conn: PeerConnection): FetchPeer {
    const p: FetchPeer = {
      conn,
      metadataId: undefined,
      pexId: undefined,
      size: undefined,
      outstanding: new Map(),
      refused: new Map(),
      timeouts: 0,
      lastPex: 0,
      soloTried: false,
    };
    this.peers.set(conn, p);
    return p;
  }

  // ---- PeerHandler ----

  onHandshake(conn: PeerConnection, peerId: Uint8Array, reserved: Uint8Array): boolean {
    if (bytesEqual(peerId, this.client.peerId)) {
      this.pool.addSelf(conn.address);
      return false;
    }
    // Without BEP 10 a peer cannot send metadata, so the connection has no use.
    if (this.finished || !readCapabilities(reserved).extensionProtocol) return false;
    if (!this.peers.has(conn)) {
      if (this.peers.size >= (this.opts.maxConnections ?? 30) + 10) return false;
      this.track(conn);
      this.found.incoming++;
    }
    const m = new Map([
      [UT_METADATA, LOCAL_METADATA_ID],
      [UT_PEX, LOCAL_PEX_ID],
    ]);
    const payload = encodeExtendedHandshake({ m, v: CLIENT_NAME, ...(this.client.port > 0 ? { p: this.client.port } : {}) });
    conn.send({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload });
    this.progress();
    return true;
  }

  onMessage(conn: PeerConnection, msg: IncomingMessage): void {
    const p = this.peers.get(conn);
    if (p === undefined || msg.type !== 'extended' || this.finished) return;
    if (msg.id === EXTENDED_HANDSHAKE_ID) this.onExtendedHandshake(p, msg.payload);
    else if (msg.id === LOCAL_METADATA_ID) this.onMetadata(p, msg.payload);
    else if (msg.id === LOCAL_PEX_ID) this.onPex(p, msg.payload);
  }

  onClose(conn: PeerConnection, reason: string): void {
    const p = this.peers.get(conn);
    if (p === undefined) return;
    this.peers.delete(conn);
    for (const piece of p.outstanding.keys()) this.requested.delete(piece);
    if (!this.pool.isBanned(conn.address)) this.pool.disconnected(conn.address, p.metadataId !== undefined && reason !== 'handshake refused', Date.now());
    if (this.finished) return;
    if (this.solo === p) this.nextSolo();
    this.dial();
    this.schedule();
    this.progress();
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
    const pexId = h.m.get(UT_PEX);
    p.pexId = pexId !== undefined && pexId > 0 ? pexId : undefined;
    const metaId = h.m.get(UT_METADATA);
    if (metaId === undefined || metaId === 0 || h.metadataSize === undefined) {
      p.metadataId = undefined;
      this.progress();
      return;
    }
    p.metadataId = metaId;
    p.size = h.metadataSize;
    this.lastProgressAt = Date.now();
    if (this.size === undefined) this.adoptSize(h.metadataSize);
    this.schedule();
    this.progress();
  }

  private adoptSize(size: number): void {
    const count = metadataPieceCount(size);
    this.size = size;
    this.pieces = new Array<Uint8Array | undefined>(count).fill(undefined);
    this.senders = new Array<FetchPeer | undefined>(count).fill(undefined);
    this.requested.clear();
    for (const p of this.peers.values()) p.outstanding.clear();
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
    if (msg.type === 'unknown' || !p.outstanding.has(msg.piece)) return;
    p.outstanding.delete(msg.piece);
    this.requested.delete(msg.piece);
    if (msg.type === 'reject') {
      p.refused.set(msg.piece, Date.now() + REFUSED_BACKOFF_MS);
      if (this.solo === p) this.nextSolo();
    } else if (p.size === this.size && this.pieces[msg.piece] === undefined) {
      // The framer hands out views of its receive buffer: keep a copy.
      this.pieces[msg.piece] = Uint8Array.from(msg.data);
      this.senders[msg.piece] = p;
      this.lastProgressAt = Date.now();
      if (this.pieces.every((x) => x !== undefined)) {
        this.verify();
        return;
      }
    }
    this.schedule();
    this.progress();
  }

  private onPex(p: FetchPeer, payload: Uint8Array): void {
    const now = Date.now();
    if (now - p.lastPex < PEX_MIN_GAP_MS) return;
    p.lastPex = now;
    try {
      this.addPeers(decodeUtPex(payload).added.map((a) => ({ host: a.host, port: a.port })), 'pex');
    } catch (err) {
      p.conn.close(`bad ut_pex message: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---- requests ----

  private schedule(): void {
    if (this.finished || this.size === undefined) return;
    if (this.soloMode) {
      if (this.solo === undefined) this.nextSolo();
      if (this.solo !== undefined) this.fill(this.solo);
      return;
    }
    for (const p of this.peers.values()) this.fill(p);
  }

  private fill(p: FetchPeer): void {
    if (p.metadataId === undefined || p.size !== this.size || !p.conn.isActive) return;
    const now = Date.now();
    for (let piece = 0; piece < this.pieces.length && p.outstanding.size < PER_PEER_REQUESTS; piece++) {
      if (this.pieces[piece] !== undefined || this.requested.has(piece)) continue;
      // The solo peer must send everything, so its earlier refusals do not exempt it.
      if (!this.soloMode && (p.refused.get(piece) ?? 0) > now) continue;
      this.requested.set(piece, p);
      p.outstanding.set(piece, now);
      p.conn.send({ type: 'extended', id: p.metadataId, payload: encodeUtMetadata({ type: 'request', piece }) });
    }
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
    let result;
    try {
      result = metainfoFromInfoBytes(info, this.magnet.trackers, this.infoHash);
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'hash-mismatch') return this.hashFailed();
      // The hash matched, so the torrent itself is unusable: no other peer can fix that.
      return this.fail(err);
    }
    this.finish();
    this.resolve({ meta: result.meta, torrentBytes: result.torrentBytes, peers: this.known, found: { ...this.found } });
  }

  private hashFailed(): void {
    const senders = new Set(this.senders);
    if (senders.size === 1) {
      const liar = this.senders[0]!;
      this.pool.ban(liar.conn.address);
      this.opts.events?.onPeerBanned?.(liar.conn.address, 'sent metadata that does not match the info hash');
      liar.conn.close('sent bad metadata');
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
    this.progress();
  }

  private tick(): void {
    const now = Date.now();
    const timeout = this.opts.requestTimeoutMs ?? 10_000;
    for (const p of [...this.peers.values()]) {
      for (const [piece, at] of p.outstanding) {
        if (now - at < timeout) continue;
        p.outstanding.delete(piece);
        this.requested.delete(piece);
        p.refused.set(piece, now + REFUSED_BACKOFF_MS);
        if (++p.timeouts >= MAX_TIMEOUTS) p.conn.close('ut_metadata requests timed out');
        else if (this.solo === p) this.nextSolo();
      }
    }
    // Every candidate had its turn as the solo source: start another round, at tick pace.
    if (this.soloMode && this.solo === undefined) for (const p of this.peers.values()) p.soloTried = false;
    const idle = this.opts.idleTimeoutMs ?? 120_000;
    if (now - this.lastProgressAt > idle) {
      const f = this.found;
      this.fail(
        new MetadataFetchError(
          'no-metadata',
          `no peer sent the metadata of ${toHex(this.infoHash)} within ${Math.round(idle / 1000)} s ` +
            `(peers found: ${f.tracker} tracker, ${f.dht} dht, ${f.pex} pex, ${f.manual} manual, ${f.incoming} incoming)`,
        ),
      );
      return;
    }
    this.dial();
    this.schedule();
  }

  private progress(): void {
    if (this.finished || this.opts.events?.onProgress === undefined) return;
    let connected = 0;
    let serving = 0;
    for (const p of this.peers.values()) {
      if (!p.conn.isActive) continue;
      connected++;
      if (p.metadataId !== undefined && p.size === this.size) serving++;
    }
    this.opts.events.onProgress({
      found: { ...this.found },
      connected,
      serving,
      piecesDone: this.pieces.filter((x) => x !== undefined).length,
      pieceCount: this.size === undefined ? undefined : this.pieces.length,
    });
  }

  private readonly onAbort = (): void => this.fail(new MetadataFetchError('aborted', 'interrupted while fetching metadata'));

  private fail(err: unknown): void {
    if (this.finished) return;
    this.finish();
    this.reject(err);
  }

  private finish(): void {
    this.finished = true;
    this.abort.abort();
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.client.unregister(this.infoHash);
    for (const p of [...this.peers.values()]) p.conn.close('metadata fetch finished');
    this.peers.clear();
  }
}
