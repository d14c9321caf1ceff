import { TesseraError } from '../util/errors.js';

/**
 * A peer sent bytes that break the wire protocol (BEP 3, 6, 9, 10, 11) or our limits
 * (SAFETY.md). Always fatal to that one connection: the caller closes it, naming `code`.
 */
export class WireError extends TesseraError {}

export type WireErrorCode =
  | 'bad-handshake'
  | 'frame-too-large'
  | 'bad-message-length'
  | 'bad-extended-handshake'
  | 'bad-ut-metadata'
  | 'bad-ut-pex'
  | 'bad-hash-message'
  | 'bad-compact'
  | 'invalid-argument';

export function wireError(code: WireErrorCode, message: string, cause?: unknown): WireError {
  return new WireError(code, message, cause === undefined ? undefined : { cause });
}
