/**
 * ut_metadata (BEP 9): fetching the info dictionary from peers in 16 KiB pieces. Each message
 * is a bencoded dict `{msg_type, piece[, total_size]}`; a `data` message is followed by the
 * raw piece bytes, which are returned as a view (no copy).
 */
import { asDict, asInt, BencodeError, decodeDetailed, encode, type BDict } from '../bencode/index.js';
import { wireError } from './errors.js';

export const UT_METADATA = 'ut_metadata';
export const METADATA_PIECE_LENGTH = 16 * 1024;
/** SAFETY.md: metadata ≤ 32 MiB (rqbit's bound; libtorrent allows 30 MiB). */
export const MAX_METADATA_SIZE = 32 * 1024 * 1024;

const MSG_REQUEST = 0;
const MSG_DATA = 1;
const MSG_REJECT = 2;

export type UtMetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: 'reject'; readonly piece: number };

/** BEP 9: "an unrecognized message ID MUST be ignored", so it is a result, not an error. */
export interface UnknownUtMetadata {
  readonly type: 'unknown';
  readonly msgType: number;
}

export function isValidMetadataSize(size: number): boolean {
  return Number.isSafeInteger(size) && size > 0 && size <= MAX_METADATA_SIZE;
}

/** Number of 16 KiB pieces in metadata of `size` bytes. */
export function metadataPieceCount(size: number): number {
  if (!isValidMetadataSize(size)) throw wireError('bad-ut-metadata', `metadata size ${size} is outside 1..${MAX_METADATA_SIZE}`);
  return Math.ceil(size / METADATA_PIECE_LENGTH);
}

/** Length of piece `piece`: 16 KiB, except the last, which holds the remainder. */
export function metadataPieceLength(size: number, piece: number): number {
  const count = metadataPieceCount(size);
  if (!Number.isInteger(piece) || piece < 0 || piece >= count) {
    throw wireError('bad-ut-metadata', `metadata piece ${piece} is outside 0..${count - 1}`);
  }
  return piece === count - 1 ? size - piece * METADATA_PIECE_LENGTH : METADATA_PIECE_LENGTH;
}

export function encodeUtMetadata(msg: UtMetadataMessage): Buffer {
  switch (msg.type) {
    case 'request':
      checkPieceArg(msg.piece);
      return encode({ msg_type: MSG_REQUEST, piece: msg.piece });
    case 'reject':
      checkPieceArg(msg.piece);
      return encode({ msg_type: MSG_REJECT, piece: msg.piece });
    case 'data': {
      if (msg.data.length !== metadataPieceLength(msg.totalSize, msg.piece)) {
        throw wireError('invalid-argument', `metadata piece ${msg.piece} must be ${metadataPieceLength(msg.totalSize, msg.piece)} bytes`);
      }
      const head = encode({ msg_type: MSG_DATA, piece: msg.piece, total_size: msg.totalSize });
      return Buffer.concat([head, msg.data]);
    }
  }
}

/**
 * Decode a ut_metadata payload (after the extended id). With `metadataSize` (from the
 * peer's extended handshake, BEP 9) piece indices are range-checked and a `data` message's
 * `total_size` must match it. A `data` piece must be exactly 16 KiB, except the last.
 */
export function decodeUtMetadata(payload: Uint8Array, metadataSize?: number): UtMetadataMessage | UnknownUtMetadata {
  let dict: BDict | undefined;
  let end: number;
  try {
    const r = decodeDetailed(payload, { strict: true, allowTrailing: true, maxDepth: 8, maxTokens: 1000 });
    dict = asDict(r.value);
    end = r.end;
  } catch (err) {
    if (err instanceof BencodeError) throw wireError('bad-ut-metadata', `ut_metadata: ${err.message}`, err);
    throw err;
  }
  if (dict === undefined) throw wireError('bad-ut-metadata', 'ut_metadata message is not a dictionary');
  const msgType = asInt(dict.get('msg_type'));
  const piece = asInt(dict.get('piece'));
  if (msgType === undefined) throw wireError('bad-ut-metadata', 'ut_metadata message without an integer msg_type');
  if (msgType !== MSG_REQUEST && msgType !== MSG_DATA && msgType !== MSG_REJECT) return { type: 'unknown', msgType };
  if (piece === undefined || piece < 0) throw wireError('bad-ut-metadata', 'ut_metadata message without a valid piece');
  if (metadataSize !== undefined && piece >= metadataPieceCount(metadataSize)) {
    throw wireError('bad-ut-metadata', `ut_metadata piece ${piece} is past the last piece ${metadataPieceCount(metadataSize) - 1}`);
  }
  if (msgType !== MSG_DATA) {
    if (end !== payload.length) throw wireError('bad-ut-metadata', `${payload.length - end} bytes after a ut_metadata request or reject`);
    return msgType === MSG_REQUEST ? { type: 'request', piece } : { type: 'reject', piece };
  }
  const totalSize = asInt(dict.get('total_size'));
  if (totalSize === undefined || !isValidMetadataSize(totalSize)) {
    throw wireError('bad-ut-metadata', `ut_metadata total_size must be an integer in 1..${MAX_METADATA_SIZE}`);
  }
  if (metadataSize !== undefined && totalSize !== metadataSize) {
    throw wireError('bad-ut-metadata', `ut_metadata total_size ${totalSize} differs from the announced ${metadataSize}`);
  }
  const expected = metadataPieceLength(totalSize, piece);
  const data = payload.subarray(end);
  if (data.length !== expected) {
    throw wireError('bad-ut-metadata', `ut_metadata piece ${piece} has ${data.length} bytes, expected ${expected}`);
  }
  return { type: 'data', piece, totalSize, data };
}

function checkPieceArg(piece: number): void {
  if (!Number.isInteger(piece) || piece < 0 || piece >= MAX_METADATA_SIZE / METADATA_PIECE_LENGTH) {
    throw wireError('invalid-argument', `bad metadata piece index ${piece}`);
  }
}
