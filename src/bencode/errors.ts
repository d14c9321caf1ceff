import { TesseraError } from '../util/errors.js';

/** A malformed or out-of-policy bencode input; `offset` is the byte where it went wrong. */
export class BencodeError extends TesseraError {
  readonly offset: number;
  constructor(code: string, message: string, offset: number) {
    super(code, `${message} at byte ${offset}`);
    this.offset = offset;
  }
}
