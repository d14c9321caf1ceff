/**
 * BEP 15 UDP tracker packets, both directions, as pure functions over bytes. Every decoder
 * checks the exact size of what it reads and throws a `TrackerError` ('tracker-protocol')
 * on anything else, so neither the client nor the built-in tracker ever reads past a packet.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { TrackerError, oneLine } from './errors.js';
import { compactSize, decodeCompactPeers, encodeCompactPeers, type PeerFamily } from './peers.js';
import type { AnnounceEvent, ScrapeEntry } from './types.js';

/** BEP 15: the magic constant that opens every connect request. */
export const PROTOCOL_ID = 0x41727101980n;

export const Action = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;

/** BEP 15: "Up to about 74 torrents can be scraped at once." */
export const MAX_SCRAPE_HASHES = 74;

const EVENT_CODE: Record<AnnounceEvent | 'none', number> = { none: 0, completed: 1, started: 2, stopped: 3 };
const CODE_EVENT: readonly (AnnounceEvent | undefined)[] = [undefined, 'completed', 'started', 'stopped'];

export const CONNECT_REQUEST_SIZE = 16;
export const CONNECT_RESPONSE_SIZE = 16;
export const ANNOUNCE_REQUEST_SIZE = 98;
export const ANNOUNCE_RESPONSE_HEADER = 20;
export const SCRAPE_REQUEST_HEADER = 16;
export const SCRAPE_RESPONSE_HEADER = 8;
const MAX_ERROR_TEXT = 1024;

export interface UdpAnnounceRequest {
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly downloaded: number;
  readonly left: number;
  readonly uploaded: number;
  readonly event?: AnnounceEvent;
  readonly key: number;
  /** -1 asks for the tracker's default. */
  readonly numWant: number;
  readonly port: number;
}

export interface UdpAnnounceResponse {
  readonly transactionId: number;
  readonly interval: number;
  readonly leechers: number;
  readonly seeders: number;
  readonly peers: PeerAddress[];
}

export type UdpRequest =
  | { readonly action: 'connect'; readonly transactionId: number }
  | ({ readonly action: 'announce' } & UdpAnnounceRequest)
  | { readonly action: 'scrape'; readonly connectionId: bigint; readonly transactionId: number; readonly infoHashes: Uint8Array[] };

function protocolError(message: string): TrackerError {
  return new TrackerError('tracker-protocol', `udp tracker: ${message}`);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.trunc(n)));
}

// ---------------------------------------------------------------- client → tracker

