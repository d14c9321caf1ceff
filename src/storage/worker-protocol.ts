/**
 * Messages between the main thread and the storage workers. A piece to commit travels in an
 * `ArrayBuffer` moved with the message (a transfer, not a copy) and comes back the same way.
 * The workers serve every torrent of a session: each task names its torrent, registered
 * first with an `open` message; a `close` task closes its files and forgets it.
 */
import type { PieceCheck } from './verify.js';

export interface WorkerFile {
  /** Path components below the output folder, already checked by `resolveInside`. */
  readonly components: readonly string[];
  readonly offset: number;
  readonly length: number;
  readonly pad: boolean;
}

/** What a worker that reads and writes a torrent's files is started with. */
export interface StorageWorkerData {
  /** `realpath` of the output folder. */
  readonly root: string;
  readonly files: readonly WorkerFile[];
  readonly pieceLength: number;
  readonly totalLength: number;
  /** Path components of the part file (part-file.ts). */
  readonly partFile: readonly string[];
  /** One byte per file, 1 when it is skipped (its shared bytes go to the part file while it is absent). */
  readonly skipped: Uint8Array;
}

export type WorkerTask =
  | { readonly type: 'hash'; readonly data: Uint8Array }
  | { readonly type: 'commit'; readonly index: number; readonly data: Uint8Array; readonly check: PieceCheck }
  /** Hash a piece without writing it (another worker, its file's writer, writes it). */
  | { readonly type: 'verify'; readonly data: Uint8Array; readonly check: PieceCheck }
  /** Unverified blocks of a piece that has no buffer, written where they belong (a later `check` verifies). */
  | { readonly type: 'write'; readonly index: number; readonly begin: number; readonly data: Uint8Array }
  /** Verify pieces `first .. first + count - 1` on disk against their checks. */
  | { readonly type: 'check'; readonly first: number; readonly count: number; readonly checks: readonly PieceCheck[] }
  /** New skip flags (one byte per file). */
  | { readonly type: 'skip'; readonly skipped: Uint8Array }
  /** Copies `file`'s bytes of these verified shared pieces from the part file into the file. */
  | { readonly type: 'export'; readonly file: number; readonly pieces: readonly number[] }
  /** Close the torrent's files and forget it. */
  | { readonly type: 'close' };

/**
 * No answer: `open` registers a torrent's files with a worker; `stop` has an idle worker
 * close every file and end.
 */
export type WorkerControl = { readonly type: 'open'; readonly torrent: number; readonly data: StorageWorkerData } | { readonly type: 'stop' };

export type CommitResult = 'ok' | 'hash-mismatch';

export interface TaskResults {
  hash: Uint8Array;
  /** `buffer` is the piece's buffer, moved back to the main thread. */
  commit: { readonly result: CommitResult; readonly buffer: ArrayBuffer };
  verify: { readonly result: CommitResult; readonly buffer: ArrayBuffer };
  /** One byte per piece checked: 1 when it verified. */
  check: Uint8Array;
  /** The written bytes' buffer, moved back for reuse. */
  write: ArrayBuffer;
  skip: null;
  export: null;
  close: null;
}

export type WorkerRequest = WorkerTask & { readonly id: number; readonly torrent: number };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: TaskResults[keyof TaskResults] }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };
