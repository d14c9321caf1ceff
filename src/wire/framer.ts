/**
 * Framing of the peer wire stream (BEP 3: `<u32 length><id><payload>`), in two forms:
 *
 * - `decodeFrame(buf, offset)`: pure, for one buffer; says how many more bytes it needs.
 * - `FrameReader`: fed TCP chunks as they arrive, yields messages one by one. It keeps a
 *   list of chunks and a read offset, so nothing is concatenated until a frame actually
 *   straddles chunks (then that frame alone is copied once). A frame inside one chunk is
 *   decoded in place: a `piece` block is a `subarray` of the socket's own buffer.
 *
 * Every length prefix is checked against the limit for its message id as soon as the 5
 * header bytes are visible, before waiting for (and so buffering) the rest: a peer cannot
 * make us hold more than the largest legal frame (SAFETY.md: wire messages ≤ 1 MiB).
 */
import { wireError, type WireError } from './errors.js';
import { HashMessageId, MAX_HASHES_FRAME } from './hashes.js';
import { decodeBody, FIXED_PAYLOAD, KEEP_ALIVE, MessageId, PIECE_HEADER_LENGTH, type IncomingMessage } from './messages.js';

/** BEP 3 / BEP 52 convention: blocks are 16 KiB; every mainstream client requests that. */
export const BLOCK_LENGTH = 16 * 1024;
/** SAFETY.md: pieces ≤ 2^21, so a bitfield is at most 2^18 bytes. */
export const MAX_BITFIELD_BYTES = 2 ** 21 / 8;
/** SAFETY.md: no wire message above 1 MiB. */
export const MAX_WIRE_MESSAGE = 1024 * 1024;

