/**
 * The uTP packet (BEP 29, version 1): a 20-byte header, an extension chain, the payload.
 * Pure functions over bytes; the payload is a view into the datagram, never a copy.
 *
 *   0       4       8               16              24              32
 *   +-------+-------+---------------+---------------+---------------+
 *   | type  | ver   | extension     | connection_id                 |
 *   | timestamp_microseconds                                        |
 *   | timestamp_difference_microseconds                             |
 *   | wnd_size                                                      |
 *   | seq_nr                        | ack_nr                        |
 *
 * Each extension is [next extension type][length][length bytes]. Type 1 is the selective
 * ACK: a bitmask whose bit i (least significant bit of each byte first) says whether packet
 * ack_nr + 2 + i arrived. BEP 29 asks for a multiple of 32 bits and we send that, but
 * libtorrent sends as many bytes as its reorder buffer spans (1 to 32), so any length is
 * read. Unknown extensions are skipped, as the BEP says.
 */
import { utpError } from './errors.js';

export const UTP_VERSION = 1;
export const HEADER_BYTES = 20;

export const ST_DATA = 0;
export const ST_FIN = 1;
export const ST_STATE = 2;
export const ST_RESET = 3;
export const ST_SYN = 4;
export type PacketType = typeof ST_DATA | typeof ST_FIN | typeof ST_STATE | typeof ST_RESET | typeof ST_SYN;

export const EXT_SELECTIVE_ACK = 1;
/** More extensions than any client sends: a chain longer than this is hostile. */
const MAX_EXTENSIONS = 8;
/** The longest selective ACK we send: 1024 packets past the first gap. */
export const MAX_SACK_BYTES = 128;

export interface UtpHeader {
  type: PacketType;
  connectionId: number;
  /** Low 32 bits of the sender's clock in microseconds. */
  timestamp: number;
  /** The sender's receive time minus our last timestamp it saw: the one-way delay of our packets, plus clock skew. */
  timestampDiff: number;
  /** Bytes the sender can still take in (its receive window). */
  wndSize: number;
  seq: number;
  ack: number;
}

export interface UtpPacket extends UtpHeader {
  /** The selective ACK bitmask, when present (a view into the datagram). */
  sack: Uint8Array | undefined;
  /** A view into the datagram. */
  payload: Uint8Array;
}

/** Whether a datagram looks like uTP at all (the demultiplexer's test): version 1, a known type, a full header. */
export function isUtpPacket(buf: Uint8Array): boolean {
  return buf.length >= HEADER_BYTES && (buf[0]! & 0x0f) === UTP_VERSION && buf[0]! >> 4 <= ST_SYN;
}

/** Decode one datagram; throws `UtpError` on anything malformed. */
export function decodePacket(buf: Uint8Array): UtpPacket {
  if (buf.length < HEADER_BYTES) throw utpError('truncated', `uTP packet of ${buf.length} bytes is shorter than its header`);
  const b0 = buf[0]!;
  if ((b0 & 0x0f) !== UTP_VERSION) throw utpError('bad-header', `uTP version ${b0 & 0x0f} is not 1`);
  const type = b0 >> 4;
  if (type > ST_SYN) throw utpError('bad-header', `uTP packet type ${type} is unknown`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let ext = buf[1]!;
  let at = HEADER_BYTES;
  let sack: Uint8Array | undefined;
  for (let n = 0; ext !== 0; n++) {
    if (n >= MAX_EXTENSIONS) throw utpError('bad-extension', 'uTP extension chain too long');
    if (at + 2 > buf.length) throw utpError('truncated', 'uTP extension header past the end of the packet');
    const next = buf[at]!;
    const len = buf[at + 1]!;
    at += 2;
    if (at + len > buf.length) throw utpError('truncated', 'uTP extension runs past the end of the packet');
    // An empty selective ACK acknowledges nothing: the same as none.
    if (ext === EXT_SELECTIVE_ACK && len > 0) sack = buf.subarray(at, at + len);
    at += len;
    ext = next;
  }
  return {
    type: type as PacketType,
    connectionId: view.getUint16(2),
    timestamp: view.getUint32(4),
    timestampDiff: view.getUint32(8),
    wndSize: view.getUint32(12),
    seq: view.getUint16(16),
    ack: view.getUint16(18),
    sack,
    payload: buf.subarray(at),
  };
}

/** Bytes a packet with this selective ACK (or none) and payload takes. */
export function packetLength(sackBytes: number, payloadBytes: number): number {
  return HEADER_BYTES + (sackBytes > 0 ? 2 + sackBytes : 0) + payloadBytes;
}

/**
 * Write the header (and selective ACK) into `out` at 0; returns where the payload goes.
 * `out` must be at least `packetLength(sack.length, 0)` bytes.
 */
export function writeHeader(out: Uint8Array, h: UtpHeader, sack?: Uint8Array): number {
  if (sack !== undefined && (sack.length === 0 || sack.length > MAX_SACK_BYTES)) {
    throw utpError('bad-extension', `selective ACK of ${sack.length} bytes`);
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = (h.type << 4) | UTP_VERSION;
  out[1] = sack === undefined ? 0 : EXT_SELECTIVE_ACK;
  view.setUint16(2, h.connectionId & 0xffff);
  view.setUint32(4, h.timestamp >>> 0);
  view.setUint32(8, h.timestampDiff >>> 0);
  view.setUint32(12, h.wndSize >>> 0);
  view.setUint16(16, h.seq & 0xffff);
  view.setUint16(18, h.ack & 0xffff);
  if (sack === undefined) return HEADER_BYTES;
  out[20] = 0;
  out[21] = sack.length;
  out.set(sack, 22);
  return 22 + sack.length;
}

/** A whole packet in a fresh buffer (tests, control packets). */
export function encodePacket(h: UtpHeader, payload: Uint8Array = new Uint8Array(0), sack?: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(packetLength(sack?.length ?? 0, payload.length));
  const at = writeHeader(out, h, sack);
  out.set(payload, at);
  return out;
}

/** Rewrite the fields that change on every (re)transmission of a stored data packet. */
export function restamp(packet: Uint8Array, timestamp: number, timestampDiff: number, wndSize: number, ack: number): void {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  view.setUint32(4, timestamp >>> 0);
  view.setUint32(8, timestampDiff >>> 0);
  view.setUint32(12, wndSize >>> 0);
  view.setUint16(18, ack & 0xffff);
}

/** Sequence arithmetic modulo 2^16: how far `b` is ahead of `a` (0..65535). */
export function seqDistance(a: number, b: number): number {
  return (b - a) & 0xffff;
}

/** Whether `a` comes before `b` on the 16-bit circle (within half of it). */
export function seqLess(a: number, b: number): boolean {
  const d = seqDistance(a, b);
  return d !== 0 && d < 0x8000;
}
