/**
 * The BEP 3 handshake: `<pstrlen=19><"BitTorrent protocol"><8 reserved bytes><info hash><peer id>`,
 * 68 bytes. It can be read in two steps: the first 48 bytes name the torrent, so a listener
 * can pick (or refuse) the torrent before the 20-byte peer id arrives (BEP 3: "the recipient
 * may wait for the initiator's handshake").
 */
import { wireError } from './errors.js';

const PSTR = Buffer.from('BitTorrent protocol', 'latin1');

export const HANDSHAKE_LENGTH = 68;
/** pstrlen, pstr, reserved and info hash: everything before the peer id. */
export const HANDSHAKE_HEAD_LENGTH = 48;
export const PEER_ID_LENGTH = 20;
export const INFO_HASH_LENGTH = 20;
export const RESERVED_LENGTH = 8;

/** One capability bit in the 8 reserved bytes. */
export interface ReservedBit {
  readonly byte: number;
  readonly mask: number;
}

/** BEP 10: byte 5 (0-based), 0x10. */
export const EXTENSION_PROTOCOL_BIT: ReservedBit = Object.freeze({ byte: 5, mask: 0x10 });
/** BEP 6: byte 7, 0x04. */
export const FAST_EXTENSION_BIT: ReservedBit = Object.freeze({ byte: 7, mask: 0x04 });
/** BEP 5: byte 7, 0x01. */
export const DHT_BIT: ReservedBit = Object.freeze({ byte: 7, mask: 0x01 });

/** BEP 52: byte 7, 0x10, "supports v2": set by a client that speaks v2 for this torrent. */
export const V2_UPGRADE_BIT: ReservedBit = Object.freeze({ byte: 7, mask: 0x10 });

export interface HandshakeHead {
  /** A view of the 8 reserved bytes. */
  readonly reserved: Uint8Array;
  readonly infoHash: Uint8Array;
}

export interface Handshake extends HandshakeHead {
  readonly peerId: Uint8Array;
}

export interface Capabilities {
  extensionProtocol?: boolean;
  fast?: boolean;
  dht?: boolean;
  v2?: boolean;
}

export function hasReservedBit(reserved: Uint8Array, bit: ReservedBit): boolean {
  return (reserved[bit.byte]! & bit.mask) !== 0;
}

/** Reserved bytes announcing the given capabilities. */
export function makeReserved(caps: Capabilities): Uint8Array {
  const reserved = new Uint8Array(RESERVED_LENGTH);
  if (caps.extensionProtocol === true) reserved[EXTENSION_PROTOCOL_BIT.byte]! |= EXTENSION_PROTOCOL_BIT.mask;
  if (caps.fast === true) reserved[FAST_EXTENSION_BIT.byte]! |= FAST_EXTENSION_BIT.mask;
  if (caps.dht === true) reserved[DHT_BIT.byte]! |= DHT_BIT.mask;
  if (caps.v2 === true) reserved[V2_UPGRADE_BIT.byte]! |= V2_UPGRADE_BIT.mask;
  return reserved;
}

export function readCapabilities(reserved: Uint8Array): Required<Capabilities> {
  return {
    extensionProtocol: hasReservedBit(reserved, EXTENSION_PROTOCOL_BIT),
    fast: hasReservedBit(reserved, FAST_EXTENSION_BIT),
    dht: hasReservedBit(reserved, DHT_BIT),
    v2: hasReservedBit(reserved, V2_UPGRADE_BIT),
  };
}

export function encodeHandshake(h: Handshake): Buffer {
  checkLength('reserved', h.reserved, RESERVED_LENGTH);
  checkLength('info hash', h.infoHash, INFO_HASH_LENGTH);
  checkLength('peer id', h.peerId, PEER_ID_LENGTH);
  const out = Buffer.allocUnsafe(HANDSHAKE_LENGTH);
  out[0] = PSTR.length;
  PSTR.copy(out, 1);
  out.set(h.reserved, 20);
  out.set(h.infoHash, 28);
  out.set(h.peerId, 48);
  return out;
}

/**
 * Decode the first 48 bytes (extra bytes are ignored). The returned fields are views into
 * `buf`. Throws `WireError` when the protocol string is not BEP 3's (an encrypted or
 * foreign stream).
 */
export function decodeHandshakeHead(buf: Uint8Array): HandshakeHead {
  if (buf.length < HANDSHAKE_HEAD_LENGTH) {
    throw wireError('invalid-argument', `a handshake head is ${HANDSHAKE_HEAD_LENGTH} bytes, got ${buf.length}`);
  }
  if (buf[0] !== PSTR.length || Buffer.compare(PSTR, buf.subarray(1, 20)) !== 0) {
    throw wireError('bad-handshake', 'not a BitTorrent handshake (wrong protocol string)');
  }
  return { reserved: buf.subarray(20, 28), infoHash: buf.subarray(28, 48) };
}

/**
 * False as soon as the bytes seen so far cannot begin a BEP 3 handshake, so a stream that is
 * encrypted (MSE/PE) or foreign is recognised from its first byte, not after 48.
 */
export function isHandshakePrefix(buf: Uint8Array): boolean {
  if (buf.length > 0 && buf[0] !== PSTR.length) return false;
  const n = Math.min(buf.length, 20) - 1;
  return n <= 0 || Buffer.compare(PSTR.subarray(0, n), buf.subarray(1, 1 + n)) === 0;
}

/** The peer id: the 20 bytes that follow the head (a view into `buf`). */
export function decodePeerId(buf: Uint8Array): Uint8Array {
  if (buf.length < PEER_ID_LENGTH) throw wireError('invalid-argument', `a peer id is ${PEER_ID_LENGTH} bytes, got ${buf.length}`);
  return buf.subarray(0, PEER_ID_LENGTH);
}

/** Decode a whole 68-byte handshake (extra bytes are ignored); fields are views into `buf`. */
export function decodeHandshake(buf: Uint8Array): Handshake {
  if (buf.length < HANDSHAKE_LENGTH) {
    throw wireError('invalid-argument', `a handshake is ${HANDSHAKE_LENGTH} bytes, got ${buf.length}`);
  }
  const head = decodeHandshakeHead(buf);
  return { reserved: head.reserved, infoHash: head.infoHash, peerId: decodePeerId(buf.subarray(HANDSHAKE_HEAD_LENGTH)) };
}

function checkLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw wireError('invalid-argument', `${what} must be ${length} bytes, got ${bytes.length}`);
}