/** Upper bounds on whole frames, length prefix included (bitfield: payload bytes). */
export interface FrameLimits {
  /** `piece` frames (block + 13-byte header) and frames with an unknown id. */
  readonly maxFrame: number;
  /** Bitfield payload bytes: `ceil(pieceCount / 8)` once the piece count is known. */
  readonly maxBitfield: number;
  /** BEP 10 extended frames (ut_metadata data carries a 16 KiB piece plus a small dict). */
  readonly maxExtended: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = Object.freeze({
  maxFrame: BLOCK_LENGTH + PIECE_HEADER_LENGTH,
  maxBitfield: MAX_BITFIELD_BYTES,
  maxExtended: MAX_WIRE_MESSAGE,
});

export type FrameResult =
  | { readonly kind: 'need'; readonly bytes: number }
  | { readonly kind: 'message'; readonly msg: IncomingMessage; readonly consumed: number };

/** Validate limits given by a caller (they size what we are willing to buffer). */
export function frameLimits(options: Partial<FrameLimits> = {}): FrameLimits {
  const limits = { ...DEFAULT_FRAME_LIMITS, ...dropUndefined(options) };
  checkLimit('maxFrame', limits.maxFrame, PIECE_HEADER_LENGTH);
  checkLimit('maxBitfield', limits.maxBitfield, 0);
  checkLimit('maxExtended', limits.maxExtended, 6);
  return Object.freeze(limits);
}

/** The largest length prefix any message may carry under `limits` (frame size minus 4). */
function maxLengthPrefix(limits: FrameLimits): number {
  return Math.max(limits.maxFrame, 5 + limits.maxBitfield, limits.maxExtended, MAX_HASHES_FRAME) - 4;
}

/**
 * Throw unless a frame whose prefix is `length` (> 0) and whose id is `id` is acceptable:
 * exact for fixed-size messages, bounded for the rest.
 */
function checkFrameHeader(length: number, id: number, limits: FrameLimits): void {
  const fixed = FIXED_PAYLOAD[id]!;
  if (fixed >= 0) {
    if (length !== fixed + 1) throw wireError('bad-message-length', `message id ${id} needs a ${fixed}-byte payload, got ${length - 1}`);
    return;
  }
  switch (id) {
    case MessageId.piece:
      if (length < 9) throw wireError('bad-message-length', `piece payload of ${length - 1} bytes is shorter than its 8-byte header`);
      if (length + 4 > limits.maxFrame) throw tooLarge('piece', length, limits.maxFrame);
      return;
    case MessageId.bitfield:
      if (length - 1 > limits.maxBitfield) {
        throw wireError('frame-too-large', `bitfield of ${length - 1} bytes exceeds the ${limits.maxBitfield}-byte bound`);
      }
      return;
    case MessageId.extended:
      if (length < 2) throw wireError('bad-message-length', 'extended message without an extended id');
      if (length + 4 > limits.maxExtended) throw tooLarge('extended', length, limits.maxExtended);
      return;
    case HashMessageId.hashes:
      // BEP 52: a run of up to 8,192 hashes with its proof is larger than a block.
      if (length + 4 > Math.max(limits.maxFrame, MAX_HASHES_FRAME)) throw tooLarge('hashes', length, MAX_HASHES_FRAME);
      return;
    default:
      if (length + 4 > limits.maxFrame) throw tooLarge(`id ${id}`, length, limits.maxFrame);
  }
}

/**
 * Decode one frame at `offset`. `need.bytes` is how many more bytes at least are needed;
 * oversized or malformed frames throw `WireError` as soon as their header is visible.
 */
export function decodeFrame(buf: Uint8Array, offset = 0, limits: FrameLimits = DEFAULT_FRAME_LIMITS): FrameResult {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const avail = b.length - offset;
  if (avail < 4) return { kind: 'need', bytes: 4 - avail };
  const length = b.readUInt32BE(offset);
  if (length === 0) return { kind: 'message', msg: KEEP_ALIVE, consumed: 4 };
  const max = maxLengthPrefix(limits);
  if (length > max) throw wireError('frame-too-large', `length prefix ${length} exceeds the ${max}-byte bound`);
  if (avail < 5) return { kind: 'need', bytes: length + 4 - avail };
  const id = b[offset + 4]!;
  checkFrameHeader(length, id, limits);
  if (avail < length + 4) return { kind: 'need', bytes: length + 4 - avail };
  return { kind: 'message', msg: decodeBody(b, id, offset + 5, offset + 4 + length), consumed: length + 4 };
}

const EMPTY = Buffer.alloc(0);

export interface ReaderOptions {
  /**
   * A `piece` frame that straddles chunks is gathered into one buffer the reader reuses, so
   * its block is valid only until the next call of `next`: for a caller that copies each
   * block out at once (the download path), this spares an allocation per such frame.
   */
  readonly reuseBlockBuffer?: boolean;
}

/**
 * Streaming decoder for one connection. Call `push` with each chunk, then `next` until it
 * returns undefined: that is when an oversized header is refused, so at most one chunk
 * beyond the largest legal frame is ever held. Returned payloads are views into the pushed
 * chunks, which the reader never writes to; they stay valid as long as the caller keeps
 * them (but see `ReaderOptions.reuseBlockBuffer` and `detach`). After a `WireError` the stream
 * is unusable: close the connection.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  /** Index of the chunk holding the next unread byte. */
  private head = 0;
  /** Read position inside `chunks[head]`. */
  private offset = 0;
  private buffered = 0;
  private limits: FrameLimits;
  private maxLength: number;
  private readonly scratch = Buffer.alloc(4);
  private readonly reuseBlocks: boolean;
  private blockBuffer: Buffer | undefined;
  /** Two buffers `detach` alternates between (the bytes it keeps may sit in the last one). */
  private readonly carry: (Buffer | undefined)[] = [undefined, undefined];
  private carrySide = 0;

  constructor(options: Partial<FrameLimits> = {}, reader: ReaderOptions = {}) {
    this.limits = frameLimits(options);
    this.maxLength = maxLengthPrefix(this.limits);
    this.reuseBlocks = reader.reuseBlockBuffer ?? false;
  }

  /** Unread bytes held. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Tighten the bitfield bound once the piece count is known (e.g. after BEP 9 metadata). */
  setMaxBitfield(bytes: number): void {
    this.limits = frameLimits({ ...this.limits, maxBitfield: bytes });
    this.maxLength = maxLengthPrefix(this.limits);
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
  }

  /**
   * Copies the unread bytes into memory the reader owns. A caller that reads the socket into
   * one reused buffer calls this after draining `next`, before the buffer is overwritten;
   * only the tail of a partial frame is copied, into one of two buffers kept for it (a tail
   * larger than two frames, left when reading stopped mid-chunk, gets a buffer of its own).
   * Views that `next` returned before are overwritten by a later `detach`.
   */
  detach(): void {
    const n = this.buffered;
    if (n === 0) return;
    let into: Buffer | undefined;
    if (n <= 2 * this.limits.maxFrame) {
      this.carrySide ^= 1;
      into = this.carry[this.carrySide];
      if (into === undefined || into.length < n) into = this.carry[this.carrySide] = Buffer.allocUnsafe(2 * this.limits.maxFrame);
    }
    this.chunks = [this.take(n, into)];
    this.head = 0;
    this.offset = 0;
    this.buffered = this.chunks[0]!.length;
  }

