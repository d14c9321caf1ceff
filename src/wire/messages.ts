/**
 * Peer wire messages after the handshake (BEP 3), plus the fast extension's (BEP 6), DHT
 * `port` (BEP 5) and the extension protocol's envelope (BEP 10). A message on the wire is
 * `<u32 length><u8 id><payload>`; a length of 0 is a keep-alive.
 *
 * Decoding reads integers with `readUInt32BE` (unsigned: the `<< 24` idiom turns 0x80000000
 * negative) and returns payloads as views into the caller's buffer, never copies.
 */
import { wireError } from './errors.js';

export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 13,
  haveAll: 14,
  haveNone: 15,
  reject: 16,
  allowedFast: 17,
  extended: 20,
} as const;

/** Bytes before a piece's block: length prefix, id, index, begin. */
export const PIECE_HEADER_LENGTH = 13;

export interface BlockRef {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

export type Message =
  | { readonly type: 'keep-alive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'not-interested' }
  | { readonly type: 'have'; readonly index: number }
  | { readonly type: 'bitfield'; readonly bytes: Uint8Array }
  | ({ readonly type: 'request' } & BlockRef)
  | { readonly type: 'piece'; readonly index: number; readonly begin: number; readonly block: Uint8Array }
  | ({ readonly type: 'cancel' } & BlockRef)
  | { readonly type: 'port'; readonly port: number }
  | { readonly type: 'suggest'; readonly index: number }
  | { readonly type: 'have-all' }
  | { readonly type: 'have-none' }
  | ({ readonly type: 'reject' } & BlockRef)
  | { readonly type: 'allowed-fast'; readonly index: number }
  /** BEP 10: `id` is the extended message id (0 = extended handshake); `payload` follows it. */
  | { readonly type: 'extended'; readonly id: number; readonly payload: Uint8Array };

/** A message id we do not know: BEP 3 says to ignore it, so it is a result, not an error. */
export interface UnknownMessage {
  readonly type: 'unknown';
  readonly id: number;
  readonly payload: Uint8Array;
}

/** Everything a decoder can return. */
export type IncomingMessage = Message | UnknownMessage;

export type MessageType = Message['type'];

// Payload-less messages are shared frozen singletons: decoding them allocates nothing.
export const KEEP_ALIVE: Message = Object.freeze({ type: 'keep-alive' });
const CHOKE: Message = Object.freeze({ type: 'choke' });
const UNCHOKE: Message = Object.freeze({ type: 'unchoke' });
const INTERESTED: Message = Object.freeze({ type: 'interested' });
const NOT_INTERESTED: Message = Object.freeze({ type: 'not-interested' });
const HAVE_ALL: Message = Object.freeze({ type: 'have-all' });
const HAVE_NONE: Message = Object.freeze({ type: 'have-none' });

/** Variable-length payloads; every other known id has an exact length in FIXED_PAYLOAD. */
const VARIABLE_PAYLOAD = -1;
const UNKNOWN_ID = -2;

/** Payload bytes after the id, per id: exact, VARIABLE_PAYLOAD, or unknown (-2). */
export const FIXED_PAYLOAD: Readonly<Int16Array> = (() => {
  const t = new Int16Array(256).fill(UNKNOWN_ID);
  for (const id of [MessageId.choke, MessageId.unchoke, MessageId.interested, MessageId.notInterested]) t[id] = 0;
  for (const id of [MessageId.haveAll, MessageId.haveNone]) t[id] = 0;
  for (const id of [MessageId.have, MessageId.suggest, MessageId.allowedFast]) t[id] = 4;
  for (const id of [MessageId.request, MessageId.cancel, MessageId.reject]) t[id] = 12;
  t[MessageId.port] = 2;
  for (const id of [MessageId.bitfield, MessageId.piece, MessageId.extended]) t[id] = VARIABLE_PAYLOAD;
  return t;
})();

export function isKnownMessageId(id: number): boolean {
  return FIXED_PAYLOAD[id] !== UNKNOWN_ID;
}

/**
 * Decode the message whose id is `id` and whose payload is `buf[start, end)`. Exact payload
 * lengths are checked here; upper bounds on variable ones are the framer's job (it must
 * refuse them before buffering).
 */
export function decodeBody(buf: Buffer, id: number, start: number, end: number): IncomingMessage {
  const size = end - start;
  const fixed = FIXED_PAYLOAD[id]!;
  if (fixed >= 0 && size !== fixed) {
    throw wireError('bad-message-length', `message id ${id} needs a ${fixed}-byte payload, got ${size}`);
  }
  switch (id) {
    case MessageId.choke:
      return CHOKE;
    case MessageId.unchoke:
      return UNCHOKE;
    case MessageId.interested:
      return INTERESTED;
    case MessageId.notInterested:
      return NOT_INTERESTED;
    case MessageId.have:
      return { type: 'have', index: buf.readUInt32BE(start) };
    case MessageId.bitfield:
      return { type: 'bitfield', bytes: buf.subarray(start, end) };
    case MessageId.request:
      return { type: 'request', index: buf.readUInt32BE(start), begin: buf.readUInt32BE(start + 4), length: buf.readUInt32BE(start + 8) };
    case MessageId.piece:
      if (size < 8) throw wireError('bad-message-length', `piece payload of ${size} bytes is shorter than its 8-byte header`);
      return { type: 'piece', index: buf.readUInt32BE(start), begin: buf.readUInt32BE(start + 4), block: buf.subarray(start + 8, end) };
    case MessageId.cancel:
      return { type: 'cancel', index: buf.readUInt32BE(start), begin: buf.readUInt32BE(start + 4), length: buf.readUInt32BE(start + 8) };
    case MessageId.port:
      return { type: 'port', port: buf.readUInt16BE(start) };
    case MessageId.suggest:
      return { type: 'suggest', index: buf.readUInt32BE(start) };
    case MessageId.haveAll:
      return HAVE_ALL;
    case MessageId.haveNone:
      return HAVE_NONE;
    case MessageId.reject:
      return { type: 'reject', index: buf.readUInt32BE(start), begin: buf.readUInt32BE(start + 4), length: buf.readUInt32BE(start + 8) };
    case MessageId.allowedFast:
      return { type: 'allowed-fast', index: buf.readUInt32BE(start) };
    case MessageId.extended:
      if (size < 1) throw wireError('bad-message-length', 'extended message without an extended id');
      return { type: 'extended', id: buf[start]!, payload: buf.subarray(start + 1, end) };
    default:
      return { type: 'unknown', id, payload: buf.subarray(start, end) };
  }
}

/**
 * Decode one message from its frame without the length prefix (`<id><payload>`; empty is a
 * keep-alive). Fields are views into `frame`.
 */
export function decodeMessage(frame: Uint8Array): IncomingMessage {
  if (frame.length === 0) return KEEP_ALIVE;
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return decodeBody(buf, buf[0]!, 1, buf.length);
}

/** Encode any message as one buffer. For `piece`, prefer `encodePieceHeader` plus the block (no copy). */
export function encodeMessage(msg: Message): Buffer {
  switch (msg.type) {
    case 'keep-alive':
      return Buffer.alloc(4);
    case 'choke':
      return bare(MessageId.choke);
    case 'unchoke':
      return bare(MessageId.unchoke);
    case 'interested':
      return bare(MessageId.interested);
    case 'not-interested':
      return bare(MessageId.notInterested);
    case 'have':
      return withIndex(MessageId.have, msg.index);
    case 'bitfield':
      return withBytes(MessageId.bitfield, msg.bytes);
    case 'request':
      return withBlockRef(MessageId.request, msg.index, msg.begin, msg.length);
    case 'piece': {
      const out = Buffer.allocUnsafe(PIECE_HEADER_LENGTH + msg.block.length);
      writePieceHeader(out, msg.index, msg.begin, msg.block.length);
      out.set(msg.block, PIECE_HEADER_LENGTH);
      return out;
    }
    case 'cancel':
      return withBlockRef(MessageId.cancel, msg.index, msg.begin, msg.length);
    case 'port': {
      if (!Number.isInteger(msg.port) || msg.port < 0 || msg.port > 0xffff) throw wireError('invalid-argument', `bad port ${msg.port}`);
      const out = header(MessageId.port, 2);
      out.writeUInt16BE(msg.port, 5);
      return out;
    }
    case 'suggest':
      return withIndex(MessageId.suggest, msg.index);
    case 'have-all':
      return bare(MessageId.haveAll);
    case 'have-none':
      return bare(MessageId.haveNone);
    case 'reject':
      return withBlockRef(MessageId.reject, msg.index, msg.begin, msg.length);
    case 'allowed-fast':
      return withIndex(MessageId.allowedFast, msg.index);
    case 'extended': {
      if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > 0xff) throw wireError('invalid-argument', `bad extended id ${msg.id}`);
      const out = header(MessageId.extended, 1 + msg.payload.length);
      out[5] = msg.id;
      out.set(msg.payload, 6);
      return out;
    }
    default:
      return assertNever(msg);
  }
}

/** The 13 bytes before a block: write them and the block with `writev`/`cork`, no concatenation. */
export function encodePieceHeader(index: number, begin: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(PIECE_HEADER_LENGTH);
  writePieceHeader(out, index, begin, length);
  return out;
}

export function encodeRequest(index: number, begin: number, length: number): Buffer {
  return withBlockRef(MessageId.request, index, begin, length);
}

export function encodeHave(index: number): Buffer {
  return withIndex(MessageId.have, index);
}

function assertNever(value: never): never {
  throw wireError('invalid-argument', `unknown message ${JSON.stringify(value)}`);
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw wireError('invalid-argument', `${what} ${v} is not a 32-bit unsigned integer`);
}

function header(id: number, payload: number): Buffer {
  const out = Buffer.allocUnsafe(5 + payload);
  out.writeUInt32BE(1 + payload, 0);
  out[4] = id;
  return out;
}

function bare(id: number): Buffer {
  return header(id, 0);
}

function withIndex(id: number, index: number): Buffer {
  checkU32('piece index', index);
  const out = header(id, 4);
  out.writeUInt32BE(index, 5);
  return out;
}

function withBlockRef(id: number, index: number, begin: number, length: number): Buffer {
  checkU32('piece index', index);
  checkU32('begin', begin);
  checkU32('length', length);
  const out = header(id, 12);
  out.writeUInt32BE(index, 5);
  out.writeUInt32BE(begin, 9);
  out.writeUInt32BE(length, 13);
  return out;
}

function withBytes(id: number, bytes: Uint8Array): Buffer {
  const out = header(id, bytes.length);
  out.set(bytes, 5);
  return out;
}

function writePieceHeader(out: Buffer, index: number, begin: number, length: number): void {
  checkU32('piece index', index);
  checkU32('begin', begin);
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff - 9) throw wireError('invalid-argument', `block length ${length} out of range`);
  out.writeUInt32BE(9 + length, 0);
  out[4] = MessageId.piece;
  out.writeUInt32BE(index, 5);
  out.writeUInt32BE(begin, 9);
}
