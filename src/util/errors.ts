/**
 * The root of Tessera's typed errors. Every layer throws a subclass with a stable
 * `code` (for programs) and a message that is one human line (for people).
 */
export class TesseraError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
