/** The daemon's typed errors: each has a stable `code`, a one-line message, and an HTTP status where a request caused it. */
import { TesseraError } from '../util/errors.js';

export type DaemonErrorCode =
  /** The config file or a setting is unusable. */
  | 'bad-config'
  /** A request names a folder outside the allowed ones. */
  | 'path-not-allowed'
  /** A request is malformed (bad JSON, wrong argument types, unknown method). */
  | 'bad-request'
  /** No torrent with that id or info hash. */
  | 'not-found'
  /** The request body is over the limit. */
  | 'too-large'
  /** Listening on a non-loopback address without a user name and password. */
  | 'auth-required';

export class DaemonError extends TesseraError {
  declare readonly code: DaemonErrorCode;
  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
