import { TesseraError } from '../util/errors.js';

/** A uTP packet broke BEP 29's format or our bounds, or a uTP connection failed. */
export class UtpError extends TesseraError {}

export type UtpErrorCode =
  /** Fewer bytes than the 20-byte header, or an extension running past the end. */
  | 'truncated'
  /** The version nibble is not 1, or the type is not one of the five BEP 29 names. */
  | 'bad-header'
  /** A selective ACK whose length is not a non-zero multiple of 4, or too many extensions. */
  | 'bad-extension'
  /** The peer did not answer our SYN in time. */
  | 'connect-timeout'
  /** Sent packets went unacknowledged through every retransmission. */
  | 'timeout'
  /** The peer reset the connection (ST_RESET). */
  | 'reset'
  /** The connection was destroyed locally (our side closed, or the socket shut down). */
  | 'closed';

export function utpError(code: UtpErrorCode, message: string): UtpError {
  return new UtpError(code, message);
}
