import { TesseraError } from '../util/errors.js';

/**
 * Why a storage operation failed:
 * - `disk`: the operating system refused a read or write (the message names the file);
 * - `unsafe-path`: a path would leave the output folder, or crosses a symlink or a
 *   non-regular file that already exists inside it;
 * - `invalid-argument`: a caller bug (bad piece index, foreign buffer, range past the piece);
 * - `closed`: the storage was used after `close()`;
 * - `aborted`: a recheck was cancelled through its `AbortSignal`;
 * - `worker`: a hashing/writing worker thread died;
 * - `overloaded`: a torrent queued more storage tasks than its bound.
 */
export type StorageErrorCode = 'disk' | 'unsafe-path' | 'invalid-argument' | 'closed' | 'aborted' | 'worker' | 'overloaded';

export class StorageError extends TesseraError {
  override readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

export function isStorageErrorCode(code: string): code is StorageErrorCode {
  return ['disk', 'unsafe-path', 'invalid-argument', 'closed', 'aborted', 'worker', 'overloaded'].includes(code);
}
