import { createHash } from 'node:crypto';
import { Bitfield } from '../util/bitfield.js';
import { TesseraError } from '../util/errors.js';

/**
 * The resume record of one torrent in one output folder: which pieces were verified and
 * durable on disk, which were verified and written but not yet known durable (`pending`:
 * read and hashed again at the next start), and each file's size and modification time
 * when the record was written. A pure codec over bytes; placement, atomic writes and
 * matching live in `resume.ts`.
 *
 * Layout, big-endian, version 2:
 *   "TSRS"  version u8 = 2  three zero bytes
 *   info hash (20)
 *   piece count u32 (≤ 2^21)   file count u32 (≤ 1 000 000)
 *   root length u16 (≤ 4096)   root (UTF-8: the real path of the output folder)
 *   per file: present u8 (0|1)  size u64 (≤ 2^53 − 1)  mtime u64 (ns since the epoch)
 *   verified pieces: bitfield in wire order, spare bits zero
 *   pending pieces: the same, no piece in both sets
 *   SHA-1 of every byte above (20)
 * Version 1 is the same without the pending set; it still decodes (nothing pending).
 * Every length is checked against the input before anything is allocated, and the
 * checksum turns a torn or damaged file into "no record" instead of a wrong one.
 */

export const RESUME_VERSION = 2;
const MAGIC = [0x54, 0x53, 0x52, 0x53]; // "TSRS"
const HEADER = 4 + 4 + 20 + 4 + 4 + 2;
const FILE_ENTRY = 1 + 8 + 8;
const DIGEST = 20;
export const MAX_RECORD_PIECES = 2 ** 21;
export const MAX_RECORD_FILES = 1_000_000;
export const MAX_ROOT_BYTES = 4096;

export interface FileStamp {
  /** A regular file is there. An absent file has size 0 and mtime 0. */
  readonly present: boolean;
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
}

export interface ResumeRecord {
  readonly infoHash: Uint8Array;
  /** The real path of the output folder the record describes. */
  readonly root: string;
  readonly files: readonly FileStamp[];
  /** Verified, and durable (their files were synced before the record was written). */
  readonly verified: Bitfield;
  /** Verified and written, not synced: to read and hash again before trusting them. */
  readonly pending: Bitfield;
}

export class ResumeFormatError extends TesseraError {
  constructor(message: string) {
    super('bad-resume-record', message);
  }
}

/** No piece is in both sets (bitfields of one size). */
function disjoint(a: Uint8Array, b: Uint8Array): boolean {
  return a.every((byte, i) => (byte & b[i]!) === 0);
}

/** Bytes of a record of `version` for these counts: what a loader may read. */
export function recordLength(pieceCount: number, fileCount: number, rootBytes: number, version = RESUME_VERSION): number {
  return HEADER + rootBytes + fileCount * FILE_ENTRY + (version === 1 ? 1 : 2) * Math.ceil(pieceCount / 8) + DIGEST;
}

