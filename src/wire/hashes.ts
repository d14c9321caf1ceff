/**
 * BEP 52 merkle hash messages: `hash request` (21), `hashes` (22) and `hash reject` (23). Each
 * starts with `<pieces root:32><base layer:u32><index:u32><length:u32><proof layers:u32>`;
 * `hashes` then carries `length` hashes of the base layer followed by the uncle hashes of the
 * proof, bottom-up. They arrive as `unknown` messages from the framer (ids outside BEP 3) and
 * are decoded here; pure functions over bytes.
 */
import { wireError } from './errors.js';

export const HashMessageId = { hashRequest: 21, hashes: 22, hashReject: 23 } as const;

const HEADER = 48;
const HASH = 32;
/** A tree over 2^21 pieces of 2^15 leaves each is 36 layers high: anything above 63 is nonsense. */
const MAX_LAYER = 63;
/** libtorrent never asks for more than 8,192 hashes at once; the frame bound is far above. */
export const MAX_HASHES_PER_REQUEST = 8192;
/**
 * The largest `hashes` frame (length prefix and id included): the most hashes a request may ask
 * for plus an uncle per layer. About 264 KiB, under the 1 MiB wire bound of SAFETY.md.
 */
export const MAX_HASHES_FRAME = 4 + 1 + HEADER + (MAX_HASHES_PER_REQUEST + MAX_LAYER) * HASH;

export interface HashRequest {
  readonly piecesRoot: Uint8Array;
  /** Layer of the requested hashes, 0 = 16 KiB leaves. */
  readonly baseLayer: number;
  readonly index: number;
  readonly length: number;
  readonly proofLayers: number;
}

export type HashMessage =
  | ({ readonly type: 'hash-request' } & HashRequest)
  | ({ readonly type: 'hashes' } & HashRequest & { readonly hashes: Uint8Array })
  | ({ readonly type: 'hash-reject' } & HashRequest);

export function isHashMessageId(id: number): boolean {
  return id === HashMessageId.hashRequest || id === HashMessageId.hashes || id === HashMessageId.hashReject;
}

function header(payload: Uint8Array): HashRequest {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const req = {
    piecesRoot: payload.subarray(0, HASH),
    baseLayer: view.getUint32(32),
    index: view.getUint32(36),
    length: view.getUint32(40),
    proofLayers: view.getUint32(44),
  };
  if (req.baseLayer > MAX_LAYER || req.proofLayers > MAX_LAYER) throw wireError('bad-hash-message', `hash message layer out of range (base ${req.baseLayer}, proof ${req.proofLayers})`);
  if (req.length === 0 || req.length > MAX_HASHES_PER_REQUEST) throw wireError('bad-hash-message', `hash message asks for ${req.length} hashes`);
  return req;
}

/** Decodes the payload (after the id byte) of message `id` (21, 22 or 23). Throws WireError. */
export function decodeHashMessage(id: number, payload: Uint8Array): HashMessage {
  if (payload.length < HEADER) throw wireError('bad-hash-message', `hash message of ${payload.length} bytes is shorter than its ${HEADER}-byte header`);
  const req = header(payload);
  switch (id) {
    case HashMessageId.hashRequest:
    case HashMessageId.hashReject:
      if (payload.length !== HEADER) throw wireError('bad-hash-message', `hash request/reject of ${payload.length} bytes, not ${HEADER}`);
      return { type: id === HashMessageId.hashRequest ? 'hash-request' : 'hash-reject', ...req };
    case HashMessageId.hashes: {
      const rest = payload.length - HEADER;
      if (rest % HASH !== 0 || rest / HASH < req.length) throw wireError('bad-hash-message', `hashes message carries ${rest} bytes for ${req.length} hashes`);
      return { type: 'hashes', ...req, hashes: payload.subarray(HEADER) };
    }
    default:
      throw wireError('bad-hash-message', `message id ${id} is not a BEP 52 hash message`);
  }
}

/** A whole frame (length prefix, id, payload) for a hash message. */
export function encodeHashMessage(msg: HashMessage): Buffer {
  const extra = msg.type === 'hashes' ? msg.hashes.length : 0;
  const out = Buffer.alloc(4 + 1 + HEADER + extra);
  out.writeUInt32BE(1 + HEADER + extra, 0);
  out[4] = msg.type === 'hash-request' ? HashMessageId.hashRequest : msg.type === 'hashes' ? HashMessageId.hashes : HashMessageId.hashReject;
  if (msg.piecesRoot.length !== HASH) throw wireError('invalid-argument', 'pieces root must be 32 bytes');
  out.set(msg.piecesRoot, 5);
  out.writeUInt32BE(msg.baseLayer, 37);
  out.writeUInt32BE(msg.index, 41);
  out.writeUInt32BE(msg.length, 45);
  out.writeUInt32BE(msg.proofLayers, 49);
  if (msg.type === 'hashes') out.set(msg.hashes, 53);
  return out;
}