export function encodeConnectRequest(transactionId: number): Buffer {
  const b = Buffer.alloc(CONNECT_REQUEST_SIZE);
  b.writeBigUInt64BE(PROTOCOL_ID, 0);
  b.writeUInt32BE(Action.connect, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

export function encodeAnnounceRequest(r: UdpAnnounceRequest): Buffer {
  if (r.infoHash.length !== 20 || r.peerId.length !== 20) throw protocolError('info hash and peer id must be 20 bytes');
  const b = Buffer.alloc(ANNOUNCE_REQUEST_SIZE);
  b.writeBigUInt64BE(r.connectionId, 0);
  b.writeUInt32BE(Action.announce, 8);
  b.writeUInt32BE(r.transactionId >>> 0, 12);
  b.set(r.infoHash, 16);
  b.set(r.peerId, 36);
  b.writeBigUInt64BE(u64(r.downloaded), 56);
  b.writeBigUInt64BE(u64(r.left), 64);
  b.writeBigUInt64BE(u64(r.uploaded), 72);
  b.writeUInt32BE(EVENT_CODE[r.event ?? 'none'], 80);
  // 84: IP address 0 = "use the sender's address": behind a NAT that is the external address
  // already, and the field has no room for BEP 7's other family, so the learned address is not sent.
  b.writeUInt32BE(r.key >>> 0, 88);
  b.writeInt32BE(r.numWant, 92);
  b.writeUInt16BE(r.port, 96);
  return b;
}

export function encodeScrapeRequest(connectionId: bigint, transactionId: number, infoHashes: readonly Uint8Array[]): Buffer {
  if (infoHashes.length === 0 || infoHashes.length > MAX_SCRAPE_HASHES) {
    throw protocolError(`scrape takes 1 to ${MAX_SCRAPE_HASHES} info hashes, got ${infoHashes.length}`);
  }
  const b = Buffer.alloc(SCRAPE_REQUEST_HEADER + 20 * infoHashes.length);
  b.writeBigUInt64BE(connectionId, 0);
  b.writeUInt32BE(Action.scrape, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  infoHashes.forEach((h, i) => {
    if (h.length !== 20) throw protocolError('info hash must be 20 bytes');
    b.set(h, SCRAPE_REQUEST_HEADER + 20 * i);
  });
  return b;
}

// ---------------------------------------------------------------- tracker → client

/** The action and transaction id of a reply, so the client can route it before decoding the rest. */
export function peekResponse(packet: Uint8Array): { action: number; transactionId: number } {
  if (packet.length < 8) throw protocolError(`reply of ${packet.length} bytes is shorter than 8`);
  const v = view(packet);
  return { action: v.getUint32(0), transactionId: v.getUint32(4) };
}

/** Throws for an error reply, a wrong action or a wrong transaction id. */
function expectHeader(packet: Uint8Array, action: number, transactionId: number): DataView {
  const head = peekResponse(packet);
  if (head.transactionId !== transactionId >>> 0) {
    throw protocolError(`transaction id ${head.transactionId} does not match ${transactionId >>> 0}`);
  }
  if (head.action === Action.error) throw new TrackerError('tracker-failure', decodeErrorResponse(packet).message);
  if (head.action !== action) throw protocolError(`expected action ${action}, got ${head.action}`);
  return view(packet);
}

export function decodeConnectResponse(packet: Uint8Array, transactionId: number): bigint {
  const v = expectHeader(packet, Action.connect, transactionId);
  if (packet.length !== CONNECT_RESPONSE_SIZE) throw protocolError(`connect reply is ${packet.length} bytes, not 16`);
  return v.getBigUint64(8);
}

/** `family` is the socket's: BEP 15 sends 6-byte peers over IPv4 and 18-byte peers over IPv6. */
export function decodeAnnounceResponse(packet: Uint8Array, transactionId: number, family: PeerFamily): UdpAnnounceResponse {
  const v = expectHeader(packet, Action.announce, transactionId);
  if (packet.length < ANNOUNCE_RESPONSE_HEADER) throw protocolError(`announce reply of ${packet.length} bytes is shorter than 20`);
  const peerBytes = packet.subarray(ANNOUNCE_RESPONSE_HEADER);
  if (peerBytes.length % compactSize(family) !== 0) {
    throw protocolError(`announce reply peers length ${peerBytes.length} is not a multiple of ${compactSize(family)}`);
  }
  return {
    transactionId: transactionId >>> 0,
    interval: v.getUint32(8),
    leechers: v.getUint32(12),
    seeders: v.getUint32(16),
    peers: decodeCompactPeers(peerBytes, family),
  };
}

/** The reply carries one 12-byte entry per requested hash, in request order. */
export function decodeScrapeResponse(packet: Uint8Array, transactionId: number, hashCount: number): ScrapeEntry[] {
  const v = expectHeader(packet, Action.scrape, transactionId);
  const want = SCRAPE_RESPONSE_HEADER + 12 * hashCount;
  if (packet.length !== want) throw protocolError(`scrape reply is ${packet.length} bytes, expected ${want}`);
  const out: ScrapeEntry[] = [];
  for (let i = 0; i < hashCount; i++) {
    const at = SCRAPE_RESPONSE_HEADER + 12 * i;
    out.push({ complete: v.getUint32(at), downloaded: v.getUint32(at + 4), incomplete: v.getUint32(at + 8) });
  }
  return out;
}

export function decodeErrorResponse(packet: Uint8Array): { transactionId: number; message: string } {
  const head = peekResponse(packet);
  if (head.action !== Action.error) throw protocolError(`expected action 3, got ${head.action}`);
  const text = Buffer.from(packet.subarray(8, 8 + MAX_ERROR_TEXT)).toString('utf8');
  return { transactionId: head.transactionId, message: oneLine(text === '' ? 'tracker error' : text) };
}

// ---------------------------------------------------------------- tracker side (built-in server)

/** Decode what a client sent; throws on anything malformed. Connection ids are checked by the caller. */
export function decodeRequest(packet: Uint8Array): UdpRequest {
  if (packet.length < 16) throw protocolError(`request of ${packet.length} bytes is shorter than 16`);
  const v = view(packet);
  const connectionId = v.getBigUint64(0);
  const action = v.getUint32(8);
  const transactionId = v.getUint32(12);
  switch (action) {
    case Action.connect:
      if (connectionId !== PROTOCOL_ID) throw protocolError('connect request without the protocol id');
      return { action: 'connect', transactionId };
    case Action.announce: {
      // BEP 41 options may follow the 98 fixed bytes; they are ignored here.
      if (packet.length < ANNOUNCE_REQUEST_SIZE) throw protocolError(`announce request of ${packet.length} bytes is shorter than 98`);
      const eventCode = v.getUint32(80);
      if (eventCode > 3) throw protocolError(`unknown event ${eventCode}`);
      const event = CODE_EVENT[eventCode];
      return {
        action: 'announce',
        connectionId,
        transactionId,
        infoHash: packet.slice(16, 36),
        peerId: packet.slice(36, 56),
        downloaded: Number(v.getBigUint64(56)),
        left: Number(v.getBigUint64(64)),
        uploaded: Number(v.getBigUint64(72)),
        ...(event === undefined ? {} : { event }),
        key: v.getUint32(88),
        numWant: v.getInt32(92),
        port: v.getUint16(96),
      };
    }
    case Action.scrape: {
      const body = packet.length - SCRAPE_REQUEST_HEADER;
      if (body === 0 || body % 20 !== 0 || body / 20 > MAX_SCRAPE_HASHES) throw protocolError(`scrape request of ${packet.length} bytes`);
      const infoHashes: Uint8Array[] = [];
      for (let at = SCRAPE_REQUEST_HEADER; at < packet.length; at += 20) infoHashes.push(packet.slice(at, at + 20));
      return { action: 'scrape', connectionId, transactionId, infoHashes };
    }
    default:
      throw protocolError(`unknown action ${action}`);
  }
}

export function encodeConnectResponse(transactionId: number, connectionId: bigint): Buffer {
  const b = Buffer.alloc(CONNECT_RESPONSE_SIZE);
  b.writeUInt32BE(Action.connect, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  b.writeBigUInt64BE(connectionId, 8);
  return b;
}

export function encodeAnnounceResponse(
  r: { transactionId: number; interval: number; leechers: number; seeders: number; peers: readonly PeerAddress[] },
  family: PeerFamily,
): Buffer {
  const peers = encodeCompactPeers(r.peers, family);
  const b = Buffer.alloc(ANNOUNCE_RESPONSE_HEADER + peers.length);
  b.writeUInt32BE(Action.announce, 0);
  b.writeUInt32BE(r.transactionId >>> 0, 4);
  b.writeUInt32BE(r.interval >>> 0, 8);
  b.writeUInt32BE(r.leechers >>> 0, 12);
  b.writeUInt32BE(r.seeders >>> 0, 16);
  peers.copy(b, ANNOUNCE_RESPONSE_HEADER);
  return b;
}

export function encodeScrapeResponse(transactionId: number, entries: readonly ScrapeEntry[]): Buffer {
  const b = Buffer.alloc(SCRAPE_RESPONSE_HEADER + 12 * entries.length);
  b.writeUInt32BE(Action.scrape, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  entries.forEach((e, i) => {
    const at = SCRAPE_RESPONSE_HEADER + 12 * i;
    b.writeUInt32BE(e.complete >>> 0, at);
    b.writeUInt32BE(e.downloaded >>> 0, at + 4);
    b.writeUInt32BE(e.incomplete >>> 0, at + 8);
  });
  return b;
}

/** `maxBytes` bounds the whole packet: the message is cut to fit (never below the 8-byte header). */
export function encodeErrorResponse(transactionId: number, message: string, maxBytes = Infinity): Buffer {
  const text = Buffer.from(message, 'utf8').subarray(0, Math.max(0, maxBytes - 8));
  const b = Buffer.alloc(8 + text.length);
  b.writeUInt32BE(Action.error, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  text.copy(b, 8);
  return b;
}