  /** The next message, or undefined until more bytes arrive. Throws `WireError` on a bad frame. */
  next(): IncomingMessage | undefined {
    if (this.buffered < 4) return undefined;
    const chunk = this.chunks[this.head]!;
    const at = this.offset;
    const inHead = chunk.length - at;
    const length = inHead >= 4 ? chunk.readUInt32BE(at) : this.peekUInt32();
    if (length === 0) {
      this.skip(4);
      return KEEP_ALIVE;
    }
    if (length > this.maxLength) throw wireError('frame-too-large', `length prefix ${length} exceeds the ${this.maxLength}-byte bound`);
    if (this.buffered < 5) return undefined;
    const id = inHead >= 5 ? chunk[at + 4]! : this.peekByte(4);
    checkFrameHeader(length, id, this.limits);
    const total = length + 4;
    if (this.buffered < total) return undefined;
    if (inHead >= total) {
      this.skip(total);
      return decodeBody(chunk, id, at + 5, at + total);
    }
    if (id === MessageId.piece && this.reuseBlocks) {
      if (this.blockBuffer === undefined || this.blockBuffer.length < total) this.blockBuffer = Buffer.allocUnsafe(this.limits.maxFrame);
      return decodeBody(this.take(total, this.blockBuffer), id, 5, total);
    }
    return decodeBody(this.take(total), id, 5, total);
  }

  /**
   * Exactly `n` raw bytes (the handshake, read before any framed message), or undefined
   * until they have all arrived. A view when they lie in one chunk, else one copy.
   */
  readRaw(n: number): Buffer | undefined {
    if (!Number.isInteger(n) || n < 0) throw wireError('invalid-argument', `cannot read ${n} bytes`);
    if (this.buffered < n) return undefined;
    const chunk = this.chunks[this.head];
    if (chunk === undefined) return EMPTY;
    const at = this.offset;
    if (chunk.length - at >= n) {
      this.skip(n);
      return chunk.subarray(at, at + n);
    }
    return this.take(n);
  }

  /** Copy the next `n` bytes (they span chunks) into `into`, or one new buffer, and consume them. */
  private take(n: number, into?: Buffer): Buffer {
    const out = into === undefined ? Buffer.allocUnsafe(n) : into.subarray(0, n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.skip(count);
    }
    return out;
  }

  private skip(n: number): void {
    this.buffered -= n;
    this.offset += n;
    while (this.head < this.chunks.length && this.offset >= this.chunks[this.head]!.length) {
      this.offset -= this.chunks[this.head]!.length;
      // Drop our reference so a consumed chunk is freed once no message view needs it.
      this.chunks[this.head] = EMPTY;
      this.head++;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Byte `i` past the read position; the caller has checked that it is buffered. */
  private peekByte(i: number): number {
    let h = this.head;
    let pos = this.offset + i;
    while (pos >= this.chunks[h]!.length) {
      pos -= this.chunks[h]!.length;
      h++;
    }
    return this.chunks[h]![pos]!;
  }

  /** A length prefix split across chunks: gathered, then read unsigned like any other. */
  private peekUInt32(): number {
    for (let i = 0; i < 4; i++) this.scratch[i] = this.peekByte(i);
    return this.scratch.readUInt32BE(0);
  }
}

function tooLarge(what: string, length: number, maxFrame: number): WireError {
  return wireError('frame-too-large', `${what} frame of ${length + 4} bytes exceeds the ${maxFrame}-byte bound`);
}

function checkLimit(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > 0x7fffffff) {
    throw wireError('invalid-argument', `${name} must be an integer from ${min} to 2^31-1, got ${value}`);
  }
}

function dropUndefined(options: Partial<FrameLimits>): Partial<FrameLimits> {
  const out: { -readonly [K in keyof FrameLimits]?: number } = {};
  if (options.maxFrame !== undefined) out.maxFrame = options.maxFrame;
  if (options.maxBitfield !== undefined) out.maxBitfield = options.maxBitfield;
  if (options.maxExtended !== undefined) out.maxExtended = options.maxExtended;
  return out;
}
