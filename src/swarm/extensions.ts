/**
 * The extension protocol (BEP 10) for a live swarm: the extended handshake, serving our
 * metadata over ut_metadata (BEP 9) and peer exchange (BEP 11). Ids are negotiated per peer:
 * we receive each extension on the id we advertise and send on the id the peer advertised.
 */
import type { PeerAddress } from '../metainfo/types.js';
import {
  EXTENDED_HANDSHAKE_ID,
  METADATA_PIECE_LENGTH,
  UT_METADATA,
  UT_PEX,
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  metadataPieceCount,
  type ExtendedHandshake,
  type PexPeer,
} from '../wire/index.js';
import { ipFamily } from '../util/ip.js';
import { TokenBucket } from './peer-limits.js';
import { peerKey } from './peer-pool.js';
import type { SwarmPeer } from './swarm-peer.js';

/** The ids on which we receive each extension (BEP 10: our choice, per direction). */
export const LOCAL_METADATA_ID = 1;
export const LOCAL_PEX_ID = 2;
const LOCAL_IDS = new Map<string, number>([
  [UT_METADATA, LOCAL_METADATA_ID],
  [UT_PEX, LOCAL_PEX_ID],
]);
export const CLIENT_NAME = 'Tessera 0.1.0';
/** Our request queue limit, advertised as `reqq` (SAFETY.md: ≤ 2,000). */
export const OUR_REQQ = 2000;
/** BEP 11: at most one PEX message a minute per peer. */
const PEX_INTERVAL_MS = 60_000;
/** Received PEX closer together than this is a flood and is ignored (a minute, less jitter). */
export const PEX_MIN_GAP_MS = PEX_INTERVAL_MS / 2;
/**
 * ut_metadata pieces we answer per peer: the whole info dictionary twice at once, then one
 * piece every few seconds. A 16 KiB answer to a 30-byte request is an amplifier otherwise.
 */
const METADATA_BURST_COPIES = 2;
const METADATA_REFILL_MS = 5000;

export interface ExtensionHost {
  readonly pieceCount: number;
  setPeerRequestLimit(p: SwarmPeer, reqq: number): void;
  /** Peers a PEX message added; those flagged as seeds are remembered as such. */
  addPexPeers(peers: readonly PexPeer[]): void;
  /** Where each connected peer listens, flagged as a seed when it has every piece. */
  connectedPeers(): PexPeer[];
  /** Every wanted piece is verified: we want no piece (BEP 21 `upload_only`). */
  readonly finished: boolean;
}

interface PeerExtState {
  /** Extension name → the id the peer wants to receive it on. */
  remote: ReadonlyMap<string, number>;
  lastPexSent: number;
  lastPexReceived: number;
  pexSent: Set<string>;
  /** Made at the first ut_metadata request. */
  metadataBudget: TokenBucket | undefined;
}

export class Extensions {
  private readonly state = new Map<SwarmPeer, PeerExtState>();
  /** Peers sent our extended handshake: told again when `upload_only` changes. */
  private readonly greeted = new Set<SwarmPeer>();

  constructor(
    private readonly host: ExtensionHost,
    private readonly opts: {
      pex: boolean;
      infoBytes: Uint8Array | undefined;
      listenPort: number | undefined;
      now: () => number;
      onYourIp?: ((address: string, from: string) => void) | undefined;
    },
  ) {}

  /**
   * Our extended handshake. It says `upload_only` when we want no piece; once sent, it is sent
   * again with the new value each time that changes (`announceUploadOnly`), as BEP 10 allows,
   * so a seed can let go of us when our selection is done and a peer knows when we want more.
   */
  sendHandshake(p: SwarmPeer, update = false): void {
    this.greeted.add(p);
    const uploadOnly = this.host.finished;
    const m = new Map(LOCAL_IDS);
    if (!this.opts.pex) m.delete(UT_PEX);
    if (this.opts.infoBytes === undefined) m.delete(UT_METADATA);
    const h: ExtendedHandshake = {
      m,
      v: CLIENT_NAME,
      reqq: OUR_REQQ,
      // BEP 10: tell the peer the address we see it at; it may learn its external address so.
      ...(ipFamily(p.conn.address.host) !== undefined ? { yourip: unmapped(p.conn.address.host) } : {}),
      ...(this.opts.listenPort !== undefined ? { p: this.opts.listenPort } : {}),
      ...(this.opts.infoBytes !== undefined ? { metadataSize: this.opts.infoBytes.length } : {}),
      ...(uploadOnly || update ? { uploadOnly } : {}),
    };
    p.conn.send({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload: encodeExtendedHandshake(h) });
  }

