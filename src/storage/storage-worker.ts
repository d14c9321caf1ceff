import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { StorageError } from './errors.js';
import { SyncFiles } from './sync-files.js';
import { PieceVerifier, verifyPiece, type PieceCheck } from './verify.js';
import type { CommitResult, StorageWorkerData, TaskResults, WorkerControl, WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * A worker thread of a session's pool: hashes piece buffers moved from the main thread (no
 * copy), writes verified pieces with one positional write per file extent, and verifies data
 * already on disk, for every torrent registered with it (`open`). A task of a torrent that
 * is not registered can only hash (`PieceHasher`).
 */

/** Recheck reads this much per syscall: large enough for kernel read-ahead, small enough for RSS. */
const READ_CHUNK = 4 << 20;

interface Torrent {
  readonly files: SyncFiles;
  readonly data: StorageWorkerData;
}

const torrents = new Map<number, Torrent>();
/** Shared by every torrent's recheck: one task runs at a time. */
let readBuf: Buffer | undefined;

function sha1(bytes: Uint8Array): Buffer {
  return createHash('sha1').update(bytes).digest();
}

function storage(torrent: number): Torrent {
  const t = torrents.get(torrent);
  if (t === undefined) throw new StorageError('invalid-argument', 'no files are registered for this task');
  return t;
}

function commit(t: Torrent, index: number, piece: Uint8Array, check: PieceCheck): CommitResult {
  if (!verifyPiece(piece, check)) return 'hash-mismatch';
  writeSpan(t, index * t.data.pieceLength, piece);
  return 'ok';
}

/** Writes `bytes` at `offset` of piece space, unhashed (the piece is verified on disk later). */
function writeSpan({ files }: Torrent, offset: number, bytes: Uint8Array): void {
  for (const e of files.parts.place(offset, bytes.length, (i) => files.writesToPart(i))) {
    const src = bytes.subarray(e.at, e.at + e.length);
    if (e.part !== undefined) files.write(files.partIndex, src, e.part);
    else if (!e.pad) files.write(e.fileIndex, src, e.fileOffset);
  }
}

/**
 * Reads `[offset, offset + dst.length)` of piece space into `dst`, zero-filling pads.
 * Returns the ranges of `dst` (start, end pairs) that are missing on disk because a file
 * is missing or short; usually none.
 */
function readSpan({ files }: Torrent, offset: number, dst: Buffer): number[] {
  const missing: number[] = [];
  // A file that is not on disk may have its shared pieces' bytes in the part file.
  for (const e of files.parts.place(offset, dst.length, (i) => !files.exists(i))) {
    const run = dst.subarray(e.at, e.at + e.length);
    if (e.pad) run.fill(0);
    else {
      const got = e.part !== undefined ? files.read(files.partIndex, run, e.part) : files.read(e.fileIndex, run, e.fileOffset);
      if (got < e.length) missing.push(e.at + got, e.at + e.length);
    }
  }
  return missing;
}

/** Copies `file`'s bytes of verified shared pieces out of the part file, now that the file is wanted. */
function exportFile({ files, data }: Torrent, file: number, pieces: readonly number[]): void {
  // A file already on disk was written in place: the part file holds nothing of it.
  if (files.exists(file)) return;
  for (const p of pieces) {
    const size = Math.min(data.pieceLength, data.totalLength - p * data.pieceLength);
    for (const e of files.parts.place(p * data.pieceLength, size, (i) => i === file)) {
      if (e.part === undefined) continue;
      const buf = Buffer.allocUnsafe(e.length);
      if (files.read(files.partIndex, buf, e.part) === e.length) files.write(file, buf, e.fileOffset);
    }
  }
}

function overlaps(ranges: readonly number[], from: number, to: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) if (ranges[i]! < to && ranges[i + 1]! > from) return true;
  return false;
}

/**
 * Verifies a run of pieces, streaming through one fixed buffer so that memory does not
 * depend on the piece size, and reading many small pieces with one syscall.
 */
function check(t: Torrent, first: number, count: number, checks: readonly PieceCheck[]): Uint8Array {
  const { data } = t;
  const result = new Uint8Array(count);
  const start = first * data.pieceLength;
  const end = Math.min(data.totalLength, (first + count) * data.pieceLength);
  // Sized to what is asked, up to READ_CHUNK: a spilled piece's check reads only that piece.
  const want = Math.min(READ_CHUNK, end - start);
  if (readBuf === undefined || readBuf.length < want) readBuf = Buffer.allocUnsafe(want);
  const buf = readBuf;
  let piece = 0;
  let pieceEnd = Math.min(end, start + data.pieceLength);
  let hash = new PieceVerifier(checks[0]!);
  let complete = true;
  for (let pos = start; pos < end; ) {
    const n = Math.min(buf.length, end - pos);
    const chunk = buf.subarray(0, n);
    const missing = readSpan(t, pos, chunk);
    for (let cur = pos; cur < pos + n; ) {
      const segEnd = Math.min(pieceEnd, pos + n);
      complete &&= !overlaps(missing, cur - pos, segEnd - pos);
      if (complete) hash.update(chunk.subarray(cur - pos, segEnd - pos));
      cur = segEnd;
      if (cur === pieceEnd) {
        result[piece] = complete && hash.matches() ? 1 : 0;
        piece++;
        pieceEnd = Math.min(end, pieceEnd + data.pieceLength);
        if (piece < count) hash = new PieceVerifier(checks[piece]!);
        complete = true;
      }
    }
    pos += n;
  }
  return result;
}

function run(req: WorkerRequest): TaskResults[keyof TaskResults] {
  switch (req.type) {
    case 'hash':
      return new Uint8Array(sha1(req.data));
    case 'commit':
      return { result: commit(storage(req.torrent), req.index, req.data, req.check), buffer: req.data.buffer as ArrayBuffer };
    case 'verify':
      return { result: verifyPiece(req.data, req.check) ? 'ok' : 'hash-mismatch', buffer: req.data.buffer as ArrayBuffer };
    case 'check':
      return check(storage(req.torrent), req.first, req.count, req.checks);
    case 'write': {
      const t = storage(req.torrent);
      writeSpan(t, req.index * t.data.pieceLength + req.begin, req.data);
      return req.data.buffer as ArrayBuffer;
    }
    case 'skip':
      storage(req.torrent).files.skipped = req.skipped;
      return null;
    case 'export':
      exportFile(storage(req.torrent), req.file, req.pieces);
      return null;
    case 'close':
      torrents.get(req.torrent)?.files.closeAll();
      torrents.delete(req.torrent);
      return null;
  }
}

parentPort!.on('message', (req: WorkerRequest | WorkerControl) => {
  if (req.type === 'open') {
    torrents.set(req.torrent, { files: new SyncFiles(req.data), data: req.data });
    return;
  }
  if (req.type === 'stop') {
    // The descriptors belong to the process, not to this thread: close them before it ends.
    for (const t of torrents.values()) t.files.closeAll();
    torrents.clear();
    parentPort!.close();
    return;
  }
  let reply: WorkerReply;
  try {
    reply = { id: req.id, ok: true, value: run(req) };
  } catch (err) {
    const code = err instanceof StorageError ? err.code : 'disk';
    reply = { id: req.id, ok: false, code, message: err instanceof Error ? err.message : String(err) };
  }
  // A piece buffer (commit, verify) and a write's run go back to the main thread, moved like they
  // came: posted without the transfer, a verified piece came back as a copy (1 MiB cloned and
  // left for the collector in both threads, per piece).
  const moved = reply.ok && (req.type === 'commit' || req.type === 'verify' || req.type === 'write') ? [req.data.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(reply, moved);
});
