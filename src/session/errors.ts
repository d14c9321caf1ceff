/**
 * The session's typed errors. Every rejection of `Session.add`, `TorrentHandle.whenDone` and
 * every `error` event is a `TesseraError`: this class for the session's own reasons, or the
 * layer's own (`MetainfoError` for a bad torrent, `StorageError` for a disk error).
 */
import { TesseraError } from '../util/errors.js';

export type SessionErrorCode =
  /** The session was closed (or the torrent stopped) before the download finished. */
  | 'stopped'
  /** `remove()` was called before the download finished. */
  | 'removed'
  /** The `AbortSignal` given to `add` fired. */
  | 'aborted'
  /** The source is not a .torrent, magnet link, info hash or http(s) URL that can be used. */
  | 'bad-source'
  /** The session already holds a torrent with this info hash. */
  | 'duplicate'
  /** No peer sent the metadata of a magnet link within the given time. */
  | 'no-metadata'
  /** The session is closed: nothing can be added. */
  | 'closed'
  /** A call with an unusable argument (a file index out of range, an unknown priority). */
  | 'bad-argument'
  /** The call needs the torrent's metadata, which a magnet link has not received yet. */
  | 'no-metadata-yet';

export class SessionError extends TesseraError {
  declare readonly code: SessionErrorCode;
  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A magnet whose metadata no peer sent within `limitMs`, with where peers were looked for. */
export function noMetadataError(infoHashHex: string, limitMs: number, f: Readonly<Record<'tracker' | 'dht' | 'pex' | 'manual' | 'incoming', number>>): SessionError {
  return new SessionError(
    'no-metadata',
    `no peer sent the metadata of ${infoHashHex} within ${Math.round(limitMs / 1000)} s ` +
      `(peers found: ${f.tracker} tracker, ${f.dht} dht, ${f.pex} pex, ${f.manual} manual, ${f.incoming} incoming)`,
  );
}