  /** `finished` changed: every peer we sent a handshake to gets one with the new `upload_only`. */
  announceUploadOnly(): void {
    for (const p of this.greeted) if (p.conn.isActive) this.sendHandshake(p, true);
  }

  onMessage(p: SwarmPeer, id: number, payload: Uint8Array): void {
    if (id === EXTENDED_HANDSHAKE_ID) {
      const h = decodeExtendedHandshake(payload);
      const prev = this.state.get(p);
      this.state.set(p, {
        remote: h.m,
        lastPexSent: prev?.lastPexSent ?? 0,
        lastPexReceived: prev?.lastPexReceived ?? 0,
        pexSent: prev?.pexSent ?? new Set(),
        metadataBudget: prev?.metadataBudget,
      });
      if (h.reqq !== undefined) this.host.setPeerRequestLimit(p, h.reqq);
      // An incoming peer's address has an ephemeral port; `p` is where it can be reached (for PEX).
      if (h.p !== undefined && h.p > 0) p.listenPort = h.p;
      if (h.uploadOnly !== undefined) p.uploadOnly = h.uploadOnly;
      if (h.yourip !== undefined) this.opts.onYourIp?.(unmapped(h.yourip), unmapped(p.conn.address.host));
      return;
    }
    const st = this.state.get(p);
    if (st === undefined) return;
    if (id === LOCAL_IDS.get(UT_METADATA)) this.onMetadata(p, st, payload);
    else if (id === LOCAL_IDS.get(UT_PEX) && this.opts.pex) this.onPex(st, payload);
  }

  forget(p: SwarmPeer): void {
    this.state.delete(p);
    this.greeted.delete(p);
  }

  /** Periodic PEX: tell each peer about the peers we are connected to that it has not heard of. */
  tick(now: number): void {
    if (!this.opts.pex) return;
    let current: PexPeer[] | undefined;
    for (const [p, st] of this.state) {
      const id = st.remote.get(UT_PEX);
      if (id === undefined || id === 0 || now - st.lastPexSent < PEX_INTERVAL_MS) continue;
      current ??= this.host.connectedPeers();
      const keys = new Set(current.map(peerKey));
      // An incoming peer is listed under its listen port: never tell a peer about itself.
      const self = new Set([peerKey(p.conn.address)]);
      if (p.listenPort !== undefined) self.add(peerKey({ host: p.conn.address.host, port: p.listenPort }));
      const added = current.filter((a) => !st.pexSent.has(peerKey(a)) && !self.has(peerKey(a))).slice(0, 50);
      const dropped = [...st.pexSent].filter((k) => !keys.has(k)).slice(0, 50).map(parseKey);
      st.lastPexSent = now;
      if (added.length === 0 && dropped.length === 0) continue;
      for (const a of added) st.pexSent.add(peerKey(a));
      for (const d of dropped) st.pexSent.delete(peerKey(d));
      p.conn.send({ type: 'extended', id, payload: encodeUtPex({ added, dropped }) });
    }
  }

  private onMetadata(p: SwarmPeer, st: PeerExtState, payload: Uint8Array): void {
    const info = this.opts.infoBytes;
    const id = st.remote.get(UT_METADATA);
    if (info === undefined || id === undefined || id === 0) return;
    const msg = decodeUtMetadata(payload, info.length);
    if (msg.type !== 'request') return;
    const pieces = metadataPieceCount(info.length);
    const now = this.opts.now();
    st.metadataBudget ??= new TokenBucket(METADATA_BURST_COPIES * pieces + 2, METADATA_REFILL_MS, now);
    if (msg.piece >= pieces || !st.metadataBudget.take(now)) {
      p.conn.send({ type: 'extended', id, payload: encodeUtMetadata({ type: 'reject', piece: msg.piece }) });
      return;
    }
    const start = msg.piece * METADATA_PIECE_LENGTH;
    const data = info.subarray(start, Math.min(info.length, start + METADATA_PIECE_LENGTH));
    p.conn.send({ type: 'extended', id, payload: encodeUtMetadata({ type: 'data', piece: msg.piece, totalSize: info.length, data }) });
  }

  private onPex(st: PeerExtState, payload: Uint8Array): void {
    const now = this.opts.now();
    // BEP 11 asks senders for one message a minute; accept a little jitter, drop floods.
    if (now - st.lastPexReceived < PEX_MIN_GAP_MS) return;
    st.lastPexReceived = now;
    const msg = decodeUtPex(payload);
    this.host.addPexPeers(msg.added);
  }
}

function parseKey(key: string): PeerAddress {
  const i = key.lastIndexOf(':');
  const host = key.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(key.slice(i + 1)) };
}

/** An IPv4 peer reached through a dual-stack socket shows as ::ffff:a.b.c.d; say it as IPv4. */
function unmapped(host: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return m === null ? host : m[1]!;
}
