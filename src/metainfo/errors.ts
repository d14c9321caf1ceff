import { TesseraError } from '../util/errors.js';

/**
 * A torrent file, magnet link or creation input that Tessera refuses. The message is one
 * human line naming the offending entry (`files[3].length`, `xt`, ...), safe to print.
 */
export class MetainfoError extends TesseraError {}

/** Quote a value from a stranger for an error line: no controls, no bidi tricks, bounded length. */
export function quote(s: string, max = 80): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
  return `'${clean.length > max ? `${clean.slice(0, max)}...` : clean}'`;
}
