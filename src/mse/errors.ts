import { TesseraError } from '../util/errors.js';

/**
 * The encryption handshake failed: the peer sent bytes that break the MSE spec or our
 * bounds, or offered nothing our policy accepts. Fatal to that one connection.
 */
export class MseError extends TesseraError {}

export type MseErrorCode =
  /** The synchronisation marker (HASH('req1', S) or ENCRYPT(VC)) was not within 512 bytes of padding. */
  | 'no-sync'
  /** The public key was degenerate (0, 1, P−1, ≥ P). */
  | 'bad-key'
  /** The obfuscated info hash matched none of our torrents. */
  | 'unknown-torrent'
  /** The decrypted verification constant was not eight zeros. */
  | 'bad-vc'
  /** A padding or payload length beyond the spec's bounds. */
  | 'bad-length'
  /** No crypto method both sides accept. */
  | 'no-common-method'
  /** The peer selected a method we did not provide, or several. */
  | 'bad-select';

export function mseError(code: MseErrorCode, message: string): MseError {
  return new MseError(code, message);
}