export function encodeResume(rec: ResumeRecord): Uint8Array {
  const root = Buffer.from(rec.root, 'utf8');
  const pieceCount = rec.verified.size;
  if (rec.infoHash.length !== 20) throw new ResumeFormatError('info hash must be 20 bytes');
  if (rec.pending.size !== pieceCount || !disjoint(rec.pending.bytes, rec.verified.bytes)) {
    throw new ResumeFormatError('the pending set must have the piece count and no verified piece');
  }
  if (pieceCount > MAX_RECORD_PIECES) throw new ResumeFormatError(`${pieceCount} pieces exceed ${MAX_RECORD_PIECES}`);
  if (rec.files.length > MAX_RECORD_FILES) throw new ResumeFormatError(`${rec.files.length} files exceed ${MAX_RECORD_FILES}`);
  if (root.length > MAX_ROOT_BYTES) throw new ResumeFormatError(`output path of ${root.length} bytes exceeds ${MAX_ROOT_BYTES}`);
  const out = Buffer.alloc(recordLength(pieceCount, rec.files.length, root.length));
  out.set(MAGIC, 0);
  out[4] = RESUME_VERSION;
  out.set(rec.infoHash, 8);
  out.writeUInt32BE(pieceCount, 28);
  out.writeUInt32BE(rec.files.length, 32);
  out.writeUInt16BE(root.length, 36);
  let at = HEADER;
  out.set(root, at);
  at += root.length;
  for (const f of rec.files) {
    if (!Number.isSafeInteger(f.size) || f.size < 0 || f.mtimeNs < 0n || f.mtimeNs >= 2n ** 64n) {
      throw new ResumeFormatError('file size or mtime out of range');
    }
    out[at] = f.present ? 1 : 0;
    out.writeBigUInt64BE(f.present ? BigInt(f.size) : 0n, at + 1);
    out.writeBigUInt64BE(f.present ? f.mtimeNs : 0n, at + 9);
    at += FILE_ENTRY;
  }
  out.set(rec.verified.bytes, at);
  at += rec.verified.bytes.length;
  out.set(rec.pending.bytes, at);
  at += rec.pending.bytes.length;
  out.set(createHash('sha1').update(out.subarray(0, at)).digest(), at);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a record; any deviation from the canonical form is a `ResumeFormatError`. */
export function decodeResume(bytes: Uint8Array): ResumeRecord {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER + DIGEST) throw new ResumeFormatError(`record of ${buf.length} bytes is too short`);
  if (MAGIC.some((b, i) => buf[i] !== b)) throw new ResumeFormatError('not a resume record');
  const version = buf[4]!;
  if (version !== 1 && version !== RESUME_VERSION) throw new ResumeFormatError(`resume record version ${version} is not supported`);
  if (buf[5] !== 0 || buf[6] !== 0 || buf[7] !== 0) throw new ResumeFormatError('reserved bytes are not zero');
  const pieceCount = buf.readUInt32BE(28);
  const fileCount = buf.readUInt32BE(32);
  const rootLength = buf.readUInt16BE(36);
  if (pieceCount > MAX_RECORD_PIECES) throw new ResumeFormatError(`${pieceCount} pieces exceed ${MAX_RECORD_PIECES}`);
  if (fileCount > MAX_RECORD_FILES) throw new ResumeFormatError(`${fileCount} files exceed ${MAX_RECORD_FILES}`);
  if (rootLength > MAX_ROOT_BYTES) throw new ResumeFormatError(`output path of ${rootLength} bytes exceeds ${MAX_ROOT_BYTES}`);
  const want = recordLength(pieceCount, fileCount, rootLength, version);
  if (buf.length !== want) throw new ResumeFormatError(`record is ${buf.length} bytes, its counts say ${want}`);
  const body = buf.subarray(0, want - DIGEST);
  if (!createHash('sha1').update(body).digest().equals(buf.subarray(want - DIGEST))) throw new ResumeFormatError('checksum mismatch');
  let root: string;
  try {
    root = utf8.decode(buf.subarray(HEADER, HEADER + rootLength));
  } catch {
    throw new ResumeFormatError('output path is not UTF-8');
  }
  let at = HEADER + rootLength;
  const files: FileStamp[] = [];
  for (let i = 0; i < fileCount; i++, at += FILE_ENTRY) {
    const flag = buf[at]!;
    const size = buf.readBigUInt64BE(at + 1);
    const mtimeNs = buf.readBigUInt64BE(at + 9);
    if (flag > 1) throw new ResumeFormatError(`file ${i}: bad presence flag ${flag}`);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ResumeFormatError(`file ${i}: size out of range`);
    if (flag === 0 && (size !== 0n || mtimeNs !== 0n)) throw new ResumeFormatError(`file ${i}: absent but has a size or mtime`);
    files.push({ present: flag === 1, size: Number(size), mtimeNs });
  }
  const setBytes = Math.ceil(pieceCount / 8);
  const bits = buf.subarray(at, at + setBytes);
  if (!Bitfield.sparesClear(pieceCount, bits)) throw new ResumeFormatError('spare bits of the piece set are not zero');
  const pendingBits = version === 1 ? new Uint8Array(setBytes) : buf.subarray(at + setBytes, at + 2 * setBytes);
  if (!Bitfield.sparesClear(pieceCount, pendingBits)) throw new ResumeFormatError('spare bits of the pending set are not zero');
  if (!disjoint(pendingBits, bits)) throw new ResumeFormatError('a piece is both verified and pending');
  return { infoHash: new Uint8Array(buf.subarray(8, 28)), root, files, verified: new Bitfield(pieceCount, bits), pending: new Bitfield(pieceCount, pendingBits) };
}
